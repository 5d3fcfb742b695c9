"""Finding the Podman service, in the podman CLI's order, else starting a private one.

1. an explicit ``base_url`` or ``connection`` (a name from Podman's connection configuration);
2. ``CONTAINER_CONNECTION`` (a name);
3. ``CONTAINER_HOST`` (with ``CONTAINER_SSHKEY`` for ssh://);
4. the default connection (only when CONTAINER_HOST is unset, as in the CLI);
5. ``$XDG_RUNTIME_DIR/podman/podman.sock``, ``/run/podman/podman.sock``;
6. a private ``podman system service`` for this process (said once, stopped at exit).

A named connection, an ssh:// address or an explicit address is used alone: when it does not answer the
error names it, nothing else is tried. A local CONTAINER_HOST that does not answer falls through to 5.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import List, Mapping, Optional
from urllib.parse import urlparse

from ..base_errors import InvalidArgument, Unreachable
from ..failures import unanswered
from .connections import Connection, default_connection, get_connection

log = logging.getLogger("podman_nb")
ROOTFUL_URL = "unix:///run/podman/podman.sock"  # the system service's socket, tried last



def normalize_url(url: str) -> str:
    """Check a service address and return it in canonical form (``unix:///path``, ``http://host:port``)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument(f"base_url must be a non-empty string, not {url!r}")
    url = url.strip()
    if url.startswith("/"):
        url = "unix://" + url
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("unix", "http+unix"):
        path = parsed.path or parsed.netloc
        if not path:
            raise InvalidArgument(f"{url!r} names no socket path")
        return "unix://" + path
    if scheme in ("tcp", "http"):
        if not parsed.hostname or parsed.port is None and scheme == "tcp":
            raise InvalidArgument(f"{url!r} needs a host and a port, like tcp://127.0.0.1:8888")
        return f"http://{parsed.netloc}"
    if scheme == "ssh":
        if not parsed.hostname:
            raise InvalidArgument(f"{url!r} names no host; use ssh://[USER@]HOST[:PORT][/REMOTE/SOCKET]")
        return url
    if scheme == "npipe":
        raise InvalidArgument("npipe:// (Windows named pipes) is not supported; use the machine's ssh:// "
                              "connection (`podman system connection list`), which is found by default")
    raise InvalidArgument(f"{url!r} has an unknown scheme; use unix://, ssh://, tcp:// or http://")


@dataclass(frozen=True)
class Target:
    """Where to find the service: ``url`` (canonical), the connection's ``name`` and ssh ``identity`` if any."""

    url: str
    name: Optional[str] = None
    identity: Optional[str] = None
    is_machine: bool = False

    @property
    def scheme(self) -> str:
        """``unix``, ``http`` or ``ssh``: what ``url`` is, parsed once by normalize_url."""
        return self.url.split("://", 1)[0]

    @property
    def socket_path(self) -> Optional[str]:
        """A local service's socket file (None for http:// and ssh://)."""
        return self.url[len("unix://"):] if self.scheme == "unix" else None

    @property
    def label(self) -> str:
        return f"connection {self.name!r} ({self.url})" if self.name else self.url


def _named(connection: Connection, identity: Optional[str] = None) -> Target:
    """A named connection's target; a local one that does not answer is an error naming it."""
    try:
        url = normalize_url(connection.uri)
    except InvalidArgument as error:
        raise Unreachable(f"Podman's connection {connection.name!r} has an unusable address: {error}",
                                 [connection.uri]) from None
    target = Target(url, connection.name, identity or connection.identity, connection.is_machine)
    if target.scheme != "ssh" and not answers(url):
        raise Unreachable(f"No Podman service answers for {target.label}: the service is stopped or "
                                 "the connection is stale (`podman system connection list`)", [url])
    return target


def candidate_urls(environment: Optional[Mapping[str, str]] = None) -> List[str]:
    """The local addresses tried, in order, when nothing names the service."""
    env = os.environ if environment is None else environment
    urls = []
    if env.get("CONTAINER_HOST"):
        urls.append(env["CONTAINER_HOST"])
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        urls.append(f"unix://{runtime_dir}/podman/podman.sock")
    urls.append(ROOTFUL_URL)
    return list(dict.fromkeys(urls))


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether something accepts connections at ``url`` (a cheap check before any HTTP)."""
    parsed = urlparse(url)
    try:
        if parsed.scheme == "unix":
            if not os.path.exists(parsed.path):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(parsed.path)
        else:
            with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=timeout):
                pass
        return True
    except OSError:
        return False


class PrivateService:
    """A ``podman system service`` this process started because none was running."""

    def __init__(self, podman: str):
        self.directory = tempfile.mkdtemp(prefix="podman_nb-")
        self.url = f"unix://{self.directory}/podman.sock"
        env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
        self._log = open(os.path.join(self.directory, "service.log"), "wb")
        self.process = subprocess.Popen(
            [podman, "system", "service", "--time=0", self.url],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
        atexit.register(self.stop)

    def wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if answers(self.url, timeout=0.5):
                return
            time.sleep(0.05)
        self.stop()
        with open(os.path.join(self.directory, "service.log"), "rb") as handle:
            tail = handle.read()[-500:].decode(errors="replace").strip()
        raise Unreachable(f"podman system service did not start: {tail or 'no output'}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_private: Optional[PrivateService] = None


def find_service(base_url: Optional[str] = None, start: bool = True, connection: Optional[str] = None,
                 identity: Optional[str] = None, environment: Optional[Mapping[str, str]] = None) -> Target:
    """The service to talk to (see the module's order), reading ``environment`` (default ``os.environ``);
    raises Unreachable naming what was tried."""
    global _private
    env = os.environ if environment is None else environment
    if base_url is not None and connection is not None:
        raise InvalidArgument("give base_url or connection, not both")
    if base_url is not None:
        return Target(normalize_url(base_url), identity=identity)
    name = connection or env.get("CONTAINER_CONNECTION")
    if name:
        return _named(get_connection(name), identity)
    host = env.get("CONTAINER_HOST")
    if host and urlparse(host).scheme == "ssh":
        return Target(normalize_url(host), identity=identity or env.get("CONTAINER_SSHKEY") or None)
    if not host:
        default = default_connection()
        if default is not None:
            return _named(default, identity)
    tried = []
    for url in candidate_urls(env):
        url = normalize_url(url)
        tried.append(url)
        if answers(url):
            return Target(url)
    if _private is not None and _private.process.poll() is None:
        return Target(_private.url)
    podman = shutil.which("podman")
    if start and podman:
        _private = PrivateService(podman)
        _private.wait()
        log.warning("No Podman service was running; podman_nb started one at %s for this session "
                    "(it stops when Python exits).", _private.url)
        return Target(_private.url)
    reason = "podman is not installed" if not podman else "starting one was disabled"
    raise unanswered(f"No Podman service answered at {', '.join(tried)} ({reason})", tried)
