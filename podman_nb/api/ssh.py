"""ssh:// services: one ``ssh -N -L LOCAL.sock:REMOTE.sock`` process per client, run by the system OpenSSH client.

Using the user's own ``ssh`` keeps ``~/.ssh/config``, the agent and known_hosts working as in their shell.
Host keys are checked (a new host is trusted on first contact, a changed key is refused) except for
``podman machine`` connections, which podman does not check either. The process is started on first
use, restarted when it has died, and stopped at ``close()``, at exit, and with our process group (a
kernel killed by Jupyter takes it along; an interrupt does not stop it). Failures come back within
about ``CONNECT_TIMEOUT`` seconds as Unreachable naming the host and the reason. A server that
refuses socket forwarding is reached through ``podman system dial-stdio`` instead (dialstdio.py).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from typing import List, Optional
from urllib.parse import unquote, urlparse

from ..base_errors import Unreachable
from ..failures import ssh_reason
from .dialstdio import DialStdioRelay, spawn, stop_process

CONNECT_TIMEOUT = 8  # seconds ssh may take to reach the host (its ConnectTimeout)

_tunnels: "weakref.WeakSet[SSHTunnel]" = weakref.WeakSet()


def _close_all() -> None:
    for tunnel in list(_tunnels):
        tunnel.close()


atexit.register(_close_all)


class SSHTunnel:
    """The forwarding of one ssh:// service's socket to a local one; ``ensure()`` returns its path."""

    def __init__(self, uri: str, identity: Optional[str] = None, is_machine: bool = False,
                 name: Optional[str] = None):
        parsed = urlparse(uri)
        if parsed.scheme != "ssh" or not parsed.hostname:
            raise ValueError(f"not an ssh:// address: {uri!r}")
        self.uri = uri
        self.user = unquote(parsed.username) if parsed.username else None
        self.host = parsed.hostname
        self.port = parsed.port
        self.remote_path = parsed.path if parsed.path not in ("", "/") else None
        self.identity = os.path.expanduser(identity) if identity else None
        self.is_machine = is_machine
        self.name = name
        self.directory = tempfile.mkdtemp(prefix="podman_nb-ssh-")
        self.local_path = os.path.join(self.directory, "podman.sock")
        self.process: Optional[subprocess.Popen] = None
        self.relay: Optional[DialStdioRelay] = None  # when the server refuses socket forwarding
        self._lock = threading.Lock()
        _tunnels.add(self)

    def __repr__(self) -> str:
        return f"SSHTunnel({self.uri!r}, pid={self.pid})"

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process is not None else None

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def _where(self) -> str:
        label = f"connection {self.name!r} ({self.uri})" if self.name else self.uri
        return f"Cannot reach the Podman service of {label} over ssh"

    def ssh_command(self, *extra: str) -> List[str]:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise Unreachable(f"{self._where()}: the OpenSSH client `ssh` is not installed (not on PATH)",
                                     [self.uri])
        command = [ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
                   "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"]
        if self.is_machine:  # podman machine regenerates its host key; podman does not check it either
            command += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            command += ["-o", "StrictHostKeyChecking=accept-new"]
        if self.identity:
            command += ["-i", self.identity, "-o", "IdentitiesOnly=yes"]
        if self.port:
            command += ["-p", str(self.port)]
        return command + list(extra) + ["--", self.destination]

    def ensure(self) -> str:
        """The local socket, starting (or restarting) the forwarding when it is not running."""
        with self._lock:
            if self.relay is None and (self.process is None or self.process.poll() is not None):
                self._start()
            return self.local_path

    def _failure(self, stderr: str, returncode: Optional[int]) -> Unreachable:
        return Unreachable(f"{self._where()}: {ssh_reason(stderr, returncode, CONNECT_TIMEOUT)}", [self.uri])

    def remote_socket(self) -> str:
        """The service socket on the remote side, as its own ``podman info`` reports it."""
        command = self.ssh_command() + ["podman", "info", "--format", "'{{.Host.RemoteSocket.Path}}'"]
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=CONNECT_TIMEOUT + 20, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{self._where()}: `podman info` on {self.host} did not answer; "
                                     "put the socket path in the address (ssh://HOST/run/podman/podman.sock)",
                                     [self.uri]) from None
        if done.returncode == 255:
            raise self._failure(done.stderr, done.returncode)
        path = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or not path:
            raise Unreachable(f"{self._where()}: the address names no socket and `podman info` on "
                                     f"{self.host} failed: {done.stderr.strip()[-300:] or 'no output'}", [self.uri])
        return path[len("unix://"):] if path.startswith("unix://") else path

    def ended(self, wait: float = 0.5) -> bool:
        """Whether the forwarding process has exited (waiting up to ``wait`` s for one that is dying)."""
        process = self.process
        if process is None or self.relay is not None:
            return self.relay is None
        try:
            process.wait(timeout=wait)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _start(self) -> None:
        if self.remote_path is None:
            self.remote_path = self.remote_socket()
        command = self.ssh_command("-N", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
                                   "-L", f"{self.local_path}:{self.remote_path}")
        self._stop_process()
        os.makedirs(self.directory, exist_ok=True)  # again after close(): a closed client may be used again
        _tunnels.add(self)
        errors_path = os.path.join(self.directory, "ssh.err")
        with open(errors_path, "wb") as errors:
            self.process = spawn(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.monotonic() + CONNECT_TIMEOUT + 5
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with open(errors_path, errors="replace") as errors:
                    raise self._failure(errors.read(), self.process.returncode)
            if _accepts(self.local_path):
                if not _answers(self.local_path):  # refused forwarding, or no service there
                    command = self.ssh_command() + ["podman", "--url", f"unix://{self.remote_path}",
                                                    "system", "dial-stdio"]
                    if _answers_on_stdio(command):  # the service is there: the server refuses forwarding
                        self._stop_process()
                        self.relay = DialStdioRelay(command, self.local_path)
                return
            time.sleep(0.02)
        self._stop_process()
        raise Unreachable(f"{self._where()}: ssh to {self.host} did not set up the forwarding within "
                                 f"{CONNECT_TIMEOUT + 5} s", [self.uri])

    def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process(process)

    def close(self) -> None:
        """Stop the forwarding process and remove its socket directory (idempotent)."""
        with self._lock:
            self._stop_process()
            relay, self.relay = self.relay, None
            if relay is not None:
                relay.close()
            shutil.rmtree(self.directory, ignore_errors=True)
        _tunnels.discard(self)


def _accepts(path: str) -> bool:
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
            return True
        except OSError:
            return False


_PING = b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n"


def _answers(path: str) -> bool:
    """Whether an HTTP request through the forwarded socket gets any answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(path)
            sock.sendall(_PING)
            return bool(sock.recv(16))
        except OSError:
            return False


def _answers_on_stdio(command: List[str]) -> bool:
    """Whether ``ssh HOST podman system dial-stdio`` reaches an HTTP service."""
    try:
        done = subprocess.run(command, input=_PING, capture_output=True, timeout=CONNECT_TIMEOUT + 10,
                              start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.stdout.startswith(b"HTTP/")
