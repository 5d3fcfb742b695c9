"""Build contexts: turn podman-py/docker-py style build() arguments into the tar body for ``POST /libpod/build``.

:func:`make_build_context` walks a context directory (or wraps a lone Containerfile, or passes a
ready tar through), applies ``.containerignore``/``.dockerignore`` with Docker's rules
(:class:`IgnoreRules`, a port of moby's patternmatcher) and spools the archive to a temporary
file so that large contexts never sit in memory. Pure file-system work: no HTTP here.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import secrets
import stat
import tarfile
import tempfile
from typing import IO, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from podman_nb.errors import InvalidArgument, MissingArgument

IGNORE_FILES = (".containerignore", ".dockerignore")
DEFAULT_CONTAINERFILES = ("Containerfile", "Dockerfile")
SPOOL_MAX_BYTES = 16 * 1024 * 1024  # contexts bigger than this go to a real temporary file

PathArg = Union[str, "os.PathLike[str]"]


def _translate(pattern: str) -> str:
    """Regex source for one cleaned pattern, as moby's patternmatcher compiles it."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":  # "**": any number of directories
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(?:.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":  # escapes the next character
            if i >= n:
                raise ValueError("trailing backslash")
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":  # character class; "!" or "^" negates; it never matches "/"
            negate = i < n and pattern[i] in "!^"
            start = end = i + 1 if negate else i
            while end < n and (pattern[end] != "]" or end == start):  # a leading "]" is literal
                end += 2 if pattern[end] == "\\" else 1
            if end >= n:
                raise ValueError("unclosed '['")
            body = pattern[start:end].replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
            i = end + 1
        else:
            out.append(re.escape(ch))
    return "".join(out)


class Pattern(NamedTuple):
    exception: bool  # a "!" line: re-includes what it matches
    text: str  # the cleaned pattern
    regex: "re.Pattern[str]"  # matches a whole relative path
    segments: List[Optional["re.Pattern[str]"]]  # one per "/" part; None for parts holding "**"


class IgnoreRules:
    """Docker ``.dockerignore`` semantics: ``#`` comments, ``*``, ``?``, ``[...]``, ``**``, ``!`` exceptions.

    A pattern excludes a path when it matches the path or any of its parent directories,
    and the last pattern that matches wins, so ``!keep/me`` re-includes a file below an
    excluded directory. Paths are relative to the context root and use ``/``.
    """

    def __init__(self, lines: Iterable[str] = (), source: str = "ignore rules"):
        self.patterns: List[Pattern] = []
        for number, line in enumerate(lines, 1):
            if line.startswith("#"):
                continue
            line = line.strip()
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
                if not line:
                    raise InvalidArgument(f"{source} line {number}: '!' alone is not a pattern")
            if not line:
                continue
            cleaned = posixpath.normpath(line).lstrip("/")
            if cleaned in ("", "."):
                continue
            try:
                whole = re.compile(_translate(cleaned), re.DOTALL)
                # Per-part matchers answer "could anything below this directory match?"
                segments = [None if "**" in seg else re.compile(_translate(seg), re.DOTALL)
                            for seg in cleaned.split("/")]
            except (ValueError, re.error) as exc:
                raise InvalidArgument(f"{source} line {number}: bad pattern {line!r}: {exc}") from None
            self.patterns.append(Pattern(exception, cleaned, whole, segments))

    @classmethod
    def from_file(cls, path: PathArg) -> "IgnoreRules":
        """Read an ignore file; undecodable bytes are kept (surrogateescape) to match raw file names."""
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise InvalidArgument(f"cannot read ignore file {os.fspath(path)}: {exc.strerror}") from None
        text = data.decode("utf-8", "surrogateescape").lstrip("\ufeff")
        return cls(text.split("\n"), source=os.fspath(path))

    def plus(self, lines: Iterable[str]) -> "IgnoreRules":
        """These rules and then ``lines`` (which win where both match)."""
        rules = IgnoreRules()
        rules.patterns = self.patterns + IgnoreRules(lines).patterns
        return rules

    def excluded(self, relpath: str) -> bool:
        """True when ``relpath`` (file or directory, relative to the context) is left out."""
        parts = relpath.strip("/").split("/")
        candidates = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]  # path, then parents
        excluded = False
        for pattern in self.patterns:  # equivalent to "last match wins", with less matching
            if pattern.exception == excluded and any(pattern.regex.fullmatch(c) for c in candidates):
                excluded = not pattern.exception
        return excluded

    def may_include_below(self, reldir: str) -> bool:
        """False only when no exception can re-include anything strictly below ``reldir``."""
        parts = reldir.strip("/").split("/")
        return any(p.exception and _could_match_below(p.segments, parts) for p in self.patterns)


def _could_match_below(segments: Sequence[Optional["re.Pattern[str]"]], parts: Sequence[str]) -> bool:
    for i, part in enumerate(parts):
        if i >= len(segments):
            return False
        if segments[i] is None:
            return True
        if not segments[i].fullmatch(part):
            return False
    return len(segments) > len(parts)


