"""Stacking an image's layer indexes: the files of the final image (OCI whiteouts and opaque directories), what
each layer added, modified and removed, and dive 0.13.1's efficiency and wasted bytes, computed as dive does."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from .layerindex import DIR, HARDLINK, Entry, LayerIndex

# path -> (index of the last layer that wrote it, its entry)
State = Dict[str, Tuple[int, Entry]]


def _parents(paths) -> set:
    """Every proper ancestor directory of the given absolute paths (without "/")."""
    parents: set = set()
    for path in paths:
        cut = path.rfind("/")
        while cut > 0:
            parent = path[:cut]
            if parent in parents:
                break
            parents.add(parent)
            cut = path.rfind("/", 0, cut)
    return parents


def _under(paths, roots: set):
    """(path, root) for the paths that lie strictly below one of ``roots``."""
    if not roots:
        return
    for path in paths:
        cut = path.rfind("/")
        while cut > 0:
            if path[:cut] in roots:
                yield path, path[:cut]
                break
            cut = path.rfind("/", 0, cut)


def _same(a: Entry, b: Entry) -> bool:
    """dive's "unmodified": same type, data, mode and owner (and, here, link target)."""
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3] and a[4] == b[4] and a[5] == b[5] \
        and a[6] == b[6]  # the data last: a storage layer's is read only when all else is the same


