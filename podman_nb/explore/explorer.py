"""Explorer: an image's layers, files, wasted space, packages and differences as DataFrames, from the layers'
folders in a local service's storage where this process can read them, else from one streamed export of the image
per new layer set (layer indexes are cached by digest, so a second look reads nothing)."""

from __future__ import annotations

import stat
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from ..api.api_client import APIClient, quote_name
from ..errors import ImageNotFound, InvalidArgument
from . import packages as packages_db, rules as dive_rules, steps
from .advice import COLUMNS as ADVICE_COLUMNS, advise
from .analysis import Analysis
from .layerindex import DIR, LayerCache, LayerIndex, read_archive
from .storage import diff_folders, read_folder

CACHE = LayerCache()  # shared by every Explorer: a layer's digest names its content on any service
_KINDS = {b"0": "file", b"1": "hardlink", b"2": "symlink", b"3": "char", b"4": "block", b"5": "dir", b"6": "fifo"}


def _frames():
    import pandas

    return pandas


class Explorer:
    """Looks inside images on one Podman service. ``archive_reads`` counts the image exports it streamed,
    ``folder_reads`` the images it indexed from the storage's folders instead (``storage=False``: never),
    ``layers_indexed`` the layers it read from either."""

    def __init__(self, client: Optional[APIClient] = None, cache: Optional[LayerCache] = None,
                 storage: bool = True):
        self.client = client if client is not None else APIClient()
        self.cache = cache if cache is not None else CACHE
        self.storage = storage
        self.archive_reads = self.folder_reads = self.layers_indexed = 0
        self._analyses: "OrderedDict[Tuple[str, ...], Analysis]" = OrderedDict()

    # Reading -----------------------------------------------------------------------------------------
    def inspect(self, image: str) -> Dict[str, Any]:
        return self.client.get(f"/images/{quote_name(image)}/json", not_found=ImageNotFound).json()

    def analyse(self, image: str) -> Tuple[Dict[str, Any], Analysis]:
        """The image's inspect document and its stacked layers (layers not in the cache are streamed once)."""
        attrs = self.inspect(image)
        diff_ids = list((attrs.get("RootFS") or {}).get("Layers") or [])
        key = tuple(diff_ids)
        analysis = self._analyses.get(key)
        if analysis is None:
            layers = self._layers(attrs, diff_ids)
            analysis = Analysis([layers[d] for d in diff_ids])
            self._analyses[key] = analysis
            while len(self._analyses) > 8:
                self._analyses.popitem(last=False)
        self._analyses.move_to_end(key)
        return attrs, analysis

    def _layers(self, attrs: Dict[str, Any], diff_ids: List[str]) -> Dict[str, LayerIndex]:
        layers = {d: self.cache.get(d) for d in diff_ids}
        known = {d for d, layer in layers.items() if layer is not None}
        if len(known) < len(layers) and not self._read_folders(attrs, diff_ids, layers):
            response = self.client.get(f"/images/{quote_name(attrs['Id'])}/get", params={"format": "docker-archive"},
                                       stream=True, not_found=ImageNotFound)
            self.archive_reads += 1
            chunks = self.client.stream_bytes(response)
            try:
                for digest, layer in read_archive(chunks, diff_ids, known).items():
                    layers[digest] = layer
                    self.layers_indexed += 1
                    self.cache.put(layer)
            finally:
                chunks.close()
        return layers

    def _read_folders(self, attrs: Dict[str, Any], diff_ids: List[str], layers: Dict[str, Any]) -> bool:
        """Index the layers not in ``layers`` from their diff folders; False (nothing changed) where the storage
        cannot be read (then the image is exported)."""
        folders = diff_folders(attrs, self.client.target.socket_path if self.client.is_local else None) \
            if self.storage else None
        if folders is None:
            return False
        try:
            found = {d: read_folder(folder, d) for d, folder in zip(diff_ids, folders) if layers[d] is None}
        except OSError:  # a layer removed or unreadable under its folder
            return False
        self.folder_reads += 1
        for digest, layer in found.items():
            layers[digest] = layer
            self.layers_indexed += 1
            self.cache.put(layer)
        return True

    # Tables ------------------------------------------------------------------------------------------
    def layers(self, image: str):
        """One row per layer, oldest first: size, created_by, added/modified/removed file counts, wasted (the bytes
        of this layer's copies of paths that are in more than one layer: they add up to dive's), digest, created.
        ``attrs``: efficiency, wasted_bytes, wasted_files (dive's figures), image, id."""
        attrs, analysis = self.analyse(image)
        history = [h for h in attrs.get("History") or [] if not h.get("empty_layer")]
        commands = steps.layer_commands(attrs, len(analysis.layers))
        rows, wasted_here = [], analysis.wasted_by_layer()
        for index, layer in enumerate(analysis.layers):
            counts = {"added": 0, "modified": 0, "removed": 0}
            for _, change, _ in analysis.changes[index]:
                counts[change] += 1
            rows.append({"step": steps.label(index, commands[index]), "size": layer.size,
                         "created_by": commands[index], **counts, "wasted": wasted_here[index],
                         "digest": layer.digest,
                         "created": (history[index] if index < len(history) else {}).get("created")})
        pandas = _frames()
        frame = pandas.DataFrame(rows, columns=["step", "size", "created_by", "added", "modified", "removed",
                                                "wasted", "digest", "created"])
        frame["created"] = pandas.to_datetime(frame["created"], utc=True, errors="coerce", format="ISO8601")
        wasted = analysis.inefficient()
        frame.attrs.update(efficiency=analysis.efficiency, wasted_bytes=sum(row[2] for row in wasted),
                           wasted_files=sum(1 for row in wasted if row[2] > 0), image=image, id=attrs.get("Id"))
        return frame

    def step_labels(self, image: str) -> List[str]:
        """Each layer's step, oldest first, as every table and plot labels it: ``3: pip install -r req.txt``."""
        attrs, analysis = self.analyse(image)
        return [steps.label(index, command) for index, command
                in enumerate(steps.layer_commands(attrs, len(analysis.layers)))]

    def files(self, image: str, path: Optional[str] = None, layer: Optional[int] = None, wasted: bool = False):
        """The files of the final image under ``path`` (path, size, layer, step, mode, type, link); with ``layer``,
        what that layer added, modified or removed (path, change, size; its step in ``attrs["step"]``); with
        ``wasted``, dive's inefficient files, directories left out (path, copies, bytes, largest first)."""
        _, analysis = self.analyse(image)
        pandas = _frames()
        under = _under(path)
        if wasted:
            return pandas.DataFrame([row for row in analysis.inefficient(files_only=True) if under(row[0])],
                                    columns=["path", "copies", "bytes"])
        labels = self.step_labels(image)
        if layer is not None:
            count = len(analysis.layers)
            if not isinstance(layer, int) or not -count <= layer < count:
                raise InvalidArgument(f"{image} has layers 0 to {count - 1}; there is no layer {layer}")
            rows = sorted(row for row in analysis.changes[layer % count] if under(row[0]))
            frame = pandas.DataFrame(rows, columns=["path", "change", "size"])
            frame.attrs["step"] = labels[layer % count]
            return frame
        rows = []
        for name in sorted(analysis.state):
            index, entry = analysis.state[name]
            if entry[0] != DIR and under(name):
                rows.append((name, analysis.size_of(name), index, labels[index], _mode(entry),
                             _KINDS.get(entry[0], "other"), entry[5]))
        return pandas.DataFrame(rows, columns=["path", "size", "layer", "step", "mode", "type", "link"])

    def check(self, image: str, **rules):
        """dive's CI rules on the image (``lowestEfficiency=0.9``, ``highestWastedBytes="20MB"``,
        ``highestUserWastedPercent=0.1``, each also "disabled"), given here or read from a ``.dive-ci`` file in
        the current folder, dive's defaults for the rest: one row per rule (rule, verdict PASS/FAIL/SKIP,
        sentence). Raises RulesBroken, one sentence per broken rule, when one is."""
        given = dive_rules.thresholds(rules)
        frame = self.layers(image)
        found = dive_rules.verdicts(frame.attrs["efficiency"], frame.attrs["wasted_bytes"],
                                    int(frame["size"][1:].sum()), given)
        dive_rules.enforce(image, found)
        return _frames().DataFrame(found, columns=["rule", "verdict", "sentence"])

    def advice(self, image: str):
        """What could be saved, one finding per row, largest first: finding (removed-later, overwritten-later,
        package-cache, metadata-only copy, context junk, duplicate content), layer, step, path, bytes, fix.
        ``attrs``: bytes (their sum: each copy counts once), image. A clean image has no row."""
        attrs, analysis = self.analyse(image)
        commands = steps.layer_commands(attrs, len(analysis.layers))
        rows = advise(analysis, commands, [steps.label(index, text) for index, text in enumerate(commands)],
                      [steps.label(index, text, 32) for index, text in enumerate(commands)])
        frame = _frames().DataFrame(rows, columns=ADVICE_COLUMNS)
        frame.attrs.update(bytes=int(sum(row[4] for row in rows)), image=image)
        return frame

    def packages(self, image: str, why: Optional[str] = None):
        """The installed packages the image's databases list: kind, name, version, size (installed bytes: dpkg's
        Installed-Size, apk's, conda's paths, the files a Python dist's RECORD lists), layer and step (that
        first listed it), path (of the database). With ``why``, the chain that pulled that package in: its row,
        then the package that depends on it, and so on up to one that nothing installed needs."""
        _, analysis = self.analyse(image)
        labels = self.step_labels(image)
        installed = sorted(analysis.packages())
        if why is not None:
            kinds = sorted({row[0] for row in installed if packages_db.normal(row[0], row[1]) ==
                            packages_db.normal(row[0], why)})
            if not kinds:
                raise InvalidArgument(f"{image} has no package named {why} (%image_packages lists them)")
            installed = [row for kind in kinds for row in packages_db.why(installed, kind, why)]
        rows = [(kind, name, version, size, layer, labels[layer], path)
                for kind, name, version, path, size, layer, _ in installed]
        frame = _frames().DataFrame(rows, columns=["kind", "name", "version", "size", "layer", "step", "path"])
        return frame.astype({"size": "Int64"})

    def sbom(self, image: str):
        """The image's CycloneDX 1.6 SBOM (cyclonedx-python-lib, the [sbom] extra): one component per package
        ``packages`` lists, with its purl; a frame of them (type, name, version, purl), the JSON document in
        ``attrs["document"]`` (validated against the 1.6 schema by the library)."""
        from .sbom import document

        attrs, analysis = self.analyse(image)
        text, rows = document(image, attrs.get("Id", ""), [row[:3] for row in analysis.packages()])
        frame = _frames().DataFrame(rows, columns=["type", "name", "version", "purl"])
        frame.attrs.update(document=text, image=image)
        return frame

    def diff(self, a: str, b: str, packages: bool = False, same_content: bool = False):
        """The paths that differ from image ``a`` to ``b``: path, change (added/removed/modified), size_a, size_b.
        A file with the same content but a new mtime, mode or owner (a .pyc recompiled from the same source too)
        is left out, counted in ``attrs["same_content"]``; with ``same_content`` it is listed as "same content".
        With ``packages``, the packages instead: kind, name, version_a, version_b, size_a, size_b, size_change,
        change (added/removed/changed, or resized: the same version with another size)."""
        _, first = self.analyse(a)
        _, second = self.analyse(b)
        pandas = _frames()
        if packages:
            frame = pandas.DataFrame(_package_changes(first, second), columns=[
                "kind", "name", "version_a", "version_b", "size_a", "size_b", "size_change", "change"])
            return frame.astype({"size_a": "Int64", "size_b": "Int64", "size_change": "Int64"})
        rows, hidden = [], 0
        for path in sorted(set(first.state) | set(second.state)):
            old, new = first.state.get(path), second.state.get(path)
            if (old and old[1][0] == DIR) or (new and new[1][0] == DIR):
                if not (old and new and old[1][0] != new[1][0]):
                    continue
            if old is None:
                rows.append((path, "added", None, second.size_of(path)))
            elif new is None:
                rows.append((path, "removed", first.size_of(path), None))
            else:
                change = _change(first, second, path)
                if change == "same content":
                    hidden += 1
                    if not same_content:
                        continue
                if change:
                    rows.append((path, change, first.size_of(path), second.size_of(path)))
        frame = pandas.DataFrame(rows, columns=["path", "change", "size_a", "size_b"])
        frame.attrs["same_content"] = hidden
        return frame.astype({"size_a": "Int64", "size_b": "Int64"})