def make_build_context(path: Optional[PathArg] = None, fileobj: Optional[IO] = None,
                       dockerfile: Optional[str] = None, custom_context: bool = False,
                       encoding: Optional[str] = None, gzip: bool = False,
                       extra_files: Optional[Mapping[str, Tuple[bytes, int]]] = None,
                       rules: Optional[IgnoreRules] = None) -> Tuple[IO[bytes], str, Optional[str]]:
    """Return ``(body, dockerfile, content_encoding)`` for a build request.

    ``body`` is a binary file object at position 0 (the caller closes it), ``dockerfile``
    the Containerfile's name inside the archive, ``content_encoding`` ``"gzip"`` or
    ``encoding`` or None. ``path`` is the context directory; ``fileobj`` a Containerfile
    (text or binary), or with ``custom_context=True`` a ready tar (maybe gzipped) passed
    through as is. ``dockerfile`` is relative to the context or an absolute path; one that
    lies outside the context (or reaches it through a symlink) is copied in under a
    generated ``.containerfile.<hex>`` name.

    ``extra_files`` (``{name: (content, mode)}``) are added at the context's root in place of any file
    of that name in ``path``; a ``dockerfile`` among them is the Containerfile, and an ignore file among
    them replaces the folder's own ignore files in the archive (the folder's rules still choose its files).
    ``rules``, when given, choose the folder's files in place of its ignore file.
    """
    extra_files = dict(extra_files or {})
    if gzip and encoding not in (None, "gzip"):  # podman-py refuses the pair too
        raise InvalidArgument(f"build(gzip=True) sends gzip, so encoding={encoding!r} cannot apply: give one of them")
    if custom_context:
        return _custom_context(fileobj, dockerfile, encoding)
    if path is None and fileobj is None and dockerfile not in extra_files:
        raise MissingArgument("build() needs path (a context folder) or fileobj (a Containerfile)")
    if path is None:
        name = (_safe_relative(dockerfile) if dockerfile else "Containerfile") or _generated_name()
        extra = None if fileobj is None else (name, _read_fileobj(fileobj), 0)
        root, rules, always = None, IgnoreRules(), set()
    else:
        root, rules, always, name, extra = _folder_context(path, fileobj, dockerfile, extra_files, rules)
    added = [] if extra is None else [(extra[0], extra[1], 0o644, extra[2])]
    added += [(n, c, m, 0) for n, (c, m) in extra_files.items()]
    return _tar(root, rules, always, added, gzip), name, "gzip" if gzip else encoding


_Extra = Optional[Tuple[str, bytes, int]]  # a Containerfile added at the end: (name, content, mtime)


def _folder_context(path: PathArg, fileobj: Optional[IO], dockerfile: Optional[str],
                    extra_files: Mapping[str, Tuple[bytes, int]], rules: Optional["IgnoreRules"] = None,
                    ) -> Tuple[str, "IgnoreRules", set, str, _Extra]:
    """A context folder's ``(root, rules, always, containerfile name, extra)``: its ignore rules (``rules`` when
    given), the names that go in whatever they say, and where the Containerfile comes from (see
    :func:`make_build_context`)."""
    try:  # str, bytes or os.PathLike; os.fsdecode keeps undecodable bytes
        root = os.path.abspath(os.fsdecode(path))
    except TypeError:
        raise InvalidArgument(f"build context path must be a str or path, not {type(path).__name__}") from None
    if not os.path.isdir(root):
        what = "is not a directory" if os.path.exists(root) else "does not exist"
        raise InvalidArgument(f"build context {root} {what}")
    ignore_name = next((n for n in IGNORE_FILES if os.path.isfile(os.path.join(root, n))), None)
    always = {ignore_name} if ignore_name and rules is None else set()
    if rules is None:
        rules = IgnoreRules.from_file(os.path.join(root, ignore_name)) if ignore_name else IgnoreRules()
    extra: _Extra = None
    if fileobj is not None:
        extra = (_generated_name(), _read_fileobj(fileobj), 0)
        name = extra[0]
    elif dockerfile in extra_files:
        name = dockerfile
    else:
        name, extra = _locate_containerfile(root, dockerfile)
        always.add(name)
    if extra_files:
        replaced = set(extra_files) | (set(IGNORE_FILES) if set(IGNORE_FILES) & set(extra_files) else set())
        rules, always = rules.plus(f"/{n}" for n in replaced), always - replaced
    return root, rules, always, name, extra


