"""Installed packages, read from the package databases found in an image's layers (never by running it):
Python (dist-info METADATA, egg-info PKG-INFO), Debian (dpkg status), Alpine (apk installed), conda (conda-meta)."""

from __future__ import annotations

import json
import posixpath
from typing import List, Optional, Tuple

Package = Tuple[str, str, str]  # kind, name, version
MAX_DATABASE = 64 * 1024 * 1024  # a package database larger than this is not read


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
    return None


def parse(kind: str, data: bytes) -> List[Package]:
    """The packages one database file lists (an unreadable file lists none)."""
    text = data.decode("utf-8", "replace")
    if kind == "python":
        fields = _fields(text.split("\n\n", 1)[0])
        return [("python", fields["name"], fields.get("version", ""))] if fields.get("name") else []
    if kind == "conda":
        try:
            record = json.loads(text)
        except ValueError:
            return []
        return [("conda", str(record["name"]), str(record.get("version", "")))] if isinstance(record, dict) \
            and record.get("name") else []
    packages = []
    for paragraph in text.split("\n\n"):
        if kind == "debian":
            fields = _fields(paragraph)
            if fields.get("package") and fields.get("status", "").endswith(" installed"):
                packages.append(("debian", fields["package"], fields.get("version", "")))
        else:
            lines = dict(line.split(":", 1) for line in paragraph.splitlines() if len(line) > 1 and line[1] == ":")
            if lines.get("P"):
                packages.append(("alpine", lines["P"], lines.get("V", "")))
    return packages


def _fields(paragraph: str) -> dict:
    """RFC 822 style ``Name: value`` lines (continuation lines ignored), names lowered."""
    fields = {}
    for line in paragraph.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            name, value = line.split(":", 1)
            fields.setdefault(name.strip().lower(), value.strip())
    return fields
