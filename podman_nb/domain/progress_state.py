"""Progress state for pulls, pushes and builds: fold typed events into what a display shows.

:class:`PullProgress` (also used for pushes) and :class:`BuildProgress` are plain objects with
``apply(event) -> bool`` (True when something a user could see changed). Each ``apply`` is O(1),
so a display can fold every event of a fast stream and refresh the screen only now and then.
No UI and no I/O here; the notebook layer renders these.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Deque, Dict, Optional

from .buildlog import BuildEvents
from .events import (LAYER_PRESENT_STATES, Error, Event, LayerProgress, LayerSizes, LogLine, Result,
                     Status, Step)

__all__ = ["LayerState", "PullProgress", "BuildProgress", "step_reason"]

# A build error repeats the step ('building at STEP "RUN x": while running runtime: exit status 1';
# Podman 3: 'error building at STEP "RUN x": exit status 1'; the instruction is quoted as it is).
_STEP_PREFIX = re.compile(r'^(?:error )?building at STEP ".*?": (?:while running runtime: )?')


def step_reason(message: str, instruction: str = "") -> str:
    """A build error without the step it names (a display names the step itself): ``exit status 1``."""
    text = str(message).strip()
    text = text[len("error "):] if text.startswith("error building at STEP ") else text  # Podman 3
    prefix = f'building at STEP "{instruction}": '
    if instruction and text.startswith(prefix):
        text = text[len(prefix):]
        return text[len("while running runtime: "):] if text.startswith("while running runtime: ") else text
    return _STEP_PREFIX.sub("", text, count=1)


class _Timed:
    """Start/finish clock shared by both aggregators (monotonic, so clock changes do not matter)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self.started: float = clock()
        self.finished: Optional[float] = None
        self.result_id: Optional[str] = None
        self.references: tuple = ()
        self.error: Optional[str] = None
        self.interrupted = False
        self.events = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the aggregator was created, frozen once :meth:`finish` is called."""
        end = self.finished if self.finished is not None else self._clock()
        return max(0.0, end - self.started)

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def ok(self) -> bool:
        """Finished without an error and without being interrupted."""
        return self.done and self.error is None and not self.interrupted

    def finish(self, error: Optional[str] = None, interrupted: bool = False) -> None:
        """Stop the clock; the first call wins, an error given here overrides none seen in the stream."""
        if error is not None:
            self.error = str(error)
        if interrupted:
            self.interrupted = True
        if self.finished is None:
            self.finished = self._clock()

    def _apply_common(self, event: Event) -> bool:
        if isinstance(event, Result):
            changed = event.image_id != self.result_id or tuple(event.references) != self.references
            self.result_id = event.image_id
            self.references = tuple(event.references)
            return changed
        if isinstance(event, Error):
            self.error = event.message
            return True
        return False


class LayerState:
    """What is known of one layer: its last state and bytes ``current``/``total`` (None when unreported)."""

    __slots__ = ("layer", "state", "current", "total", "counted", "done", "size", "present")

    def __init__(self, layer: str):
        self.layer = layer
        self.state = ""
        self.current: Optional[int] = None
        self.total: Optional[int] = None
        self.counted = 0  # bytes this layer adds to the overall "done", never decreasing
        self.done = False
        self.size: Optional[int] = None  # from the manifest: known even when the stream has no bytes
        self.present = False  # it was already there: nothing copied

    @property
    def has_bytes(self) -> bool:
        return self.total is not None

    def __repr__(self) -> str:
        return (f"LayerState({self.layer!r}, {self.state!r}, current={self.current}, "
                f"total={self.total}, done={self.done})")


class PullProgress(_Timed):
    """State of a pull or push: layers, overall bytes, status lines and the resulting image id.

    ``bytes_total`` sums the totals of the layers that reported one; ``bytes_done`` sums what
    those layers transferred (a finished layer counts in full; a layer's share never goes down,
    so Docker-style "Extracting" restarting at 0 does not move the overall bar backwards).
    """

    def __init__(self, status_limit: int = 200, clock=time.monotonic):
        super().__init__(clock)
        self.layers: Dict[str, LayerState] = {}
        self.manifest: Optional[set] = None  # the image's layers, when its manifest was read
        self.layers_done = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.status: Deque[str] = deque(maxlen=status_limit)

    @property
    def layer_count(self) -> int:
        return len(self.layers)

    @property
    def layers_present(self) -> int:
        """Layers that were already there (nothing copied for them)."""
        return sum(1 for layer in self.layers.values() if layer.present)

    @property
    def size_total(self) -> int:
        """The image's size in bytes as far as known: streamed totals, else the manifest's sizes."""
        return sum(layer.total if layer.total is not None else (layer.size or 0)
                   for layer in self.layers.values())

    @property
    def last_status(self) -> Optional[str]:
        return self.status[-1] if self.status else None

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when something visible changed."""
        self.events += 1
        if isinstance(event, LayerProgress):
            return self._apply_layer(event)
        if isinstance(event, LayerSizes):
            self.manifest = {name for name, _ in event.layers}
            for name in [name for name in self.layers if name not in self.manifest]:
                self._forget(name)
            for name, size in event.layers:
                self._layer(name).size = size
            return True
        if isinstance(event, (Status, LogLine)):
            self.status.append(event.message if isinstance(event, Status) else event.text)
            return True
        if isinstance(event, Step):
            self.status.append(event.heading)
            return True
        return self._apply_common(event)

    def _layer(self, name: str) -> LayerState:
        layer = self.layers.get(name)
        if layer is None:
            layer = self.layers[name] = LayerState(name)
        return layer

    def _forget(self, name: str) -> None:
        layer = self.layers.pop(name)
        self.layers_done -= layer.done
        self.bytes_done -= layer.counted
        self.bytes_total -= layer.total or 0

    def _apply_layer(self, event: LayerProgress) -> bool:
        if self.manifest is not None and event.layer not in self.manifest:
            return False  # the config blob, which Docker-style lines list among the layers
        layer = self._layer(event.layer)
        before = (layer.state, layer.current, layer.total)
        layer.state = event.state
        if event.state in LAYER_PRESENT_STATES:
            layer.present = True
        if event.total is not None and event.total != layer.total:
            if layer.total is not None:
                self.bytes_total -= layer.total
            layer.total = event.total
            self.bytes_total += event.total
            if layer.counted > layer.total:  # the service revised a total downwards
                self.bytes_done -= layer.counted - layer.total
                layer.counted = layer.total
        if event.current is not None:
            layer.current = event.current
        done = event.done
        if done != layer.done:
            self.layers_done += 1 if done else -1
            layer.done = done
        if layer.total is not None:
            share = layer.total if done else min(layer.current or 0, layer.total)
            if share > layer.counted:
                self.bytes_done += share - layer.counted
                layer.counted = share
        return before != (layer.state, layer.current, layer.total)


