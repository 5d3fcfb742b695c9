"""LineLog: every line of a long log kept in bounded memory (the first megabyte in RAM, the rest on disk)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from typing import Any, Iterator

MEMORY_BYTES = 1024 * 1024


class LineLog(Sequence):
    """An append-only list of text lines whose memory stays bounded however long the log grows.

    Reads (``len``, indexing, slicing, iteration) work like a list's but stream from the spooled
    file each time: nothing read is kept, so reading a 200,000-line log costs no more memory than
    holding it. Indexing is a pass over the file; use iteration for the whole log.
    """

    def __init__(self, memory_bytes: int = MEMORY_BYTES):
        self._file = tempfile.SpooledTemporaryFile(max_size=memory_bytes, mode="w+b")
        self._count = 0

    def append(self, line: str) -> None:
        self._file.write(line.replace("\n", " ").encode("utf-8", "surrogateescape") + b"\n")
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        count, position = self._count, 0
        while position < count:  # a line appended while iterating is read too; the file's end is kept
            self._file.seek(0)
            for raw in itertools.islice(self._file, position, count):
                position += 1
                end = self._file.tell()
                self._file.seek(0, 2)
                yield raw[:-1].decode("utf-8", "surrogateescape")
                self._file.seek(end)
            self._file.seek(0, 2)
            count = self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step < 0:
                return list(self)[index]
            return list(itertools.islice(self, start, stop, step))
        position = index + self._count if index < 0 else index
        if not 0 <= position < self._count:
            raise IndexError("LineLog index out of range")
        return next(itertools.islice(self, position, None))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, tuple, LineLog)) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"<LineLog: {self._count} lines>"
