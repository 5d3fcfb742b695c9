"""The exceptions podman_nb raises; every layer uses these, and each says what failed in one sentence.

Code written for podman-py catches ours as it catches podman-py's (checked against podman-py 5.8's
``Raises:`` in tests/test_compatible_errors.py): the names are those of ``podman.errors``; an APIError
is also a ``requests.HTTPError``, as podman-py's is, and so is a service that does not answer (podman-py
raises APIError then too); where podman-py raises a built-in for a bad argument (``TypeError``,
``ValueError``, ``RuntimeError``), ours is also that built-in.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from requests.exceptions import HTTPError


SAY: Optional[Callable[[BaseException], Any]] = None  # the table's said(), set by podman_nb.failures


class PodmanError(Exception):
    """Base class for every error podman_nb raises.

    ``str(error)`` is one sentence and a hint, made by the one table in :mod:`podman_nb.failures` from
    the text raised (:meth:`raw`) and the facts layers attached (``facts``); a magic shows the same.
    """

    facts: Optional[dict] = None

    def raw(self) -> str:
        """The text as raised: the service's own words, before the table made a sentence of them."""
        return super().__str__()

    def __str__(self) -> str:
        return str(SAY(self)) if SAY else self.raw()

    @property
    def hint(self) -> str:
        """What to do, as ``str(error)`` says it after "hint:" (None when nothing helps); a hint set
        here is said instead of the table's."""
        return (SAY(self).hint if SAY else getattr(self, "_hint", None)) or None

    @hint.setter
    def hint(self, value: Optional[str]) -> None:
        self._hint = value


DockerException = PodmanError  # podman-py's (and docker-py's) name for the base class


class InvalidArgument(PodmanError, ValueError):
    """An argument given by the caller cannot be used; nothing was sent to the service."""


class MissingArgument(InvalidArgument, TypeError):
    """A required argument was not given: a TypeError, as Python's own (and podman-py's build())."""


class StreamParseError(PodmanError, ValueError, RuntimeError):
    """The service sent a stream that is not the JSON it should be (podman-py's is a RuntimeError)."""


class APIError(PodmanError, HTTPError):
    """The service answered with an error, or (the subclasses below) did not answer.

    ``status_code`` is the HTTP status (or ``None`` for an error line inside a stream
    that began with 200, and when no answer came); ``explanation`` is the service's own message; ``hint``, when set,
    says what to do (it overrides the notebook's guess from the message's words).
    """

    def __init__(self, message: str, response: Any = None, explanation: Optional[str] = None,
                 status_code: Optional[int] = None):
        super().__init__(message, response=response)
        self.explanation = explanation
        if status_code is None and response is not None:
            status_code = getattr(response, "status_code", None)
        self.status_code = status_code

    def raw(self) -> str:
        text = Exception.__str__(self)
        if self.explanation and self.explanation not in text:
            text = f"{text}: {self.explanation}"
        return text

    def is_client_error(self) -> bool:
        return self.status_code is not None and 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        return self.status_code is not None and 500 <= self.status_code < 600


class ServiceUnavailable(APIError, ConnectionError):
    """No Podman service answered at any of the addresses tried."""

    def __init__(self, message: str, tried: Iterable[str] = ()):
        super().__init__(message)
        self.tried = list(tried)


class StreamTimeout(APIError, TimeoutError):
    """The service sent nothing for longer than the configured idle time."""


class NotFound(APIError):
    """The service has no such object."""


class ImageNotFound(NotFound):
    """The service has no such image."""


class NotSupported(APIError):
    """This service's Podman version cannot do what was asked, so nothing was sent; the message says which
    version can. An APIError, as the service's own refusal would be (and as podman-py code catches it)."""


class BuildError(PodmanError):
    """A build failed; ``build_log`` holds every line the service sent (the build's BuildLog)."""

    def __init__(self, reason: str, build_log: Iterable[Any] = ()):
        super().__init__(reason)
        self.msg = reason
        self.build_log = build_log



class RulesBroken(PodmanError):
    """An image breaks dive's CI rules (``Explorer.check``, ``%image_layers --ci``): one sentence per broken rule,
    with the figure and the threshold; ``verdicts`` holds every rule's (rule, verdict, sentence)."""

    def __init__(self, message: str, verdicts: Iterable[Any] = ()):
        super().__init__(message)
        self.verdicts = list(verdicts)
