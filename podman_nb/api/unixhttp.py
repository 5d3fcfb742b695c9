"""HTTP to the Podman service with the standard library alone: the socket every path of the transport opens.

``connect`` opens the service's address (its unix socket, the ssh forwarding's local one, or a TCP host and port)
for all of them: requests' adapter in ``api_client``, the attach hijack, and ``send``, one plain HTTP/1.1
exchange that a container kernel's launcher makes instead of requests' so that it never imports requests (a
fifth of a second of its start; see ``plain_calls``). ``refusal`` makes the error of a failed answer, from
requests or from ``send``, the same way for both. ``send`` raises ``BROKEN`` (``ConnectError`` when no connection
was made) and maps nothing: its caller does.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any, Mapping, Optional, Tuple, Type, Union

from ..base_errors import ServiceError
from ..failures import explain

Address = Union[str, Tuple[str, int]]  # a unix socket's path, or a TCP (host, port)

# How the service says an image, tag or repository is missing when it does not answer 404: Podman 3 answers a
# push of a missing image 400 "no such image", any Podman a compat pull of a missing tag 500 "manifest unknown".
_NOT_FOUND_WORDS = ("manifest unknown", "not found", "name unknown", "does not exist", "image not known",
                    "no such image")


class ConnectError(OSError):
    """No connection to the socket was made, so nothing was sent."""


class ConnectTimeout(ConnectError):
    """The socket did not accept a connection in time."""


BROKEN = (OSError, http.client.HTTPException)  # what ``send`` raises when no whole answer came


def connect(address: Address, timeout: Optional[float]) -> socket.socket:
    if not isinstance(address, str):
        return socket.create_connection(address, timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


class _Connection(http.client.HTTPConnection):
    def __init__(self, address: Address, timeout: Optional[float]):
        super().__init__("d", timeout=timeout)
        self.address = address

    def connect(self) -> None:
        try:
            self.sock = connect(self.address, self.timeout)
        except socket.timeout as error:  # TimeoutError from Python 3.10
            raise ConnectTimeout(str(error)) from error
        except OSError as error:
            raise ConnectError(str(error)) from error


class Sent:
    """What was asked (as requests' PreparedRequest says it, for the error mapping)."""

    def __init__(self, method: str, path_url: str):
        self.method, self.path_url = method, path_url


class Answer:
    """A whole answer, read: the part of requests' Response that a non-streamed call's reader uses."""

    def __init__(self, status: int, reason: str, headers: Any, content: bytes, request: Sent):
        self.status_code, self.reason, self.headers = status, reason, headers
        self.content, self.request = content, request

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self) -> Any:
        return json.loads(self.content)


def send(address: Address, method: str, target: str, body: Any = None, headers: Optional[Mapping[str, str]] = None,
         timeout: Optional[float] = None) -> Answer:
    """One request to ``address`` (``target``: path and query), its answer read whole."""
    connection = _Connection(address, timeout)
    try:
        connection.request(method, target, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, response.reason, response.headers, response.read(), Sent(method, target))
    finally:
        connection.close()


def api_versions(headers: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """``(libpod, compat)`` API versions from ``/_ping``'s headers, as Podman's own bindings read them (None: what
    answers does not say, so it is not Podman)."""
    libpod, compat = headers.get("Libpod-Api-Version"), headers.get("Api-Version")
    return (libpod, compat or "1.41") if libpod else None


def says_not_found(message: Any) -> bool:
    """Whether the service's message means that what was asked for does not exist."""
    lowered = str(message or "").lower()
    return any(word in lowered for word in _NOT_FOUND_WORDS)


def service_message(body: bytes) -> Optional[str]:
    """The service's own words in a failed answer's body: its JSON's message (or cause, or error), else its text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace").strip()[:500] or None
    return (data.get("message") or data.get("cause") or data.get("error")) if isinstance(data, Mapping) else None


def refusal(answer: Any, kind: Type[ServiceError] = ServiceError,
            not_found: Optional[Type[ServiceError]] = None) -> ServiceError:
    """The error of a failed answer (requests' Response or an ``Answer``), carrying the service's own message, its
    sentence made by the failures table; ``not_found`` (when given) for a 404 or words that mean one."""
    explanation = service_message(answer.content)
    if not_found is not None and (answer.status_code == 404 or says_not_found(explanation)):
        kind = not_found
    request = answer.request
    where = f" from {request.method} {request.path_url.split('?', 1)[0]}" if request is not None else ""
    message = f"{answer.status_code} {answer.reason or ''}".strip() + where
    return explain(kind(message, response=answer, explanation=explanation, status_code=answer.status_code))
