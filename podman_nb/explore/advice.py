"""Advice: what an image's layers hold that could be saved, tied to the step that made it, and how to fix it.
One finding per row (finding, layer, step, path, bytes, fix); bytes are the layer index's sizes of the copies
the finding names, and each copy counts in one finding at most, so the findings' bytes add up to the saving."""

from __future__ import annotations

import posixpath
import re
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from .analysis import Analysis
from .layerindex import DIR, FILE
from .steps import command

Row = Tuple[str, int, str, str, int, str]  # finding, layer, step, path, bytes, fix
COLUMNS = ["finding", "layer", "step", "path", "bytes", "fix"]

# package manager, its cache folder (the first group), the cleanup that leaves it out of the layer
_CACHES = [
    ("apt lists", re.compile(r"^(/var/lib/apt/lists)/(?!lock$)"),
     "rm -rf /var/lib/apt/lists/* in the RUN that runs apt-get, or RUN --mount=type=cache,target={root}"),
    ("apt archives", re.compile(r"^(/var/cache/apt)/(?!archives/lock$)"),
     "apt-get clean in the RUN that runs apt-get, or RUN --mount=type=cache,target={root}"),
    ("pip", re.compile(r"^(.*/\.cache/pip)/"),
     "pip install --no-cache-dir, or RUN --mount=type=cache,target={root}"),
    ("uv", re.compile(r"^(.*/\.cache/uv)/"), "uv … --no-cache (UV_NO_CACHE=1), or RUN --mount=type=cache,target={root}"),
    ("conda", re.compile(r"^(.*/(?:\.conda|[^/]*(?:conda|forge|mamba)[^/]*)/pkgs)/"),
     "conda clean -afy in the RUN that installs, or RUN --mount=type=cache,target={root}"),
    ("npm", re.compile(r"^(.*/\.npm)/_cacache/"),
     "npm cache clean --force in the RUN that installs, or RUN --mount=type=cache,target={root}"),
    ("apk", re.compile(r"^(/var/cache/apk|/etc/apk/cache)/"), "apk add --no-cache"),
]
_JUNK = (".git", "__pycache__", ".ipynb_checkpoints", "node_modules")


def advise(analysis: Analysis, commands: Sequence[str], labels: Sequence[str], short: Sequence[str]) -> List[Row]:
    """The findings on an image's stacked layers, largest first. ``commands``, ``labels`` (the step column) and
    ``short`` (labels cut shorter, for the fixes): each layer's step."""
    groups: Dict[tuple, list] = {}  # (finding, layer, group key) -> [paths, bytes, fix]
    claimed: Set[Tuple[int, str]] = set()  # (layer, path): copies already in a finding

    def add(finding: str, layer: int, key: str, path: str, size: int, fix: str, shown: str = "") -> None:
        group = groups.setdefault((finding, layer, key), [set(), 0, fix])
        group[0].add(shown or path)
        group[1] += size
        claimed.add((layer, path))

    for index, layer in enumerate(analysis.layers):
        copied = command(commands[index]).startswith(("COPY ", "ADD "))
        venvs = [posixpath.dirname(p) for p in layer.entries if p.endswith("/pyvenv.cfg")] if copied else []
        for path, entry in layer.entries.items():
            if entry[0] == DIR:
                continue
            cache = _cache(path)
            junk = _junk(path, venvs) if copied and not cache else None
            if cache:
                add("package-cache", index, cache[1], path, entry[1], cache[2].format(root=cache[1]), cache[1])
            elif junk:
                add("context junk", index, junk[1], path, entry[1],
                    f"add {junk[1]} to .containerignore (or .dockerignore): {short[index]} copies it in", junk[0])
    _superseded(analysis, short, add, claimed)
    _duplicates(analysis, short, add, claimed)
    rows = [(finding, layer, labels[layer], _common(paths, key), size, fix)
            for (finding, layer, key), (paths, size, fix) in groups.items() if size > 0]
    return sorted(rows, key=lambda row: (-row[4], row[1], row[0], row[3]))


def _cache(path: str) -> Optional[Tuple[str, str, str]]:
    """(manager, cache folder, fix) when ``path`` lies in a package manager's cache."""
    for manager, pattern, fix in _CACHES:
        found = pattern.match(path)
        if found:
            return manager, found.group(1), fix
    return None


def _junk(path: str, venvs: List[str]) -> Optional[Tuple[str, str]]:
    """(the folder, the ignore rule that keeps it out) when ``path`` lies in a .git, __pycache__, … folder or a
    virtualenv."""
    parts = path.split("/")
    for depth, part in enumerate(parts[:-1]):
        if part in _JUNK:
            return "/".join(parts[:depth + 1]), part if part in (".git", "node_modules") else f"**/{part}"
    for venv in venvs:
        if path.startswith(venv + "/"):
            return venv, posixpath.basename(venv)
    return None


def _superseded(analysis: Analysis, labels: Sequence[str], add, claimed: Set[Tuple[int, str]]) -> None:
    """removed-later, overwritten-later and metadata-only copies, from the files later layers replaced."""
    for path, first, old, later, new, root in analysis.superseded:
        if (first, path) in claimed:
            continue
        if new is not None and new[0] == old[0] == FILE and (new[1], new[6]) == (old[1], old[6]):
            if (later, path) not in claimed:
                add("metadata-only copy", later, str(first), path, new[1],
                    f"COPY --chmod/--chown in {labels[first]}, or chmod/chown in the RUN that makes the files: "
                    f"{labels[later]} copies the same content again to change its mode or owner")
        elif new is None:
            add("removed-later", first, f"{later} {root}", path, old[1],
                f"delete it in the RUN that makes it ({labels[first]}), not in {labels[later]}: "
                "a later deletion frees nothing")
        elif old[0] == FILE:
            add("overwritten-later", first, str(later), path, old[1],
                f"write it once: {labels[later]} rewrites what {labels[first]} wrote (make it in one RUN)")


def _duplicates(analysis: Analysis, labels: Sequence[str], add, claimed: Set[Tuple[int, str]]) -> None:
    """The same bytes at several paths of the final image: every copy after the first (by layer, then path)."""
    by_size: Dict[int, List[Tuple[int, str, Any]]] = {}
    for path, (index, entry) in analysis.state.items():
        if entry[0] == FILE and entry[1] > 0 and (index, path) not in claimed:
            by_size.setdefault(entry[1], []).append((index, path, entry[6]))
    by_content: Dict[Tuple[int, Any], List[Tuple[int, str]]] = {}
    for size, files in by_size.items():  # the content only of files that have a same-sized peer
        for index, path, content in files if len(files) > 1 else ():
            by_content.setdefault((size, content), []).append((index, path))
    for copies in by_content.values():
        if len(copies) > 1:
            copies.sort()
            kept_layer, kept = copies[0]
            for index, path in copies[1:]:
                add("duplicate content", index, path, path, analysis.layers[index].entries[path][1],
                    f"the same bytes as {kept} ({labels[kept_layer]}): copy it once, or link to it")


def _common(paths: Set[str], key: str) -> str:
    """The folder a group's paths share (the path itself for one)."""
    if len(paths) == 1:
        return next(iter(paths))
    common = posixpath.commonpath(sorted(paths))
    name = key[3:] if key.startswith("**/") else ""
    return f"{common}/**/{name}" if name and not common.endswith("/" + name) else common
