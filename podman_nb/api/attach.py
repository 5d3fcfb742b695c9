"""A container's attached stdin/stdout/stderr: the hijacked (upgraded) HTTP connection of ``/containers/{id}/attach``.

requests cannot hand over a connection after its upgrade, so this one is opened on the same socket the
client uses (its unix socket, the ssh forwarding's local socket, or its TCP address) and spoken to by hand.
"""

from __future__ import annotations

import socket
import struct
from typing import Iterator, Tuple
from urllib.parse import unquote, urlparse

from ..errors import APIError, NotFound, ServiceUnavailable
from ..failures import explain
from .api_client import APIClient


def hijack(api: APIClient, path: str, timeout: float = 30.0) -> Tuple[socket.socket, bytes]:
    """POST ``path`` (libpod): ``(socket, bytes already read past the answer's head)`` once upgraded."""
    if api.tunnel is not None:
        api._ensure_tunnel()  # pylint: disable=protected-access  (same layer)
    root = api._root  # pylint: disable=protected-access
    try:
        if root.startswith("http+unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(unquote(root[len("http+unix://"):]))
        else:
            parsed = urlparse(root)
            sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=timeout)
    except OSError as error:
        raise ServiceUnavailable(f"No Podman service answered at {api.target.label}: {error}",
                                 [api.base_url]) from None
    target = api.url(path)[len(root):]
    sock.sendall(f"POST {target} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: 0\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sock.close()
            raise ServiceUnavailable(f"The Podman service at {api.target.label} closed the attach connection",
                                     [api.base_url])
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status not in (101, 200):
        sock.close()
        cls = NotFound if status == 404 else APIError
        raise explain(cls(f"{status} from POST {target.split('?')[0]}",
                          explanation=rest.decode(errors="replace").strip()[:300], status_code=status))
    sock.settimeout(None)
    return sock, rest


def frames(sock: socket.socket, first: bytes = b"") -> Iterator[Tuple[int, bytes]]:
    """``(stream, data)`` of a non-tty attach stream (1 stdout, 2 stderr) until the service closes it."""
    buffer = first
    while True:
        while len(buffer) < 8 or len(buffer) < 8 + struct.unpack(">I", buffer[4:8])[0]:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return
            buffer += chunk
        size = struct.unpack(">I", buffer[4:8])[0]
        yield buffer[0], buffer[8:8 + size]
        buffer = buffer[8 + size:]
