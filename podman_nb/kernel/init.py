"""The kernel container's PID 1 (its source is run as ``python3 -c``): a small init around ipykernel.

It reads the connection info from stdin (one JSON line, so the key is in no argv, environment, inspect
output or log) into a file on the container's /dev/shm tmpfs, runs ipykernel on it in a forked child, forwards
SIGINT/SIGTERM/SIGHUP to it, reaps orphans, and ends the kernel when stdin reaches EOF: the launcher keeps
stdin attached, so a launcher that dies, even by SIGKILL, ends its container. Sent ports 0 (a service
over ssh), it says on stdout which ports ipykernel bound. Standard library only.
"""
import importlib.util
import json
import logging
import os
import runpy
import signal
import sys
import tempfile
import threading
import time


def _read_line():
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit("podman_nb kernel: the launcher sent no connection info")
        data += chunk
    return json.loads(data.decode())


PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
MARK = "podman_nb-ports: "


def report_ports(path, ended):
    """Once ipykernel has written the ports it bound into its connection file, one line on stdout."""
    while not ended.is_set():
        try:
            with open(path) as handle:
                written = json.load(handle)
            if all(written.get(key) for key in PORTS):
                sys.stdout.write(MARK + json.dumps({key: written[key] for key in PORTS}) + "\n")
                sys.stdout.flush()
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)


def become_kernel(path):
    """The forked child turns into ``python -m ipykernel_launcher`` on ``path``: no second Python start-up."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the launcher's stdin is the init's
    os.close(devnull)
    with open(path) as handle:
        if json.load(handle).get("ip") == "127.0.0.1":  # only this machine reaches the ports (README: why safe)
            logging.getLogger("IPKernelApp").addFilter(lambda record: "without encryption" not in record.getMessage())
    # parent_handle=1: no parent polling (the parent is this init) and no "Ctrl-C will not work" banner
    sys.argv = ["ipykernel_launcher", "-f", path, "--IPKernelApp.parent_handle=1"]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    sys.exit(0)  # up through main(): the child runs none of the init's code after the fork


def main():
    # found, not imported: importing it here costs a third of a second that the kernel's own start pays again
    if importlib.util.find_spec("ipykernel") is None:
        sys.exit("podman_nb kernel: this image's python3 has no ipykernel; rebuild it with "
                 "%image_env --kernel NAME, or add ipykernel to its requirements.txt")
    info = _read_line()
    folder = tempfile.mkdtemp(prefix="podman_nb-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = os.path.join(folder, "kernel.json")
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(handle, json.dumps(info).encode())
    os.close(handle)
    child = os.fork()  # before any thread starts and any handler is set
    if child == 0:
        become_kernel(path)
    ended = threading.Event()  # the child is reaped: its pid may be another process's now

    def forward(signum, frame):
        if not ended.is_set():
            os.kill(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)

    def watch():  # stdin's EOF: the launcher is gone
        while True:
            try:
                if not os.read(0, 65536):
                    break
            except OSError:
                break
        forward(signal.SIGTERM, None)
        if not ended.wait(3):
            forward(signal.SIGKILL, None)

    threading.Thread(target=watch, daemon=True).start()
    if not all(info.get(key) for key in PORTS):  # ports 0: ipykernel picks them; say which on stdout
        threading.Thread(target=report_ports, args=(path, ended), daemon=True).start()
    code = 0
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid == child:
            code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 1
            ended.set()
            break
    try:
        os.unlink(path)
    except OSError:
        pass
    sys.exit(code if code > 0 else 0)

main()