class BuildProgress(_Timed):
    """State of a build, as both displays read it: its :class:`~podman_nb.domain.buildlog.BuildEvents`
    (``events``: step, the last lines the step printed, cache hits, image id, failure, and the last
    ``log_tail`` lines in ``tail``, without the failure's line: the summary says it), and when the step began.

    The whole log is the build's BuildLog, kept on the built Image and on BuildError.
    """

    def __init__(self, log_tail: int = 200, clock=time.monotonic):
        super().__init__(clock)
        self.tail: Deque[str] = deque(maxlen=max(1, int(log_tail)))
        self.reader = BuildEvents(self.tail, failure_line=False)
        self.step_started = self.started  # when the current step began (for a ticking timer)

    @property
    def step(self) -> int:
        return self.reader.step.number if self.reader.step else 0

    @property
    def steps_total(self) -> int:
        """The step count (0: Podman 3 does not say)."""
        return (self.reader.step.total or 0) if self.reader.step else 0

    @property
    def instruction(self) -> str:
        return self.reader.step.instruction if self.reader.step else ""

    @property
    def step_lines(self) -> Deque[str]:
        return self.reader.step_lines

    @property
    def cache_hits(self) -> int:
        return self.reader.cache_hits

    @property
    def lines(self) -> int:
        """How many lines the build printed so far."""
        return self.reader.count

    @property
    def step_elapsed(self) -> float:
        """Seconds the current step has run (frozen once finished)."""
        end = self.finished if self.finished is not None else self._clock()
        return max(0.0, end - self.step_started)

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when something visible changed."""
        self.events += 1
        if isinstance(event, Step):
            self.step_started = self._clock()
        changed = self._apply_common(event)
        return self.reader.apply(event) or changed or isinstance(event, Step)
