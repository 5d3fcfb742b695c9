"""PodmanClient: the front door, one service connection with its images manager (podman-py's shape)."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from .api.api_client import APIClient
from .domain.listing_cache import ListingCache
from .domain.manager import ImagesManager
from .errors import PodmanError


class PodmanClient:
    """A connection to one Podman service. With no ``base_url`` the service is found (or started) for you.

    >>> with PodmanClient() as client:
    ...     client.images.list()
    """

    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 stream_timeout: Optional[float] = None, connection: Optional[str] = None,
                 identity: Optional[str] = None, **kwargs: Any):
        self.api = APIClient(base_url=base_url, timeout=timeout, stream_timeout=stream_timeout,
                             connection=connection, identity=identity, **kwargs)
        self.images = ImagesManager(self.api)
        self._listing: Optional[ListingCache] = None

    def listing(self, mode: str = "on") -> ListingCache:
        """This service's listing cache (made once, kept until :meth:`close`): ``listing().list_attrs()``
        answers as ``images.list_attrs()``, from what the service's events say is current; ``mode`` as
        ``%config PodmanMagics.list_cache`` ("auto", "on", "off")."""
        if self._listing is None or self._listing.closed or self._listing.mode != mode:
            if self._listing is not None:
                self._listing.close()
            self._listing = ListingCache(self.images, mode=mode)
        return self._listing

    @classmethod
    def from_env(cls, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 environment: Optional[Mapping[str, str]] = None, **kwargs: Any):
        """A client as the podman CLI would pick (podman-py's from_env): CONTAINER_CONNECTION, CONTAINER_HOST
        (+ CONTAINER_SSHKEY), else DOCKER_HOST when it points at Podman, else the default connection and sockets."""
        for ignored in ("version", "max_pool_size", "use_ssh_client", "credstore_env"):
            kwargs.pop(ignored, None)
        env = os.environ if environment is None else environment
        named = base_url is not None or kwargs.get("connection") or env.get("CONTAINER_CONNECTION") \
            or env.get("CONTAINER_HOST")
        if not named and env.get("DOCKER_HOST") and _is_podman(env["DOCKER_HOST"], timeout):
            base_url = env["DOCKER_HOST"]
        return cls(base_url=base_url, timeout=timeout, environment=env, **kwargs)

    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def connection(self) -> Optional[str]:
        """The name of the Podman connection in use, or None when the service was given or found by address."""
        return self.api.connection

    def __repr__(self) -> str:
        named = f", connection={self.connection!r}" if self.connection else ""
        return f"PodmanClient(base_url={self.base_url!r}{named})"

    def __enter__(self) -> "PodmanClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def ping(self) -> bool:
        return self.api.ping()

    def version(self, **_kwargs: Any) -> Dict[str, Any]:
        return self.api.version()

    def info(self, *_args: Any, **_kwargs: Any) -> Dict[str, Any]:
        """What the service says about itself (host, store, registries), as podman-py's ``info()``."""
        return self.api.get("/info").json()

    def close(self) -> None:
        self.api.close()


def _is_podman(url: str, timeout: Optional[float]) -> bool:
    """Whether a Podman service answers at ``url`` (DOCKER_HOST may point at Docker: then it is not used)."""
    try:
        api = APIClient(base_url=url, timeout=timeout or 5)
    except PodmanError:
        return False
    try:
        api.version()
        return True
    except PodmanError:
        return False
    finally:
        api.close()
