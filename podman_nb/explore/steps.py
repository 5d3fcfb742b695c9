"""Which Containerfile step made each layer, read from the image's history and shortened to the command a person
wrote: no ``/bin/sh -c``, ``#(nop)``, build-argument prefix (``|2 A=1 B=2``) or ``--mount=…`` options in front."""

from __future__ import annotations

import re
from typing import Any, Dict, List

_SHELL = re.compile(r"^(?:\|\d+(?:\s+\S+=\S*)*\s+)?(?:/bin/(?:ba)?sh -c\s+)?(?:#\(nop\)\s*)?")
_SOURCE_DIGEST = re.compile(r"\b((?:file|dir|multi):[0-9a-f]{12})[0-9a-f]{52}\b")  # COPY's source: 12 hex are enough
_RUN_OPTIONS = re.compile(r"^(?:RUN\s+)?(?:--(?:mount|network|security)=\S+\s+)+")
WIDTH = 60  # a label's longest command, in characters, before it is cut with "…"


def command(created_by: str) -> str:
    """``created_by`` as the command a person wrote: ``COPY file:… in /app``, ``pip install -r req.txt``."""
    text = _SHELL.sub("", " ".join(str(created_by).split()), count=1)
    options = _RUN_OPTIONS.match(text)
    if options:
        text = _SHELL.sub("", text[options.end():], count=1)
    elif text.startswith("RUN /bin/sh -c "):  # BuildKit's form
        text = text[len("RUN /bin/sh -c "):]
    text = _SOURCE_DIGEST.sub(r"\1", text)
    return text[:-len(" # buildkit")] if text.endswith(" # buildkit") else text


def layer_commands(attrs: Dict[str, Any], count: int) -> List[str]:
    """The full command (dive's ``created_by``: only ``/bin/sh -c`` cut) of each of ``count`` layers, oldest
    first; ``(missing)`` where the history says nothing."""
    history = [h for h in attrs.get("History") or [] if not h.get("empty_layer")]
    found = []
    for index in range(count):
        created_by = str((history[index] if index < len(history) else {}).get("created_by") or "(missing)")
        found.append(created_by[len("/bin/sh -c "):] if created_by.startswith("/bin/sh -c ") else created_by)
    return found


def label(index: int, created_by: str, width: int = WIDTH) -> str:
    """``3: pip install -r requirements.txt``, the command cut to ``width`` characters."""
    text = command(created_by) or "(empty)"
    return f"{index}: {text if len(text) <= width else text[:width - 1] + '…'}"
