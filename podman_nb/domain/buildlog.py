"""BuildLog: the one log of one build, in bounded memory.

``build()`` fills it and returns it, the built Image keeps it (``image.build_log``) and a failed
build's BuildError carries it (``error.build_log``): the same object each time. It has two views:

* iterating it (or ``next()``) gives each line as the service sent it, JSON bytes: what podman-py's
  ``build()`` returns and its BuildError carries, so code written for podman-py reads it unchanged;
  :meth:`records` gives the same lines as dicts;
* ``text`` is the build's output as people read it (``STEP 1/3: FROM ...``, RUN output, ``Error: ...``),
  a list-like :class:`LineLog`; ``str(log)`` is that text.

:class:`LogText` turns typed events into those text lines; the progress display uses it for its
live tail, so a line reads the same on screen and in the log.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional

from .events import Error, Event, LayerProgress, LogLine, Status, Step
from .linelog import LineLog


class LogText:
    """The text line an event adds to a build's log, if any (a base-image layer once per state)."""

    def __init__(self) -> None:
        self._layer_states: Dict[str, str] = {}

    def line(self, event: Event) -> Optional[str]:
        if isinstance(event, Step):
            return event.heading
        if isinstance(event, LogLine):
            return event.text
        if isinstance(event, Status):
            return event.message
        if isinstance(event, LayerProgress):  # a base image pulled during FROM: states, not bytes
            if self._layer_states.get(event.layer) == event.state:
                return None
            self._layer_states[event.layer] = event.state
            return f"{event.state} {event.layer}"
        if isinstance(event, Error):
            return f"Error: {event.message.strip()}"
        return None


class BuildLog:
    """Every line of one build: the service's lines (iterate) and the output text (``text``)."""

    def __init__(self, memory_bytes: Optional[int] = None):
        sizes = {} if memory_bytes is None else {"memory_bytes": memory_bytes}
        self._lines = LineLog(**sizes)
        self.text = LineLog(**sizes)
        self._text = LogText()
        self._reading: Optional[Iterator[bytes]] = None

    def add(self, line: Optional[Mapping[str, Any]], found: Iterable[Event]) -> None:
        """Keep one decoded service line (None: only events, see ``events.read``) and its events' text."""
        if line is not None:
            self._lines.append(json.dumps(line))
        for event in found:
            text = self._text.line(event)
            if text is not None:
                self.text.append(text)

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
