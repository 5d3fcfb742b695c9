"""How a failure is shown in a notebook: one clear sentence (what failed, the service's reason, a hint
where one helps), installed as IPython's handler for PodmanError without displacing another's.

* :func:`describe` is the one sentence. The service's own wording is often an internal detail
  (``strconv.Atoi: parsing ""``, a Go struct dump): the table ``_REWRITES`` turns each such wording,
  once for every magic, into a sentence that says what is wrong and what to do; ``_HINTS`` adds a hint
  to the rest. The service's text stays on the exception (``explanation``, ``msg``) and in the full
  traceback (``%config PodmanMagics.show_tracebacks = True``).
* :func:`usage_message` is the sentence for arguments a magic cannot take.
* :func:`install` / :func:`uninstall` put the handler in and take it out again. A handler another
  extension set before is kept: exceptions it was set for still go to it, and ``uninstall`` puts it
  back exactly as it was.
* Passwords seen this session are masked in what is shown and in the exception itself.
* A build failure whose display already showed its summary adds nothing (the cell still fails), and
  an interrupted magic (:class:`Interrupted`) ends in the one line ``KeyboardInterrupt``.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence

from ..errors import APIError, BuildError, ImageNotFound, PodmanError, ServiceUnavailable, StreamTimeout
from .secrets import mask


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's interrupt) stopped a magic whose display already said so: shown as the
    one line ``KeyboardInterrupt``, without the urllib3 and socket frames the interrupt came through."""


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


# The filter keys each listing magic's service call accepts (libpod, Podman 4.3 and 5.4).
FILTER_KEYS = {
    "images": ("before", "containers", "dangling", "digest", "id", "intermediate", "label", "readonly",
               "reference", "since", "until"),
    "image_prune": ("dangling", "label", "until"),
    "image_search": ("is-automated", "is-official", "stars"),
}
INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


@dataclass
class Call:
    """What was run, for the sentence: the magic (``"%images"``, ``"%%image_build"``), its parsed
    arguments and the cell body."""
    magic: str
    args: Any = None
    cell: Optional[str] = None

    @property
    def name(self) -> str:
        return self.magic.lstrip("%")


# -- the rewrites: (exception class, pattern on the service's text, sentence from the match) ---------
def _missing_image(match: re.Match, call: Optional[Call]) -> str:
    name = match.group("name")
    return (f"Image not found: {name} is not on this Podman service "
            f"(hint: %images lists the images it has; %image_pull {name} fetches it from a registry)")


def _unknown_instruction(match: re.Match, call: Optional[Call]) -> str:
    word = match.group("word")
    where = ""
    source = call.cell if call else None
    if source:
        for number, line in enumerate(source.splitlines(), start=1):
            if line.split()[:1] == [word] or (line.split()[:1] and line.split()[0].upper() == word.upper()):
                where = f" at line {number}"
                break
    close = difflib.get_close_matches(word.upper(), INSTRUCTIONS, n=1)
    hint = f"did you mean {close[0]}?" if close else "instructions are " + ", ".join(INSTRUCTIONS)
    return f"unknown instruction {word}{where} of the Containerfile (hint: {hint})"


def _copy_missing(match: re.Match, call: Optional[Call]) -> str:
    path = match.group("path")
    step = (match.group("step") or "COPY").split()[0]
    context = getattr(call.args, "context", None) if call else None
    if context:
        return (f"{step} cannot find {path} in the build context {context} "
                f"(hint: {step} paths are relative to the --context folder)")
    text = f"{step} cannot find {path}: the build context is empty unless --context is given"
    if os.path.exists(path):
        return text + f", and {path} is in the notebook's folder (hint: add --context .)"
    return text + " (hint: add --context DIR, the folder that holds it)"


