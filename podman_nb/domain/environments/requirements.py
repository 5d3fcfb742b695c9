"""requirements.txt (with the files it includes by -r/-c, followed to any depth inside the project folder),
setup.py and pyproject.toml: the installer installs them.

Reading a requirements file as pip would (``parse_requirements``) and ``REQUIREMENT`` live here.
requirements.txt's packages install before the project is copied (its included files copied beside it, in
their folders), so that editing a notebook reuses them, unless one installs from the project itself
(``-e .``, ``./pkg``).
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Dict, List, Tuple

from ...errors import InvalidArgument
from ..containerfile_steps import DEPS_DIR, copy_step
from .handler import Plan, Project

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION_SPEC = r"(?:===|==|~=|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
REQUIREMENT = re.compile(rf"{_NAME}\s*(?:\[\s*(?:{_NAME}\s*(?:,\s*{_NAME}\s*)*)?\])?\s*"
                         rf"(?:\(?\s*{_VERSION_SPEC}(?:\s*,\s*{_VERSION_SPEC})*\s*\)?|@\s*\S+)?\s*(?:;.*)?")
_OPTIONS_WITH_FILE = ("-r", "--requirement", "-c", "--constraint")
_OPTIONS = _OPTIONS_WITH_FILE + ("-e", "--editable", "-i", "--index-url", "--extra-index-url", "--no-index",
                                 "-f", "--find-links", "--pre", "--trusted-host", "--prefer-binary",
                                 "--only-binary", "--no-binary", "--use-feature", "--require-hashes",
                                 "--hash", "--config-settings", "-Z", "--always-unzip")


def _logical_lines(text: str) -> List[Tuple[int, str]]:
    """(line number, logical line) with comments dropped and ``\\`` continuations joined."""
    lines, pending, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line:
            lines.append((start, line))
        start = 0
    return lines


def parse_requirements(text: str, label: str) -> Tuple[List[str], bool]:
    """(files it includes with -r/-c, as written: relative to its folder; whether it installs something from
    the project itself). Raises InvalidArgument naming the first line pip could not read."""
    included, local = [], False
    for number, line in _logical_lines(text):
        where = f"{label} line {number}"
        if line.startswith("-"):
            option, value = _split_option(line)
            if option not in _OPTIONS:
                raise InvalidArgument(f"{where}: {option[:40]!r} is not a pip requirements option")
            if option in _OPTIONS_WITH_FILE and "://" not in value:
                try:
                    names = shlex.split(value)
                except ValueError:
                    names = []
                if len(names) != 1:
                    raise InvalidArgument(f"{where}: {option} takes one file (a name with spaces in quotes)")
                included.append(names[0])
            if option in ("-e", "--editable") and "://" not in value:
                local = True
            continue
        if "://" in line:
            continue  # a URL: pip fetches it
        if line.startswith((".", "/", "~")) or line.startswith("file:"):
            local = True
            continue
        if not REQUIREMENT.fullmatch(line.split(" --hash", 1)[0].strip()):
            raise InvalidArgument(f"{where}: {line!r} is not a requirement pip can read "
                                  "(expected NAME, NAME==VERSION, NAME>=VERSION, NAME[extra], ...)")
    return included, local


def _split_option(line: str) -> Tuple[str, str]:
    """``("-r", "other.txt")`` for ``-r other.txt``, ``-rother.txt`` or ``--requirement=other.txt``."""
    match = re.match(r"(--[A-Za-z-]+|-[A-Za-z])(?:[\s=]*(.*))?$", line)
    return (match.group(1), (match.group(2) or "").strip()) if match else (line, "")


class Requirements:
    """requirements.txt, then the project itself when it has setup.py or pyproject.toml (top level only)."""

    name = "requirements"
    files = ("requirements.txt", "setup.py", "pyproject.toml")

    def _package(self, project: Project) -> List[str]:
        return [] if project.env_dir else [n for n in ("pyproject.toml", "setup.py") if project.has(n)]

    def applies(self, project: Project) -> bool:
        return project.has("requirements.txt") or bool(self._package(project))

    def contribute(self, project: Project, plan: Plan) -> None:
        if project.has("requirements.txt"):
            self._requirements(project, plan)
        package = self._package(project)
        if package:
            plan.after_copy.append(plan.install("."))
            plan.needed += package

    def _requirements(self, project: Project, plan: Plan) -> None:
        label = project.label("requirements.txt")
        files, late = _follow(project, label)
        plan.needed += files
        if late:
            plan.warnings.append(f"{label} installs from the project itself, so its packages install after "
                                 "the project's files are copied: any file edit reinstalls them.")
            plan.after_copy.append(plan.install(f"-r {label}"))
            return
        folders: Dict[str, List[str]] = {}
        for name in files:  # each into its folder under DEPS_DIR, so that the relative includes still hold
            folders.setdefault(os.path.dirname(name), []).append(name)
        plan.dependencies += [copy_step(names, f"{DEPS_DIR}/{folder}/" if folder else f"{DEPS_DIR}/")
                              for folder, names in folders.items()]
        deps = f"{DEPS_DIR}/{project.env_dir}" if project.env_dir else DEPS_DIR
        plan.dependencies.append(plan.install("-r requirements.txt", cd=f"cd {deps} && "))


def _follow(project: Project, label: str) -> Tuple[List[str], bool]:
    """``label`` and every file it includes, to any depth (paths from the project folder, each once), and whether
    one installs from the project itself; an include outside the project, or missing, is one sentence."""
    top = Project(project.root, "", project.environ)
    root = os.path.realpath(project.root)
    files, late, waiting = [], False, [label]
    while waiting:
        name = waiting.pop(0)
        if name in files:
            continue
        files.append(name)
        included, local = parse_requirements(top.read(name), name)
        late = late or local
        for written in included:
            path = os.path.normpath(os.path.join(os.path.dirname(name), written))
            real = os.path.realpath(os.path.join(root, path))
            if os.path.isabs(written) or not real.startswith(root + os.sep):
                raise InvalidArgument(f"{name} includes {written}, which is outside the project folder {root}")
            if not os.path.isfile(real):
                raise InvalidArgument(f"{name} includes {written}, which does not exist")
            waiting.append(path.replace(os.sep, "/"))
    return files, late
