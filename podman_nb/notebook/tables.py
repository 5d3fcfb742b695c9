"""Results as people read them: pandas DataFrames from the libpod API's image lists, history and search.

:func:`images_frame`, :func:`removed_frame`, :func:`history_frame` and :func:`search_frame` shape the
service's dicts into typed columns (``created`` is ``datetime64[ns, UTC]``, ``size`` is ``int64``
bytes). They return a :class:`ReadableFrame`: a DataFrame whose HTML and text reprs show ages
("3 minutes ago"), sizes ("2.1 MB"), ``<none>`` for a missing repository/tag, text left-aligned and
never wrapped nor typeset as maths, while the data itself stays raw. Slicing, sorting and filtering keep the subclass;
``pd.DataFrame(frame)`` gives a plain one. An empty result says why in one line.
Note that ``frame.size`` is pandas' element count: use ``frame["size"]`` for the column.
"""

from __future__ import annotations

import html
import shutil
import uuid
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import pandas as pd

from ..domain.references import NO_NAME, bare_id, parse_reference, short_id
from ..errors import InvalidArgument
from .units import human_age, human_size

__all__ = ["human_size", "ReadableFrame", "images_frame", "removed_frame",
           "history_frame", "search_frame", "removal_summary", "IMAGE_COLUMNS", "WIDE_IMAGE_COLUMNS", "HISTORY_COLUMNS",
           "REMOVED_COLUMNS", "SEARCH_COLUMNS"]

# Every column of every table, and how it is shown, is decided here.
IMAGE_COLUMNS = ("repository", "tag", "image_id", "created", "size", "containers")  # what people scan
WIDE_IMAGE_COLUMNS = IMAGE_COLUMNS + ("dangling", "arch", "os", "shared_size", "virtual_size", "digest",
                                      "labels")
HISTORY_COLUMNS = ("id", "created", "created_by", "size", "comment")
REMOVED_COLUMNS = ("repository", "tag", "image_id", "size", "removed")  # what went, and what it freed
SEARCH_COLUMNS = ("name", "description", "stars", "official", "automated", "index", "tag")
_SHOWN_SEARCH = ("name", "description", "stars", "official", "automated")
_SHOWN_TAGS = ("name", "tag")
_IMAGE_DTYPES = {"size": "int64", "shared_size": "int64", "virtual_size": "int64", "containers": "int64",
                 "dangling": "bool"}
SIZE_COLUMNS = frozenset({"size", "shared_size", "virtual_size", "wasted", "bytes", "size_a", "size_b", "size_change"})
AGE_COLUMNS = frozenset({"created"})
NONE_COLUMNS = frozenset({"repository", "tag"})
RIGHT_ALIGNED = SIZE_COLUMNS | {"containers", "stars"}
KEEP_END = frozenset({"repository", "name"})  # shortened in the middle when the window is narrow
SHRINK_TO = 16
DROPPED_FIRST = ("dangling", "service")  # left out of a text table that cannot fit the window otherwise
SHRINK_FIRST = frozenset({"comment", "labels", "digest", "description", "step"})  # what says least gives way first
WRAPPED = {"fix": 40}  # in HTML: shown whole, wrapped in about this many characters (an advice's fix)
# JupyterLab at 1280 px with its file browser open leaves ~830 px to an output: ~110 characters of
# its table font (7.5 px each, measured in chromium) once each cell's padding (two characters) is counted.
HTML_WIDTH = 106
CUT_AT = {"created_by": 45, "description": 45, "comment": 30, "labels": 40}  # characters, unless no_trunc
_NOP = "/bin/sh -c #(nop) "


