"""What a kernel container is: its create spec, its labels, finding orphans (the probe run at registration is in
``probe``).

The launcher's process imports this module: it and what it imports need no requests. Its calls take ``api``, an
``APIClient`` or the launcher's ``PlainCalls`` (the same ``get``/``post``/``delete``); what either raises for a
failed answer is a ServiceError.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from ..base_errors import InvalidArgument, PodmanError, ServiceError
from ..domain.containerfile_steps import ENTRYPOINT
from ..failures import attach

LABEL = "io.podman_nb.kernel"  # the kernel's name
LAUNCHER_LABEL = "io.podman_nb.launcher"  # host:pid:start-time of the launcher that owns the container
INIT_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "init.py")
GPU_DEVICE = "nvidia.com/gpu=all"


class KernelError(PodmanError):
    """A kernel cannot be registered or started; ``str(error)`` says why and what to do."""

    LABEL = ""  # its sentence says that a kernel failed


@dataclass
class Options:
    """How a kernel's container is made (what a kernelspec records)."""

    name: str
    image: str
    mounts: List[str] = field(default_factory=list)  # HOST[:CONTAINER[:ro]]
    env: List[str] = field(default_factory=list)  # KEY=VALUE
    gpu: bool = False
    network: Optional[str] = None  # None: the host's network, on loopback ports

    def argv(self) -> List[str]:
        words = ["--name", self.name, "--image", self.image]
        for mount in self.mounts:
            words += ["--mount", mount]
        for pair in self.env:
            words += ["--env", pair]
        if self.gpu:
            words.append("--gpu")
        if self.network:
            words += ["--network", self.network]
        return words


def parse_mount(text: str) -> Dict[str, Any]:
    """``HOST[:CONTAINER[:ro]]`` as a libpod mount (HOST made absolute); InvalidArgument when unreadable."""
    parts = str(text).split(":")
    if not parts[0] or len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise InvalidArgument(f"--mount {text!r}: expected HOST[:CONTAINER[:ro]]")
    host = os.path.abspath(os.path.expanduser(parts[0]))
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    if not inside.startswith("/"):
        raise InvalidArgument(f"--mount {text!r}: the container path must be absolute")
    options = ["rbind"] + (["ro"] if len(parts) == 3 and parts[2] == "ro" else [])
    return {"type": "bind", "source": host, "destination": inside, "options": options}


def parse_env(text: str) -> Tuple[str, str]:
    key, sep, value = str(text).partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise InvalidArgument(f"--env {text!r}: expected KEY=VALUE")
    return key, value


def launcher_id(pid: Optional[int] = None) -> str:
    """``host:pid:start`` of a process (default: this one); the start time tells a reused pid apart."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def is_orphan(labels: Dict[str, str]) -> bool:
    """Whether a kernel container's launcher, on this host, is gone."""
    host, _, rest = str(labels.get(LAUNCHER_LABEL, "")).partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_time(int(pid)) != start


def create_spec(options: Options, cwd: Optional[str], command: List[str], rootless: bool,
                ports: Tuple[int, ...] = ()) -> Dict[str, Any]:
    """The libpod create body of a kernel container (``ports``: published on 127.0.0.1 when not on the host network)."""
    mounts = [parse_mount(m) for m in options.mounts]
    if cwd is not None and not any(m["destination"] == cwd for m in mounts):
        mounts.insert(0, {"type": "bind", "source": cwd, "destination": cwd, "options": ["rbind"]})
    spec: Dict[str, Any] = {
        "image": options.image, "entrypoint": command[:1], "command": command[1:], "stdin": True, "remove": True,
        "labels": {LABEL: options.name, LAUNCHER_LABEL: launcher_id()},
        "env": dict(parse_env(pair) for pair in options.env), "mounts": mounts,
    }
    if cwd is not None:
        spec["work_dir"] = cwd
    if options.network:
        spec["netns"] = {"nsmode": "bridge"}
        spec["networks"] = {options.network: {}}
        spec["portmappings"] = [{"host_ip": "127.0.0.1", "container_port": p, "host_port": p} for p in ports]
    else:
        spec["netns"] = {"nsmode": "host"}
    if rootless:  # files the kernel writes belong to the user
        spec["userns"] = {"nsmode": "keep-id"}
    if options.gpu:
        spec["devices"] = [{"path": GPU_DEVICE}]
    return spec


def init_command() -> List[str]:
    """The kernel's init, as :func:`python_command` runs it."""
    with open(INIT_SOURCE, encoding="utf-8") as handle:
        return python_command(handle.read())


def python_command(code: str) -> List[str]:
    """``python3 -c CODE`` as a kernel container runs it: through ``/bin/sh`` and an environment image's entrypoint
    when it has one (its ``start`` runs first and may put python3 on PATH, as a conda environment's does); the
    probe runs its check the same way, so it passes exactly when a kernel can start."""
    return ["/bin/sh", "-c", 'if [ -x "$0" ]; then exec "$0" "$@"; fi; exec "$@"', ENTRYPOINT, "python3", "-c", code]


def refused(error: PodmanError, options: Options, folder: Optional[str]) -> PodmanError:
    """``error`` (the service's refusal to make or start a kernel container) with what failures.py needs to say
    why: the image, the folder mounted as the kernel's cwd, the GPU device asked for."""
    return attach(error, operation="kernel", image=options.image, folder=folder,
                  device=GPU_DEVICE if options.gpu else None)


def remove(api: Any, container: str) -> None:
    """Remove a container (killed if running); one already gone is no error."""
    try:
        api.delete(f"/containers/{quote(container, safe='')}", params={"force": True, "v": True}, timeout=30)
    except ServiceError as error:
        if error.status_code != 404:
            raise


def labelled(api: Any, name: Optional[str] = None) -> List[Dict[str, Any]]:
    """The kernel containers (of kernel ``name``, else of every podman_nb kernel), as /containers/json lists them."""
    label = f"{LABEL}={name}" if name else LABEL
    return api.get("/containers/json", params={"all": True, "filters": json.dumps({"label": [label]})}).json() or []


def remove_orphans(api: Any, name: Optional[str] = None) -> int:
    """Remove the kernel containers whose launcher is gone; how many went."""
    gone = 0
    for container in labelled(api, name):
        if is_orphan(container.get("Labels") or {}):
            remove(api, container["Id"])
            gone += 1
    return gone