class Analysis:
    """One image's stacked layers. ``changes[i]`` lists (path, change, size) of what layer i did to files."""

    def __init__(self, layers: Sequence[LayerIndex]):
        self.layers = list(layers)
        self.state: State = {}
        self.changes: List[List[Tuple[str, str, int]]] = []
        # (path, layer that wrote it, its entry there, layer that replaced or removed it, the new entry or None,
        #  the whiteout that removed it) for every file a later layer replaced or removed
        self.superseded: List[Tuple[str, int, Entry, int, Optional[Entry], Optional[str]]] = []
        # path -> [appearances, cumulative, minimum, [(layer, size) of each appearance], ever a directory]
        self._efficiency: Dict[str, list] = {}
        dive: Dict[str, Tuple[int, bool]] = {}  # dive's stacked tree (which ignores opaque directories)
        for index, layer in enumerate(self.layers):
            self._count_efficiency(layer, dive)
            self._stack_dive(layer, dive)
            self.changes.append(self._stack(index, layer))

    # dive's efficiency ------------------------------------------------------------------------------
    def _count_efficiency(self, layer: LayerIndex, dive: Dict[str, Tuple[int, bool]]) -> None:
        entries = layer.entries
        parents = _parents(list(entries) + layer.whiteouts + layer.opaque)
        hidden_dirs = {path for path in layer.whiteouts if dive.get(path, (0, False))[1]}
        hidden = dict.fromkeys(hidden_dirs, 0)
        for path, root in _under(dive, hidden_dirs):
            hidden[root] += dive[path][0]
        efficiency, index = self._efficiency, len(self.changes)
        leaves = [(path, entry[1], entry[0] == DIR) for path, entry in entries.items() if path not in parents]
        leaves += [(path, hidden.get(path, 0), path in hidden_dirs) for path in layer.whiteouts]
        for path, size, is_dir in leaves:
            data = efficiency.get(path)
            if data is None:
                efficiency[path] = [1, size, size, [(index, size)], is_dir]
            else:
                data[0] += 1
                data[1] += size
                data[2] = min(data[2], size)
                data[3].append((index, size))
                data[4] = data[4] or is_dir

    @staticmethod
    def _stack_dive(layer: LayerIndex, dive: Dict[str, Tuple[int, bool]]) -> None:
        gone = {path for path in layer.whiteouts if dive.pop(path, (0, False))[1]}
        for path, _ in list(_under(dive, gone)) if gone else ():
            del dive[path]
        for path, entry in layer.entries.items():
            dive[path] = (entry[1], entry[0] == DIR)

    @property
    def efficiency(self) -> float:
        minimum = sum(data[2] for data in self._efficiency.values())
        cumulative = sum(data[1] for data in self._efficiency.values())
        return 1.0 if cumulative == 0 else minimum / cumulative

    def inefficient(self, files_only: bool = False) -> List[Tuple[str, int, int]]:
        """dive's inefficient files: (path, copies, cumulative bytes) of paths in more than one layer, largest first;
        with ``files_only``, without the directories dive counts too (an empty /run or /tmp in two layers)."""
        rows = [(path, data[0], data[1]) for path, data in self._efficiency.items()
                if data[0] > 1 and not (files_only and data[4])]
        return sorted(rows, key=lambda row: (-row[2], row[0]))

    def wasted_by_layer(self) -> List[int]:
        """The wasted bytes each layer holds: its copies of the paths that are in more than one layer."""
        wasted = [0] * len(self.layers)
        for data in self._efficiency.values():
            if data[0] > 1:
                for index, size in data[3]:
                    wasted[index] += size
        return wasted

    # the final image (OCI) ---------------------------------------------------------------------------
    def _stack(self, index: int, layer: LayerIndex) -> List[Tuple[str, str, int]]:
        state = self.state
        before: Dict[str, Tuple[int, Entry]] = {}
        roots = set(layer.opaque)
        removed_by: Dict[str, str] = {}
        for path in layer.whiteouts:
            old = state.pop(path, None)
            if old is not None:
                before[path], removed_by[path] = old, path
                if old[1][0] == DIR:
                    roots.add(path)
        if roots:
            for path, root in list(_under(state, roots)):
                before[path], removed_by[path] = state.pop(path), root
        changes = []
        for path, entry in layer.entries.items():
            old = state.get(path) or before.pop(path, None)
            state[path] = (index, entry)
            if old is not None and old[1][0] != DIR:
                self.superseded.append((path, old[0], old[1], index, entry, None))
            if entry[0] == DIR:
                continue
            if old is None:
                changes.append((path, "added", self.size_of(path)))
            elif not _same(old[1], entry):
                changes.append((path, "modified", self.size_of(path)))
        changes += [(path, "removed", self.size_of(path, old)) for path, old in before.items() if old[1][0] != DIR]
        self.superseded += [(path, old[0], old[1], index, None, removed_by[path]) for path, old in before.items()
                            if old[1][0] != DIR]
        return changes

    def size_of(self, path: str, item: Tuple[int, Entry] = None) -> int:
        """A file's size; a hard link's is its target's."""
        entry = (item or self.state[path])[1]
        if entry[0] == HARDLINK:
            target = self.state.get(entry[5])
            return target[1][1] if target else 0
        return entry[1]

    def checksum(self, path: str) -> int:
        entry = self.state[path][1]
        if entry[0] == HARDLINK and entry[5] in self.state:
            return self.state[entry[5]][1][6]
        return entry[6]

    def packages(self) -> List[tuple]:
        """(kind, name, version, database path, installed bytes or None, layer that first listed it, names it
        depends on) of every package the final image's databases list. A Python dist's bytes are those of the
        files its RECORD lists that the image still has."""
        first: Dict[tuple, int] = {}
        for layer_index, layer in enumerate(self.layers):
            for path, listed in layer.packages.items():
                for package in listed:
                    first.setdefault((path, package[1], package[2]), layer_index)
        found = []
        for layer_index, layer in enumerate(self.layers):
            for path, listed in layer.packages.items():
                if self.state.get(path, (None,))[0] == layer_index:
                    found += [(kind, name, version, path, self._dist_size(path) if size is None else size,
                               first[(path, name, version)], depends) for kind, name, version, size, depends in listed]
        return found

    def _dist_size(self, metadata: str) -> Optional[int]:
        record = metadata.rsplit("/", 1)[0] + "/RECORD"
        item = self.state.get(record)
        files = self.layers[item[0]].records.get(record) if item else None
        if files is None:
            return None
        return sum(self.size_of(path) for path in set(files) if path in self.state and self.state[path][1][0] != DIR)
