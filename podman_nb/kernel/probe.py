"""The probe run when a kernel is registered: does an image make a container whose python3 has ipykernel?"""

from __future__ import annotations

import json
import os

from ..api.api_client import APIClient, quote_name
from ..errors import APIError, ImageNotFound
from ..failures import KERNEL_IMAGE
from .containers import KernelError, Options, create_spec, python_command, refused, remove

_NO_IPYKERNEL = 3  # the probe's exit status when python3 has no ipykernel
_PROBE = ("import importlib.util, sys; "
          f"sys.exit(0 if importlib.util.find_spec('ipykernel') else {_NO_IPYKERNEL})")


def probe(api: APIClient, options: Options) -> str:
    """Check that ``options`` make a container whose python3 has ipykernel; the image's id.

    Raises ImageNotFound (the service's words, which the magics give a pull hint), the service's refusal
    (see ``refused``) or KernelError."""
    image = api.get(f"/images/{quote_name(options.image)}/json", not_found=ImageNotFound).json()
    spec = create_spec(options, None, python_command(_PROBE), rootless=os.geteuid() != 0)
    spec.pop("remove")
    spec["labels"] = {}
    try:
        created = api.post("/containers/create", data=json.dumps(spec),
                           headers={"Content-Type": "application/json"}).json()["Id"]
    except APIError as error:
        raise refused(error, options, None) from None
    try:
        try:
            api.post(f"/containers/{created}/start", timeout=60)
        except APIError as error:
            raise refused(error, options, None) from None
        code = api.post(f"/containers/{created}/wait", params={"condition": "stopped"}, timeout=120).json()
        code = code if isinstance(code, int) else code.get("StatusCode", 1)
    finally:
        remove(api, created)
    if code == 127:  # the shell's "command not found"
        raise KernelError(f"the image {options.image} has no python3, so it cannot run ipykernel", hint=KERNEL_IMAGE)
    if code == _NO_IPYKERNEL:
        raise KernelError(f"the image {options.image} has no ipykernel for its python3",
                          hint="build the environment with %image_env --kernel NAME, or add ipykernel to the "
                          "project's requirements.txt")
    if code != 0:
        raise KernelError(f"a kernel cannot start in the image {options.image}: its start script or python3 exited "
                          f"{code} before ipykernel could be imported",
                          hint=f"`podman run --rm {options.image} python3 -c 'import ipykernel'` shows what it says")
    return str(image.get("Id", ""))
