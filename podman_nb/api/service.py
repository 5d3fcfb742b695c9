"""Finding the Podman service: explicit address, CONTAINER_HOST, the usual sockets, else a private one.

Order: an explicit ``base_url`` is used alone. Otherwise ``CONTAINER_HOST``,
``$XDG_RUNTIME_DIR/podman/podman.sock`` and ``/run/podman/podman.sock`` are tried in turn and the
first that answers wins. When none answers and ``podman`` is on PATH, a private
``podman system service`` is started for this process (said once, stopped at exit).
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
from typing import List, Optional
from urllib.parse import urlparse

from ..errors import InvalidArgument, ServiceUnavailable

log = logging.getLogger("podman_nb")

START_HINT = ("start it with `podman system service --time=0 &` "
              "(or `systemctl --user start podman.socket`), or pass base_url=")


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
        raise InvalidArgument(
            "ssh:// connections are not supported yet; forward the remote socket with "
            "`ssh -L /tmp/podman.sock:/run/podman/podman.sock HOST` and use unix:///tmp/podman.sock")
    raise InvalidArgument(f"{url!r} has an unknown scheme; use unix://, tcp:// or http://")


def candidate_urls() -> List[str]:
    """The addresses tried, in order, when no base_url is given."""
    urls = []
    if os.environ.get("CONTAINER_HOST"):
        urls.append(os.environ["CONTAINER_HOST"])
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        urls.append(f"unix://{runtime_dir}/podman/podman.sock")
    urls.append("unix:///run/podman/podman.sock")
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
        raise ServiceUnavailable(f"podman system service did not start: {tail or 'no output'}")

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


def find_service(base_url: Optional[str] = None, start: bool = True) -> str:
    """The address of a Podman service that answers; raises ServiceUnavailable naming every address tried."""
    global _private
    if base_url is not None:
        return normalize_url(base_url)
    tried = []
    for url in candidate_urls():
        url = normalize_url(url)
        tried.append(url)
        if answers(url):
            return url
    if _private is not None and _private.process.poll() is None:
        return _private.url
    podman = shutil.which("podman")
    if start and podman:
        _private = PrivateService(podman)
        _private.wait()
        log.warning("No Podman service was running; podman_nb started one at %s for this session "
                    "(it stops when Python exits).", _private.url)
        return _private.url
    reason = "podman is not installed" if not podman else "starting one was disabled"
    raise ServiceUnavailable(
        f"No Podman service answered at {', '.join(tried)} ({reason}); {START_HINT}", tried)
