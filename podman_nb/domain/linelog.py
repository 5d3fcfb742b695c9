"""LineLog: every line of a long log kept in bounded memory (the first megabyte in RAM, the rest on disk)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any, List, Optional

MEMORY_BYTES = 1024 * 1024


class LineLog(Sequence):
    """An append-only list of text lines whose memory stays bounded however long the log grows.

    Reads (``len``, indexing, slicing, iteration) work like a list's; a read after appends pays one
    pass over the spooled file.
    """

    def __init__(self, memory_bytes: int = MEMORY_BYTES):
        self._file = tempfile.SpooledTemporaryFile(max_size=memory_bytes, mode="w+b")
        self._count = 0
        self._snapshot: Optional[List[str]] = None

    def append(self, line: str) -> None:
        self._file.write(line.replace("\n", " ").encode("utf-8", "surrogateescape") + b"\n")
        self._count += 1
        self._snapshot = None

    def _lines(self) -> List[str]:
        if self._snapshot is None:
            self._file.seek(0)
            data = self._file.read()
            self._file.seek(0, 2)
            self._snapshot = data.decode("utf-8", "surrogateescape").split("\n")[:-1]
        return self._snapshot

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        return self._lines()[index]

    def __iter__(self):
        return iter(self._lines())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, tuple, LineLog)) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"<LineLog: {self._count} lines>"

    def release_snapshot(self) -> None:
        """Drop the list made by the last read (it is rebuilt on the next read)."""
        self._snapshot = None
