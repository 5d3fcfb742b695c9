"""runtime.txt: the Python version (``python-3.X``, ``python-3.X.Y``, or ``python-3``: any 3.X, which is
the base image's with --base and the newest supported one without). ``r-...`` is refused by ``refused``."""

from __future__ import annotations

import re

from ...errors import InvalidArgument
from ..containerfile_steps import SUPPORTED_PYTHONS
from .handler import OneFile, Plan, Project


class Runtime(OneFile):
    name = "runtime"
    files = ("runtime.txt",)


    def contribute(self, project: Project, plan: Plan) -> None:
        label = project.label("runtime.txt")
        text = project.read("runtime.txt").strip()
        if text == "python-3":
            plan.python = None if project.base else SUPPORTED_PYTHONS[-1]
        else:
            match = re.fullmatch(r"python-(\d+)\.(\d+)(?:\.\d+)?", text)
            if not match:
                raise InvalidArgument(f"{label} must say python-3.X (e.g. python-3.11) or python-3, not {text[:40]!r}")
            plan.python = f"{match.group(1)}.{match.group(2)}"
        plan.python_source = label