def _scp_destination(match: re.Match, call: Optional[Call]) -> str:
    destination = getattr(call.args, "destination", None) if call else None
    return (f"Podman could not use the destination {destination or match.group(0)!r}: it expects "
            "CONNECTION::[IMAGE] with a connection from `podman system connection list`, or "
            "USER@HOST::[IMAGE] (hint: %podman connections lists them)")


def _unknown_filter(match: re.Match, call: Optional[Call]) -> str:
    key = match.group("key")
    keys = FILTER_KEYS.get(call.name if call else "images", FILTER_KEYS["images"])
    magic = call.magic if call else "%images"
    return f"unknown filter {key!r}: {magic} filters on {', '.join(keys)} (as --filter KEY=VALUE)"


_REWRITES: Sequence = (
    (ImageNotFound, r"failed to find image (?P<name>\S+?): (?P=name): image not known", _missing_image),
    (ImageNotFound, r"^(?P<name>\S+?): image not known$", _missing_image),
    (BuildError, r'Unknown instruction: "?(?P<word>[^"\s]+)"?', _unknown_instruction),
    (BuildError, r'(?:STEP "(?P<step>[^"]+)".*)?copier: stat: "/(?P<path>[^"]+)": no such file or directory',
     _copy_missing),
    (APIError, r'(?:unsupported|invalid) image filter "(?P<key>[^"]+)"', _unknown_filter),
    (APIError, r'strconv\.Atoi: parsing "[^"]*": invalid syntax|lookup (?P<host>\S+?)(?: on \S+)?: no such host',
     _scp_destination, "image_scp"),
    (APIError, r"^The Podman storage .* is out of space: .*", lambda match, call: match.group(0)),  # domain/storage.py
)


def rewritten(error: BaseException, call: Optional[Call]) -> Optional[str]:
    """The sentence ``_REWRITES`` makes of the service's text, without the magic's name, or None.

    A build's display shows it as the failure's reason, :func:`describe` as the one-line message.
    """
    service_text = str(getattr(error, "explanation", None) or getattr(error, "msg", None) or error)
    for kind, pattern, sentence, *magics in _REWRITES:
        if magics and (call is None or call.name not in magics):
            continue
        if isinstance(error, kind):
            match = re.search(pattern, service_text)
            if match:
                return sentence(match, call)
    return None


def describe(error: BaseException, creds_given: bool = False, call: Optional[Call] = None) -> str:
    """``"%image_pull: Image not found: ... (hint: ...)"`` in one line, without a traceback.

    ``creds_given``: the operation sent credentials, so "unauthorized" means they were wrong;
    ``call``: the magic that failed (said first), with its arguments and cell for the sentences that name them.
    """
    operation = call.magic if call else None
    text = rewritten(error, call)
    if text is not None:
        return (f"{operation}: " if operation else "") + ("Build failed: " if isinstance(error, BuildError) else "") + text
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
    hint = "" if isinstance(error, ServiceUnavailable) else getattr(error, "hint", None) or hint_for(text, creds_given)
    return (f"{operation}: " if operation else "") + (f"{text} (hint: {hint})" if hint else text)


class _Handler:
    """IPython's custom exception handler for PodmanError, chained to the one that was there before."""

    def __init__(self, shell: Any, magics: Any):
        self.shell, self.magics = shell, magics
        self.previous = (tuple(shell.custom_exceptions), shell.CustomTB)
        self.active = True
        self.installed: Any = None

    def __call__(self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Optional[int] = None):
        previous_types, previous_handler = self.previous
        if not (self.active and isinstance(value, (PodmanError, Interrupted))):
            if previous_types and issubclass(etype, previous_types):
                return previous_handler(etype, value, tb, tb_offset=tb_offset)
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        return self.show(etype, value, tb, tb_offset)

    def show(self, etype: type, value: BaseException, tb: Any, tb_offset: Optional[int]):
        magics, shell = self.magics, self.shell
        if isinstance(value, Interrupted):  # the display's summary said "interrupted": one line
            return _show(shell, KeyboardInterrupt, value, tb, ["KeyboardInterrupt"])
        if value is magics.shown_failure and not magics.show_tracebacks:
            # the display's summary is the one message (the failing step, its last lines, the reason, the
            # log); the cell still fails: the kernel's reply says "error", so nbconvert and papermill stop
            magics.shown_failure = None
            _mask_exception(value, magics.secrets)
            _keep_last(etype, value, tb)
            return []
        if magics.show_tracebacks:
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        else:
            stb = [describe(value, creds_given=magics.creds_given, call=magics.failed_call(value))]
        stb = [mask(line, magics.secrets) for line in stb]
        _mask_exception(value, magics.secrets)
        return _show(shell, etype, value, tb, stb)