def _under(path: Optional[str]):
    if not path or path == "/":
        return lambda name: True
    root = "/" + path.strip("/")
    return lambda name: name == root or name.startswith(root + "/")


def _mode(entry) -> str:
    kind = {b"1": stat.S_IFREG, b"2": stat.S_IFLNK, b"3": stat.S_IFCHR, b"4": stat.S_IFBLK,
            b"6": stat.S_IFIFO}.get(entry[0], stat.S_IFREG)
    return stat.filemode(kind | (entry[2] & 0o7777))


def _change(first: Analysis, second: Analysis, path: str) -> str:
    """"modified" (other content), "same content" (a new mtime, mode or owner only) or "" (nothing)."""
    old, new = first.state[path][1], second.state[path][1]
    if (old[0], old[5], first.size_of(path), first.checksum(path)) != \
            (new[0], new[5], second.size_of(path), second.checksum(path)):
        return "modified"
    return "same content" if (old[2], old[3], old[4], old[7]) != (new[2], new[3], new[4], new[7]) else ""


def _package_changes(first: Analysis, second: Analysis) -> List[Tuple[str, str, Any, Any, Any, Any, Any, str]]:
    """(kind, name, version_a, version_b, size_a, size_b, size change, change) of each package that differs."""
    def installed(analysis: Analysis) -> Dict[Tuple[str, str], Tuple[str, Optional[int]]]:
        found: Dict[Tuple[str, str], Tuple[set, list]] = {}
        for kind, name, version, _, size, _, _ in analysis.packages():
            versions, sizes = found.setdefault((kind, name), (set(), []))
            versions.add(version)
            sizes.append(size)
        return {key: (", ".join(sorted(versions)), None if None in sizes else sum(sizes))
                for key, (versions, sizes) in found.items()}

    old, new = installed(first), installed(second)
    rows = []
    for key in sorted(set(old) | set(new)):
        (version_a, size_a), (version_b, size_b) = old.get(key, (None, None)), new.get(key, (None, None))
        change = "added" if key not in old else "removed" if key not in new else \
            "changed" if version_a != version_b else "resized" if size_a != size_b else ""
        known = (size_a is not None or key not in old) and (size_b is not None or key not in new)
        if change:
            rows.append((*key, version_a, version_b, size_a, size_b,
                         (size_b or 0) - (size_a or 0) if known else None, change))
    return rows
