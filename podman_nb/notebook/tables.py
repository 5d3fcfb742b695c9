"""pandas DataFrames from the libpod API's image lists, history and search results.

:func:`images_frame`, :func:`history_frame` and :func:`search_frame` shape the service's dicts
into typed columns (``created`` is ``datetime64[ns, UTC]``, ``size`` is ``int64`` bytes).
They return a :class:`SizeFrame`: a DataFrame whose HTML and text reprs show byte columns as
"1.2 MB" and missing repository/tag as ``<none>`` while the data itself stays raw. Slicing,
sorting and filtering keep the subclass; ``pd.DataFrame(frame)`` gives a plain one.
Note that ``frame.size`` is pandas' element count: use ``frame["size"]`` for the column.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence

import pandas as pd

from ..domain.references import bare_id, parse_reference
from ..errors import InvalidArgument
from .units import human_size

__all__ = ["human_size", "SizeFrame", "images_frame", "history_frame",
           "search_frame", "IMAGE_COLUMNS", "HISTORY_COLUMNS", "SEARCH_COLUMNS"]

IMAGE_COLUMNS = ("repository", "tag", "image_id", "created", "size", "shared_size",
                 "virtual_size", "containers", "dangling", "digest", "labels")
HISTORY_COLUMNS = ("id", "created", "created_by", "size", "comment")
SEARCH_COLUMNS = ("name", "description", "stars", "official", "automated", "index", "tag")
SIZE_COLUMNS = frozenset({"size", "shared_size", "virtual_size"})
NONE_COLUMNS = frozenset({"repository", "tag"})
_NONE_TAG = "<none>:<none>"


class SizeFrame(pd.DataFrame):
    """A DataFrame that shows byte columns human-readable and missing repository/tag as <none>.

    Only the reprs change; values, dtypes and every pandas operation are a plain DataFrame's.
    """

    @property
    def _constructor(self):
        return SizeFrame

    def _display_frame(self) -> pd.DataFrame:
        """A plain copy with byte columns as text and missing repository/tag as <none>."""
        frame = pd.DataFrame(self)
        for column in frame.columns:
            if column in SIZE_COLUMNS and pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = pd.Series([human_size(v) for v in frame[column]],
                                          index=frame.index, dtype=object)
            elif column in NONE_COLUMNS:
                frame[column] = frame[column].astype(object).where(frame[column].notna(), "<none>")
        return frame

    def __repr__(self) -> str:
        return repr(self._display_frame())

    def _repr_html_(self) -> Optional[str]:
        return self._display_frame()._repr_html_()


def _repository_tag(reference: Optional[str]) -> tuple:
    """(repository, tag) of a name the service lists; a name it lists but we cannot parse stays whole."""
    if not reference:
        return None, None
    try:
        parsed = parse_reference(reference)
    except InvalidArgument:
        return reference, None
    return parsed.name, parsed.tag


def _utc(values: Sequence[Any]) -> pd.Series:
    """Unix seconds or ISO strings (or None) as ``datetime64[ns, UTC]``."""
    def one(value):
        if value is None or value == "":
            return pd.NaT
        if isinstance(value, (int, float)):
            return pd.Timestamp(int(value), unit="s", tz="UTC")
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

    return pd.Series([one(v) for v in values], dtype="datetime64[ns, UTC]")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _image_id(value: Any, no_trunc: bool) -> Optional[str]:
    if not value:
        return None
    hex_id = bare_id(value)
    if no_trunc:
        return f"sha256:{hex_id}" if len(hex_id) == 64 else hex_id
    return hex_id[:12]


def _frame(records: List[dict], columns: Iterable[str], dtypes: Mapping[str, str]) -> SizeFrame:
    columns = list(columns)
    data = {}
    for column in columns:
        values = [record[column] for record in records]
        if column == "created":
            data[column] = _utc(values)
        elif column in dtypes:
            data[column] = pd.Series(values, dtype=dtypes[column])
        else:
            data[column] = pd.Series(values, dtype=object)
    return SizeFrame(data, columns=columns)


def _sorted(frame: SizeFrame, sort: Optional[str], unsortable=("labels",)) -> SizeFrame:
    if sort is None:
        return frame
    aliases = {"id": "image_id", "image": "image_id", "stars": "stars"}
    column, descending = str(sort), False
    if column.startswith("-"):
        column, descending = column[1:], True
    column = aliases.get(column, column)
    valid = [c for c in frame.columns if c not in unsortable]
    if column not in valid:
        raise InvalidArgument(f"cannot sort by {sort!r}; valid columns: {', '.join(valid)}"
                              " (prefix with '-' to reverse)")
    if column == "created":  # newest first, as podman sorts
        descending = not descending
    ordered = frame.sort_values(column, ascending=not descending, kind="mergesort",
                                na_position="last")
    return ordered.reset_index(drop=True)


def images_frame(rows: List[Mapping[str, Any]], no_trunc: bool = False, sort: Optional[str] = None,
                 quiet: bool = False) -> SizeFrame:
    """One row per tag (an untagged image is one row with repository/tag None), newest first.

    Columns: repository, tag, image_id (12 hex, or ``sha256:`` + 64 hex with ``no_trunc``),
    created (datetime64[ns, UTC]), size/shared_size/virtual_size (int64 bytes), containers
    (int64), dangling (bool), digest, labels (dict). ``sort`` names a column (``id`` means
    image_id; ``-col`` reverses; ``created`` sorts newest first). ``quiet`` gives only the
    ``image_id`` column, one row per image.
    """
    records = []
    for image in rows:
        tags = image.get("RepoTags")
        if tags is None and "RepoTags" not in image:
            tags = image.get("Names")
        tags = [t for t in (tags or []) if t and t != _NONE_TAG]
        dangling = image.get("Dangling")
        if dangling is None:
            dangling = not tags
        base = {
            "image_id": _image_id(image.get("Id"), no_trunc),
            "created": image.get("Created"),
            "size": _int(image.get("Size", image.get("VirtualSize"))),
            "shared_size": _int(image.get("SharedSize")),
            "virtual_size": _int(image.get("VirtualSize", image.get("Size"))),
            "containers": _int(image.get("Containers")),
            "dangling": bool(dangling),
            "digest": image.get("Digest") or None,
            "labels": dict(image.get("Labels") or {}),
        }
        for reference in tags or [None]:
            repository, tag = _repository_tag(reference)
            records.append({"repository": repository, "tag": tag, **base})
    dtypes = {"size": "int64", "shared_size": "int64", "virtual_size": "int64",
              "containers": "int64", "dangling": "bool"}
    frame = _frame(records, IMAGE_COLUMNS, dtypes)
    if len(frame):
        frame = frame.sort_values("created", ascending=False, kind="mergesort",
                                  na_position="last").reset_index(drop=True)
    frame = _sorted(frame, sort)
    if quiet:
        frame = frame[["image_id"]].drop_duplicates().reset_index(drop=True)
    return frame


def history_frame(history: List[Mapping[str, Any]], no_trunc: bool = False) -> SizeFrame:
    """An image's layers, newest first as the service lists them: id, created, created_by, size, comment.

    ``id`` is 12 hex unless ``no_trunc`` (``<missing>`` stays as the service says it).
    """
    records = []
    for entry in history:
        raw_id = entry.get("Id", entry.get("id"))
        records.append({
            "id": raw_id if raw_id == "<missing>" else _image_id(raw_id, no_trunc),
            "created": entry.get("Created", entry.get("created")),
            "created_by": entry.get("CreatedBy", entry.get("created_by")) or "",
            "size": _int(entry.get("Size", entry.get("size"))),
            "comment": entry.get("Comment", entry.get("comment")) or "",
        })
    return _frame(records, HISTORY_COLUMNS, {"size": "int64"})


def _flag(value: Any) -> bool:
    """libpod's ``"[OK]"``/``""`` or Docker's booleans."""
    if isinstance(value, str):
        return value.strip().upper() in ("[OK]", "OK", "TRUE", "YES", "1")
    return bool(value)


def search_frame(results: List[Mapping[str, Any]], sort: Optional[str] = None) -> SizeFrame:
    """Registry search results: name, description, stars (int64), official, automated (bool), index, tag."""
    records = []
    for item in results:
        records.append({
            "name": item.get("Name", item.get("name")),
            "description": item.get("Description", item.get("description")) or "",
            "stars": _int(item.get("Stars", item.get("star_count"))),
            "official": _flag(item.get("Official", item.get("is_official"))),
            "automated": _flag(item.get("Automated", item.get("is_automated"))),
            "index": item.get("Index", item.get("index")) or None,
            "tag": item.get("Tag", item.get("tag")) or None,
        })
    frame = _frame(records, SEARCH_COLUMNS,
                   {"stars": "int64", "official": "bool", "automated": "bool"})
    return _sorted(frame, sort)


def by_connection(frames: Mapping[str, pd.DataFrame], notes: Sequence[str] = ()) -> pd.DataFrame:
    """One frame from several services' frames, a ``connection`` column first; ``attrs["notes"]`` says
    which services did not answer."""
    parts = [frame.assign(connection=name) for name, frame in frames.items()]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = SizeFrame(columns=list(IMAGE_COLUMNS) + ["connection"])
    frame = frame[["connection"] + [c for c in frame.columns if c != "connection"]]
    frame.attrs["notes"] = list(notes)
    return frame


CONNECTION_COLUMNS = ("name", "uri", "identity", "default", "answers", "version")


def connections_frame(records: List[Mapping[str, Any]]) -> pd.DataFrame:
    """Podman's connections: name, uri, identity, default (bool), answers (bool), version (or the reason)."""
    return _frame(list(records), CONNECTION_COLUMNS, {"default": "bool", "answers": "bool"})
