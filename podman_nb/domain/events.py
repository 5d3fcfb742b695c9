"""Typed progress events: what a pull, push, build or load stream means, as small dataclasses.

The service sends dicts; :func:`event_from_line` is the one reading of a line (its error, its
image id, its progress), and :func:`read` is the one loop over a stream that every operation uses:
it offers each event to the caller's ``progress`` (an :class:`Error` too, before the caller raises)
and hands the events back, so no caller looks inside a line again. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional, Tuple, Union

from ..api.stream import error_message
from .references import short_id


@dataclass(frozen=True)
class LayerProgress:
    """One layer (blob) changed state; ``current``/``total`` are bytes when the service reports them."""

    layer: str
    state: str
    current: Optional[int] = None
    total: Optional[int] = None

    @property
    def done(self) -> bool:
        return self.state in LAYER_DONE_STATES


@dataclass(frozen=True)
class LayerSizes:
    """The layers an image is made of and their (compressed) sizes, from its manifest: what a pull
    will copy, known before the stream says anything (``layers`` holds ``(short id, bytes)`` pairs)."""

    layers: tuple


@dataclass(frozen=True)
class Status:
    """A line of status that belongs to no layer ("Writing manifest", "Digest: ...")."""

    message: str


@dataclass(frozen=True)
class Step:
    """A build began step ``number`` of ``total`` (``None``: Podman 3 does not say how many)."""

    number: int
    total: Optional[int]
    instruction: str

    @property
    def heading(self) -> str:
        """``STEP 2/3: RUN make`` as Podman writes it (``STEP 2: RUN make`` when it gives no total)."""
        counted = f"{self.number}/{self.total}" if self.total else str(self.number)
        return f"STEP {counted}: {self.instruction}"


@dataclass(frozen=True)
class LogLine:
    """One line of build output."""

    text: str

    @property
    def cache_hit(self) -> bool:
        return self.text.startswith("--> Using cache")


@dataclass(frozen=True)
class Result:
    """The operation finished; ``image_id`` is the image it produced or fetched (empty when the
    service names only references, as a load does)."""

    image_id: str
    references: tuple = ()


@dataclass(frozen=True)
class Error:
    """The service reported an error in the stream."""

    message: str


Event = Union[LayerProgress, LayerSizes, Status, Step, LogLine, Result, Error]

# States that say the layer was already there: nothing was copied.
LAYER_PRESENT_STATES = frozenset({"Already exists", "Layer already exists", "Skipped blob"})
LAYER_DONE_STATES = frozenset(
    {"Download complete", "Pull complete", "Already exists", "Pushed", "Layer already exists",
     "Copied blob", "Skipped blob"}
)

# Podman 3: "STEP 1: FROM ...", no total; a multi-stage build: "[2/2] STEP 1/3: FROM ...", counted per stage
_STEP = re.compile(r"^(?:\[\d+/\d+\] )?STEP (\d+)(?:/(\d+))?: ?(.*)$")
_COPY_BLOB = re.compile(r"^(Copying|Writing) (blob|config) (?:sha256:)?([0-9a-f]+)")
_IMAGE_ID = re.compile(r"^[0-9a-f]{64}$")  # a build's last line (and its only one with quiet=True)
_SKIP_BLOB = re.compile(r"already exists|skipped", re.IGNORECASE)


def _progress_detail(line: Mapping[str, Any]):
    detail = line.get("progressDetail") or {}
    current, total = detail.get("current"), detail.get("total")
    return (int(current) if current is not None else None,
            int(total) if total is not None and total > 0 else None)


def _text_events(text: str) -> Iterator[Event]:
    """Events for libpod text output ("Copying blob ...", "STEP 1/3: ...", plain log)."""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        match = _COPY_BLOB.match(line)
        if match:
            state = ("Skipped blob" if _SKIP_BLOB.search(line)
                     else "Copied blob" if "done" in line else "Copying blob")
            if match.group(2) == "config":
                yield Status(line)
            else:
                yield LayerProgress(short_id(match.group(3)), state)
            continue
        if _IMAGE_ID.match(line):
            yield Result(line)
            continue
        step = _STEP.match(line)
        if step:
            yield Step(int(step.group(1)), int(step.group(2)) if step.group(2) else None, step.group(3))
            continue
        yield LogLine(line)


def event_from_line(line: Mapping[str, Any]) -> Iterator[Event]:
    """Every event one decoded stream line holds (a line can hold none, one or several)."""
    message = error_message(line)
    if message:
        yield Error(message)
        return
    if "stream" in line:
        yield from _text_events(str(line["stream"]))
    status = line.get("status")
    if status:
        layer = line.get("id")
        if layer and ("progressDetail" in line or status in LAYER_DONE_STATES
                      or status in ("Pulling fs layer", "Waiting", "Preparing", "Pushing",
                                    "Downloading", "Extracting", "Verifying Checksum")):
            current, total = _progress_detail(line)
            yield LayerProgress(str(layer), str(status), current, total)
        else:
            yield Status(f"{layer}: {status}" if layer else str(status))
    aux = line.get("aux")
    if isinstance(aux, dict) and aux.get("ID"):
        yield Result(str(aux["ID"]))
    images = line.get("images")
    if images:  # {"id": ..., "images": [...]}; Podman 3 sends {"images": [...]}, then {"id": ...} alone
        yield Result(str(line.get("id") or images[-1]), tuple(images))
    names = tuple(str(name) for name in line.get("Names") or [] if name)  # a load's answer
    if names:  # Podman 3 answers a file that is no image archive with {"Names": [""]}
        yield Result("", names)


def events(lines: Iterable[Mapping[str, Any]]) -> Iterator[Event]:
    """Typed events for a stream of decoded lines from any pull, push, build or load endpoint."""
    for line in lines:
        yield from event_from_line(line)


def read(lines: Iterable[Any], progress: Optional[Callable[[Event], None]] = None,
         ) -> Iterator[Tuple[Optional[Dict[str, Any]], Tuple[Event, ...]]]:
    """Each decoded line with its events, every event offered to ``progress`` first.

    The service cuts its ``stream`` text wherever its buffer fills, often inside a line: the unfinished
    end of one line's text is held back and read with the next, so a log line is one LogLine however
    it was cut. Text still held back when the stream ends comes last, paired with ``None`` (no line).
    An :class:`Error` is offered too, so a display shows it; raising is the caller's choice (pull
    and push raise APIError, build raises BuildError).
    """
    held = ""
    try:
        for line in lines:
            if not isinstance(line, Mapping):
                continue
            found: Tuple[Event, ...] = ()
            reading: Mapping[str, Any] = line
            if "stream" in line:
                complete, newline, held = (held + str(line["stream"] or "")).rpartition("\n")
                reading = {**line, "stream": complete + newline}
            elif held:  # another kind of line: the held text was a whole line after all
                found, held = tuple(event_from_line({"stream": held})), ""
            found += tuple(event_from_line(reading))
            _offer(found, progress)
            yield line, found
        if held:
            found = tuple(event_from_line({"stream": held}))
            _offer(found, progress)
            yield None, found
    finally:  # an interrupt raised by progress() must not leave the response open until GC
        close = getattr(lines, "close", None)
        if close is not None:
            close()


def _offer(found: Tuple[Event, ...], progress: Optional[Callable[[Event], None]]) -> None:
    if progress is not None:
        for event in found:
            progress(event)


def first_error(found: Iterable[Event]) -> Optional[Error]:
    """The Error among one line's events, if any."""
    return next((event for event in found if isinstance(event, Error)), None)
