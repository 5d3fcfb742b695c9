"""The few calls of a process that must start without importing requests: a container kernel's launcher.

``PlainCalls`` finds the service as ``APIClient`` does (``find_service``, the ssh forwarding) and sends each call
as one ``unixhttp.send`` exchange on the same kind of socket: ``get``/``post``/``delete`` of libpod paths, whole
answers, no streams, no retries. A failed answer raises the ServiceError that ``unixhttp.refusal`` makes for
``APIClient`` too (its sentence from the failures table), no answer an Unreachable: the requests-free halves of
APIError and ServiceUnavailable (see podman_nb.base_errors).
"""

from __future__ import annotations

import socket
from typing import Any, Mapping, Optional
from urllib.parse import urlencode, urlparse

from ..base_errors import PodmanError, Unreachable
from ..failures import unanswered
from . import unixhttp
from .params import clean_params
from .service import find_service
from .ssh import SSHTunnel

DEFAULT_TIMEOUT = 60.0


class PlainCalls:
    """Calls to one Podman service (``base_url`` or ``connection``; neither: the default one) without requests."""

    def __init__(self, base_url: Optional[str] = None, connection: Optional[str] = None):
        self.target = find_service(base_url, connection=connection)
        self.tunnel: Optional[SSHTunnel] = None
        if self.target.scheme == "ssh":
            self.tunnel = SSHTunnel(self.target.url, self.target.identity, self.target.is_machine, self.target.name)
        self.is_local = self.target.scheme == "unix"
        self._prefix: Optional[str] = None

    @property
    def address(self) -> unixhttp.Address:
        """Where to connect: the service's unix socket, the ssh forwarding's (started again if it ended), or TCP."""
        if self.tunnel is not None:
            return self.tunnel.ensure()
        if self.target.socket_path is not None:
            return self.target.socket_path
        parsed = urlparse(self.target.url)
        return str(parsed.hostname), parsed.port or 80

    def path(self, path: str) -> str:
        """The libpod path of ``path``, its API version read once from ``/_ping``'s headers."""
        if self._prefix is None:
            versions = unixhttp.api_versions(self._send("GET", "/_ping", None, {}, DEFAULT_TIMEOUT).headers)
            if versions is None:
                raise Unreachable(f"The service at {self.target.label} is not Podman (its /_ping names no libpod "
                                  "API version); podman_nb needs Podman's API", [self.target.url])
            self._prefix = f"/v{versions[0]}/libpod"
        return self._prefix + path

    def request(self, method: str, path: str, params: Optional[Mapping[str, Any]] = None, data: Any = None,
                headers: Optional[Mapping[str, str]] = None, timeout: float = DEFAULT_TIMEOUT) -> unixhttp.Answer:
        target = self.path(path)
        if params:
            target += "?" + urlencode(clean_params(params), doseq=True)
        answer = self._send(method, target, data, headers or {}, timeout)
        if answer.status_code >= 400:
            raise unixhttp.refusal(answer)
        return answer

    def get(self, path: str, **kwargs: Any) -> unixhttp.Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> unixhttp.Answer:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> unixhttp.Answer:
        return self.request("DELETE", path, **kwargs)

    def _send(self, method: str, target: str, data: Any, headers: Mapping[str, str],
              timeout: float) -> unixhttp.Answer:
        try:
            return unixhttp.send(self.address, method, target, data, headers, timeout)
        except unixhttp.ConnectError as error:
            raise unanswered(f"No Podman service answered at {self.target.label}", [self.target.url]) from error
        except socket.timeout as error:  # TimeoutError from Python 3.10
            raise PodmanError(f"The Podman service at {self.target.label} did not answer within {timeout} s") \
                from error
        except unixhttp.BROKEN as error:
            raise Unreachable(f"The connection to the Podman service at {self.target.label} broke: {error}",
                              [self.target.url]) from error

    def close(self) -> None:
        if self.tunnel is not None:
            self.tunnel.close()
