"""The HTTP session to one Podman service: versioned paths, timeouts, error mapping, streamed responses."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Type
from urllib.parse import quote, unquote, urlparse

import requests
import requests_unixsocket
import urllib3.exceptions
from requests_unixsocket import adapters as unix_adapters

from ..errors import APIError, InvalidArgument, NotFound, ServiceUnavailable, StreamTimeout, Unreachable
from .features import Features
from .params import clean_params
from ..failures import unanswered
from .service import Target, find_service
from .ssh import SSHTunnel
from .stream import json_stream
from . import unixhttp

DEFAULT_TIMEOUT = 60.0


class _UnixConnection(unix_adapters.UnixHTTPConnection):
    """requests-unixsocket's connection, its socket opened by ``unixhttp.connect`` (the transport's one way)."""

    def connect(self):
        self.sock = unixhttp.connect(unquote(urlparse(self.unix_socket_url).netloc), self.timeout)


class _UnixPool(unix_adapters.UnixHTTPConnectionPool):
    def _new_conn(self):
        return _UnixConnection(self.socket_path, self.timeout)


class _UnixAdapter(requests_unixsocket.UnixAdapter):
    """requests-unixsocket keeps one pool per full URL; keep one per socket so connections are reused."""

    def get_connection(self, url, _proxies=None):  # no proxies: the session's trust_env is off
        url = "/".join(url.split("/", 3)[:3])
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = self.pools[url] = _UnixPool(url, self.timeout)
        return pool


def quote_name(name: str) -> str:
    """An image name or id made safe for one path segment: it can never reach another endpoint."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"an image name must be a non-empty string, not {name!r}")
    if not name.strip("."):
        # "." and ".." are dot segments: the service would resolve them to another endpoint.
        raise InvalidArgument(f"{name!r} is not an image name")
    return quote(name, safe="")