def _tar(root: Optional[str], rules: "IgnoreRules", always: set, added: List[Tuple[str, bytes, int, int]],
         gzip: bool) -> IO[bytes]:
    """The context archive at position 0: ``root``'s files as ``rules`` and ``always`` say, then ``added``
    (``(name, content, mode, mtime)``)."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)
    try:
        with tarfile.open(fileobj=body, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT,
                          encoding="utf-8", errors="surrogateescape") as tar:
            if root is not None:
                _add_tree(tar, root, "", rules, always, [])
            for added_name, content, mode, mtime in added:
                info = tarfile.TarInfo(added_name)
                info.size, info.mode, info.mtime = len(content), mode, mtime
                tar.addfile(info, io.BytesIO(content))
        body.seek(0)
    except BaseException:
        body.close()
        raise
    return body  # type: ignore[return-value]


def _custom_context(fileobj: Optional[IO], dockerfile: Optional[str],
                    encoding: Optional[str]) -> Tuple[IO[bytes], str, Optional[str]]:
    if fileobj is None:
        raise InvalidArgument("custom_context=True needs fileobj: a binary file object holding a tar")
    if isinstance(fileobj, io.TextIOBase):
        raise InvalidArgument("custom_context=True needs a binary file object, not a text one")
    if dockerfile:
        return fileobj, dockerfile, encoding
    try:  # look for a Containerfile/Dockerfile at the tar's root, then rewind
        start = fileobj.tell()
        with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
            names = {posixpath.normpath(m.name) for m in tar if m.isfile() or m.issym() or m.islnk()}
        fileobj.seek(start)
    except (OSError, AttributeError, tarfile.TarError, io.UnsupportedOperation):
        names = set()
    for candidate in DEFAULT_CONTAINERFILES:
        if candidate in names:
            return fileobj, candidate, encoding
    raise InvalidArgument("custom_context=True needs dockerfile= naming the Containerfile inside the tar "
                          "(none found at its root, or the file object cannot be rewound)")


def _generated_name() -> str:
    return f".containerfile.{secrets.token_hex(20)}"


def _safe_relative(name: str) -> Optional[str]:
    """``name`` normalised, or None when it is absolute or climbs out with ``..``."""
    if os.path.isabs(name):
        return None
    rel = posixpath.normpath(name.replace(os.sep, "/"))
    return None if rel == ".." or rel.startswith("../") or rel == "." else rel


def _read_fileobj(fileobj: IO) -> bytes:
    data = fileobj.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if data is None:
        return b""
    raise InvalidArgument(f"fileobj.read() returned {type(data).__name__}, not text or bytes")


def _locate_containerfile(root: str, dockerfile: Optional[str]) -> Tuple[str, Optional[Tuple[str, bytes, int]]]:
    """(name to send, content to add under that name or None when it is already in the context)."""
    if dockerfile is None:
        for candidate in DEFAULT_CONTAINERFILES:
            if os.path.isfile(os.path.join(root, candidate)):
                dockerfile = candidate
                break
        else:
            raise InvalidArgument(f"no Containerfile or Dockerfile in build context {root}")
    full = os.path.normpath(os.path.join(root, os.fspath(dockerfile)))
    if not os.path.isfile(full):
        raise InvalidArgument(f"Containerfile {full} not found")
    rel = os.path.relpath(full, root)
    inside = not (rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel))
    # Inside only if no symlink on the way: the service would not follow it to the same file.
    if inside and os.path.realpath(full) == os.path.join(os.path.realpath(root), rel):
        return rel.replace(os.sep, "/"), None
    try:
        with open(full, "rb") as file:
            content, mtime = file.read(), int(os.fstat(file.fileno()).st_mtime)
    except OSError as exc:
        raise InvalidArgument(f"cannot read Containerfile {full}: {exc.strerror}") from None
    name = _generated_name()
    return name, (name, content, max(mtime, 0))


def _add_tree(tar: tarfile.TarFile, root: str, reldir: str, rules: IgnoreRules,
              always: set, pending: list, prefix: str = "") -> None:
    """Add ``reldir``'s entries (named ``prefix`` + their relative path in the archive).
    ``pending`` holds excluded ancestors, added once something below is kept."""
    directory = os.path.join(root, reldir) if reldir else root
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise InvalidArgument(f"cannot read directory {directory}: {exc.strerror}") from None
    for entry in entries:
        rel = f"{reldir}/{entry.name}" if reldir else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if rel not in always and rules.excluded(rel):
            if is_dir and (rules.may_include_below(rel) or any(a.startswith(rel + "/") for a in always)):
                pending.append((entry, rel))
                _add_tree(tar, root, rel, rules, always, pending, prefix)
                if pending and pending[-1][1] == rel:
                    pending.pop()
            continue
        for ancestor, ancestor_rel in pending:
            _add_entry(tar, ancestor, prefix + ancestor_rel)
        pending.clear()
        _add_entry(tar, entry, prefix + rel)
        if is_dir:
            _add_tree(tar, root, rel, rules, always, pending, prefix)


def _add_entry(tar: tarfile.TarFile, entry: "os.DirEntry[str]", rel: str) -> None:
    """Add one file, directory or symlink (never followed); other kinds (sockets, fifos, devices) are skipped."""
    try:
        st = entry.stat(follow_symlinks=False)
        info = tarfile.TarInfo(rel)
        info.mode, info.mtime = stat.S_IMODE(st.st_mode), max(int(st.st_mtime), 0)
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(entry.path)
            tar.addfile(info)
        elif stat.S_ISREG(st.st_mode):
            info.size = st.st_size
            with open(entry.path, "rb") as file:
                tar.addfile(info, file)
    except OSError as exc:
        raise InvalidArgument(f"cannot read {entry.path}: {exc.strerror or exc}") from None
