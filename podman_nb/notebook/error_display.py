"""How a failure is shown in a notebook: the magic's name, the error's label, then the sentence and hint the
exception already holds (``str(error)``), installed as IPython's handler for PodmanError without displacing
another's. This module only formats: it changes nothing on the exception and makes no sentence.

* :func:`describe` is the one line: ``%image_pull: Image not found: SENTENCE (hint: ...)``. The service's text
  stays on the exception (``explanation``, ``msg``) and in the full traceback
  (``%config PodmanMagics.show_tracebacks = True``).
* The facts the ``magic`` decorator (notebook/context.py) attached say which magic failed and whether its
  display already showed the failure (``shown``): then the error adds nothing (the cell still fails). An
  interrupted magic (:class:`Interrupted`) ends in the one line ``KeyboardInterrupt``.
* :func:`install` / :func:`uninstall` put the handler in and take it out again. A handler another
  extension set before is kept: exceptions it was set for still go to it, and ``uninstall`` puts it
  back exactly as it was.
* Passwords seen this session are masked in what is shown (the decorator masked the exception itself).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional

from ..errors import PodmanError
from .context import Interrupted
from .secrets import mask

__all__ = ["Interrupted", "describe", "install", "uninstall"]


def describe(error: PodmanError) -> str:
    """``"%image_pull: Image not found: ... (hint: ...)"`` in one line, without a traceback."""
    magic = error.facts.get("magic")
    return (f"{magic}: " if magic else "") + error.label + str(error)


class _Handler:
    """IPython's custom exception handler for PodmanError, chained to the one that was there before."""

    def __init__(self, shell: Any, secrets: set, show_tracebacks: Callable[[], bool]):
        self.shell, self.secrets, self.show_tracebacks = shell, secrets, show_tracebacks
        self.previous = (tuple(shell.custom_exceptions), shell.CustomTB)
        self.active = True
        self.installed: Any = None
        self.silenced: Optional[BaseException] = None  # the last failure left to its display: said if raised again

    def __call__(self, shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Optional[int] = None):
        previous_types, previous_handler = self.previous
        if not (self.active and isinstance(value, (PodmanError, Interrupted))):
            if previous_types and issubclass(etype, previous_types):
                return previous_handler(etype, value, tb, tb_offset=tb_offset)
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        return self.show(etype, value, tb, tb_offset)

    def show(self, etype: type, value: BaseException, tb: Any, tb_offset: Optional[int]) -> List[str]:
        """Show ``value`` as its one line (or nothing, when its magic's display showed it)."""
        shell = self.shell
        if isinstance(value, Interrupted):  # the display's summary said "interrupted": one line
            return _show(shell, KeyboardInterrupt, value, tb, ["KeyboardInterrupt"])
        if getattr(value, "facts", {}).get("shown") and value is not self.silenced and not self.show_tracebacks():
            # the display's summary is the one message (the failing step, its last lines, the reason, the
            # log); the cell still fails: the kernel's reply says "error", so nbconvert and papermill stop
            self.silenced = value
            _keep_last(etype, value, tb)
            return []
        if self.show_tracebacks():  # the whole traceback, and the service's own words under it
            stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
            raw = value.raw() if isinstance(value, PodmanError) else str(value)
            stb = stb + ([f"(as the service said it: {raw})"] if raw != str(value) else [])
        else:
            stb = [describe(value)]
        stb = [mask(line, self.secrets) for line in stb]
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
    handler = _Handler(shell, magics.session.secrets, lambda: magics.show_tracebacks)
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

