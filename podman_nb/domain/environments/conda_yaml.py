"""Reading environment.yml: the part of YAML that conda's environment files use (block mappings and lists,
flow lists ``[a, b]``, plain and quoted scalars, comments), so that no YAML library is needed at runtime.
Anything else (anchors, tags, multi-line scalars, flow mappings, tabs) is one sentence naming its line.

``parse(text, label)`` gives nested dicts, lists and strings, each knowing the line it starts on (``line_of``),
so that the handlers' sentences can name it. No sentence quotes the file's text: a line may hold a token.
"""

from __future__ import annotations

import re
from typing import Any, List, Tuple

from ...errors import InvalidArgument


class _Text(str):
    line = 0


class _Mapping(dict):
    line = 0


class _List(list):
    line = 0


def _at(value: Any, number: int) -> Any:
    value.line = number
    return value


def line_of(value: Any) -> int:
    """The line ``value`` (a result of ``parse``) starts on; 0 when not known."""
    return getattr(value, "line", 0)


_KEY = re.compile(r"""([^'"\s#:\[\]{},&*!|>%@`-][^:#]*?|'[^']*'|"[^"]*")\s*:(?:\s+(.*))?$""")


class _Lines:
    def __init__(self, text: str, label: str):
        self.label, self.items = label, []  # (line number, indent, content)
        for number, raw in enumerate(text.splitlines(), 1):
            if raw.strip() in ("---", "...") and not raw[0].isspace():
                continue
            content = _strip_comment(raw, self.error, number).rstrip()
            if not content.strip():
                continue
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                self.error(number, "a tab indents it (YAML indents with spaces)")
            self.items.append((number, len(content) - len(content.lstrip()), content.strip()))

    def error(self, number: int, what: str) -> None:
        raise InvalidArgument(f"{self.label} is not valid YAML at line {number}: {what}")


def _strip_comment(raw: str, error, number: int) -> str:
    quote = None
    for i, char in enumerate(raw):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"" and (i == 0 or raw[i - 1] in " [,:-"):
            quote = char
        elif char == "#" and (i == 0 or raw[i - 1] in " \t"):
            return raw[:i]
    if quote:
        error(number, f"a {quote} quote is not closed")
    return raw


def _scalar(text: str, number: int, lines: _Lines) -> Any:
    text = text.strip()
    if text.startswith("["):
        if not text.endswith("]"):
            lines.error(number, "a [ list is not closed on its line")
        inner = text[1:-1].strip()
        return _at(_List(_scalar(part, number, lines) for part in inner.split(",")) if inner else _List(), number)
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0]:
            lines.error(number, "text follows a closing quote")
        return _at(_Text(text[1:-1]), number)
    if text[:1] in ("{", "&", "*", "!", "|", ">", "%", "@", "`") or text.startswith("- ") or ": " in text:
        lines.error(number, "it uses YAML that environment files do not (anchors, tags, flow mappings, "
                            "multi-line text, or a colon and space in plain text)")
    return _at(_Text(text), number)


def _block(lines: _Lines, i: int, indent: int) -> Tuple[Any, int]:
    """The list or mapping whose lines start at ``lines.items[i]`` with this ``indent``; (value, next i)."""
    number, _, content = lines.items[i]
    if content == "-" or content.startswith("- "):
        return _list(lines, i, indent)
    return _mapping(lines, i, indent)


def _child(lines: _Lines, i: int, indent: int, number: int) -> Tuple[Any, int]:
    """The value of a ``key:`` with nothing after it: the deeper block below, or a list at the same indent."""
    if i < len(lines.items):
        _, next_indent, content = lines.items[i]
        if next_indent > indent or (next_indent == indent and (content == "-" or content.startswith("- "))):
            return _block(lines, i, next_indent)
    return None, i


def _mapping(lines: _Lines, i: int, indent: int) -> Tuple[dict, int]:
    result = _at(_Mapping(), lines.items[i][0])
    while i < len(lines.items):
        number, at, content = lines.items[i]
        if at < indent:
            break
        if at > indent:
            lines.error(number, "it is indented more than the line before it")
        match = _KEY.match(content)
        if not match or content.startswith("- "):
            lines.error(number, "expected KEY: VALUE")
        key = _scalar(match.group(1), number, lines)
        if key in result:
            lines.error(number, f"its key is given already on line {line_of(next(k for k in result if k == key))}")
        if match.group(2):
            result[key], i = _scalar(match.group(2), number, lines), i + 1
        else:
            result[key], i = _child(lines, i + 1, indent, number)
    return result, i


def _list(lines: _Lines, i: int, indent: int) -> Tuple[list, int]:
    result: List[Any] = _at(_List(), lines.items[i][0])
    while i < len(lines.items):
        number, at, content = lines.items[i]
        if at < indent or (at == indent and not (content == "-" or content.startswith("- "))):
            break
        if at > indent or not (content == "-" or content.startswith("- ")):
            lines.error(number, "it is indented more than the list item before it")
        rest = content[1:].strip()
        if not rest:
            value, i = _child(lines, i + 1, indent + 1, number)
            result.append(value)
        elif _KEY.match(rest) and not rest.startswith(("'", '"', "[")) and re.search(r":(\s|$)", rest):
            inner = indent + (len(content) - len(rest))  # a mapping item: `- pip:` and its list below
            lines.items[i] = (number, inner, rest)
            value, i = _mapping(lines, i, inner)
            result.append(value)
        else:
            result.append(_scalar(rest, number, lines))
            i += 1
    return result, i


def parse(text: str, label: str) -> Any:
    """The document in ``text`` (a mapping for an environment file); InvalidArgument names the bad line."""
    lines = _Lines(text, label)
    if not lines.items:
        return _Mapping()
    value, i = _block(lines, 0, lines.items[0][1])
    if i < len(lines.items):
        lines.error(lines.items[i][0], "it is indented less than the document's first line")
    return value
