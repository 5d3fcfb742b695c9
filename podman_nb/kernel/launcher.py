"""The launcher a podman_nb kernelspec runs: one kernel container for one Jupyter kernel, for as long as it lives.

It makes the container (the notebook's folder, its cwd, mounted at the same path; the host's network on
the connection file's loopback ports, or a named network publishing them on 127.0.0.1 only), attaches
to its stdin/stdout/stderr, starts it and sends the connection info down stdin (see ``init``). Then it
relays the kernel's output to Jupyter's log, forwards SIGINT through the API, and removes the container
on SIGTERM/SIGHUP or when it ends. If the container dies or is removed, the attach stream ends and the
launcher exits at once, so Jupyter sees a dead kernel. For a service over ssh the kernel binds ports of
its own on the remote host's loopback and the launcher forwards the connection file's five to them
(``ssh -L``, with the connection's own ssh options).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from typing import List, Optional

from ..api.attach import frames, hijack
from ..api.dialstdio import spawn, stop_process
from ..api.plain_calls import PlainCalls
from ..base_errors import PodmanError, ServiceError
from . import containers
from .containers import KernelError, Options

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
PORTS_MARK = b"podman_nb-ports: "  # the line init.py writes (the init runs alone in the image: no import)


def parse(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m podman_nb.kernel",
                                     description="Run a Jupyter kernel in a Podman container (a kernelspec's argv).")
    parser.add_argument("--name", required=True, help="The kernelspec's name (labels the containers).")
    parser.add_argument("--image", required=True)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="The Podman service's address.")
    where.add_argument("--connection", help="The Podman connection's name.")
    parser.add_argument("--mount", action="append", default=[], metavar="HOST[:CONTAINER[:ro]]")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--network")
    parser.add_argument("-f", dest="connection_file", required=True, help="Jupyter's connection file.")
    return parser.parse_args(argv)


class Launcher:
    def __init__(self, args: argparse.Namespace):
        self.options = Options(args.name, args.image, args.mount, args.env, args.gpu, args.network)
        with open(args.connection_file, encoding="utf-8") as handle:
            self.info = json.load(handle)
        if str(self.info.get("ip", "127.0.0.1")) not in _LOOPBACK or self.info.get("transport", "tcp") != "tcp":
            raise KernelError(f"the connection file asks for {self.info.get('transport')}://{self.info.get('ip')}; "
                              "a podman_nb kernel listens on 127.0.0.1 over tcp only")
        # the service recorded in the kernelspec, whatever CONTAINER_HOST says now; its calls import no requests
        # (a fifth of a second of every start): the whole process never does (see base_errors)
        self.api = PlainCalls(base_url=args.url, connection=args.connection)
        self.container: Optional[str] = None
        self.wake_read, self.wake_write = os.pipe()
        self.events: List[str] = []
        self.remote_ports: Optional[dict] = None  # over ssh: the ports ipykernel bound on the remote host
        self.forwarding: Optional[subprocess.Popen] = None

    def _wake(self, what: str) -> None:
        self.events.append(what)
        os.write(self.wake_write, b".")

    def run(self) -> int:
        for signum, what in ((signal.SIGINT, "interrupt"), (signal.SIGTERM, "stop"), (signal.SIGHUP, "stop")):
            signal.signal(signum, lambda *_, what=what: self._wake(what))
        cwd = os.getcwd()
        ports = tuple(int(self.info[key]) for key in _PORTS)
        spec = containers.create_spec(self.options, cwd, containers.init_command(),
                                      rootless=os.geteuid() != 0 and self.api.is_local, ports=ports)
        try:
            self.container = self.api.post("/containers/create", data=json.dumps(spec),
                                           headers={"Content-Type": "application/json"}).json()["Id"]
        except ServiceError as error:
            raise containers.refused(error, self.options, cwd) from None
        sock, first = hijack(self.api.address, self.api.target.label,
                             self.api.path(f"/containers/{self.container}/attach?stream=true&stdin=true"
                                           "&stdout=true&stderr=true"))
        try:
            self.api.post(f"/containers/{self.container}/start", timeout=60)
        except ServiceError as error:
            raise containers.refused(error, self.options, cwd) from None
        inside = dict(self.info, ip="0.0.0.0" if self.options.network else "127.0.0.1")
        if self.api.tunnel is not None:  # the remote host's ports are its own: ipykernel picks, ssh forwards
            inside.update({key: 0 for key in _PORTS})
        sock.sendall(json.dumps(inside).encode() + b"\n")
        threading.Thread(target=self._relay, args=(sock, first), daemon=True).start()
        threading.Thread(target=self._remove_orphans, daemon=True).start()  # off the start's path
        while True:
            os.read(self.wake_read, 1)
            what = self.events.pop(0)
            if what == "ports":
                self._forward()
                continue
            if what == "interrupt":
                try:
                    self.api.post(f"/containers/{self.container}/kill", params={"signal": "SIGINT"}, timeout=10)
                except PodmanError as error:
                    print(f"podman_nb kernel: could not interrupt: {error}", file=sys.stderr)
                continue
            return 0 if what == "stop" else 1

    def _remove_orphans(self) -> None:
        try:
            containers.remove_orphans(self.api, self.options.name)
        except PodmanError as error:
            print(f"podman_nb kernel: could not remove containers left by dead launchers: {error}", file=sys.stderr)

    def _forward(self) -> None:
        """``ssh -L`` of the five ports, over the connection's ssh (its options, identity, known_hosts)."""
        tunnel = self.api.tunnel
        forwards = [word for key in _PORTS
                    for word in ("-L", f"127.0.0.1:{self.info[key]}:127.0.0.1:{self.remote_ports[key]}")]
        self.forwarding = spawn(tunnel.ssh_command("-N", "-o", "ExitOnForwardFailure=yes", *forwards),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    def _relay(self, sock, first: bytes) -> None:
        outputs = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
        for stream, data in frames(sock, first):
            if self.remote_ports is None and stream == 1 and PORTS_MARK in data:
                line = data.split(PORTS_MARK, 1)[1].split(b"\n", 1)[0]
                self.remote_ports = json.loads(line)
                self._wake("ports")
                continue
            out = outputs.get(stream, sys.stderr.buffer)
            out.write(data)
            out.flush()
        self._wake("ended")

    def close(self) -> None:
        if self.forwarding is not None:
            stop_process(self.forwarding)
        if self.container is not None:
            try:
                containers.remove(self.api, self.container)
            except PodmanError as error:
                print(f"podman_nb kernel: could not remove container {self.container[:12]}: {error}", file=sys.stderr)
        self.api.close()


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    launcher = None
    try:
        launcher = Launcher(args)
        return launcher.run()
    except (PodmanError, OSError, ValueError) as error:
        # one sentence for Jupyter's log (and the "kernel died" text): no traceback
        print(f"podman_nb kernel {args.name!r} ({args.image}) cannot start: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        if launcher is not None:
            launcher.close()
