"""BuildLog: the one log of one build, in bounded memory.

``build()`` fills it and returns it, the built Image keeps it (``image.build_log``) and a failed
build's BuildError carries it (``error.build_log``): the same object each time. It has two views:

* iterating it (or ``next()``) gives each line as the service sent it, JSON bytes: what podman-py's
  ``build()`` returns and its BuildError carries, so code written for podman-py reads it unchanged;
  :meth:`records` gives the same lines as dicts;
* ``text`` is the build's output as people read it (``STEP 1/3: FROM ...``, RUN output, ``Error: ...``),
  a list-like :class:`LineLog`; ``str(log)`` is that text.

:class:`BuildEvents` is the one reader of a build's events (text lines, step, image id, failure): the
log has one, and so has the progress that both displays read, so a line reads the same on screen and in the log.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any, Deque, Dict, Iterable, Iterator, Mapping, Optional

from .events import Error, Event, LayerProgress, LogLine, Result, Status, Step
from .linelog import LineLog

SERVICE_LOG = re.compile(r'^time="[^"]*" level=(?P<level>\w+) msg=')  # the service's own log lines, in a build's stream


_NOT_THE_STEPS = ("--> ", "COMMIT ", "subprocess exited with status ")  # Podman's own lines (3: twice)


class BuildEvents:
    """The one reader of a build's typed events. Each becomes the text line that the log and both
    displays show (a base-image layer once per state, not the service's own error log), and it keeps
    the step, the last lines the step printed, the cache hits, the image id and the failure.

    ``lines`` is where the text goes: the BuildLog's whole ``text``, or a display's tail (a deque).
    ``failure_line``: whether the failure is a line too (``Error: ...`` ends the log; a display's
    summary says it instead).
    """

    def __init__(self, lines: Any, failure_line: bool = True):
        self.lines, self.failure_line = lines, failure_line
        self.count = 0  # lines added
        self.step: Optional[Step] = None
        self.step_lines: Deque[str] = deque(maxlen=5)
        self.cache_hits = 0
        self.image_id: Optional[str] = None
        self.references: tuple = ()
        self.failure: Optional[str] = None
        self._layer_states: Dict[str, str] = {}

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when it added a line."""
        line = self._line(event)
        if line is None:
            return False
        self.lines.append(line)
        self.count += 1
        return True

    def _line(self, event: Event) -> Optional[str]:
        if isinstance(event, Step):
            self.step = event
            self.step_lines.clear()
            return event.heading
        if isinstance(event, LogLine):
            own = SERVICE_LOG.match(event.text)
            self.cache_hits += event.cache_hit
            if not (own or event.text.startswith(_NOT_THE_STEPS)):
                self.step_lines.append(event.text)
            # Podman 4 logs an unknown instruction as 'time="..." level=error msg="...&imagebuilder.Step{...}"'
            return None if own and own.group("level") == "error" else event.text
        if isinstance(event, Status):
            return event.message
        if isinstance(event, LayerProgress):  # a base image pulled during FROM: states, not bytes
            if self._layer_states.get(event.layer) == event.state:
                return None
            self._layer_states[event.layer] = event.state
            return f"{event.state} {event.layer}"
        if isinstance(event, Result):
            self.image_id, self.references = event.image_id or self.image_id, tuple(event.references)
        if isinstance(event, Error):
            self.failure = event.message
            return f"Error: {event.message.strip()}" if self.failure_line else None
        return None


class BuildLog:
    """Every line of one build: the service's lines (iterate) and the output text (``text``)."""

    def __init__(self, memory_bytes: Optional[int] = None):
        sizes = {} if memory_bytes is None else {"memory_bytes": memory_bytes}
        self._lines = LineLog(**sizes)
        self.text = LineLog(**sizes)
        self.events = BuildEvents(self.text)  # the step, the image id, the failure: events.image_id, ...
        self._reading: Optional[Iterator[bytes]] = None

    def add(self, line: Optional[Mapping[str, Any]], found: Iterable[Event]) -> None:
        """Keep one decoded service line (None: only events, see ``events.read``) and its events' text."""
        if line is not None:
            self._lines.append(json.dumps(line))
        for event in found:
            self.events.apply(event)

    def __len__(self) -> int:
        """How many lines the service sent."""
        return len(self._lines)

    def __iter__(self) -> Iterator[bytes]:
        return (line.encode("utf-8", "surrogateescape") for line in self._lines)

    def __next__(self) -> bytes:
        """podman-py returns an iterator: ``next(log)`` reads on from the last ``next``."""
        if self._reading is None:
            self._reading = iter(self)
        return next(self._reading)

    def records(self) -> Iterator[Dict[str, Any]]:
        """Each line the service sent, as the dict it decoded to."""
        return (json.loads(line) for line in self._lines)

    def __str__(self) -> str:
        return "\n".join(self.text)

    def __repr__(self) -> str:
        return f"<BuildLog: {len(self.text)} lines of output from {len(self)} service lines; .text to read>"
