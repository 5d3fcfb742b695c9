"""The exceptions podman_nb raises; every layer uses these, and each says what failed in one sentence.

Names follow podman-py's ``podman.errors`` so code written for it keeps working.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional


class PodmanError(Exception):
    """Base class for every error podman_nb raises."""


class InvalidArgument(PodmanError, ValueError):
    """An argument given by the caller cannot be used; nothing was sent to the service."""


class ServiceUnavailable(PodmanError, ConnectionError):
    """No Podman service answered at any of the addresses tried."""

    def __init__(self, message: str, tried: Iterable[str] = ()):
        super().__init__(message)
        self.tried = list(tried)


class StreamParseError(PodmanError, ValueError):
    """The service sent a stream that is not the JSON it should be."""


class APIError(PodmanError):
    """The service answered with an error.

    ``status_code`` is the HTTP status (or ``None`` for an error line inside a stream
    that began with 200); ``explanation`` is the service's own message.
    """

    def __init__(self, message: str, response: Any = None, explanation: Optional[str] = None,
                 status_code: Optional[int] = None):
        super().__init__(message)
        self.response = response
        self.explanation = explanation
        if status_code is None and response is not None:
            status_code = getattr(response, "status_code", None)
        self.status_code = status_code

    def __str__(self) -> str:
        text = super().__str__()
        if self.explanation and self.explanation not in text:
            text = f"{text}: {self.explanation}"
        return text

    def is_client_error(self) -> bool:
        return self.status_code is not None and 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        return self.status_code is not None and 500 <= self.status_code < 600


class NotFound(APIError):
    """The service has no such object."""


class ImageNotFound(NotFound):
    """The service has no such image."""


class BuildError(PodmanError):
    """A build failed; ``build_log`` holds every line the service sent (the build's BuildLog)."""

    def __init__(self, reason: str, build_log: Iterable[Any] = ()):
        super().__init__(reason)
        self.msg = reason
        self.build_log = build_log


class StreamTimeout(PodmanError, TimeoutError):
    """A stream sent nothing for longer than the configured idle time."""
