"""A container's attached stdin/stdout/stderr: the hijacked (upgraded) HTTP connection of ``/containers/{id}/attach``.

requests cannot hand over a connection after its upgrade, so this one is opened (``unixhttp.connect``) on the
same address the calls use (the unix socket, the ssh forwarding's local socket, or a TCP address) and spoken to
by hand. A container kernel's launcher attaches so (``plain_calls``): nothing here imports requests.
"""

from __future__ import annotations

import socket
import struct
from typing import Iterator, Tuple

from ..base_errors import ServiceError, Unreachable
from ..failures import explain
from .unixhttp import Address, connect


def hijack(address: Address, label: str, target: str, timeout: float = 30.0) -> Tuple[socket.socket, bytes]:
    """POST ``target`` (the whole path) at ``address`` (``label`` names the service in errors): ``(socket, bytes
    already read past the answer's head)`` once upgraded."""
    try:
        sock = connect(address, timeout)
    except OSError as error:
        raise Unreachable(f"No Podman service answered at {label}: {error}", [label]) from None
    sock.sendall(f"POST {target} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: 0\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sock.close()
            raise Unreachable(f"The Podman service at {label} closed the attach connection", [label])
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status not in (101, 200):
        sock.close()
        raise explain(ServiceError(f"{status} from POST {target.split('?')[0]}",
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
