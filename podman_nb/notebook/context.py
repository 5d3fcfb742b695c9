"""What every magic repeats, in one place: the session (its clients and the passwords to mask), the
context of one call, and the :func:`magic` decorator that parses the line, makes the context and, on a
failure, attaches it to the exception for the error handler (notebook/error_display.py).

A new magic module adopts it like this (the method gets the parsed ``args`` and the ``call``)::

    from IPython.core.magic import Magics, line_magic, magics_class
    from IPython.core.magic_arguments import argument, magic_arguments
    from .arguments import common
    from .context import magic

    @magics_class
    class KernelMagics(Magics):
        @line_magic
        @magic_arguments()
        @common                      # --connection NAME and -h
        @argument("name", help="Kernel name.")
        @magic
        def kernel_rm(self, args, call):
            \"""Remove a kernel.

            Example: ``%kernel_rm myenv``
            \"""
            images = call.images  # of the notebook's client, or --connection's
            ...

A PodmanError it raises is then shown as ``%kernel_rm: SENTENCE (hint: ...)``, with the passwords seen
this session masked; ``call.shown = True`` says a display already showed the failure.

The decorator is where the notebook's facts reach a failure: it attaches the magic's name, its operation,
whether credentials were sent and whether its display showed the failure (``failures.attach``, which makes
the sentence again), then masks the session's passwords in the exception itself (a kernel's execute reply
sends ``str(error)``). The error display (notebook/error_display.py) only formats what that leaves.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from IPython.core.error import UsageError

from ..api.connections import list_connections
from ..client import PodmanClient
from ..errors import BuildError, PodmanError
from ..failures import attach
from .arguments import help_text, parse, wants_help
from .progress_display import make_display
from .secrets import creds_passwords, mask, parse_creds, scrub_history


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's interrupt) stopped a magic whose display already said so: shown as the
    one line ``KeyboardInterrupt``, without the urllib3 and socket frames the interrupt came through."""


class Session:
    """One shell's Podman state shared by every magic module: the clients (made once each) and the
    passwords seen, masked in anything shown. ``settings()`` gives base_url, connection and stream_timeout."""

    def __init__(self, shell: Any, settings: Callable[[], Dict[str, Any]]):
        self.shell = shell
        self.settings = settings
        self.secrets: set = set()
        self.clients: Dict[Optional[str], PodmanClient] = {}  # None: the notebook's; else per --connection NAME

    def client_for(self, name: Optional[str]) -> PodmanClient:
        """The client of connection ``name`` (None: the notebook's), made once and kept."""
        if name not in self.clients:
            settings = self.settings()
            if name is None:
                made = PodmanClient(base_url=settings.get("base_url"), connection=settings.get("connection"),
                                    stream_timeout=settings.get("stream_timeout"))
            else:
                made = PodmanClient(connection=name, stream_timeout=settings.get("stream_timeout"))
            self.clients[name] = made
        return self.clients[name]

    def reset(self) -> None:
        """Close every client: the next call makes new ones with the current settings."""
        clients, self.clients = self.clients, {}
        for client in clients.values():
            client.close()

    def remember(self, password: Optional[str]) -> None:
        """Mask ``password`` from now on: in IPython's history and in any error shown."""
        if password:
            self.secrets.add(password)
            scrub_history(self.shell, password)


def ask_each(names: List[str], ask: Callable[[str], Any]) -> Tuple[Dict[str, Any], Dict[str, PodmanError]]:
    """``ask(name)`` for each connection in parallel: the answers and the errors, by name."""
    from concurrent.futures import ThreadPoolExecutor

    answers: Dict[str, Any] = {}
    failures: Dict[str, PodmanError] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        futures = {name: pool.submit(ask, name) for name in names}
    for name, future in futures.items():
        try:
            answers[name] = future.result()
        except PodmanError as error:
            failures[name] = error
    return answers, failures


_SESSIONS: "weakref.WeakKeyDictionary[Any, Session]" = weakref.WeakKeyDictionary()


def session_for(shell: Any, settings: Optional[Callable[[], Dict[str, Any]]] = None) -> Session:
    """The shell's Session: with ``settings``, a new one that replaces it (what ``%load_ext`` does);
    without, the one there is (a Session reading no settings when none was made yet)."""
    session = None if settings is not None or shell is None else _SESSIONS.get(shell)
    if session is None:
        session = Session(shell, settings or dict)
        if shell is not None:
            _SESSIONS[shell] = session
    return session