class ReadableFrame(pd.DataFrame):
    """A DataFrame shown as people read it: ages, human sizes, ``<none>``, left-aligned unwrapped text.

    Only the reprs change; values, dtypes and every pandas operation are a plain DataFrame's.
    ``attrs["why_empty"]`` (set when the frame was made empty) is what an empty frame shows;
    ``attrs["no_trunc"]`` shows long text whole.
    """

    @property
    def _constructor(self):
        return ReadableFrame

    def _display_frame(self, compact: bool = False) -> pd.DataFrame:
        """A plain copy with every shaped column as the text it is shown as (``compact``: short ages)."""
        frame = pd.DataFrame(self)
        now = pd.Timestamp.now(tz="UTC")
        cut = not self.attrs.get("no_trunc")
        for column in frame.columns:
            values = frame[column]
            if column in SIZE_COLUMNS and pd.api.types.is_numeric_dtype(values):
                shown = [human_size(v) for v in values]
            elif column in AGE_COLUMNS and pd.api.types.is_datetime64_any_dtype(values):
                shown = [human_age((now - v).total_seconds(), compact) if not pd.isna(v) else "" for v in values]
            elif column in NONE_COLUMNS:
                shown = ["<none>" if v is None or v is pd.NA or v != v else v for v in values]
            elif column == "created_by":  # buildah's "/bin/sh -c #(nop) " before CMD, LABEL, COPY... says nothing
                shown = [v[len(_NOP):].lstrip() if isinstance(v, str) and v.startswith(_NOP) else v for v in values]
            elif column == "labels":
                shown = [", ".join(f"{k}={v}" for k, v in (v or {}).items()) if isinstance(v, Mapping) else v
                         for v in values]
            else:
                continue
            frame[column] = pd.Series(shown, index=frame.index, dtype=object)
        for column, limit in CUT_AT.items():
            if cut and column in frame.columns:
                frame[column] = frame[column].map(lambda v: _cut(v, limit))
        return frame

    def __repr__(self) -> str:
        if len(self) == 0 and self.attrs.get("why_empty"):
            return self.attrs["why_empty"]
        # podman's ages, or short ones ("1 min ago") where those leave more of the names and text whole
        # and, when even that cannot fit, without the dangling column (its rows say <none> already)
        layouts = []
        for compact in (False, True):
            shown = self._display_frame(compact)
            texts = {column: ["" if v is None else str(v) for v in shown[column]] for column in shown.columns}
            natural = {c: max([len(str(c))] + [len(t) for t in texts[c]]) for c in shown.columns}
            for dropped in (False, True):
                kept = [c for c in shown.columns if not (dropped and c in DROPPED_FIRST)]
                if dropped and len(kept) == len(shown.columns):
                    continue  # nothing to leave out
                whole = {c: natural[c] for c in kept}
                widths = _fit(whole, len(str(len(shown) - 1)), _text_width() - 3)  # pandas' own margins
                cut = sum(whole[c] - widths[c] for c in kept) if widths is not None else 0
                layouts.append(((widths is None, dropped, cut, compact), shown[kept], texts, widths or whole))
        _, frame, texts, widths = min(layouts, key=lambda layout: layout[0])
        padded = {}
        for column in frame.columns:
            width = widths[column]
            right = column in RIGHT_ALIGNED or pd.api.types.is_numeric_dtype(frame[column])
            keep_end = column in KEEP_END

            def pad(text: str) -> str:
                text = _shorten(text, width, keep_end)
                return text.rjust(width) if right else text.ljust(width)

            padded[pad(str(column))] = pd.Series([pad(t) for t in texts[column]], index=frame.index, dtype=object)
        if not padded:
            return repr(frame)
        with pd.option_context("display.max_colwidth", None):
            return repr(pd.DataFrame(padded, index=frame.index))

    def _repr_html_(self) -> Optional[str]:
        if len(self) == 0 and self.attrs.get("why_empty"):
            return f"<p>{html.escape(self.attrs['why_empty'])}</p>"
        frame = self._display_frame()
        if not self.attrs.get("no_trunc"):  # the page's width is unknown here: fit what 1280 px leaves
            texts = {c: ["" if v is None else str(v) for v in frame[c]] for c in frame.columns}
            natural = {c: min(max([len(str(c))] + [len(t) for t in texts[c]]), WRAPPED.get(c, 10**6))
                       for c in frame.columns}
            widths = _fit(natural, len(str(len(frame) - 1)), HTML_WIDTH, keep=WRAPPED) or natural
            for column in (c for c in frame.columns if c not in WRAPPED):
                frame[column] = [_shorten(t, widths[column], column in KEEP_END) if isinstance(v, str) else v
                                 for t, v in zip(texts[column], frame[column])]
        # pandas' own switch marks the table for MathJax (2 and 3) to leave alone: `$` in a step stays text
        with pd.option_context("display.max_colwidth", None, "display.html.use_mathjax", False):
            table = frame._repr_html_()
        if table is None:
            return None
        right = [i for i, c in enumerate(frame.columns) if c in RIGHT_ALIGNED]
        # a page's styles apply to every output on it: the column rules name this table alone
        own = f"podman-nb-{uuid.uuid4().hex[:12]}"
        rules = [f"table.dataframe.{own} th, table.dataframe.{own} td "
                 "{text-align: left; white-space: nowrap; max-width: none;}"]
        # child 1 of each row is the index; a data column j is child j + 2
        rules += [f"table.dataframe.{own} tr > :nth-child({i + 2}) {{text-align: right;}}" for i in right]
        rules += [f"table.dataframe.{own} tr > :nth-child({i + 2}) "
                  f"{{white-space: normal; min-width: {WRAPPED[c] // 2}em;}}" for i, c in enumerate(frame.columns)
                  if c in WRAPPED]
        style = "<style>" + " ".join(rules) + "</style>"
        return style + table.replace('class="dataframe', f'class="dataframe podman-nb-table {own}', 1)


