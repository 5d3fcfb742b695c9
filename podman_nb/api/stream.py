"""Decoding the service's streamed JSON: objects split across chunks, several per chunk, or spread over lines."""

from __future__ import annotations

import codecs
import json
from typing import Any, Iterable, Iterator, Mapping, Optional

from ..errors import StreamParseError

_decoder = json.JSONDecoder()
_MAX_PENDING = 8 * 1024 * 1024  # an object larger than this is not one the service would send


def _objects_in(text: str) -> Iterator[Any]:
    """Every JSON value in ``text``, which holds one or more whole values; raises ValueError otherwise."""
    try:
        yield json.loads(text)
        return
    except ValueError:
        pass
    position, end = 0, len(text)
    while position < end:
        value, position = _decoder.raw_decode(text, position)
        yield value
        while position < end and text[position].isspace():
            position += 1


def json_stream(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield each JSON value as soon as its last byte arrives.

    Values are separated by newlines (as Podman sends them) or simply concatenated; a value may be
    split across any number of chunks, and a UTF-8 character across two. Text that never becomes
    JSON raises :class:`StreamParseError` naming what was received.
    """
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        text = utf8.decode(chunk)
        if "\n" not in text:
            pending += text
            if len(pending) > _MAX_PENDING:
                raise StreamParseError(f"the stream sent {len(pending)} bytes without a line break")
            continue
        *lines, rest = (pending + text).split("\n")
        pending = ""
        for index, line in enumerate(lines):
            if pending:
                line = pending + "\n" + line
            if not line.strip():
                continue
            try:
                values = list(_objects_in(line))
            except ValueError:
                # Perhaps one value spread over several lines: wait for the rest.
                pending = line
                if len(pending) > _MAX_PENDING:
                    raise StreamParseError(f"the service sent text that is not JSON: {pending[:200]!r}")
                continue
            pending = ""
            yield from values
        pending = f"{pending}\n{rest}" if pending else rest
    pending += utf8.decode(b"", final=True)
    if pending.strip():
        try:
            values = list(_objects_in(pending.strip()))
        except ValueError:
            raise StreamParseError(
                f"the stream ended inside a JSON value or sent text that is not JSON: {pending[:200]!r}"
            ) from None
        yield from values


def error_message(line: Mapping[str, Any]) -> Optional[str]:
    """The error a decoded stream line carries, or None; any line with ``error`` is one, whatever the HTTP status."""
    error = line.get("error")
    if not error:
        detail = line.get("errorDetail")
        error = detail.get("message") if isinstance(detail, dict) else None
    return str(error) if error else None
