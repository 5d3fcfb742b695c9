"""PodmanClient: the front door, one service connection with its images manager (podman-py's shape)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from .api.client import APIClient
from .domain.manager import ImagesManager


class PodmanClient:
    """A connection to one Podman service. With no ``base_url`` the service is found (or started) for you.

    >>> with PodmanClient() as client:
    ...     client.images.list()
    """

    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 stream_timeout: Optional[float] = None, **kwargs: Any):
        self.api = APIClient(base_url=base_url, timeout=timeout, stream_timeout=stream_timeout, **kwargs)
        self.images = ImagesManager(self.api)

    @classmethod
    def from_env(cls, base_url: Optional[str] = None, timeout: Optional[float] = None, **kwargs: Any):
        """A client for the service named by CONTAINER_HOST, or the usual sockets (podman-py's from_env)."""
        kwargs.pop("environment", None)
        kwargs.pop("version", None)
        kwargs.pop("max_pool_size", None)
        kwargs.pop("use_ssh_client", None)
        return cls(base_url=base_url, timeout=timeout, **kwargs)

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def __repr__(self) -> str:
        return f"PodmanClient(base_url={self.base_url!r})"

    def __enter__(self) -> "PodmanClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def ping(self) -> bool:
        return self.api.ping()

    def version(self, **_kwargs: Any) -> Dict[str, Any]:
        return self.api.version()

    def close(self) -> None:
        self.api.close()
