"""One clear sentence for a failure: what failed, the service's reason, and a hint where one helps."""

from __future__ import annotations

from ..errors import APIError, BuildError, ImageNotFound, ServiceUnavailable, StreamTimeout

_HINTS = (
    (("unauthorized", "authentication required", "401"),
     "the registry wants credentials: add --creds USER (you will be asked for the password)"),
    (("x509", "certificate"),
     "the registry's certificate is not trusted: put its CA in /etc/containers/certs.d/HOST:PORT/ca.crt, "
     "or use --no-tls-verify"),
    (("http response to https client",), "this registry speaks plain HTTP: use --no-tls-verify"),
    (("connection refused", "no such host", "dial tcp"), "is the registry running and its address right?"),
)


_WRONG_CREDS = "the registry refused these credentials: check the user name and password given to --creds"


def hint_for(message: str, creds_given: bool = False) -> str:
    lowered = message.lower()
    for words, hint in _HINTS:
        if any(word in lowered for word in words):
            return _WRONG_CREDS if creds_given and hint is _HINTS[0][1] else hint
    return ""


def describe(error: BaseException, creds_given: bool = False) -> str:
    """``"ImageNotFound: ... (hint: ...)"`` in one line, without a traceback.

    ``creds_given``: the operation sent credentials, so "unauthorized" means they were wrong.
    """
    if isinstance(error, BuildError):
        text = f"Build failed: {error.msg}"
    elif isinstance(error, ServiceUnavailable):  # before APIError, which it also is (as in podman-py)
        text = f"Podman service unavailable: {error}".replace(
            "or pass base_url=", "or point the magics at one with %podman --url ADDRESS")
    elif isinstance(error, ImageNotFound):
        text = f"Image not found: {error.explanation or error}"
    elif isinstance(error, APIError) and not isinstance(error, StreamTimeout):  # a timeout is no answer
        text = f"Podman error: {error.explanation or error}"
    else:
        text = f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    hint = "" if isinstance(error, ServiceUnavailable) else hint_for(text, creds_given)
    operation = getattr(error, "operation", None)
    return (f"{operation}: " if operation else "") + (f"{text} (hint: {hint})" if hint else text)
