"""The ipywidgets progress displays: :class:`WidgetsDisplay`, the shared base (refreshes throttled to one per
``update_interval``, a clock that keeps a silent step's time moving, the summary in the widget's place at the
end), and one small class per kind over it: :class:`PullWidgets` and :class:`PushWidgets` (an overall bar and one
row per layer) and :class:`BuildWidgets` (a step bar, the current instruction and a log tail).

``WidgetsDisplay(kind, title)`` makes the display of that kind; notebook/progress_display.py's ``make_display``
picks it in widgets mode.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any, Dict, Optional

from ..domain.events import Event, LayerProgress, LayerSizes
from ..domain.references import short_id
from .progress_display import _VERBING, ProgressDisplay, Summary, _shell_initialized, literal, literal_block
from .units import format_elapsed, human_size

__all__ = ["WidgetsDisplay", "PullWidgets", "PushWidgets", "BuildWidgets"]


class WidgetsDisplay(ProgressDisplay):
    """ipywidgets bars, refreshed at most once per ``update_interval``; replaced by the summary on close.

    A clock thread refreshes once per interval while nothing arrives, so the elapsed time of a silent
    step (or of a pull without byte counts) keeps moving. A subclass makes its widgets (``_make_widgets``),
    marks what an event changed (``_mark``) and shows the state (``_refresh``).
    """

    mode = "widgets"
    KIND = ""

    def __new__(cls, kind: str, *args: Any, **kwargs: Any) -> "WidgetsDisplay":
        if cls is WidgetsDisplay:  # WidgetsDisplay("build", ...) is a BuildWidgets
            cls = {sub.KIND: sub for sub in (PullWidgets, PushWidgets, BuildWidgets)}.get(kind, cls)
        return super().__new__(cls)

    def __init__(self, kind: str, title: str, show: Optional[bool] = None, **kwargs: Any):
        super().__init__(kind, title, **kwargs)
        import ipywidgets as w

        self._w = w
        self._last_refresh = float("-inf")
        self._dirty = False
        self._lock = threading.RLock()  # the deferred refresh and the clock run on other threads
        self._timer: Optional[threading.Timer] = None
        self.title_html = w.HTML(f"<b>{html.escape(_VERBING[kind])}</b> {literal(self.title)}")
        self.label = w.HTML("")
        self.widget = self._make_widgets(w)
        self.widget.add_class("podman-nb-progress")
        self._handle = None
        if show if show is not None else _shell_initialized():
            from IPython.display import display

            self._handle = display(self.widget, display_id=True)
        self._stop_clock = threading.Event()
        if self._clock is time.monotonic and self.update_interval > 0:
            threading.Thread(target=self._run_clock, name="podman-nb-clock", daemon=True).start()

    def _make_widgets(self, w: Any) -> Any:
        raise NotImplementedError

    def _mark(self, event: Event) -> None:
        """Note what ``event`` changed, for the next refresh (the state itself is in ``progress``)."""

    def _refresh(self) -> None:
        raise NotImplementedError

    def _fill(self) -> None:
        """A finished operation ends with full bars."""
        self.bar.value = self.bar.max
        self.bar.bar_style = "success"

    def _run_clock(self) -> None:
        wait = self.update_interval
        while not self._stop_clock.wait(wait):
            with self._lock:
                if self.closed:
                    return
                wait = self._last_refresh + self.update_interval - self._clock()
                if wait <= 0:  # nothing refreshed the display for a whole interval
                    self._refresh_now()
                    wait = self.update_interval

    # -- events -------------------------------------------------------------------------------
    def update(self, event: Event) -> None:
        with self._lock:
            if self.progress.apply(event):
                self._dirty = True
                self._mark(event)
            if self._dirty:
                wait = self._last_refresh + self.update_interval - self._clock()
                if wait <= 0:
                    self._refresh_now()
                elif self._timer is None and self._clock is time.monotonic:
                    # The stream may go quiet now (a long RUN step): show this state when the interval ends.
                    self._start_timer(wait)

    def _start_timer(self, wait: float) -> None:
        self._timer = threading.Timer(wait, self._deferred_refresh)
        self._timer.daemon = True
        self._timer.start()

    def _deferred_refresh(self) -> None:
        with self._lock:
            self._timer = None
            if not self._dirty or self.closed:
                return
            wait = self._last_refresh + self.update_interval - self._clock()
            if wait > 0:  # another refresh came first (the clock's, or an event's): keep the interval
                self._start_timer(wait)
            else:
                self._refresh_now()

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
        self._refresh()

    # -- end ----------------------------------------------------------------------------------
    def _finish(self, summary: Summary) -> None:
        self._stop_clock.set()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._finish_widgets(summary)

    def _finish_widgets(self, summary: Summary) -> None:
        self.refresh()
        if summary.ok:
            self._fill()
        else:
            self.bar.bar_style = "warning" if summary.interrupted else "danger"
        if self._handle is not None:
            self._handle.update(summary)
        elif _shell_initialized():
            from IPython.display import display

            display(summary)
        _close_tree(self.widget)


class BuildWidgets(WidgetsDisplay):
    """A build: a bar of the steps, the running instruction and its time, and the log's last lines. The log box
    sticks to its bottom, as a terminal does, unless the user scrolls up (CSS only: a ``column-reverse`` scroll
    box, whose element survives refreshes, so its scroll position does too)."""

    KIND = "build"

    def _make_widgets(self, w: Any) -> Any:
        self.bar = w.IntProgress(value=0, min=0, max=1, description="STEP 0/?", style={"description_width": "initial"},
                                 layout=w.Layout(width="60%"))
        self.log_html = w.HTML("", layout=w.Layout(max_height="20em", overflow="auto", display="flex",
                                                   flex_flow="column-reverse"))
        self.log_html.add_class("podman-nb-log")
        return w.VBox([self.title_html, w.HBox([self.bar, self.label]), self.log_html])

    def _refresh(self) -> None:
        p = self.progress
        if p.steps_total:
            self.bar.max = p.steps_total
            # the bar counts finished steps: the running one is not done until the next begins
            self.bar.value = min(p.step if p.done and not p.error else p.step - 1, p.steps_total)
            self.bar.description = f"STEP {p.step}/{p.steps_total}"
        elif p.step:  # Podman 3 gives no total: name the step, leave the bar empty rather than guess
            self.bar.description = f"STEP {p.step}"
        running = "" if p.done else f' <span class="podman-nb-elapsed">running {format_elapsed(p.step_elapsed, ticking=True)}</span>'
        hits = f" &middot; cache hits: {p.cache_hits}" if p.cache_hits else ""
        self.label.value = (literal(p.instruction) if p.instruction else "") + running + hits
        self.log_html.value = literal_block(p.tail, "font-size:85%")


class PullWidgets(WidgetsDisplay):
    """A pull: one bar of the bytes (or the browser's busy bar when the endpoint says none), the layers done,
    the last status line, and one row per layer."""

    KIND = "pull"

    def _make_widgets(self, w: Any) -> Any:
        self._dirty_layers: Dict[str, None] = {}  # insertion-ordered set
        self._rows: Dict[str, tuple] = {}
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="60%"))
        # no byte counts: a browser's own indeterminate bar (a <progress> without a value)
        self.busy = w.HTML('<progress style="width:100%"></progress>', layout=w.Layout(width="60%", display="none"))
        self.status = w.HTML("")
        self.layer_box = w.VBox([])
        return w.VBox([self.title_html, w.HBox([self.bar, self.busy, self.label]), self.layer_box, self.status])

    def _mark(self, event: Event) -> None:
        if isinstance(event, LayerProgress):
            self._dirty_layers[event.layer] = None
        elif isinstance(event, LayerSizes):
            self._dirty_layers.update((name, None) for name, _ in event.layers)

    def _refresh(self) -> None:
        p = self.progress
        present = f" ({p.layers_present} already present)" if p.layers_present else ""
        layers = f"{p.layers_done}/{p.layer_count} layers{present}" if p.layer_count else ""
        elapsed = "" if p.done else f' <span class="podman-nb-elapsed">{format_elapsed(p.elapsed, ticking=True)}</span>'
        if p.bytes_total:
            self.bar.layout.display, self.busy.layout.display = None, "none"
            self.bar.max = p.bytes_total
            self.bar.value = min(p.bytes_done, p.bytes_total)
            text = f"{human_size(p.bytes_done)} / {human_size(p.bytes_total)}  ({layers})"
        else:  # no byte counts from this endpoint: say what is known, never a bar stuck at zero
            self.bar.layout.display, self.busy.layout.display = "none", None
            size = f" \u00b7 {human_size(p.size_total)}" if p.size_total else ""
            text = layers + size
        self.label.value = html.escape(text) + elapsed
        self.status.value = literal(p.last_status) if p.last_status else ""
        new_rows = False
        for name in self._dirty_layers:
            if name in p.layers:  # not a config blob (see PullProgress.manifest)
                new_rows |= self._refresh_layer(p.layers[name])
        self._dirty_layers.clear()
        if new_rows:
            self.layer_box.children = tuple(row[0] for row in self._rows.values())

    def _refresh_layer(self, layer: Any) -> bool:
        w = self._w
        row = self._rows.get(layer.layer)
        created = row is None
        if created:
            bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="40%"))
            name, text = w.HTML(literal(short_id(layer.layer))), w.HTML("")
            row = self._rows[layer.layer] = (w.HBox([name, bar, text]), bar, text)
        _, bar, text = row
        state = layer.state or "waiting"
        if layer.has_bytes:
            bar.layout.visibility = "visible"
            bar.max = max(1, layer.total)
            bar.value = layer.total if layer.done else min(layer.current or 0, layer.total)
            text.value = literal(f"{state}  {human_size(bar.value)} / {human_size(layer.total)}")
        else:
            bar.layout.visibility = "hidden"
            text.value = literal(state + (f"  {human_size(layer.size)}" if layer.size else ""))
        bar.bar_style = "success" if layer.done else ""
        return created

    def _finish_widgets(self, summary: Summary) -> None:
        if summary.ok:  # every layer's row is shown full (see _fill)
            self._dirty_layers.update((name, None) for name in self.progress.layers)
        super()._finish_widgets(summary)

    def _fill(self) -> None:
        super()._fill()
        for _, bar, _ in self._rows.values():
            bar.value = bar.max


class PushWidgets(PullWidgets):
    """A push: shown as a pull is (the layers it sends)."""

    KIND = "push"


def _close_tree(widget: Any) -> None:
    """Close a widget, its children and their layouts and styles: the kernel keeps each one (a comm and its
    state) until it is closed, which a long day of pulls and builds would pile up (the soak run found it)."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if part is not None:
            part.close()
    widget.close()
