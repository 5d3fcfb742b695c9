"""A real IPython kernel started by jupyter_client, for the soak run (bench/soak.py) and tests/test_two_kernels.py:
run a cell and keep every iopub message it caused, and read the kernel process's RSS, open fds and threads."""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional


class CellFailed(AssertionError):
    """The cell's execute reply said error."""


class LiveKernel:
    """One ipykernel process (the running Python's, as nbclient starts it) with podman_nb loaded on ``base_url``."""

    def __init__(self, base_url: str, cwd: Path, progress: str = "auto"):
        from jupyter_client import KernelManager
        # ipc sockets in cwd, not loopback TCP (which ipykernel warns about)
        self.manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(cwd) / "kernel"))
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)
        self.pid = int(self.run("import os; print(os.getpid())").text.strip())
        self.run("%load_ext podman_nb\n"
                 f"%config PodmanMagics.base_url = {base_url!r}\n"
                 f"%config PodmanMagics.progress = {progress!r}\n")

    def start(self, code: str) -> str:
        """Send a cell without waiting; ``finish(msg_id)`` collects it."""
        return self.client.execute(code)

    def finish(self, msg_id: str, timeout: float = 300) -> "Cell":
        """Every iopub message of the cell until the kernel is idle again, and its reply."""
        cell = Cell()
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    break
                continue
            cell.messages.append(msg)
        while True:
            reply = self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                cell.status = reply["content"]["status"]
                return cell

    def run(self, code: str, timeout: float = 300, check: bool = True) -> "Cell":
        cell = self.finish(self.start(code), timeout)
        if check and cell.status != "ok":
            raise CellFailed(f"{code.splitlines()[0]!r} failed: {cell.dump()[-2000:]}")
        return cell

    def stats(self) -> dict:
        """The kernel process's resident memory (bytes), open file descriptors and threads, from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        fds = fd_kinds(self.pid)
        return {"rss": int(fields["VmRSS"].split()[0]) * 1024, "fds": sum(fds.values()), "fd kinds": fds,
                "threads": int(fields["Threads"])}

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def fd_kinds(pid: int) -> Counter:
    """What a process's open file descriptors are, counted: "socket", "pipe", an anon inode (with its kind, e.g.
    ``anon_inode:[eventfd]``) or a path."""
    kinds: Counter = Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        kinds[target.split(":[", 1)[0] if target.startswith(("socket:", "pipe:")) else target] += 1
    return kinds


class Cell:
    """What one cell sent on iopub (streams, display data, widget comm messages, errors) and its reply status."""

    def __init__(self):
        self.messages: List[dict] = []
        self.status: Optional[str] = None

    @property
    def text(self) -> str:
        """The cell's stream output."""
        return "".join(m["content"]["text"] for m in self.messages if m["msg_type"] == "stream")

    def dump(self) -> str:
        """Every message's content as JSON: all the cell showed, widget states included."""
        return "\n".join(json.dumps(m["content"], default=str) for m in self.messages)


def service_sockets(service) -> int:
    """How many sockets the Podman service process holds open: its clients' connections (and its listener)."""
    fd_dir = Path(f"/proc/{service._proc.proc.pid}/fd")
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            count += os.readlink(fd_dir / fd).startswith("socket:")
        except OSError:  # closed while we looked
            pass
    return count


def containers(service) -> List[str]:
    """Every container on the service, build (buildah working) containers included."""
    status, _, body = service.request("GET", "/v4.0.0/libpod/containers/json?all=true&external=true")
    assert status == 200, body
    return sorted(c["Id"] for c in json.loads(body) or [])