class HeadlinedFrame(ReadableFrame):
    """A ReadableFrame with its ``headline`` above the table (the explorer's summary of what it shows); a frame
    made from it (a slice, a sort) is a plain ReadableFrame."""

    headline = ""

    @property
    def _constructor(self):
        return ReadableFrame

    def __repr__(self) -> str:  # an empty frame says why_empty alone
        return f"{self.headline}\n{super().__repr__()}" if self.headline and len(self) else super().__repr__()

    def _repr_html_(self) -> Optional[str]:
        table = super()._repr_html_()
        # the headline may quote a step: MathJax leaves these classes alone, as it does pandas' table
        return f'<p class="tex2jax_ignore mathjax_ignore"><b>{html.escape(self.headline)}</b></p>{table}' \
            if self.headline and table and len(self) \
            else table


def _text_width() -> int:
    """The width pandas lays text out in: the terminal's when ``display.max_columns`` is 0 (pandas then
    measures it, as in terminal IPython), else ``display.width``."""
    if pd.get_option("display.max_columns") == 0:
        return shutil.get_terminal_size().columns
    return pd.get_option("display.width") or 80


def _fit(widths: Dict[str, int], index_width: int, total: int, keep=()) -> Optional[Dict[str, int]]:
    """Column widths that fit ``total`` characters: the widest text columns give way first, down to
    SHRINK_TO characters (pandas puts two spaces before each column); None when that cannot fit (the
    widths then stay whole and pandas lays the frame out as it does any other); ``keep`` never shrink."""
    fitted = dict(widths)
    over = index_width + sum(w + 2 for w in fitted.values()) - total
    while over > 0:
        shrinkable = [c for c in fitted if c not in RIGHT_ALIGNED and c not in ("image_id", "id", "created")
                      and c not in keep and fitted[c] > SHRINK_TO]
        if not shrinkable:
            return None
        widest = max(shrinkable, key=lambda c: (c in SHRINK_FIRST, fitted[c]))
        step = min(over, fitted[widest] - SHRINK_TO)
        fitted[widest] -= step
        over -= step
    return fitted


def _shorten(text: str, width: int, keep_end: bool) -> str:
    """``text`` in ``width`` characters: cut at the end with "…", or (``keep_end``, for names whose
    end says most) in the middle, keeping the registry and the last path components."""
    if len(text) <= width:
        return text
    if keep_end:
        head = width // 3
        return text[:head] + "…" + text[len(text) - (width - head - 1):]
    return text[:width - 1] + "…"


