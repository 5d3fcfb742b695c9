"""runtime.txt: the Python version (``python-3.X``, ``python-3.X.Y``, or ``python-3``: any 3.X, which is
the base image's with --base and the newest supported one without). ``r-...`` is refused by ``refused``."""

from __future__ import annotations

import re
from typing import Optional

from ...errors import InvalidArgument
from ..containerfile_steps import SUPPORTED_PYTHONS
from .handler import OneFile, Plan, Project


class Runtime(OneFile):
    name = "runtime"
    files = ("runtime.txt",)

    def contribute(self, project: Project, plan: Plan) -> None:
        label = project.label("runtime.txt")
        text = project.read("runtime.txt").strip()
        version = text[len("python-"):] if text.startswith("python-") else ""
        plan.python = python_asked(version, label, project, written=text, form="python-")
        plan.python_source = label


def python_asked(version: str, where: str, project: Project, written: str, form: str = "") -> Optional[str]:
    """``3.X`` for ``3.X`` or ``3.X.Y``; for ``3`` (any 3.X) None (the base's) with --base, else the newest
    supported; anything else (``2.7``, ``banana``) is one sentence naming ``where`` and quoting ``written``."""
    if version == "3":
        return None if project.base else SUPPORTED_PYTHONS[-1]
    match = re.fullmatch(r"3\.(\d+)(?:\.\d+)?", version)
    if not match:
        raise InvalidArgument(f"{where} must say {form}3.X (e.g. {form}3.11) or {form}3, not {written[:40]!r}")
    return f"3.{match.group(1)}"
