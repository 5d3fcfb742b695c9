"""Reading tar archives from a stream of byte chunks, once, front to back: headers are parsed, file data is
checksummed, captured or skipped as it passes, and nothing is kept but what the caller asks for."""

from __future__ import annotations

import tarfile
import zlib
from typing import Iterable, Iterator, NamedTuple, Optional

from ..errors import StreamParseError

BLOCK = 512
_ZERO = bytes(BLOCK)
_DATA_TYPES = {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE}


class Truncated(StreamParseError):
    """The stream ended in the middle of an archive."""


class Source:
    """Bytes from an iterator of chunks, consumed in order; ``offset`` counts what was consumed."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")
        self.offset = 0

    def _fill(self) -> None:
        for chunk in self._chunks:
            if chunk:
                self._buf = memoryview(chunk)
                return
        raise Truncated(f"the archive ended after {self.offset} bytes, in the middle of an entry")

    def read(self, size: int) -> bytes:
        self.offset += size
        if len(self._buf) >= size:
            out = self._buf[:size].tobytes()
            self._buf = self._buf[size:]
            return out
        parts = []
        while size:
            if not self._buf:
                self._fill()
            piece = self._buf[:size]
            parts.append(piece.tobytes())
            self._buf = self._buf[len(piece):]
            size -= len(piece)
        return b"".join(parts)

    def pieces(self, size: int) -> Iterator[memoryview]:
        """The next ``size`` bytes as views of the chunks (valid until the next read)."""
        self.offset += size
        while size:
            if not self._buf:
                self._fill()
            piece = self._buf[:size]
            self._buf = self._buf[len(piece):]
            size -= len(piece)
            yield piece

    def skip(self, size: int) -> None:
        for _ in self.pieces(size):
            pass

    def crc(self, size: int) -> int:
        value = 0
        for piece in self.pieces(size):
            value = zlib.crc32(piece, value)
        return value


class Member(NamedTuple):
    """One archive entry: its name as stored, tar type, size, mode, owner, link target and mtime."""
    name: str
    type: bytes
    size: int
    mode: int
    uid: int
    gid: int
    linkname: str
    mtime: int = 0


def padding(size: int) -> int:
    return -size % BLOCK


def members(source: Source, length: Optional[int] = None) -> Iterator[Member]:
    """The entries of the tar archive that starts at ``source``'s position (``length`` bytes long when it is
    embedded in another archive). After each yielded member the caller must consume exactly ``member.size``
    bytes of data (``source.skip`` / ``read`` / ``crc``); the padding is skipped here."""
    end = None if length is None else source.offset + length
    long_name = long_link = None
    pax: dict = {}
    while end is None or source.offset < end:
        block = source.read(BLOCK)
        if block == _ZERO:
            break
        info = _header(block)
        if info is None:  # base-256 numbers, or a header that is not valid: tarfile says which
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.TarError as error:
                raise StreamParseError(f"a tar header at byte {source.offset - BLOCK} is not valid ({error})") \
                    from None
        kind = info.type
        if kind in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE):
            data = source.read(info.size)
            source.skip(padding(info.size))
            if kind == tarfile.GNUTYPE_LONGNAME:
                long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif kind == tarfile.GNUTYPE_LONGLINK:
                long_link = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif kind == tarfile.XHDTYPE:
                pax = _pax_records(data)
            continue
        name = pax.get("path") or long_name or info.name
        link = pax.get("linkpath") or long_link or info.linkname
        size = int(pax["size"]) if "size" in pax else info.size
        mtime = int(float(pax["mtime"])) if "mtime" in pax else int(info.mtime)
        long_name = long_link = None
        pax = {}
        yield Member(name, tarfile.REGTYPE if kind in _DATA_TYPES else kind, size, info.mode, info.uid,
                     info.gid, link, mtime)
        source.skip(padding(size))
    if end is not None and source.offset < end:
        source.skip(end - source.offset)  # the end-of-archive blocks and the record padding


def _header(block: bytes) -> Optional[Member]:
    """A ustar or GNU header with octal numbers and a right checksum, parsed fast; None for anything else."""
    try:
        checksum = int(block[148:156].strip(b" \0") or b"0", 8)
        if checksum != sum(block) - sum(block[148:156]) + 256 or block[124] & 0x80:
            return None
        name = block[:100].split(b"\0", 1)[0]
        kind = block[156:157] or tarfile.REGTYPE
        if block[257:265] == b"ustar\x0000" and kind not in tarfile.GNU_TYPES:
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        return Member(name.decode("utf-8", "surrogateescape"), kind, _octal(block[124:136]), _octal(block[100:108]),
                       _octal(block[108:116]), _octal(block[116:124]),
                       block[157:257].split(b"\0", 1)[0].decode("utf-8", "surrogateescape"), _octal(block[136:148]))
    except ValueError:
        return None


def _octal(field: bytes) -> int:
    return int(field.strip(b" \0") or b"0", 8)


def _pax_records(data: bytes) -> dict:
    """The key=value records of a PAX extended header."""
    records, position = {}, 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            break
        length = int(data[position:space])
        key, _, value = data[space + 1:position + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records