@dataclass
class CallContext:
    """One magic call: its name (``"%images"``, ``"%%image_build"``), its arguments with the passwords
    masked, the cell body, the service it used, whether credentials were sent, and whether a display
    already showed the failure (``shown``: the error handler then adds nothing)."""
    magic: str
    args: Any
    session: Session = field(repr=False)
    cell: Optional[str] = None
    connection: Optional[str] = None
    creds_given: bool = False
    shown: bool = False

    @property
    def client(self) -> PodmanClient:
        return self.session.client_for(self.connection)

    @property
    def images(self) -> Any:
        """The images manager of this call's client."""
        return self.client.images

    @property
    def service(self) -> Optional[str]:
        """The address of the service this call used, if it made a client."""
        client = self.session.clients.get(self.connection)
        return client.base_url if client is not None else None

    def with_progress(self, kind: str, title: str, quiet: bool, run: Callable[[Callable], Any],
                      notes: Sequence[tuple] = ()) -> Any:
        """Run ``run(progress)`` under a live display (the session's progress settings), leaving its summary
        behind: a failed build's names the step and says the one sentence, so the error adds nothing
        (``shown``); a failed pull's or push's says only that it failed, the error line says why: each
        failure is said once. ``notes``: more (label, value) facts for the summary."""
        settings = self.session.settings()
        display = make_display(kind, title, mode="none" if quiet else settings.get("progress", "auto"),
                               update_interval=settings.get("update_interval", 0.2),
                               log_tail=settings.get("log_tail", 200))
        display.notes.extend(notes)
        with display:
            try:
                return run(display.update)
            except BuildError as error:
                display.close(error=str(error))
                self.shown = display.mode != "none"
                raise
            except PodmanError:
                display.close(error="")
                raise

    def connections(self, every: bool) -> List[str]:
        """The connections ``--connection a,b`` names, or with ``every`` (``--all-connections``) all of Podman's."""
        if not every:
            return [name.strip() for name in (getattr(self.args, "connection", None) or "").split(",") if name.strip()]
        names = [connection.name for connection in list_connections()]
        if not names:
            raise UsageError("Podman has no connections (`podman system connection add`)")
        return names

    def each_connection(self, names: List[str], ask: Callable[[PodmanClient], Any]) -> Any:
        """``ask(client)`` on each named connection in parallel: one DataFrame with a ``connection`` column; a
        service that does not answer is a printed note (also in ``df.attrs["notes"]``), not a failure."""
        from .tables import by_connection

        frames, failures = ask_each(names, lambda name: ask(self.session.client_for(name)))
        notes = [f"connection {name!r} did not answer: {error}" for name, error in failures.items()]
        for note in notes:
            print(f"note: {note}")
        return by_connection(frames, notes)

    def creds(self, creds: Optional[str]) -> Optional[Dict[str, str]]:
        """``--creds`` as an auth_config (asking for the password when only USER is given)."""
        auth = parse_creds(creds)
        if auth:
            self.creds_given = True
            self.session.remember(auth["password"])
            self.args = _masked(self.args, self.session.secrets)
        return auth


def _masked(args: Any, secrets: set) -> Any:
    """The namespace with passwords masked in every string argument (a copy: the call reads its own)."""
    copy = type(args)(**vars(args)) if hasattr(args, "__dict__") else args
    for name, value in vars(copy).items() if hasattr(copy, "__dict__") else ():
        if isinstance(value, str):
            setattr(copy, name, mask(value, secrets))
    return copy


def _mask_exception(error: PodmanError, secrets: set) -> None:
    """Mask passwords in the exception itself: a kernel's execute reply sends ``str(error)``."""
    if secrets:
        error.args = tuple(mask(arg, secrets) for arg in error.args)
        for name in ("explanation", "msg", "sentence", "hint"):
            if isinstance(getattr(error, name, None), str):
                setattr(error, name, mask(getattr(error, name), secrets))


def magic(function: Callable) -> Callable:
    """Parse the magic's line (``-h`` prints help), run it with its :class:`CallContext`, and attach the call's
    facts to any PodmanError it raises (the magic's name, whether its display showed the failure), its
    passwords masked, for the error handler."""

    @functools.wraps(function)
    def run(self: Any, line: str = "", cell: Optional[str] = None) -> Any:
        method = getattr(self, function.__name__)
        name = ("%%" if cell is not None else "%") + function.__name__
        session = self.session if hasattr(self, "session") else session_for(self.shell)
        for password in creds_passwords(line):  # first: a line that fails to parse keeps none either
            session.remember(password)
        if wants_help(line):  # before required arguments are checked
            print(help_text(method.__doc__))
            return None
        try:
            args = parse(method, name, line)
        except UsageError as error:  # its text may hold a password
            error.args = tuple(mask(arg, session.secrets) for arg in error.args)
            raise
        call = CallContext(name, args, session, cell=cell, connection=getattr(args, "connection", None))
        try:
            return function(self, args, call)
        except PodmanError as error:
            attach(error, magic=name, operation=function.__name__, creds_given=call.creds_given, shown=call.shown)
            _mask_exception(error, session.secrets)
            raise
        except Interrupted:
            raise
        except KeyboardInterrupt:  # the display's summary says "interrupted": see Interrupted
            raise Interrupted() from None

    # the signature IPython calls it with, not the wrapped (self, args, call): IPython 7's line_magic rebuilds the
    # method from inspect.signature, which follows functools.wraps' __wrapped__ otherwise
    run.__signature__ = inspect.signature(run, follow_wrapped=False)  # type: ignore[attr-defined]
    return run
