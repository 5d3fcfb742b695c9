"""Live progress displays for pulls, pushes and builds, and the static summary left behind.

``make_display(kind, title, mode)`` returns a display with ``update(event)`` (pass it as the
manager's ``progress=`` callable) and ``close(error=None, interrupted=False)``, which returns a
:class:`Summary`. Modes:

* ``"widgets"``: ipywidgets bars (notebook/progress_widgets.py; pull/push: overall bar plus one row per layer;
  build: a step bar, the current instruction and a log tail). Front-end refreshes are throttled to one per
  ``update_interval`` seconds (a time check per event, like tqdm's ``mininterval``); an event that
  arrives inside the interval is shown when the interval ends, by a one-shot timer, so a line
  followed by a long quiet step still shows within ``update_interval``. The latest state is
  flushed on close; then the widget's output is replaced by the summary and the widget is
  closed, so a saved or converted notebook shows the summary.
* ``"text"``: plain lines, one per layer state change (not per byte update), per step and per
  log line, then the summary's text. No carriage returns, no widget reprs.
* ``"none"``: nothing is shown at all, not even the summary; ``close()`` still returns it, so
  the caller decides whether to display it.
* ``"auto"``: widgets under a Jupyter kernel front end with ipywidgets importable, else text.
  The ``PODMAN_NB_PROGRESS`` environment variable (widgets/text/none) overrides auto.

Titles and log lines are shown exactly as given (HTML-escaped): callers strip credentials.
"""

from __future__ import annotations

import html
import itertools
import os
import sys
import time
from typing import Any, List, Optional, Sequence

from ..domain.events import Event, LayerProgress, LogLine, Status, Step
from ..domain.progress_state import BuildProgress, PullProgress, step_reason
from ..domain.references import short_id
from ..errors import InvalidArgument
from .units import format_elapsed, human_size

__all__ = ["make_display", "choose_mode", "Summary", "ProgressDisplay", "TextDisplay", "NullDisplay", "KINDS",
           "MODES"]

KINDS = ("pull", "push", "build")
MODES = ("auto", "widgets", "text", "none")
_VERBS = {"pull": "Pulled", "push": "Pushed", "build": "Built"}
_VERBING = {"pull": "Pulling", "push": "Pushing", "build": "Building"}
ENV_MODE = "PODMAN_NB_PROGRESS"


def literal(text: Any) -> str:
    """``text`` for an HTML output or widget, shown exactly as given: escaped, inside ``<code>``.

    JupyterLab typesets any two ``$`` of an HTML output or a Label widget as maths (MathJax or KaTeX);
    both leave ``<code>`` and ``<pre>`` alone, so every text that comes from the user or the service
    goes inside one of them.
    """
    return f'<code style="{_CODE_STYLE}">{html.escape(str(text))}</code>'


def literal_block(lines: Any, style: str = "") -> str:
    """Lines as a ``<pre>`` block (never typeset, see :func:`literal`)."""
    return f'<pre style="margin:0;{style}">' + html.escape("\n".join(lines)) + "</pre>"


_CODE_STYLE = "font-family:inherit;background:none;padding:0;font-size:inherit;color:inherit"


