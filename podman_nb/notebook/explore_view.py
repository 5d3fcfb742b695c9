"""What %image_explore shows, without widgets: one image's layers (step, size), a layer's file tree (that layer's
changes, or everything up to it) marked added/modified/removed, filtered and sorted by size or name, that layer's
advice rows, and the static summary (text for a terminal, HTML for a saved notebook). notebook/explore_widget.py
puts it on screen with ipywidgets."""

from __future__ import annotations

import html
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from .progress_display import literal, literal_block
from .units import human_size

MARKS = {"added": "+", "modified": "~", "removed": "-", "": " "}
COLOURS = {"added": "#2e7d32", "modified": "#a36a00", "removed": "#c62828"}
MAX_LINES = 400  # a tree longer than this shows its first lines and says how many are left out


class Line(NamedTuple):
    """One row of the tree: a directory (its size the sum of what it holds) or a file."""

    depth: int
    name: str
    path: str
    change: str  # added, modified, removed or "" (there before this layer, unchanged by it)
    size: int
    is_dir: bool


class _Node:
    __slots__ = ("name", "path", "change", "size", "children")

    def __init__(self, name: str, path: str):
        self.name, self.path, self.change, self.size = name, path, "", 0
        self.children: Dict[str, "_Node"] = {}


class ExploreModel:
    """One image as %image_explore shows it, read through the Explorer's public tables."""

    def __init__(self, explorer: Any, image: str):
        self.image = image
        self.layers = explorer.layers(image)
        self.advice = explorer.advice(image)
        self.changes: List[List[Tuple[str, str, int]]] = [
            list(explorer.files(image, layer=index).itertuples(index=False, name=None))
            for index in range(len(self.layers))]

    @property
    def steps(self) -> List[str]:
        return list(self.layers["step"])

    def entries(self, layer: int, everything: bool = False) -> Dict[str, Tuple[str, int]]:
        """path -> (change, size): what ``layer`` changed; with ``everything``, every file there after the
        layers below it, marked with what ``layer`` did to it (its removals kept, marked removed)."""
        found: Dict[str, Tuple[str, int]] = {}
        for index in range(layer + 1) if everything else (layer,):
            for path, change, size in self.changes[index]:
                if index < layer and change == "removed":
                    found.pop(path, None)
                else:
                    found[path] = (change if index == layer else "", int(size))
        return found

    def tree(self, layer: int, everything: bool = False, pattern: str = "", order: str = "size") -> List[Line]:
        """The tree's rows, depth first; only files whose path holds ``pattern`` (any case) and their folders;
        each folder's entries largest first (``order="size"``) or by name. A folder's size leaves out what
        was removed."""
        root = _Node("/", "/")
        needle = pattern.strip().lower()
        for path, (change, size) in self.entries(layer, everything).items():
            if needle and needle not in path.lower():
                continue
            node, kept = root, 0 if change == "removed" else size  # a folder's size: what is still in it
            for part in path.strip("/").split("/"):
                node.size += kept
                node = node.children.setdefault(part, _Node(part, f"{node.path.rstrip('/')}/{part}"))
            node.change, node.size = change, size
        lines: List[Line] = []
        _flatten(root, 0, order, lines)
        return lines

    def advice_rows(self, layer: int) -> List[Tuple[str, str, int, str]]:
        """(finding, path, bytes, fix) of the advice about ``layer``."""
        rows = self.advice[self.advice["layer"] == layer]
        return list(rows[["finding", "path", "bytes", "fix"]].itertuples(index=False, name=None))

    # Static summary ----------------------------------------------------------------------------------
    def headline(self) -> str:
        from .explore_magics import headline

        count = len(self.advice)
        return (f"{headline(self.layers)}; {count} finding{'' if count == 1 else 's'}, "
                f"{human_size(self.advice.attrs['bytes'])} could be saved")

    def summary_lines(self) -> List[str]:
        """The layers (size, +added ~modified -removed, step) and each layer's advice, as text."""
        lines = [self.headline()]
        for index, row in self.layers.iterrows():
            lines.append(f"{human_size(row['size']):>10}  +{row['added']} ~{row['modified']} -{row['removed']}"
                         f"  {row['step']}")
            for finding, path, size, fix in self.advice_rows(int(index)):
                lines.append(f"{'':>12}{finding}: {path} ({human_size(size)}); {fix}")
        return lines

    def text(self) -> str:
        return "\n".join(self.summary_lines())

    def __repr__(self) -> str:
        return self.text()

    def html(self) -> str:
        """The summary a saved notebook keeps (nbconvert, GitHub): literal text, never typeset."""
        return f'<div class="podman-nb-explore-summary">{literal_block(self.summary_lines())}</div>'


def _flatten(node: _Node, depth: int, order: str, lines: List[Line]) -> None:
    key = (lambda child: (-child.size, child.name)) if order == "size" else (lambda child: child.name)
    for child in sorted(node.children.values(), key=key):
        lines.append(Line(depth, child.name, child.path, child.change, child.size, bool(child.children)))
        _flatten(child, depth + 1, order, lines)


def tree_html(lines: List[Line], limit: Optional[int] = MAX_LINES) -> str:
    """The tree as a ``<pre>`` (never typeset): mark, size, indented name; marks coloured as dive colours them."""
    shown = lines if limit is None else lines[:limit]
    rows = []
    for line in shown:
        text = f"{MARKS[line.change]} {human_size(line.size):>10}  {'  ' * line.depth}{line.name}" \
               f"{'/' if line.is_dir else ''}"
        colour = COLOURS.get(line.change)
        escaped = html.escape(text)
        rows.append(f'<span style="color:{colour}">{escaped}</span>' if colour else escaped)
    if len(lines) > len(shown):
        rows.append(f"… {len(lines) - len(shown)} more lines: type in the filter to narrow")
    if not lines:
        rows.append("no file here")
    return '<pre class="podman-nb-explore-tree" style="margin:0;max-height:28em;overflow:auto">' \
           + "\n".join(rows) + "</pre>"


def advice_html(rows: List[Tuple[str, str, int, str]]) -> str:
    if not rows:
        return literal("no advice for this layer")
    return "<br>".join(f"<b>{literal(finding)}</b> {literal(path)} ({literal(human_size(size))}): {literal(fix)}"
                       for finding, path, size, fix in rows)
