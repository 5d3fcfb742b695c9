"""Pipfile and Pipfile.lock, installed with the installer requirements use (no pipenv in the image), as repo2docker installs them.

A lock wins: every package of ``default`` and ``develop`` is installed with its hashes (the lock is
copied in and turned into a requirements file inside the image, so editing it reruns only that step).
Without a lock the Pipfile's ``packages`` and ``dev-packages`` are installed. A ``[[source]]`` that is
PyPI is whatever pip is configured with (PIP_INDEX_URL, through the build secret, serves it as a
mirror); other sources are extra indexes, their ``${VAR}`` taken from the kernel's environment as pipenv
does, and they reach the installer only through the pip settings secret (a token in one lands in no layer,
history or error). ``[requires] python_version`` chooses the Python when runtime.txt does not. Local paths
(inside the project) install after the project is copied; VCS entries are refused with one sentence, as is
every malformed table or entry, naming the file and key.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from ...api.toml import TOMLDecodeError, loads
from ...errors import InvalidArgument
from ..containerfile_steps import DEPS_DIR, copy_step
from .handler import Plan, Project, split_credentials
from .requirements import REQUIREMENT
from .runtime import python_asked

_PYPI_HOSTS = ("pypi.org", "pypi.python.org", "test.pypi.org")
_VCS = ("git", "hg", "svn", "bzr")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
# Run in the image, in DEPS_DIR: Pipfile.lock's default and develop packages as a hash-checked requirements file.
_LOCK_TO_REQUIREMENTS = (
    'import json; lock = json.load(open("Pipfile.lock", encoding="utf-8-sig")); '
    'reqs = {**lock.get("develop", {}), **lock.get("default", {})}; '
    'print("\\n".join(n + ("[%s]" % ",".join(e["extras"]) if e.get("extras") else "") + e["version"] '
    '+ (" ; " + e["markers"] if e.get("markers") else "") + "".join(" --hash=" + h for h in e.get("hashes", [])) '
    'for n, e in reqs.items() if "version" in e))')


def _toml(text: str, label: str) -> Dict[str, Any]:
    try:
        return loads(text)
    except TOMLDecodeError as exc:
        raise InvalidArgument(f"{label} is not valid TOML: {exc}") from None


def _table(document: Mapping[str, Any], key: str, label: str, required: bool = False) -> Dict[str, Any]:
    """``document[key]`` when it is a table (``{}`` when absent); anything else is one sentence."""
    value = document.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{label}: {key} must be a table of NAME = ..., not {type(value).__name__}"
                              if value is not None else f"{label} has no {key} table, which every Pipfile.lock has")
    return value


def _expand(url: str, environ: Mapping[str, str], where: str) -> str:
    """``$VAR`` and ``${VAR}`` from the kernel's environment, as pipenv expands a source's URL."""
    def value(match: "re.Match") -> str:
        name = match.group(1) or match.group(2)
        if name not in environ:
            raise InvalidArgument(f"{where} uses ${{{name}}}, which the kernel's environment does not set")
        return environ[name]
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, url)


def _add_sources(sources: Any, label: str, environ: Mapping[str, str], plan: Plan) -> None:
    """The sources that are not PyPI become extra indexes of the pip settings secret (PyPI is what pip is
    configured with); their URLs are never written into a step or a sentence."""
    if sources is None:
        return
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise InvalidArgument(f"{label}: source must be a list of tables ([[source]] with name and url)")
    for number, source in enumerate(sources, 1):
        name = source.get("name")
        where = f"{label}: source {name if isinstance(name, str) and _NAME.fullmatch(name) else number}'s url"
        if not isinstance(source.get("url"), str):
            raise InvalidArgument(f"{where} is missing")
        url = _expand(source["url"].strip(), environ, where)
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if not url.startswith(("http://", "https://")) or not host or any(c.isspace() for c in url):
            raise InvalidArgument(f"{where} is not an http(s) URL (spaces written as %20)")
        if host not in _PYPI_HOSTS:
            plan.add_index(url, host if source.get("verify_ssl") is False else None)


def _requirement(name: str, spec: Any, label: str, project: Project, local: List[str]) -> Optional[str]:
    """pip's requirement for one Pipfile entry (None for a local path, added to ``local``)."""
    where = f"{label}: {name}"
    if not _NAME.fullmatch(name):
        raise InvalidArgument(f"{label}: {name[:40]!r} is not a package name")
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{where} must be a version (\"==1.0\", \"*\") or a table, not {type(spec).__name__}")
    vcs = next((v for v in _VCS if v in spec), None)
    if vcs:
        raise InvalidArgument(f"{where} comes from {vcs}, which podman_nb does not install: pin a released version")
    if "path" in spec or "file" in spec:
        return _local(name, spec, where, project, local)
    shapes = {"version": str, "markers": str, "extras": list, "hashes": list, "index": str}
    wrong = [key for key, kind in shapes.items() if key in spec and not isinstance(spec[key], kind)]
    wrong += [key for key in ("extras", "hashes") if isinstance(spec.get(key), list)
              and not all(isinstance(x, str) for x in spec[key])]
    if wrong:
        kind = "a list of strings" if shapes[wrong[0]] is list else "a string"
        raise InvalidArgument(f"{where}: {wrong[0]} must be {kind}")
    version = spec.get("version", "*").strip()
    requirement = (name + (f"[{','.join(spec['extras'])}]" if spec.get("extras") else "")
                   + ("" if version == "*" else version)
                   + (f" ; {spec['markers']}" if spec.get("markers") else ""))
    if version[:1] not in ("*", "=", "<", ">", "!", "~") or not REQUIREMENT.fullmatch(requirement):
        raise InvalidArgument(f"{where}: version must be \"*\" or like \"==1.0\" or \">=1.0\", with extras and "
                              "markers pip can read")
    return requirement