def _show(shell: Any, etype: type, value: BaseException, tb: Any, stb: List[str]) -> List[str]:
    """Show ``stb`` through IPython's public ``showtraceback``: an exception's ``_render_traceback_`` is
    IPython's documented way for it to give its own lines, which a kernel then sends as the cell's error
    output (and keeps for the execute reply, so nbconvert and papermill stop on it). It also sets
    ``sys.last_*`` (``%debug``, ``%tb``) and honours ``%pdb``. Taken off again after: ``%tb`` later shows
    the full traceback."""
    value._render_traceback_ = lambda: stb  # type: ignore[attr-defined]
    try:
        shell.showtraceback((etype, value, tb))
    finally:
        del value._render_traceback_  # type: ignore[attr-defined]
    _keep_last(etype, value, tb)
    return stb


def _keep_last(etype: type, value: BaseException, tb: Any) -> None:
    """``sys.last_type``/``last_value``/``last_traceback`` (and 3.12's ``last_exc``), as showtraceback keeps them."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value


def install(shell: Any, magics: Any) -> None:
    """Show PodmanError as one sentence in ``shell``, keeping any handler another extension set."""
    handler = _Handler(shell, magics)
    previous_types = handler.previous[0]
    ours = (PodmanError, Interrupted)
    shell.set_custom_exc(ours + tuple(t for t in previous_types if t not in ours), handler)
    handler.installed = shell.CustomTB  # IPython's wrapper around it, kept as it is in the shell's __dict__
    magics.error_handler = handler


def uninstall(shell: Any, magics: Any) -> None:
    """Put back the handler that was there before :func:`install`.

    When another extension has chained its handler on top of ours since, ours stays in place but
    passes everything on, so that extension keeps working.
    """
    handler = getattr(magics, "error_handler", None)
    if handler is None:
        return
    handler.active = False
    magics.error_handler = None
    if shell.CustomTB is handler.installed:
        shell.custom_exceptions, shell.CustomTB = handler.previous


def _mask_exception(value: BaseException, secrets: Any) -> None:
    """Mask passwords in the exception itself: a kernel's execute reply sends ``str(error)``."""
    if not secrets:
        return
    try:
        value.args = tuple(mask(arg, secrets) for arg in value.args)
        for name in ("explanation", "msg"):
            if isinstance(getattr(value, name, None), str):
                setattr(value, name, mask(getattr(value, name), secrets))
    except (AttributeError, TypeError):  # pragma: no cover - an exception that refuses new attributes
        pass


def usage_message(magic: str, options: Iterable[str], message: str) -> str:
    """An argument error as one sentence naming the magic: an unknown option lists the ones it takes."""
    unknown = re.match(r"unrecognized arguments: (?P<words>.+)", message)
    if unknown:
        words = [w for w in unknown.group("words").split() if w.startswith("-")] or unknown.group("words").split()
        options = sorted(set(options) - {"--help"})
        close = difflib.get_close_matches(words[0], options, n=1)
        guess = f"did you mean {close[0]}? " if close else ""
        return (f"{magic}: unknown option {' '.join(words)} ({guess}{magic} takes {', '.join(options)}; "
                f"{magic} -h explains them)")
    return f"{magic}: {message} ({magic} -h shows how to call it)"
