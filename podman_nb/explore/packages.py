"""Reading the package databases found in layers: dpkg's status, apk's installed, conda-meta records, Python
dist-info METADATA (and RECORD, the files a dist installed): each package's name, version, installed size and
the names it depends on."""

from __future__ import annotations

import csv
import json
import posixpath
import re
from typing import List, Optional, Tuple

# kind, name, version, installed bytes (None: from the files it lists, or unknown), names it depends on
Package = Tuple[str, str, str, Optional[int], Tuple[str, ...]]
MAX_DATABASE = 64 * 1024 * 1024  # a package database larger than this is not read
RECORD = "record"  # a dist-info's RECORD: not a database of its own, the files of the dist beside it
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._+-]*)")


def database_kind(path: str) -> Optional[str]:
    """Which package database the regular file at ``path`` (absolute) is, or None."""
    if path == "/var/lib/dpkg/status":
        return "debian"
    if path == "/lib/apk/db/installed":
        return "alpine"
    parent, base = posixpath.split(path)
    if base.endswith(".json") and posixpath.basename(parent) == "conda-meta":
        return "conda"
    if "/site-packages/" in path or "/dist-packages/" in path:
        if (base == "METADATA" and parent.endswith(".dist-info")) or \
                (base == "PKG-INFO" and parent.endswith(".egg-info")) or base.endswith(".egg-info"):
            return "python"
        if base == "RECORD" and parent.endswith(".dist-info"):
            return RECORD
    return None


def parse(kind: str, data: bytes) -> List[Package]:
    """The packages one database file lists (an unreadable file lists none)."""
    text = data.decode("utf-8", "replace")
    if kind == "python":
        return _python(text.split("\n\n", 1)[0])
    if kind == "conda":
        return _conda(text)
    packages = []
    for paragraph in text.split("\n\n"):
        if kind == "debian":
            fields = _fields(paragraph)
            if fields.get("package") and fields.get("status", "").endswith(" installed"):
                size = fields.get("installed-size", "")
                depends = _names(fields.get("pre-depends", "") + "," + fields.get("depends", ""))
                packages.append(("debian", fields["package"], fields.get("version", ""),
                                 int(size) * 1024 if size.isdigit() else None, depends))
        else:
            lines = dict(line.split(":", 1) for line in paragraph.splitlines() if len(line) > 1 and line[1] == ":")
            if lines.get("P"):
                size = lines.get("I", "")
                depends = tuple(found.group(1) for found in (_NAME.match(d) for d in lines.get("D", "").split()
                                                             if ":" not in d and not d.startswith("!")) if found)
                packages.append(("alpine", lines["P"], lines.get("V", ""), int(size) if size.isdigit() else None,
                                 depends))
    return packages


def record_files(data: bytes, record: str) -> List[str]:
    """The absolute paths a dist-info's RECORD (at ``record``) lists; they are relative to its site-packages."""
    site = posixpath.dirname(posixpath.dirname(record))
    rows = csv.reader(data.decode("utf-8", "replace").splitlines())
    return [posixpath.normpath(posixpath.join(site, row[0])) for row in rows if row and row[0]]


def _python(head: str) -> List[Package]:
    fields = _fields(head)
    if not fields.get("name"):
        return []
    requires = [line.split(":", 1)[1] for line in head.splitlines() if line.lower().startswith("requires-dist:")]
    depends = tuple(_NAME.match(r).group(1) for r in requires if "extra ==" not in r and _NAME.match(r))
    return [("python", fields["name"], fields.get("version", ""), None, depends)]


def _conda(text: str) -> List[Package]:
    try:
        record = json.loads(text)
    except ValueError:
        return []
    if not isinstance(record, dict) or not record.get("name"):
        return []
    paths = (record.get("paths_data") or {}).get("paths") if isinstance(record.get("paths_data"), dict) else None
    size = sum(int(p.get("size_in_bytes") or 0) for p in paths if isinstance(p, dict)) if paths else None
    depends = tuple(str(d).split()[0] for d in record.get("depends") or [] if str(d).strip())
    return [("conda", str(record["name"]), str(record.get("version", "")), size, depends)]


def _names(field: str) -> Tuple[str, ...]:
    """The package names of a Depends field (``a (>= 1) | b, c:any``): every alternative."""
    found = []
    for item in re.split(r"[,|]", field):
        name = _NAME.match(item)
        if name:
            found.append(name.group(1).split(":")[0])
    return tuple(found)


def _fields(paragraph: str) -> dict:
    """RFC 822 style ``Name: value`` lines (continuation lines ignored), names lowered."""
    fields = {}
    for line in paragraph.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            name, value = line.split(":", 1)
            fields.setdefault(name.strip().lower(), value.strip())
    return fields


def normal(kind: str, name: str) -> str:
    """A name as dependencies spell it: Python's normalized (PEP 503), others' as they are."""
    return re.sub(r"[-_.]+", "-", name).lower() if kind == "python" else name


def why(installed: List[tuple], kind: str, name: str) -> List[tuple]:
    """The shortest chain of ``installed`` rows (kind, name, …, depends last) from the package ``name`` up to one
    that no installed package of its kind depends on: ``name``'s row first, each next one depending on the one
    before. Empty when ``name`` is not installed."""
    rows = {normal(row[0], row[1]): row for row in installed if row[0] == kind}
    needed_by: dict = {}
    for key, row in rows.items():
        for dependency in row[-1]:
            dependency = normal(kind, dependency)
            if dependency in rows and dependency != key:
                needed_by.setdefault(dependency, []).append(key)
    start = normal(kind, name)
    if start not in rows:
        return []
    previous = {start: None}
    queue = [start]
    for key in queue:  # breadth first: the first package nothing needs ends the shortest chain
        if not needed_by.get(key):
            chain = []
            while key is not None:
                chain.append(rows[key])
                key = previous[key]
            return chain[::-1]  # from ``name`` up to the package nothing needs
        for parent in sorted(needed_by[key]):
            if parent not in previous:
                previous[parent] = key
                queue.append(parent)
    return [rows[start]]  # every package that needs it is needed in turn (a cycle): it alone