class Summary:  # pylint: disable=too-many-instance-attributes
    """What a finished (or failed, or interrupted) operation amounted to; renders as HTML and text.

    A build's summary keeps its last ``log_tail`` lines (collapsed in HTML, so the saved notebook
    shows what was built without a widget); a failed build's names the step that failed and the
    last lines that step printed.
    """

    def __init__(self, kind: str, title: str, progress: Any, notes: Sequence[tuple] = ()):
        self.kind = kind
        self.notes = list(notes)  # more (label, value) facts, e.g. what an environment's context left out
        self.title = title
        self.image_id = short_id(progress.result_id)
        self.references = tuple(progress.references)
        self.elapsed = progress.elapsed
        self.error = progress.error
        self.interrupted = progress.interrupted
        self.ok = self.error is None and not self.interrupted
        self.layers_done = self.layer_count = self.layers_present = self.size = None
        self.step = self.steps_total = self.cache_hits = None
        self.instruction, self.step_lines, self.log_tail, self.log_lines = "", [], [], 0
        if isinstance(progress, BuildProgress):
            self.step, self.steps_total = progress.step, progress.steps_total
            self.instruction = progress.instruction
            self.step_lines = list(progress.step_lines)
            self.cache_hits = progress.cache_hits
            self.log_tail = list(progress.tail)
            self.log_lines = progress.lines
        else:
            self.layer_count = progress.layer_count
            self.layers_present = progress.layers_present
            # a finished pull or push has every layer: the libpod stream (Podman 4, or TLS checks off)
            # reports "Copying blob" without a per-layer done line, which would leave "0/N" behind
            self.layers_done = self.layer_count if self.ok else progress.layers_done
            self.size = progress.size_total or None

    @property
    def failed_step(self) -> str:
        """``STEP 3/5: RUN make`` for a build that stopped inside a step, else ``""``."""
        if self.kind != "build" or self.ok or not self.step:
            return ""
        return Step(self.step, self.steps_total or None, self.instruction).heading

    @property
    def reason(self) -> str:
        if self.kind == "build" and self.error:
            return step_reason(self.error, self.instruction)
        return str(self.error or "")

    @property
    def headline(self) -> str:
        where = f" at {self.failed_step}" if self.failed_step else ""
        if self.interrupted:
            return f"{_VERBING[self.kind]} {self.title}: interrupted{where}"
        if self.error is not None:
            return (f"{_VERBING[self.kind]} {self.title} failed{where}" if where or not self.error
                    else f"{_VERBING[self.kind]} {self.title} failed: {self.error}")
        return f"{_VERBS[self.kind]} {self.title}"

    def cause(self) -> List[str]:
        """A failed build's cause: the last lines its step printed, then the service's reason."""
        if self.ok or not self.failed_step:
            return []
        return self.step_lines + ([f"({self.reason})"] if self.error is not None else [])

    def facts(self) -> List[tuple]:
        """(label, value) pairs shown under the headline."""
        facts = []
        if self.image_id:
            facts.append(("image", self.image_id))
        if self.steps_total is not None:
            if self.steps_total and self.ok:
                facts.append(("steps", f"{self.steps_total}/{self.steps_total}"))
            elif not self.steps_total and self.step:  # Podman 3 does not say how many steps there are
                facts.append(("steps", str(self.step)))
            facts.append(("cache hits", str(self.cache_hits)))
        if self.layer_count:
            done = f"{self.layers_done}/{self.layer_count}"
            present = f" ({self.layers_present} already present)" if self.layers_present else ""
            facts.append(("layers", done + present))
        if self.size:
            facts.append(("compressed size", human_size(self.size)))  # the layers' blobs: %images says size on disk
        facts += self.notes
        facts.append(("elapsed", format_elapsed(self.elapsed)))
        return facts

    def log_label(self) -> str:
        shown = len(self.log_tail)
        return (f"build log ({shown} lines)" if shown >= self.log_lines
                else f"build log (last {shown} of {self.log_lines} lines)")

    def __repr__(self) -> str:
        lines = [self.headline] + [f"  {line}" for line in self.cause()]
        return "\n".join(lines) + "\n" + "  ".join(f"{k}: {v}" for k, v in self.facts())

    def _repr_html_(self) -> str:
        color = "#2e7d32" if self.ok else ("#9e6a03" if self.interrupted else "#c62828")
        mark = "&#10003;" if self.ok else ("&#9632;" if self.interrupted else "&#10007;")
        facts = " &middot; ".join(f"{html.escape(k)}: <code>{html.escape(v)}</code>"
                                  for k, v in self.facts())
        verb = html.escape(_VERBS[self.kind] if self.ok else _VERBING[self.kind])
        if self.interrupted:
            state = " interrupted" + (" at" if self.failed_step else "")
        elif self.error is not None:
            state = " failed" + (" at" if self.failed_step else (":" if self.error else ""))
        else:
            state = ""
        what = literal(self.failed_step) if self.failed_step else (
            literal(self.error) if self.error is not None and not self.interrupted else "")
        parts = [f'<div class="podman-nb-summary" style="border-left:4px solid {color};'
                 f'padding:2px 8px">',
                 f'<div><span style="color:{color}">{mark}</span> '
                 f'<b>{verb} {literal(self.title)}{state}</b> {what}</div>']
        if self.cause():
            parts.append(f'<div class="podman-nb-cause">'
                         f'{literal_block(self.cause(), "padding:2px 0;color:" + color)}</div>')
        parts.append(f'<div style="font-size:90%">{facts}</div>')
        if self.log_tail:
            parts.append(f'<details class="podman-nb-log"><summary>{html.escape(self.log_label())}</summary>'
                         f'{literal_block(self.log_tail, "max-height:20em;overflow:auto;font-size:85%")}'
                         "</details>")
        parts.append("</div>")
        return "".join(parts)


