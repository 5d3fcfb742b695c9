"""The exceptions podman_nb raises; every layer uses these, and each says what failed in one sentence.

Code written for podman-py catches ours as it catches podman-py's (checked against podman-py 5.8's
``Raises:`` in tests/test_compatible_errors.py): the names are those of ``podman.errors``; an APIError
is also a ``requests.HTTPError``, as podman-py's is, and so is a service that does not answer (podman-py
raises APIError then too); where podman-py raises a built-in for a bad argument (``TypeError``,
``ValueError``, ``RuntimeError``), ours is also that built-in.

The classes that need no HTTP library are in :mod:`podman_nb.base_errors` (exported here too); this module adds
the ones that are also ``requests.HTTPError``.
"""

from __future__ import annotations

from typing import Iterable, Optional

from requests.exceptions import HTTPError

from .base_errors import (BuildError, DockerException, InvalidArgument, MissingArgument, PodmanError, RulesBroken,
                          ServiceError, StreamParseError, Unreachable)

__all__ = ["APIError", "BuildError", "DockerException", "ImageNotFound", "InvalidArgument", "MissingArgument",
           "NotFound", "NotSupported", "PodmanError", "RulesBroken", "ServiceError", "ServiceUnavailable",
           "StreamParseError", "StreamTimeout", "Unreachable"]


class APIError(ServiceError, HTTPError):
    """The service answered with an error, or (the subclasses below) did not answer: a ServiceError that is also a
    ``requests.HTTPError``, as podman-py's APIError is."""


class ServiceUnavailable(APIError, Unreachable):
    """No Podman service answered at any of the addresses tried."""

    def __init__(self, message: str, tried: Iterable[str] = (), hint: Optional[str] = None):
        super().__init__(message, hint=hint)
        self.tried = list(tried)

    @classmethod
    def of(cls, error: Unreachable) -> "ServiceUnavailable":
        """``error`` (raised where requests is not imported: service discovery, ssh) as the APIError podman-py's
        code catches, saying the same."""
        if isinstance(error, cls):
            return error
        same = cls(error.raw(), error.tried)
        same.sentence, same.hint, same.facts, same.row = error.sentence, error.hint, error.facts, error.row
        same.explained = error.explained
        return same


class StreamTimeout(APIError, TimeoutError):
    """The service sent nothing for longer than the configured idle time."""

    LABEL = None  # no answer came: not the service's error


class NotFound(APIError):
    """The service has no such object."""


class ImageNotFound(NotFound):
    """The service has no such image."""

    LABEL = "Image not found: "


class NotSupported(APIError):
    """This service's Podman version cannot do what was asked, so nothing was sent; the message says which
    version can. An APIError, as the service's own refusal would be (and as podman-py code catches it)."""