def _cut(value: Any, limit: int) -> Any:
    """Long text shown as its first ``limit`` characters and "…" (one line: newlines become spaces)."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    return short_id(hex_id)


def _frame(records: List[dict], columns: Iterable[str], dtypes: Mapping[str, str],
           why_empty: Optional[str] = None, no_trunc: bool = False) -> ReadableFrame:
    columns = list(columns)
    data = {}
    for column in columns:
        values = [record.get(column) for record in records]
        if column == "created":
            data[column] = _utc(values)
        elif column in dtypes:
            data[column] = pd.Series(values, dtype=dtypes[column])
        else:
            data[column] = pd.Series(values, dtype=object)
    frame = ReadableFrame(data, columns=columns)
    if why_empty and not records:
        frame.attrs["why_empty"] = why_empty
    if no_trunc:
        frame.attrs["no_trunc"] = True
    return frame


def _sorted(frame: ReadableFrame, sort: Optional[str], unsortable=("labels",)) -> ReadableFrame:
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


def _image_records(rows: Iterable[Mapping[str, Any]], no_trunc: bool) -> List[Dict[str, Any]]:
    """One record per tag (an untagged image: one record with repository/tag None), every wide column."""
    records = []
    for image in rows:
        tags = image.get("RepoTags")
        if tags is None and "RepoTags" not in image:
            tags = image.get("Names")
        docker_untagged = NO_NAME in (tags or [])
        tags = [t for t in (tags or []) if t and t != NO_NAME]
        # libpod sends Dangling only when true (omitempty): an untagged parent of another image
        # (an intermediate build image) is not dangling. Docker-shaped rows say <none>:<none>.
        dangling = image.get("Dangling")
        if dangling is None:
            dangling = docker_untagged and not tags
        base = {
            "image_id": _image_id(image.get("Id"), no_trunc),
            "created": image.get("Created"),
            "size": _int(image.get("Size", image.get("VirtualSize"))),
            "shared_size": _int(image.get("SharedSize")),
            "virtual_size": _int(image.get("VirtualSize", image.get("Size"))),
            "containers": _int(image.get("Containers")),
            "dangling": bool(dangling),
            "arch": image.get("Arch") or None,
            "os": image.get("Os") or None,
            "digest": image.get("Digest") or None,
            "labels": dict(image.get("Labels") or {}),
        }
        for reference in tags or [None]:
            repository, tag = _repository_tag(reference)
            records.append({"repository": repository, "tag": tag, **base})
    return records


def _image_columns(records: List[Dict[str, Any]], wide: bool) -> List[str]:
    """The columns a listing shows: those people scan, dangling where some image is, every one with ``wide``
    (arch and os where the service gives them: Podman 5 does, 4 does not)."""
    if wide:
        return [c for c in WIDE_IMAGE_COLUMNS
                if c not in ("arch", "os") or any(record[c] for record in records)]
    columns = list(IMAGE_COLUMNS)
    if any(record["dangling"] for record in records):
        columns.append("dangling")
    return columns


def images_frame(rows: List[Mapping[str, Any]], no_trunc: bool = False, sort: Optional[str] = None,
                 quiet: bool = False, wide: bool = False, why_empty: str = "no images") -> ReadableFrame:
    """One row per tag (an untagged image is one row with repository/tag None), newest first.

    Columns: repository, tag, image_id (12 hex, or ``sha256:`` + 64 hex with ``no_trunc``), created
    (datetime64[ns, UTC]), size (int64 bytes), containers (int64), and dangling (bool) when some image
    is. ``wide`` adds every other column: dangling, arch and os (Podman 5), shared_size and
    virtual_size (int64 bytes), digest, labels (dict). ``sort`` names a column (``id`` means image_id;
    ``-col`` reverses; ``created`` sorts newest first). ``quiet`` gives only the ``image_id`` column,
    one row per image. ``why_empty`` is what an empty result shows.
    """
    records = _image_records(rows, no_trunc)
    frame = _sorted(_sorted(_frame(records, WIDE_IMAGE_COLUMNS, _IMAGE_DTYPES, why_empty, no_trunc), "created"), sort)
    if quiet:
        return frame[["image_id"]].drop_duplicates().reset_index(drop=True)
    return frame[_image_columns(records, wide)]


def removed_frame(before: List[Mapping[str, Any]], report: List[Mapping[str, Any]],
                  why_empty: str = "nothing was removed") -> ReadableFrame:
    """What a removal did: repository, tag, image_id, size (int64 bytes) and ``removed``: "deleted" or
    "untagged" (REMOVED_COLUMNS: narrow enough to keep names whole where ``%images`` does).

    ``before`` is the listing (``all=True``) taken before the removal; ``report`` the service's
    ``{"Deleted": id}`` / ``{"Untagged": reference}`` entries.
    """
    deleted = {_image_id(entry["Deleted"], False) for entry in report if entry.get("Deleted")}
    untagged = {entry["Untagged"] for entry in report if entry.get("Untagged")}
    records = []
    for record in _image_records(before, no_trunc=False):
        reference = f"{record['repository']}:{record['tag']}" if record["repository"] else None
        if record["image_id"] in deleted:
            records.append({**record, "removed": "deleted"})
        elif reference in untagged:
            records.append({**record, "removed": "untagged"})
    frame = _sorted(_frame(records, WIDE_IMAGE_COLUMNS + ("removed",), _IMAGE_DTYPES, why_empty), "created")
    return frame[list(REMOVED_COLUMNS)]


def history_frame(history: List[Mapping[str, Any]], no_trunc: bool = False) -> ReadableFrame:
    """An image's layers, newest first as the service lists them: id, created, created_by, size, comment.

    ``id`` is 12 hex unless ``no_trunc`` (``<missing>`` stays as the service says it); created_by
    is kept whole and shown cut to one short line unless ``no_trunc``.
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
    return _frame(records, HISTORY_COLUMNS, {"size": "int64"}, "no history", no_trunc)


