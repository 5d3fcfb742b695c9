"""Live progress displays for pulls, pushes and builds, and the static summary left behind.

``make_display(kind, title, mode)`` returns a display with ``update(event)`` (pass it as the
manager's ``progress=`` callable) and ``close(error=None, interrupted=False)``, which returns a
:class:`Summary`. Modes:

* ``"widgets"``: ipywidgets bars (pull/push: overall bar plus one row per layer; build: a step
  bar, the current instruction and a log tail). Front-end refreshes are throttled to one per
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
import threading
import time
from typing import Any, Dict, List, Optional

from ..domain.events import Event, LayerProgress, LogLine, Status, Step
from ..domain.progress import BuildProgress, PullProgress, short_id
from ..errors import InvalidArgument
from .units import format_elapsed, human_size

__all__ = ["make_display", "choose_mode", "Summary", "ProgressDisplay", "WidgetsDisplay",
           "TextDisplay", "NullDisplay", "KINDS", "MODES"]

KINDS = ("pull", "push", "build")
MODES = ("auto", "widgets", "text", "none")
_VERBS = {"pull": "Pulled", "push": "Pushed", "build": "Built"}
_VERBING = {"pull": "Pulling", "push": "Pushing", "build": "Building"}
ENV_MODE = "PODMAN_NB_PROGRESS"


class Summary:
    """What a finished (or failed, or interrupted) operation amounted to; renders as HTML and text."""

    def __init__(self, kind: str, title: str, progress: Any):
        self.kind = kind
        self.title = title
        self.image_id = short_id(progress.result_id)
        self.references = tuple(progress.references)
        self.elapsed = progress.elapsed
        self.error = progress.error
        self.interrupted = progress.interrupted
        self.ok = self.error is None and not self.interrupted
        if isinstance(progress, BuildProgress):
            self.step, self.steps_total = progress.step, progress.steps_total
            self.cache_hits = progress.cache_hits
            self.log_tail: List[str] = list(progress.tail)[-20:]
            self.layers_done = self.layer_count = self.bytes_total = None
        else:
            self.step = self.steps_total = self.cache_hits = None
            self.log_tail = []
            self.layer_count = progress.layer_count
            # a finished pull or push has every layer: the libpod stream (Podman 4, or TLS checks off)
            # reports "Copying blob" without a per-layer done line, which would leave "0/N" behind
            self.layers_done = self.layer_count if self.ok else progress.layers_done
            self.bytes_total = progress.bytes_total or None

    @property
    def headline(self) -> str:
        if self.interrupted:
            return f"{_VERBING[self.kind]} {self.title}: interrupted"
        if self.error is not None:
            return f"{_VERBING[self.kind]} {self.title} failed: {self.error}"
        return f"{_VERBS[self.kind]} {self.title}"

    def facts(self) -> List[tuple]:
        """(label, value) pairs shown under the headline."""
        facts = []
        if self.image_id:
            facts.append(("image", self.image_id))
        if self.steps_total is not None:
            if self.steps_total:
                facts.append(("steps", f"{self.step}/{self.steps_total}"))
            facts.append(("cache hits", str(self.cache_hits)))
        if self.layer_count:
            facts.append(("layers", f"{self.layers_done}/{self.layer_count}"))
        if self.bytes_total:
            facts.append(("size", human_size(self.bytes_total)))
        facts.append(("elapsed", format_elapsed(self.elapsed)))
        return facts

    def __repr__(self) -> str:
        return self.headline + "\n" + "  ".join(f"{k}: {v}" for k, v in self.facts())

    def _repr_html_(self) -> str:
        color = "#2e7d32" if self.ok else ("#9e6a03" if self.interrupted else "#c62828")
        mark = "&#10003;" if self.ok else ("&#9632;" if self.interrupted else "&#10007;")
        facts = " &middot; ".join(f"{html.escape(k)}: <code>{html.escape(v)}</code>"
                                  for k, v in self.facts())
        parts = [f'<div class="podman-nb-summary" style="border-left:4px solid {color};'
                 f'padding:2px 8px">',
                 f'<div><span style="color:{color}">{mark}</span> '
                 f'<b>{html.escape(self.headline)}</b></div>',
                 f'<div style="font-size:90%">{facts}</div>']
        if self.log_tail and not self.ok:
            parts.append("<details><summary>last log lines</summary><pre>"
                         + html.escape("\n".join(self.log_tail)) + "</pre></details>")
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
            self.summary = Summary(self.kind, self.title, self.progress)
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
            if event.state != before:
                total = self.progress.layers[event.layer].total
                size = f" ({human_size(total)})" if total else ""
                self._print(f"  {event.layer[:12]}: {event.state}{size}")
            return
        before_len = self.progress.lines if self.kind == "build" else None
        self.progress.apply(event)
        if self.kind == "build":
            added = self.progress.lines - before_len  # the newest lines, read from the tail in O(added)
            for line in reversed(list(itertools.islice(reversed(self.progress.tail), added))):
                if not line.startswith("Error: "):  # the summary says it
                    self._print(line)
        elif isinstance(event, (Status, LogLine, Step)):
            self._print(self.progress.last_status or "")

    def _finish(self, summary: Summary) -> None:
        self._print(repr(summary))


class WidgetsDisplay(ProgressDisplay):
    """ipywidgets bars, refreshed at most once per ``update_interval``; replaced by the summary on close."""

    mode = "widgets"

    def __init__(self, kind: str, title: str, show: Optional[bool] = None, **kwargs):
        super().__init__(kind, title, **kwargs)
        import ipywidgets as w

        self._w = w
        self._last_refresh = float("-inf")
        self._dirty = False
        self._lock = threading.RLock()  # the deferred refresh runs on a timer thread
        self._timer: Optional[threading.Timer] = None
        self._dirty_layers: Dict[str, None] = {}  # insertion-ordered set
        self._rows: Dict[str, tuple] = {}
        self.title_html = w.HTML(f"<b>{html.escape(_VERBING[kind])}</b> {html.escape(self.title)}")
        if kind == "build":
            self.bar = w.IntProgress(value=0, min=0, max=1, description="STEP 0/?",
                                     style={"description_width": "initial"},
                                     layout=w.Layout(width="60%"))
            self.label = w.Label("")
            self.log_html = w.HTML("")
            self.widget = w.VBox([self.title_html, w.HBox([self.bar, self.label]), self.log_html])
        else:
            self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="60%"))
            self.label = w.Label("")
            self.status = w.Label("")
            self.layer_box = w.VBox([])
            self.widget = w.VBox([self.title_html, w.HBox([self.bar, self.label]),
                                  self.layer_box, self.status])
        self._handle = None
        if show is None:
            show = _shell_initialized()
        if show:
            from IPython.display import display

            self._handle = display(self.widget, display_id=True)

    # -- events -------------------------------------------------------------------------------
    def update(self, event: Event) -> None:
        with self._lock:
            self._update(event)

    def _update(self, event: Event) -> None:
        if self.progress.apply(event):
            self._dirty = True
            if isinstance(event, LayerProgress) and self.kind != "build":
                self._dirty_layers[event.layer] = None
        if self._dirty:
            now = self._clock()
            wait = self._last_refresh + self.update_interval - now
            if wait <= 0:
                self._refresh_now()
            elif self._timer is None and self._clock is time.monotonic:
                # The stream may go quiet now (a long RUN step): show this state when the interval ends.
                self._timer = threading.Timer(wait, self._deferred_refresh)
                self._timer.daemon = True
                self._timer.start()

    def _deferred_refresh(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty and not self.closed:
                self.refresh()

    def refresh(self) -> None:
        """Push the current state to the widgets now (one front-end update)."""
        with self._lock:
            self._refresh_now()

    def _refresh_now(self) -> None:
        if self._timer is not None:  # this refresh shows what the pending one would have
            self._timer.cancel()
            self._timer = None
        self._last_refresh = self._clock()
        self._dirty = False
        self.updates += 1
        if self.kind == "build":
            self._refresh_build()
        else:
            self._refresh_pull()

    def _refresh_build(self) -> None:
        p = self.progress
        if p.steps_total:
            self.bar.max = p.steps_total
            self.bar.value = min(p.step, p.steps_total)
            self.bar.description = f"STEP {p.step}/{p.steps_total}"
        self.label.value = p.instruction + (f"  (cache hits: {p.cache_hits})" if p.cache_hits else "")
        self.log_html.value = ('<pre style="max-height:20em;overflow-y:auto;font-size:85%;'
                               'margin:0">' + html.escape("\n".join(p.tail)) + "</pre>")

    def _refresh_pull(self) -> None:
        p = self.progress
        if p.bytes_total:
            self.bar.max = p.bytes_total
            self.bar.value = min(p.bytes_done, p.bytes_total)
            self.label.value = (f"{human_size(p.bytes_done)} / {human_size(p.bytes_total)}"
                                f"  ({p.layers_done}/{p.layer_count} layers)")
        elif p.layer_count:
            self.bar.max = p.layer_count
            self.bar.value = p.layers_done
            self.label.value = f"{p.layers_done}/{p.layer_count} layers"
        self.status.value = p.last_status or ""
        new_rows = False
        for name in self._dirty_layers:
            new_rows |= self._refresh_layer(p.layers[name])
        self._dirty_layers.clear()
        if new_rows:
            self.layer_box.children = tuple(row[0] for row in self._rows.values())

    def _refresh_layer(self, layer) -> bool:
        w = self._w
        row = self._rows.get(layer.layer)
        created = row is None
        if created:
            bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="40%"))
            name, text = w.Label(layer.layer[:12]), w.Label("")
            row = self._rows[layer.layer] = (w.HBox([name, bar, text]), bar, text)
        _, bar, text = row
        if layer.has_bytes:
            bar.layout.visibility = "visible"
            bar.max = max(1, layer.total)
            bar.value = layer.total if layer.done else min(layer.current or 0, layer.total)
            text.value = (f"{layer.state}  {human_size(bar.value)} / {human_size(layer.total)}")
        else:
            bar.layout.visibility = "hidden"
            text.value = layer.state
        bar.bar_style = "success" if layer.done else ""
        return created

    # -- end ----------------------------------------------------------------------------------
    def _finish(self, summary: Summary) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._finish_widgets(summary)

    def _finish_widgets(self, summary: Summary) -> None:
        p = self.progress
        if summary.ok:  # a finished operation ends with full bars, whatever the service reported
            if self.kind == "build":
                if p.steps_total:
                    p.step = max(p.step, p.steps_total)
            else:
                for layer in p.layers.values():
                    self._dirty_layers[layer.layer] = None
        self.refresh()
        if summary.ok:
            self.bar.value = self.bar.max
            self.bar.bar_style = "success"
            for _, bar, _ in self._rows.values():
                bar.value = bar.max
        else:
            self.bar.bar_style = "warning" if summary.interrupted else "danger"
        if self._handle is not None:
            self._handle.update(summary)
        elif _shell_initialized():
            from IPython.display import display

            display(summary)
        self.widget.close()


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
            return WidgetsDisplay(kind, title, **kwargs)
        except ImportError:
            resolved = "text"
    if resolved == "text":
        return TextDisplay(kind, title, **kwargs)
    return NullDisplay(kind, title, **kwargs)