def _local(name: str, spec: Mapping[str, Any], where: str, project: Project, local: List[str]) -> Optional[str]:
    """A ``path``/``file`` entry: a path inside the project (installed after it is copied) or a URL."""
    target = spec.get("path") or spec.get("file")
    if not isinstance(target, str):
        raise InvalidArgument(f"{where}: path must be a string")
    if "://" in target:
        if split_credentials(target)[1]:
            raise InvalidArgument(f"{where}: its file URL holds credentials, which would be stored in the image")
        return f"{name} @ {target}"
    path = os.path.normpath(os.path.join(project.env_dir, target))
    if os.path.isabs(target) or path.split(os.sep)[0] == "..":
        raise InvalidArgument(f"{where}: path {target[:60]!r} is outside the project folder, which is all a build has")
    local.append(("-e " if spec.get("editable") else "") + shlex.quote("./" + path if path != "." else "."))
    return None


class Pipfile:
    name = "Pipfile"
    files = ("Pipfile", "Pipfile.lock")

    def applies(self, project: Project) -> bool:
        return project.has("Pipfile") or project.has("Pipfile.lock")

    def contribute(self, project: Project, plan: Plan) -> None:
        local: List[str] = []
        if project.has("Pipfile.lock"):
            requires, label = self._lock(project, plan, local), project.label("Pipfile.lock")
        else:
            requires, label = self._pipfile(project, plan, local), project.label("Pipfile")
        version = requires.get("python_full_version") or requires.get("python_version")
        if version is not None:
            if not isinstance(version, str):
                raise InvalidArgument(f"{label}: python_version must be a quoted version (\"3.11\"), not a number")
            asked = python_asked(version.strip(), f"{label}: python_version", project, written=version)
            if plan.python_source == Plan.python_source:  # runtime.txt wins
                plan.python, plan.python_source = asked, project.label("Pipfile")
        for path in local:
            plan.after_copy.append(plan.install(path))

    def _lock(self, project: Project, plan: Plan, local: List[str]) -> Mapping[str, Any]:
        label = project.label("Pipfile.lock")
        try:
            lock = json.loads(project.read("Pipfile.lock"))
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(lock, dict):
            raise InvalidArgument(f"{label} is not a Pipfile.lock: it holds a {type(lock).__name__}, not a table")
        for part in ("default", "develop"):
            for name, entry in _table(lock, part, label, required=part == "default").items():
                if not isinstance(entry, dict):
                    raise InvalidArgument(f"{label}: {part}: {name[:40]} must be a table, not {type(entry).__name__}")
                if _requirement(name, entry, f"{label}: {part}", project, local) and \
                        not entry.get("version", "").startswith("=="):
                    raise InvalidArgument(f"{label}: {part}: {name}: its version must be pinned (==VERSION) in a lock")
        meta = _table(lock, "_meta", label)
        _add_sources(meta.get("sources"), label, project.environ, plan)
        plan.needed.append(label)
        convert = f"cd {DEPS_DIR} && python3 -c {shlex.quote(_LOCK_TO_REQUIREMENTS)} > pipfile-lock.txt && "
        plan.dependencies += [copy_step([label], f"{DEPS_DIR}/"), plan.install("-r pipfile-lock.txt", cd=convert)]
        return _table(meta, "requires", f"{label}: _meta")

    def _pipfile(self, project: Project, plan: Plan, local: List[str]) -> Mapping[str, Any]:
        label = project.label("Pipfile")
        pipfile = _toml(project.read("Pipfile"), label)
        requirements = [_requirement(name, spec, label, project, local)
                        for part in ("packages", "dev-packages") for name, spec in _table(pipfile, part, label).items()]
        requirements = [r for r in dict.fromkeys(requirements) if r]
        _add_sources(pipfile.get("source"), label, project.environ, plan)
        if requirements:
            plan.dependencies.append(plan.install(" ".join(shlex.quote(r) for r in requirements)))
        return _table(pipfile, "requires", label)