def _flag(value: Any) -> bool:
    """libpod's ``"[OK]"``/``""`` or Docker's booleans."""
    if isinstance(value, str):
        return value.strip().upper() in ("[OK]", "OK", "TRUE", "YES", "1")
    return bool(value)


def search_frame(results: List[Mapping[str, Any]], sort: Optional[str] = None, list_tags: bool = False,
                 why_empty: str = "no image found") -> ReadableFrame:
    """Registry search results: name, description, stars (int64), official, automated (bool); with
    ``list_tags``, name and tag. (``index`` and, without ``list_tags``, ``tag`` are in the data
    the service sends but say nothing the name does not.)"""
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
    frame = _frame(records, SEARCH_COLUMNS, {"stars": "int64", "official": "bool", "automated": "bool"},
                   why_empty)
    frame = _sorted(frame, sort)
    return frame[list(_SHOWN_TAGS if list_tags else _SHOWN_SEARCH)]


def removal_summary(frame: pd.DataFrame, verb: str) -> str:
    """``"Would remove 2 images, freeing 6.26 MB: 1 dangling, 1 intermediate (...)"`` for a prune's
    frame: each image counted once, in the terms ``%images`` uses."""
    images = frame.drop_duplicates("image_id")
    count = len(images)
    untagged = images["repository"].isna()
    dangling = images["dangling"] if "dangling" in images else pd.Series(False, index=images.index)
    kinds = [(int(dangling.sum()), "dangling"),
             (int((untagged & ~dangling).sum()), "intermediate (untagged parents that %images hides "
                                                  "and %images -a lists)"),
             (int((~untagged).sum()), "tagged")]
    named = [f"{n} {kind}" for n, kind in kinds if n]
    text = f"{verb} {count} image{'' if count == 1 else 's'}, freeing {human_size(int(images['size'].sum()))}"
    return text + (f": {', '.join(named)}." if named else ".")


def by_connection(frames: Mapping[str, pd.DataFrame], notes: Sequence[str] = ()) -> pd.DataFrame:
    """One frame from several services' frames, a ``connection`` column first; ``attrs["notes"]`` says
    which services did not answer."""
    parts = [frame.assign(connection=name) for name, frame in frames.items()]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = ReadableFrame(columns=list(IMAGE_COLUMNS) + ["connection"])
    frame = frame[["connection"] + [c for c in frame.columns if c != "connection"]]
    frame.attrs["notes"] = list(notes)
    return frame


CONNECTION_COLUMNS = ("name", "uri", "identity", "default", "answers", "version")


def connections_frame(records: List[Mapping[str, Any]]) -> pd.DataFrame:
    """Podman's connections: name, uri, identity, default (bool), answers (bool), version (or the reason)."""
    return _frame(list(records), CONNECTION_COLUMNS, {"default": "bool", "answers": "bool"})
