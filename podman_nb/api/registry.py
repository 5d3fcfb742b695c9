"""A small client for the registry HTTP API (distribution v2): what a manifest says, without pulling.

Used by ``get_registry_data`` when the Podman service lacks Docker's ``GET /distribution/{name}/json``
(Podman 4.3 and 5.4 answer "not supported"). It asks the registry itself:

* ``GET /v2/NAME/manifests/REF`` accepting OCI index/manifest and Docker manifest list/v2;
  the digest is the registry's ``Docker-Content-Digest`` (else the sha256 of the body);
* for a single-image manifest, the config blob gives os/architecture/variant;
* Basic auth from ``auth_config`` or, without one, from the auth files ``podman login`` writes, read
  as podman reads them (:func:`auth_files`); or the Bearer token flow the ``WWW-Authenticate``
  challenge names;
* TLS is verified, with ``/etc/containers/certs.d/HOST/*.crt`` when present; plain HTTP is used only
  when the host is ``insecure = true`` in registries.conf (``CONTAINERS_REGISTRIES_CONF`` or
  ``/etc/containers/registries.conf``) or the caller passes ``tls_verify=False``.

Credentials are only ever sent in headers; no message, repr or log line contains them.

All of these files (registries.conf, certs.d, auth files) are the *client's*. When the Podman service
runs on another machine (ssh://, tcp://) they are not the service's, so what they say may differ from
what a pull by that service would do.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import re
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

import requests
import urllib3

from ..errors import APIError, ImageNotFound, InvalidArgument
from ..failures import explain
from . import toml

DEFAULT_TIMEOUT = 30.0
DOCKER_HUB = "docker.io"  # the name references.registry_location gives short names
DOCKER_HUB_API = "registry-1.docker.io"
CERTS_D = "/etc/containers/certs.d"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
_NOT_FOUND_CODES = ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "NOT_FOUND")


def _registries_conf_path() -> str:
    return os.environ.get("CONTAINERS_REGISTRIES_CONF") or "/etc/containers/registries.conf"


def registry_is_insecure(host: str, path: str = "", conf_path: Optional[str] = None) -> bool:
    """Whether registries.conf marks ``host`` (or a prefix of ``host/path``) ``insecure = true``."""
    conf_path = conf_path or _registries_conf_path()
    try:
        with open(conf_path, "r", encoding="utf-8") as handle:
            conf = toml.loads(handle.read())
    except (OSError, ValueError):
        return False
    full = f"{host}/{path}" if path else host
    best, insecure = -1, False
    for entry in conf.get("registry") or []:
        if not isinstance(entry, Mapping):
            continue
        prefix = str(entry.get("prefix") or entry.get("location") or "")
        if prefix and (full == prefix or full.startswith(prefix + "/") or host == prefix) and len(prefix) > best:
            best, insecure = len(prefix), bool(entry.get("insecure", False))
    return insecure


def ca_bundle(host: str, certs_d: str = CERTS_D) -> Optional[str]:
    """The CA file containers/image would trust for ``host`` (``certs.d/HOST/ca.crt`` or another ``*.crt``)."""
    directory = os.path.join(certs_d, host)
    preferred = os.path.join(directory, "ca.crt")
    if os.path.isfile(preferred):
        return preferred
    others = sorted(glob.glob(os.path.join(directory, "*.crt")))
    return others[0] if others else None


def auth_files() -> List[str]:
    """The auth files podman reads, in its order (containers-auth.json(5)): ``REGISTRY_AUTH_FILE``
    alone when set; else ``$XDG_RUNTIME_DIR/containers/auth.json`` (``/run/containers/UID`` without
    it), ``$XDG_CONFIG_HOME/containers/auth.json`` (``~/.config``), then Docker's ``config.json``
    (``$DOCKER_CONFIG`` or ``~/.docker``). Credential helpers are not run."""
    if os.environ.get("REGISTRY_AUTH_FILE"):
        return [os.environ["REGISTRY_AUTH_FILE"]]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/containers/{os.getuid()}"
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    docker = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    return [os.path.join(runtime, "containers", "auth.json"), os.path.join(config, "containers", "auth.json"),
            os.path.join(docker, "config.json")]


def stored_credentials(host: str, path: str = "") -> Optional[Tuple[str, str]]:
    """(user, password) that ``podman login`` stored for ``host/path``: the first file of
    :func:`auth_files` with an entry for it, the most specific key (``host/a/b``, ``host/a``, ``host``) first."""
    parts = path.split("/") if path else []
    keys = [f"{host}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)] + [host]
    if host in (DOCKER_HUB, "index.docker.io"):
        keys.append("https://index.docker.io/v1/")  # Docker's own key for Docker Hub
    for file in auth_files():
        try:
            with open(file, "r", encoding="utf-8") as handle:
                auths = (json.load(handle) or {}).get("auths") or {}
        except (OSError, ValueError, AttributeError):
            continue
        entries = {key.split("://", 1)[-1].rstrip("/"): value for key, value in auths.items()}
        entries.update(auths)
        for key in keys:
            entry = entries.get(key)
            if isinstance(entry, Mapping) and entry.get("auth"):
                return _credentials({"auth": entry["auth"]})
    return None


def _credentials(auth_config: Optional[Mapping[str, Any]]) -> Optional[Tuple[str, str]]:
    if not auth_config:
        return None
    if auth_config.get("username") is not None and auth_config.get("password") is not None:
        return str(auth_config["username"]), str(auth_config["password"])
    if auth_config.get("auth"):
        try:
            user, _, password = base64.b64decode(str(auth_config["auth"])).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument("auth_config['auth'] is not base64 of 'username:password'") from None
        return user, password
    return None


def _challenge(header: str) -> Tuple[str, Dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class RegistryClient:
    """Read-only access to one registry for one repository (manifests and blobs)."""

    def __init__(self, host: str, auth_config: Optional[Mapping[str, Any]] = None,
                 tls_verify: Optional[bool] = None, timeout: float = DEFAULT_TIMEOUT, path: str = ""):
        self.host = host
        self._credentials = _credentials(auth_config) if auth_config else stored_credentials(host, path)
        self.timeout = timeout
        insecure = tls_verify is False or (tls_verify is None and registry_is_insecure(host, path))
        self.insecure = insecure
        self._verify: Any = False if insecure else (ca_bundle(host) or True)
        api_host = DOCKER_HUB_API if host in (DOCKER_HUB, "index.docker.io") else host
        self._schemes = ["https", "http"] if insecure else ["https"]
        self._api_host = api_host
        self._base: Optional[str] = None
        self._authorization: Optional[str] = None
        self._session = requests.Session()
        self._session.trust_env = True  # registries may sit behind the user's proxy

    def __repr__(self) -> str:
        return f"RegistryClient({self.host!r}, insecure={self.insecure})"

    def close(self) -> None:
        self._session.close()

    # --- HTTP ---------------------------------------------------------------------------------
    def _get(self, url: str, headers: Mapping[str, str], stream: bool = False) -> requests.Response:
        try:
            with warnings.catch_warnings():
                # the caller asked for no TLS verification (or registries.conf did): no warning each time
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self._session.get(url, headers=headers, verify=self._verify, timeout=self.timeout,
                                         stream=stream, allow_redirects=True)
        except requests.exceptions.SSLError as error:
            raise explain(APIError(f"TLS verification of registry {self.host} failed (put its CA in "
                                   f"{CERTS_D}/{self.host}/ca.crt, or mark it insecure): {_short(error)}")) from None
        except requests.exceptions.RequestException as error:
            raise explain(APIError(f"registry {self.host} did not answer: {_short(error)}")) from None

    def _request(self, path: str, headers: Mapping[str, str], scope: str) -> requests.Response:
        """GET ``/v2`` + path, choosing https/http once and answering an auth challenge once."""
        if self._base is None:
            last: Optional[APIError] = None
            for scheme in self._schemes:
                try:
                    response = self._get(f"{scheme}://{self._api_host}/v2{path}", self._headers(headers))
                except APIError as error:
                    last = error
                    continue
                self._base = f"{scheme}://{self._api_host}/v2"
                break
            else:
                assert last is not None
                raise last
        else:
            response = self._get(self._base + path, self._headers(headers))
        if response.status_code == 401 and self._authorize(response, scope):
            response = self._get(self._base + path, self._headers(headers))
        return response

    def _headers(self, headers: Mapping[str, str]) -> Dict[str, str]:
        merged = dict(headers)
        if self._authorization:
            merged["Authorization"] = self._authorization
        return merged

    def _authorize(self, response: requests.Response, scope: str) -> bool:
        """Answer a 401 challenge (Basic or Bearer); False when there is nothing new to try."""
        if self._authorization is not None:
            return False  # already answered a challenge: these credentials are refused
        scheme, params = _challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if self._credentials is None:
                return False
            token = base64.b64encode(":".join(self._credentials).encode()).decode()
            self._authorization = f"Basic {token}"
            return True
        if scheme == "bearer" and params.get("realm"):
            query = {"service": params.get("service"), "scope": params.get("scope") or scope}
            token_response = self._session.get(
                params["realm"], params={k: v for k, v in query.items() if v}, auth=self._credentials,
                verify=self._verify, timeout=self.timeout)
            if token_response.status_code >= 400:
                raise _registry_error(token_response, self.host, "getting a token")
            body = token_response.json()
            token = body.get("token") or body.get("access_token")
            if not token:
                return False
            self._authorization = f"Bearer {token}"
            return True
        return False

    # --- API ----------------------------------------------------------------------------------
    def manifest(self, path: str, ref: str) -> Tuple[Dict[str, Any], str, str, int]:
        """(manifest document, media type, digest, size) for ``path:ref``."""
        response = self._request(f"/{path}/manifests/{ref}", {"Accept": ACCEPT}, f"repository:{path}:pull")
        if response.status_code >= 400:
            raise _registry_error(response, self.host, f"reading manifest {ref} of {path}")
        body = response.content
        try:
            document = json.loads(body)
        except ValueError:
            raise APIError(f"registry {self.host} sent a manifest that is not JSON for {path}:{ref}") from None
        media_type = (response.headers.get("Content-Type", "").split(";")[0].strip()
                      or document.get("mediaType") or "")
        digest = response.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        return document, media_type, digest, len(body)

    def blob_json(self, path: str, digest: str) -> Dict[str, Any]:
        response = self._request(f"/{path}/blobs/{digest}", {}, f"repository:{path}:pull")
        if response.status_code >= 400:
            raise _registry_error(response, self.host, f"reading blob {digest[:19]} of {path}")
        return response.json()


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 300 else text[:300] + "..."


def _registry_error(response: requests.Response, host: str, what: str) -> APIError:
    """The APIError (ImageNotFound for unknown names/manifests) for a registry's error answer."""
    messages, codes = [], []
    try:
        for item in (response.json() or {}).get("errors") or []:
            codes.append(str(item.get("code", "")))
            messages.append(f"{str(item.get('code', '')).lower().replace('_', ' ')}: {item.get('message', '')}")
    except (ValueError, AttributeError):
        pass
    if response.status_code == 401 and not messages:
        messages.append("unauthorized: authentication required")
    explanation = "; ".join(messages) or (response.reason or "")
    message = f"registry {host} answered {response.status_code} {what}"
    cls = ImageNotFound if response.status_code == 404 or any(c in _NOT_FOUND_CODES for c in codes) else APIError
    return explain(cls(message, explanation=explanation, status_code=response.status_code))