class ProgressDisplay:
    """Base display: folds events into ``.progress``; subclasses decide what to show.

    ``updates`` counts front-end refreshes actually made (widget syncs or printed lines).
    """

    mode = "none"

    def __init__(self, kind: str, title: str, update_interval: float = 0.2, log_tail: int = 200,
                 clock=time.monotonic):
        if kind not in KINDS:
            raise InvalidArgument(f"unknown progress kind {kind!r}; use one of {', '.join(KINDS)}")
        self.kind = kind
        self.title = str(title)
        self.update_interval = float(update_interval)
        self._clock = clock
        self.progress = (BuildProgress(log_tail=log_tail, clock=clock) if kind == "build"
                         else PullProgress(clock=clock))
        self.updates = 0
        self.summary: Optional[Summary] = None
        self.notes: List[tuple] = []  # (label, value) facts the caller adds to the summary

    @property
    def closed(self) -> bool:
        return self.summary is not None

    def update(self, event: Event) -> None:
        """Fold in one event (the manager's ``progress=`` callable)."""
        self.progress.apply(event)

    def close(self, error: Optional[str] = None, interrupted: bool = False) -> Summary:
        """Finish, show the summary (per mode) and return it; later calls return the same summary."""
        if self.summary is None:
            self.progress.finish(error=error, interrupted=interrupted)
            self.summary = Summary(self.kind, self.title, self.progress, self.notes)
            self._finish(self.summary)
        return self.summary

    def _finish(self, summary: Summary) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is KeyboardInterrupt:
            self.close(interrupted=True)
        elif exc is not None:
            self.close(error=str(exc) or exc_type.__name__)
        else:
            self.close()
        return False


class NullDisplay(ProgressDisplay):
    """Shows nothing, ever; ``close()`` returns the summary for the caller to use."""

    mode = "none"


class TextDisplay(ProgressDisplay):
    """Plain lines: one per layer state change, step, status or log line; then the summary text."""

    mode = "text"

    def __init__(self, kind: str, title: str, stream=None, **kwargs):
        super().__init__(kind, title, **kwargs)
        self._stream = stream
        self._print(f"{_VERBING[kind]} {self.title}")

    def _print(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(line.replace("\r", "") + "\n")
        stream.flush()
        self.updates += 1

    def update(self, event: Event) -> None:
        if isinstance(event, LayerProgress) and self.kind != "build":
            layer = self.progress.layers.get(event.layer)
            before = layer.state if layer is not None else None
            self.progress.apply(event)
            if event.state != before and event.layer in self.progress.layers:  # not a config blob
                layer = self.progress.layers[event.layer]
                total = layer.total or layer.size
                size = f" ({human_size(total)})" if total else ""
                self._print(f"  {short_id(event.layer)}: {event.state}{size}")
            return
        before_len = self.progress.lines if self.kind == "build" else None
        self.progress.apply(event)
        if self.kind == "build":
            added = self.progress.lines - before_len  # the newest lines, read from the tail in O(added)
            for line in reversed(list(itertools.islice(reversed(self.progress.tail), added))):
                self._print(line)
        elif isinstance(event, (Status, LogLine, Step)):
            self._print(self.progress.last_status or "")

    def _finish(self, summary: Summary) -> None:
        self._print(repr(summary))


def _shell_initialized() -> bool:
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    return InteractiveShell.initialized()


def choose_mode(mode: str = "auto") -> str:
    """Resolve ``"auto"`` to ``"widgets"`` or ``"text"`` (other modes are returned as given)."""
    if mode not in MODES:
        raise InvalidArgument(f"unknown progress mode {mode!r}; use one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    forced = os.environ.get(ENV_MODE, "").strip().lower()
    if forced in ("widgets", "text", "none"):
        return forced
    return "widgets" if _widgets_front_end() else "text"


def _widgets_front_end() -> bool:
    """True under a Jupyter kernel (ZMQInteractiveShell or a subclass) with ipywidgets importable."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if not any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return False  # terminal IPython, `ipython script.ipy`
    if "spyder_kernels" in sys.modules:  # Spyder's console renders no widgets
        return False
    try:
        import ipywidgets  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        return False
    return True


def make_display(kind: str, title: str, mode: str = "auto", update_interval: float = 0.2,
                 log_tail: int = 200) -> ProgressDisplay:
    """A display for one pull, push or build; pass its ``update`` as ``progress=``, then ``close()``.

    In widgets mode a missing ipywidgets falls back to text.
    """
    resolved = choose_mode(mode)
    kwargs = dict(update_interval=update_interval, log_tail=log_tail)
    if resolved == "widgets":
        try:
            from .progress_widgets import WidgetsDisplay
            return WidgetsDisplay(kind, title, **kwargs)
        except ImportError:
            resolved = "text"
    if resolved == "text":
        return TextDisplay(kind, title, **kwargs)
    return NullDisplay(kind, title, **kwargs)
