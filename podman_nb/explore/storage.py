"""Indexing an image's layers straight from a local service's overlay storage instead of exporting the image: the
inspect's GraphDriver names each layer's diff folder. Sizes come from stat; a file's content is read only when a
finding compares it (``Content``) or a package database lists packages; overlay's whiteouts (0/0 character
devices) and opaque directories (the ``trusted.overlay.opaque`` xattr) become the whiteouts and opaque lists the
export's ``.wh.`` entries make. ``diff_folders`` says None wherever that is not safe, and the caller exports."""

from __future__ import annotations

import os
import stat
import zlib
from typing import Any, Dict, List, Optional

from . import packages
from .layerindex import DIR, FILE, HARDLINK, OPAQUE, PYC_HEADER, WHITEOUT, LayerIndex

_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
_KINDS = {stat.S_IFLNK: b"2", stat.S_IFCHR: b"3", stat.S_IFBLK: b"4", stat.S_IFIFO: b"6"}


class Content:
    """A file's data checksum as the export path computes it (crc32; a .pyc's after its header), read from the
    file the first time it is compared or hashed. A file gone or unreadable by then equals no other content."""

    __slots__ = ("file", "_crc")

    def __init__(self, file: str):
        self.file = file
        self._crc: Any = None

    @property
    def crc(self) -> Any:
        if self._crc is None:
            try:
                self._crc = _crc(self.file)
            except OSError:
                self._crc = ("unreadable", id(self))
        return self._crc

    def __eq__(self, other: object) -> bool:
        return self.crc == (other.crc if isinstance(other, Content) else other)

    def __hash__(self) -> int:
        return hash(self.crc)

    def __repr__(self) -> str:
        return f"Content({self.file!r})"


def _crc(file: str) -> int:
    value = 0
    with open(file, "rb", buffering=0) as data:
        if file.endswith(".pyc") and os.fstat(data.fileno()).st_size >= PYC_HEADER:
            data.seek(PYC_HEADER)
        while True:
            chunk = data.read(1 << 20)
            if not chunk:
                return value
            value = zlib.crc32(chunk, value)


def diff_folders(attrs: Dict[str, Any], socket_path: Optional[str]) -> Optional[List[str]]:
    """The image's layers' diff folders, oldest first, when this process can index them: the service listens on
    a unix socket here owned by root (a rootless service's storage holds ids shifted from the image's), the
    driver is overlay, the folders exist and are readable, and there is one per layer of RootFS.Layers."""
    driver = attrs.get("GraphDriver") or {}
    data = driver.get("Data") or {}
    if driver.get("Name") != "overlay" or not socket_path or not data.get("UpperDir"):
        return None
    try:
        if os.stat(socket_path).st_uid != 0 or os.geteuid() != 0:
            return None
    except OSError:
        return None
    lower = [folder for folder in (data.get("LowerDir") or "").split(":") if folder]
    folders = lower[::-1] + [data["UpperDir"]]  # LowerDir lists the layers below the top one, top first
    if len(folders) != len((attrs.get("RootFS") or {}).get("Layers") or []):
        return None
    if not all(os.path.isdir(folder) and os.access(folder, os.R_OK | os.X_OK) for folder in folders):
        return None
    return folders


def read_folder(root: str, digest: str) -> LayerIndex:
    """Index one layer from its diff folder, walked as the export's tar writer walks it (depth first, each
    folder's names in byte order), so that hard links name the same first path."""
    layer = LayerIndex(digest)
    inodes: Dict[tuple, str] = {}
    _walk(layer, root, "", inodes)
    layer.weight = len(layer.entries) + len(layer.whiteouts) + 1
    return layer


def _walk(layer: LayerIndex, root: str, relative: str, inodes: Dict[tuple, str]) -> None:
    folder = root + relative
    for name in sorted(os.listdir(folder)):
        file, path = folder + "/" + name, relative + "/" + name
        info = os.lstat(file)
        kind = stat.S_IFMT(info.st_mode)
        if name.startswith(WHITEOUT):  # an export-style whiteout kept as a file
            if name == OPAQUE:
                layer.opaque.append(relative or "/")
            else:
                layer.whiteouts.append(relative + "/" + name[len(WHITEOUT):])
            continue
        if kind == stat.S_IFCHR and info.st_rdev == 0:
            layer.whiteouts.append(path)
            continue
        if kind == stat.S_IFSOCK:  # the export leaves sockets out
            continue
        _add(layer, file, path, info, kind, inodes)
        if kind == stat.S_IFDIR:
            if _opaque(file):
                layer.opaque.append(path)
            _walk(layer, root, path, inodes)


def _add(layer: LayerIndex, file: str, path: str, info: os.stat_result, kind: int, inodes: Dict[tuple, str]) -> None:
    size, link, content, tag = 0, "", 0, _KINDS.get(kind)
    if kind == stat.S_IFDIR:
        tag = DIR
    elif kind == stat.S_IFLNK:
        link = os.readlink(file)
    elif kind == stat.S_IFREG:
        first = inodes.setdefault((info.st_dev, info.st_ino), path) if info.st_nlink > 1 else path
        if first != path:
            tag, link = HARDLINK, first
        else:
            tag, size = FILE, info.st_size
            content = _content(layer, file, path, size)
    layer.size += size
    layer.entries[path] = (tag, size, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, link, content,
                           int(info.st_mtime))


def _content(layer: LayerIndex, file: str, path: str, size: int) -> Any:
    """A package database is read now (its packages are part of the index); any other file's content later."""
    database = packages.database_kind(path)
    if not database or size > packages.MAX_DATABASE:
        return Content(file) if size else 0
    with open(file, "rb") as handle:
        data = handle.read()
    if database == packages.RECORD:
        layer.records[path] = packages.record_files(data, path)
    else:
        layer.packages[path] = packages.parse(database, data)
    return zlib.crc32(data)


def _opaque(folder: str) -> bool:
    for key in _OPAQUE_XATTRS:
        try:
            if os.getxattr(folder, key, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False