def _platform(source: Mapping[str, Any]) -> Dict[str, str]:
    platform = {"os": str(source.get("os", "")), "architecture": str(source.get("architecture", ""))}
    if source.get("variant"):
        platform["variant"] = str(source["variant"])
    if source.get("os.version"):
        platform["os.version"] = str(source["os.version"])
    return platform


def inspect_distribution(location: Tuple[str, str, str], auth_config: Optional[Mapping[str, Any]] = None,
                         tls_verify: Optional[bool] = None, timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
    """Docker's ``/distribution/{name}/json`` answer, asked of the registry directly.

    ``location`` is ``(host, repository path, tag or digest)`` (the domain layer parses references).
    Returns ``{"Descriptor": {"mediaType", "digest", "size"}, "Platforms": [{"os", "architecture", "variant"?}]}``.
    """
    host, path, ref = location
    registry = RegistryClient(host, auth_config=auth_config, tls_verify=tls_verify, timeout=timeout, path=path)
    try:
        document, media_type, digest, size = registry.manifest(path, ref)
        if media_type in INDEX_TYPES or "manifests" in document:
            platforms = [_platform(m.get("platform") or {}) for m in document.get("manifests") or []]
            platforms = [p for p in platforms if p["os"] or p["architecture"]]
        elif isinstance(document.get("config"), Mapping) and document["config"].get("digest"):
            platforms = [_platform(registry.blob_json(path, document["config"]["digest"]))]
        else:  # Docker schema 1 names its architecture itself
            platforms = [{"os": "linux", "architecture": str(document.get("architecture", ""))}]
    finally:
        registry.close()
    return {"Descriptor": {"mediaType": media_type, "digest": digest, "size": size}, "Platforms": platforms}


def layer_sizes(location: Tuple[str, str, str], auth_config: Optional[Mapping[str, Any]] = None,
                tls_verify: Optional[bool] = None, platform: Optional[Mapping[str, str]] = None,
                timeout: float = DEFAULT_TIMEOUT) -> List[Tuple[str, int]]:
    """``[(layer digest, compressed bytes), ...]`` of the image at ``location`` (host, path, tag or digest).

    For an index, the manifest of ``platform`` (``{"OS", "Arch", "Variant"}``; linux/amd64 when not
    given) is read. Raises APIError or ImageNotFound as :func:`inspect_distribution` does.
    """
    host, path, ref = location
    wanted = {"os": "linux", "architecture": "amd64"}
    for key, name in (("OS", "os"), ("Arch", "architecture"), ("Variant", "variant")):
        if (platform or {}).get(key):
            wanted[name] = platform[key]
    registry = RegistryClient(host, auth_config=auth_config, tls_verify=tls_verify, timeout=timeout, path=path)
    try:
        document, media_type, _, _ = registry.manifest(path, ref)
        if media_type in INDEX_TYPES or "manifests" in document:
            entries = document.get("manifests") or []
            chosen = next((m for m in entries if all((m.get("platform") or {}).get(k) == v
                                                     for k, v in wanted.items())), None)
            if chosen is None:
                return []
            document, _, _, _ = registry.manifest(path, chosen["digest"])
    finally:
        registry.close()
    return [(str(layer.get("digest", "")), int(layer.get("size") or 0))
            for layer in document.get("layers") or [] if isinstance(layer, Mapping)]
