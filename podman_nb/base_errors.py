"""The exceptions that need no HTTP library: every one of podman_nb's but the classes that are also
``requests.HTTPError`` (those are in :mod:`podman_nb.errors`, which adds them on top of these and exports all).

A process that must start without importing requests (a container kernel's launcher, ``python -m
podman_nb.kernel``) raises these alone: ``ServiceError`` where the service answered with an error (an APIError
is one, with requests' class as its second base) and ``Unreachable`` where no service answered (a
ServiceUnavailable is one). The failures table (:mod:`podman_nb.failures`) makes their sentences; it and the
transport's lower modules (service discovery, ssh, the unix socket) import only this module.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional


class PodmanError(Exception):
    """Base class for every error podman_nb raises.

    ``str(error)`` is ``"SENTENCE (hint: HINT)"``: two fields, set when the error is raised. Our own failures say
    them at the raise site (``PodmanError(sentence, hint=...)``); what the service, ssh or a build step said is
    made into them by the table in :mod:`podman_nb.failures` (``failures.explain``), again whenever a layer
    attaches a fact (``failures.attach``). Reading ``str(error)`` computes nothing.
    """

    LABEL: Optional[str] = None  # said before the sentence in a notebook; None: the class's name

    def __init__(self, message: Any = "", *args: Any, hint: Optional[str] = None, **kwargs: Any):
        super().__init__(message, *args, **kwargs)
        self.sentence: str = " ".join(str(message).split())
        self.hint: Optional[str] = hint or None  # what to do; None when nothing helps
        self.facts: dict = {}  # what the layers knew (failures.attach)
        self.row: Optional[str] = None  # the name of the failures row that made the sentence, if one did
        self.explained = False  # whether the table makes the sentence (failures.explain)

    def raw(self) -> str:
        """The text as raised: the service's own words, before the table made a sentence of them."""
        return super().__str__()

    def __str__(self) -> str:
        sentence = getattr(self, "sentence", None) or self.raw()
        hint = getattr(self, "hint", None)
        return f"{sentence} (hint: {hint})" if hint else sentence

    @property
    def label(self) -> str:
        """What kind of failure, said before the sentence in a notebook (``"Podman error: "``); ``""`` when a
        row of the table made the sentence, which says it."""
        if getattr(self, "row", None) is not None:
            return ""
        return f"{type(self).__name__}: " if self.LABEL is None else self.LABEL


DockerException = PodmanError  # podman-py's (and docker-py's) name for the base class


class InvalidArgument(PodmanError, ValueError):
    """An argument given by the caller cannot be used; nothing was sent to the service."""

    LABEL = ""  # its sentence is about the input: the kind goes without saying


class MissingArgument(InvalidArgument, TypeError):
    """A required argument was not given: a TypeError, as Python's own (and podman-py's build())."""


class StreamParseError(PodmanError, ValueError, RuntimeError):
    """The service sent a stream that is not the JSON it should be (podman-py's is a RuntimeError)."""


class ServiceError(PodmanError):
    """The service answered with an error (an APIError is one; the launcher's plain calls raise this one).

    ``status_code`` is the HTTP status (or ``None`` for an error line inside a stream
    that began with 200, and when no answer came); ``explanation`` is the service's own message, the sentence
    until the table says better; ``response`` the answer it came in.
    """

    LABEL = "Podman error: "

    def __init__(self, message: str, response: Any = None, explanation: Optional[str] = None,
                 status_code: Optional[int] = None, hint: Optional[str] = None):
        super().__init__(message, hint=hint)
        self.response, self.request = response, getattr(response, "request", None)  # as requests' HTTPError's
        self.explanation = explanation
        if explanation:
            self.sentence = " ".join(str(explanation).split())
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


class Unreachable(PodmanError, ConnectionError):
    """No Podman service answered at any of the addresses tried (a ServiceUnavailable is one: ``APIClient`` raises
    that for what service discovery, ssh and the socket raise as this)."""

    def __init__(self, message: str, tried: Iterable[str] = (), hint: Optional[str] = None):
        super().__init__(message, hint=hint)
        self.tried = list(tried)

    @property
    def label(self) -> str:
        return "Podman service unavailable: "


class BuildError(PodmanError):
    """A build failed; ``build_log`` holds every line the service sent (the build's BuildLog)."""

    def __init__(self, reason: str, build_log: Iterable[Any] = (), hint: Optional[str] = None):
        super().__init__(reason, hint=hint)
        self.msg = reason
        self.build_log = build_log

    @property
    def label(self) -> str:
        return "Build failed: "


class RulesBroken(PodmanError):
    """An image breaks dive's CI rules (``Explorer.check``, ``%image_layers --ci``): one sentence per broken rule,
    with the figure and the threshold; ``verdicts`` holds every rule's (rule, verdict, sentence)."""

    LABEL = "dive's CI rules broken: "

    def __init__(self, message: str, verdicts: Iterable[Any] = ()):
        super().__init__(message)
        self.verdicts = list(verdicts)