class APIClient:
    """Talks HTTP to one Podman service. Thread-safe: requests share one connection pool.

    ``timeout`` bounds connecting and each ordinary request; ``stream_timeout`` is the longest a
    stream may stay silent (``None``: wait as long as the service works).
    """

    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 stream_timeout: Optional[float] = None, start_service: bool = True,
                 connection: Optional[str] = None, identity: Optional[str] = None,
                 environment: Optional[Mapping[str, str]] = None, **_ignored: Any):
        try:  # service discovery and ssh raise Unreachable: here it becomes the APIError podman-py code catches
            self.target: Target = find_service(base_url, start=start_service, connection=connection,
                                               identity=identity, environment=environment)
            self.tunnel: Optional[SSHTunnel] = None
            if self.target.scheme == "ssh":
                self.tunnel = SSHTunnel(self.target.url, self.target.identity, self.target.is_machine,
                                        self.target.name)
        except Unreachable as error:
            raise ServiceUnavailable.of(error) from None
        self.base_url = self.target.url
        self.connection = self.target.name
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.stream_timeout = stream_timeout
        self._session = requests.Session()
        self._session.trust_env = False  # proxies from the environment must not see a local socket
        socket_path = self.target.socket_path if self.tunnel is None else self.tunnel.local_path
        if socket_path is not None:
            self._session.mount("http+unix://", _UnixAdapter())
            self._root = "http+unix://" + quote(socket_path, safe="")
        else:
            self._root = self.base_url
        self._socket_path = socket_path
        self._versions: Optional[Dict[str, Any]] = None
        self._versions_of: Any = None  # the socket file the kept /version came from (see _service_key)
        self._apis: Optional[Tuple[str, str]] = None  # (libpod, compat) API versions: the paths' prefixes
        self._apis_of: Any = None
        self._lock = threading.Lock()
        # called (no arguments) when a request that may change the service's images starts and when it ends,
        # and when the client is closed: how a listing cache hears of this client's own changes and goes away
        self.change_hooks: List[Callable[[], None]] = []
        self.close_hooks: List[Callable[[], None]] = []

    @property
    def is_local(self) -> bool:
        """Whether the service runs on this machine (a unix socket here), so that this machine's
        registries.conf, certificates and logins are the ones it reads too."""
        return self.target.scheme == "unix"

    def __repr__(self) -> str:
        named = f", connection={self.connection!r}" if self.connection else ""
        return f"APIClient(base_url={self.base_url!r}{named})"

    # Versions -------------------------------------------------------------------------------
    def version(self) -> Dict[str, Any]:
        """The service's ``/version`` document, kept until the service is another one: its socket file was
        made anew (a restart, perhaps of another Podman) or a connection to it failed."""
        with self._lock:
            key = self._service_key()
            if self._versions is None or key != self._versions_of:
                response = self._send("GET", f"{self._root}/version", timeout=self.timeout)
                self._versions, self._versions_of = _podman_versions(response, self.target.label), key
            return self._versions

    def _forget_service(self) -> None:
        """Drop what was kept of the service: whatever answers next may be another Podman."""
        self._versions = self._apis = None

    def _service_key(self) -> Any:
        """What tells one service from the next on the same address: the socket file's inode and change time (an
        inode number is reused when the file is made anew; None: unknown)."""
        if self._socket_path is None or self.tunnel is not None:
            return None
        try:
            stat = os.stat(self._socket_path)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino, stat.st_ctime_ns

    @property
    def podman_version(self) -> str:
        versions = self.version()
        for component in versions.get("Components") or []:
            if "podman" in str(component.get("Name", "")).lower():
                return str(component.get("Version") or versions.get("Version"))
        return str(versions.get("Version"))

    @property
    def features(self) -> Features:
        """What this service's Podman can do (from ``/version``, read once)."""
        return Features(self.podman_version)

    def api_versions(self) -> Tuple[str, str]:
        """``(libpod, compat)`` API versions, what the paths start with: from ``/_ping``'s headers, as Podman's own
        bindings read them (a ms; ``/version`` takes about a second on Podman 4, which asks the package manager
        where conmon and the runtime come from), else from ``/version`` (which says what answers if not Podman).
        Kept as ``version()`` is."""
        with self._lock:
            key = self._service_key()
            if self._apis is None or key != self._apis_of:
                headers = self._send("GET", f"{self._root}/_ping", timeout=self.timeout).headers
                self._apis, self._apis_of = unixhttp.api_versions(headers), key
        if self._apis is None:
            versions = self.version()
            details = {}
            for component in versions.get("Components") or []:
                details = component.get("Details") or details
            self._apis = (details.get("APIVersion") or self.podman_version, versions.get("ApiVersion", "1.41"))
        return self._apis

    @property
    def libpod_prefix(self) -> str:
        return f"{self._root}/v{self.api_versions()[0]}/libpod"

    @property
    def compat_prefix(self) -> str:
        return f"{self._root}/v{self.api_versions()[1]}"

    # Requests -------------------------------------------------------------------------------
    def url(self, path: str, compat: bool = False) -> str:
        return (self.compat_prefix if compat else self.libpod_prefix) + path

    def request(self, method: str, path: str, *, compat: bool = False, params: Optional[Mapping] = None,
                data: Any = None, headers: Optional[Mapping[str, str]] = None, stream: bool = False,
                timeout: Optional[float] = None, not_found: Type[NotFound] = NotFound) -> requests.Response:
        """Send one request; a non-2xx answer raises APIError (``not_found`` for 404)."""
        if timeout is None:
            timeout = (self.timeout, self.stream_timeout) if stream else self.timeout
        changes = method != "GET"
        if changes:
            self._changed()
        try:
            response = self._send(method, self.url(path, compat), params=clean_params(params), data=data,
                                  headers=headers, stream=stream, timeout=timeout)
        finally:
            if changes and not stream:  # a stream's change ends with the stream (stream_bytes)
                self._changed()
        if response.status_code >= 400:
            raise error_from_response(response, not_found)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def ping(self) -> bool:
        response = self._send("GET", f"{self._root}/_ping", timeout=self.timeout)
        return response.ok

    def stream_json(self, response: requests.Response) -> Iterator[Any]:
        """Decoded objects of a streamed response as they arrive; closes it when done or abandoned."""
        return json_stream(self.stream_bytes(response))

    def stream_bytes(self, response: requests.Response, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """Raw bytes of a streamed response as they arrive; closes it when done or abandoned."""
        try:
            raw = response.raw
            if getattr(raw, "chunked", False) and raw.supports_chunked_reads():
                chunks = raw.read_chunked(decode_content=True)
            else:
                chunks = iter(lambda: raw.read1(chunk_size) if hasattr(raw, "read1") else raw.read(chunk_size), b"")
            yield from _guarded(chunks, self)
        finally:
            response.close()
            if response.request is not None and response.request.method != "GET":
                self._changed()

    def _changed(self) -> None:
        for hook in list(self.change_hooks):
            hook()

    def close(self) -> None:
        """Close the HTTP connections and stop the ssh forwarding, if any (the client may be used again)."""
        for hook in list(self.close_hooks):
            hook()
        self._session.close()
        if self.tunnel is not None:
            self.tunnel.close()

    def _ensure_tunnel(self) -> None:
        """(Re)start the ssh forwarding (ServiceUnavailable saying why it cannot); after a restart the
        pooled connections, which went through the dead process, are dropped."""
        before = self.tunnel.pid
        try:
            self.tunnel.ensure()
        except Unreachable as error:
            raise ServiceUnavailable.of(error) from None
        if before is not None and self.tunnel.pid != before:
            self._session.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        where = self.target.label
        if self.tunnel is not None:
            self._ensure_tunnel()
        try:
            try:
                return self._session.request(method, url, **kwargs)
            except requests.exceptions.ConnectionError:
                # the forwarding died just before: what was sent reached no service, so start it again, once
                data = kwargs.get("data")
                if self.tunnel is None or not isinstance(data, (type(None), bytes, str)) or not self.tunnel.ended():
                    raise
                self._ensure_tunnel()
                return self._session.request(method, url, **kwargs)
        except requests.exceptions.ConnectTimeout as error:
            raise ServiceUnavailable(f"The Podman service at {where} did not accept a connection "
                                     f"within {kwargs.get('timeout')} s", [self.base_url]) from error
        except requests.exceptions.ReadTimeout as error:
            raise StreamTimeout(f"The Podman service at {where} did not answer within "
                                f"{kwargs.get('timeout')} s") from error
        except requests.exceptions.ConnectionError as error:
            self._forget_service()
            if self.tunnel is not None:
                raise ServiceUnavailable(f"ssh to {self.tunnel.host} works but no Podman service answers at "
                                         f"{self.tunnel.remote_path} there ({where}); start it on that host with "
                                         "`systemctl --user start podman.socket` (or podman system service)",
                                         [self.base_url]) from error
            raise ServiceUnavailable.of(unanswered(f"No Podman service answered at {where}", [self.base_url])) \
                from error


def abort_stream(response: requests.Response) -> None:
    """Make a thread blocked reading this streamed response return at once: shut its socket down
    (``close()`` from another thread would wait for the reader or leave it blocked)."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)  # urllib3's HTTPResponse
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


def _guarded(chunks: Iterator[bytes], client: APIClient) -> Iterator[bytes]:
    """Turn transport failures in the middle of a stream into podman_nb errors."""
    try:
        yield from chunks
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as error:
        raise StreamTimeout(f"The Podman service at {client.base_url} sent nothing for "
                            f"{client.stream_timeout} s; the stream was closed") from error
    except (urllib3.exceptions.HTTPError, OSError, requests.exceptions.RequestException) as error:
        client._forget_service()
        raise ServiceUnavailable(f"The connection to the Podman service at {client.base_url} broke "
                                 "in the middle of the operation", [client.base_url]) from error


def _podman_versions(response: requests.Response, where: str) -> Dict[str, Any]:
    """The /version document, or one sentence saying that what answers is not a Podman service."""
    try:
        versions = response.json() if response.ok else None
    except ValueError:
        versions = None
    if not isinstance(versions, dict):
        said = f"{response.status_code} {response.reason or ''}".strip()
        raise ServiceUnavailable(f"Something answers at {where} but it is not a Podman service "
                                 f"(GET /version gave {said})", [where])
    names = [str(c.get("Name", "")) for c in versions.get("Components") or [] if isinstance(c, dict)]
    if not any("podman" in name.lower() for name in names):
        product = f"{names[0] if names else 'a service without component names'} {versions.get('Version', '')}"
        raise ServiceUnavailable(f"The service at {where} is not Podman (it says {product.strip()}); "
                                 "podman_nb needs Podman's API", [where])
    return versions


def error_from_response(response: requests.Response, not_found: Type[NotFound] = NotFound) -> APIError:
    """The APIError for a failed answer, carrying the service's own message."""
    return unixhttp.refusal(response, APIError, not_found)  # type: ignore[return-value]
