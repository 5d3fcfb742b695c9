"""The index of one layer (every entry's type, size, mode, owner, link and data checksum; its whiteouts, opaque
directories and package databases), made from a docker-archive streamed once; and a bounded cache of them by digest."""

from __future__ import annotations

import json
import posixpath
import re
import threading
import zlib
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ..errors import StreamParseError
from . import packages
from .tarstream import Source, members

DIR, FILE, HARDLINK = b"5", b"0", b"1"
OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."
PYC_HEADER = 16  # a .pyc's flags, and its source's mtime and size (or hash): not part of its content here
# path -> (type, size, mode (permission bits: tar writers differ on the type bits), uid, gid, link target, crc32 of the data (of a .pyc's after its header), mtime)
Entry = Tuple[bytes, int, int, int, int, str, int, int]


class LayerIndex:
    """What one layer's tar holds. ``size`` is dive's layer size: the sum of the entries' tar sizes."""

    __slots__ = ("digest", "entries", "whiteouts", "opaque", "size", "packages", "records", "weight")

    def __init__(self, digest: str):
        self.digest = digest
        self.entries: Dict[str, Entry] = {}
        self.whiteouts: List[str] = []  # paths (absolute) this layer deletes
        self.opaque: List[str] = []  # directories whose lower contents this layer hides
        self.size = 0
        self.packages: Dict[str, List[packages.Package]] = {}  # database path -> what it lists
        self.records: Dict[str, List[str]] = {}  # a dist-info's RECORD -> the paths it lists
        self.weight = 0  # how much it costs to keep: its number of entries

    def __repr__(self) -> str:
        return f"LayerIndex({self.digest[:19]}, {len(self.entries)} entries, {self.size} bytes)"


def read_layer(source: Source, digest: str, length: int) -> LayerIndex:
    """Index the layer tar of ``length`` bytes that starts at the source's position, consuming all of it."""
    layer = LayerIndex(digest)
    entries = layer.entries
    for member in members(source, length):
        path = posixpath.normpath("/" + member.name)
        layer.size += member.size
        base = posixpath.basename(path)
        if base.startswith(WHITEOUT):
            source.skip(member.size)
            parent = posixpath.dirname(path)
            if base == OPAQUE:
                layer.opaque.append(parent)
            else:
                layer.whiteouts.append(posixpath.join(parent, base[len(WHITEOUT):]))
            continue
        if path == "/":
            source.skip(member.size)
            continue
        kind, crc = member.type, 0
        if kind == FILE:
            database = packages.database_kind(path)
            if database and member.size <= packages.MAX_DATABASE:
                data = source.read(member.size)
                if database == packages.RECORD:
                    layer.records[path] = packages.record_files(data, path)
                else:
                    layer.packages[path] = packages.parse(database, data)
                crc = zlib.crc32(data)
            elif path.endswith(".pyc") and member.size >= PYC_HEADER:  # recompiled, same code: same content
                source.skip(PYC_HEADER)
                crc = source.crc(member.size - PYC_HEADER)
            else:
                crc = source.crc(member.size)
        else:
            source.skip(member.size)
        link = member.linkname
        if kind == HARDLINK:
            link = posixpath.normpath("/" + link)
        entries[path] = (kind, member.size, member.mode & 0o7777, member.uid, member.gid, link, crc, member.mtime)
    layer.weight = len(entries) + len(layer.whiteouts) + 1
    return layer


def read_archive(chunks: Iterable[bytes], diff_ids: List[str], known: Set[str]) -> Dict[str, LayerIndex]:
    """Index the layers of a docker-archive stream that are not in ``known`` (their data is skipped); returns them
    by digest. ``diff_ids`` are the image's layer digests in order. Stops reading as soon as every wanted layer
    is indexed when the archive names its layer files by digest (as Podman's do); otherwise reads manifest.json
    at the end to tell which file is which layer."""
    wanted = set(diff_ids) - known
    source = Source(chunks)
    found: Dict[str, LayerIndex] = {}
    by_file: Dict[str, LayerIndex] = {}
    manifest = None
    for member in members(source):
        name = member.name[2:] if member.name.startswith("./") else member.name
        if member.type == FILE and name.endswith(".tar"):
            digest = "sha256:" + posixpath.basename(name)[:-4]
            if digest in known or (digest not in wanted and _DIGEST.fullmatch(digest)):
                source.skip(member.size)
                continue
            try:
                layer = read_layer(source, digest, member.size)
            except StreamParseError as error:
                raise StreamParseError(f"layer {name} of the image archive is corrupt: {error}") from None
            by_file[name] = layer
            if digest in wanted:
                found[digest] = layer
                if wanted <= found.keys():
                    return found
        elif member.type == FILE and name == "manifest.json":
            manifest = json.loads(source.read(member.size))
        else:
            source.skip(member.size)
    files = (manifest[0] if isinstance(manifest, list) and manifest else {}).get("Layers") or []
    for digest, name in zip(diff_ids, files):
        if digest in wanted and name in by_file:
            layer = by_file[name]
            layer.digest = digest
            found[digest] = layer
    if not wanted <= found.keys():
        raise StreamParseError(f"the image archive lacks layer {sorted(wanted - found.keys())[0]}")
    return found


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class LayerCache:
    """Layer indexes by digest, least recently used dropped first once they hold more than ``max_entries``."""

    def __init__(self, max_entries: int = 2_000_000):
        self.max_entries = max_entries
        self._layers: "OrderedDict[str, LayerIndex]" = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, digest: str) -> Optional[LayerIndex]:
        with self._lock:
            layer = self._layers.get(digest)
            if layer is not None:
                self._layers.move_to_end(digest)
            return layer

    def put(self, layer: LayerIndex) -> None:
        with self._lock:
            old = self._layers.pop(layer.digest, None)
            self._weight -= old.weight if old else 0
            self._layers[layer.digest] = layer
            self._weight += layer.weight
            while self._weight > self.max_entries and len(self._layers) > 1:
                _, dropped = self._layers.popitem(last=False)
                self._weight -= dropped.weight

    def clear(self) -> None:
        with self._lock:
            self._layers.clear()
            self._weight = 0

    def __contains__(self, digest: str) -> bool:
        return digest in self._layers

    def __len__(self) -> int:
        return len(self._layers)

