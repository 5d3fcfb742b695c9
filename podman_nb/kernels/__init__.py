"""Container kernels as Jupyter kernelspecs: ``install(image, name)``, ``list()``, ``remove(name)`` (no IPython).

A kernelspec's argv runs ``python -m podman_nb.kernel`` (``podman_nb.kernel.launcher``) with the absolute
interpreter that registered it, so JupyterLab, Notebook, nbclient, VS Code and ``jupyter console`` all
start it as it is. Specs go to the user's Jupyter data dir (``JUPYTER_DATA_DIR`` honoured) through
jupyter_client's KernelSpecManager. Nothing is written unless the image's python3 has ipykernel.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence

from ..api.api_client import APIClient
from ..errors import InvalidArgument, PodmanError
from ..kernel import containers
from ..kernel.containers import KernelError, Options
from ..kernel.probe import probe

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _manager():
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:  # pragma: no cover - Jupyter always has it
        raise InvalidArgument("registering a kernel needs jupyter_client (pip install jupyter_client)") from None
    return KernelSpecManager()


def check_name(name: Any) -> str:
    """``name`` if Jupyter accepts it as a kernel name, else InvalidArgument."""
    from jupyter_client.kernelspec import _is_valid_kernel_name
    if not isinstance(name, str) or not _is_valid_kernel_name(name):
        raise InvalidArgument(f"{name!r} is not a kernel name Jupyter accepts: use letters, digits, '.', '_' "
                              "and '-' only (e.g. myproject)")
    return name


def _service_argv(api: APIClient) -> List[str]:
    return ["--connection", api.connection] if api.connection else ["--url", api.base_url]


def install(image: str, name: str, display_name: Optional[str] = None, *, base_url: Optional[str] = None,
            connection: Optional[str] = None, mounts: Sequence[str] = (), env: Sequence[str] = (),
            gpu: bool = False, network: Optional[str] = None) -> Dict[str, Any]:
    """Register ``image`` as the Jupyter kernel ``name`` (replacing a kernel of that name); its listing row.

    The service is ``base_url`` or ``connection``, else the one found as the magics find it; the spec
    records it, and the kernel starts there whatever CONTAINER_HOST says then. ``mounts``: HOST[:CONTAINER[:ro]];
    ``env``: KEY=VALUE; ``gpu``: the CDI device nvidia.com/gpu=all; ``network``: a Podman network (default:
    the host's network, on loopback ports). A container is run once to check that the image's python3
    has ipykernel and that the service can see the mounts; on any failure nothing is written.
    """
    check_name(name)
    options = Options(name, str(image), [str(m) for m in mounts], [str(e) for e in env], bool(gpu), network)
    for mount in options.mounts:
        containers.parse_mount(mount)
    for pair in options.env:
        containers.parse_env(pair)
    api = APIClient(base_url=base_url, connection=connection)
    try:
        image_id = probe(api, options)
        service = _service_argv(api)
    finally:
        api.close()
    spec = {
        "argv": [sys.executable, "-m", "podman_nb.kernel", *options.argv(), *service, "-f", "{connection_file}"],
        "display_name": display_name or f"{name} (Podman: {image})",
        "language": "python",
        "interrupt_mode": "signal",
        "env": {"PYTHONPATH": _PACKAGE_PARENT},  # the launcher imports this podman_nb, whatever the server has
        "metadata": {"podman_nb": {"image": options.image, "image_id": image_id, "service": service[1],
                                   "mounts": options.mounts, "gpu": options.gpu, "network": options.network},
                     "debugger": False},
    }
    folder = tempfile.mkdtemp(prefix="podman_nb-kernelspec-")
    try:
        with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as handle:
            json.dump(spec, handle, indent=1)
        _manager().install_kernel_spec(folder, name, user=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _row(name, spec, running=0)


def _specs() -> Dict[str, Dict[str, Any]]:
    """{name: kernel.json} of the podman_nb kernels Jupyter finds."""
    found = {}
    for name, entry in _manager().get_all_specs().items():
        spec = entry.get("spec") or {}
        if "podman_nb" in (spec.get("metadata") or {}):
            found[name] = dict(spec, resource_dir=entry.get("resource_dir"))
    return found


def _client_for(spec: Dict[str, Any]) -> APIClient:
    argv = spec.get("argv") or []
    where = {key: argv[argv.index(flag) + 1] for flag, key in (("--url", "base_url"), ("--connection", "connection"))
             if flag in argv}
    return APIClient(start_service=False, **where)


def _row(name: str, spec: Dict[str, Any], running: Optional[int]) -> Dict[str, Any]:
    meta = spec["metadata"]["podman_nb"]
    return {"name": name, "display_name": spec.get("display_name"), "image": meta.get("image"),
            "image_id": meta.get("image_id"), "service": meta.get("service"), "running": running}


def list() -> List[Dict[str, Any]]:  # noqa: A001 (podman_nb.kernels.list, as the issue names it)
    """One row per podman_nb kernel: name, display_name, image, image_id, service, running (its running
    containers; None when its service does not answer)."""
    rows = []
    for name, spec in sorted(_specs().items()):
        running: Optional[int] = None
        try:
            api = _client_for(spec)
            try:
                running = builtins.sum(1 for c in containers.labelled(api, name) if c.get("State") == "running")
            finally:
                api.close()
        except PodmanError:
            pass
        rows.append(_row(name, spec, running))
    return rows


def _in_use(api: APIClient, name: str, found: List[Dict[str, Any]]) -> None:
    """Refuse to remove a kernel that runs: Jupyter would restart it from the spec it keeps, and nothing would
    stop that kernel's containers (issue 28). Its launcher gone, a container is left over and may go."""
    running = [c for c in found if c.get("State") == "running" and not containers.is_orphan(c.get("Labels") or {})]
    if not running:
        return
    folders = []
    for container in running:
        config = api.get(f"/containers/{container['Id']}/json").json().get("Config") or {}
        folders.append(f"{container['Id'][:12]} in {config.get('WorkingDir') or '/'}")
    raise InvalidArgument(f"the kernel {name!r} is running (container {', '.join(folders)}): shut it down "
                          "first (JupyterLab: Kernel > Shut Down Kernel in its notebook, or the Running panel), "
                          "then remove it; nothing was removed")


def remove(name: str) -> Dict[str, Any]:
    """Remove the kernel ``name``: its kernelspec and every container it left; its listing row, running = how
    many containers went. A kernel that a notebook runs is refused (InvalidArgument naming its folder)."""
    specs = _specs()
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise InvalidArgument(f"there is no podman_nb kernel named {name!r} (podman_nb kernels: {known})")
    spec = specs[name]
    gone = 0
    try:
        api = _client_for(spec)
        try:
            found = containers.labelled(api, name)
            _in_use(api, name, found)
            for container in found:
                containers.remove(api, container["Id"])
                gone += 1
        finally:
            api.close()
    except InvalidArgument:
        raise
    except PodmanError as error:
        raise KernelError(f"the kernel {name!r} was not removed: its Podman service ({spec['metadata']['podman_nb']['service']}) "
                          f"could not remove its containers: {error}") from None
    _manager().remove_kernel_spec(name)
    return _row(name, spec, gone)
