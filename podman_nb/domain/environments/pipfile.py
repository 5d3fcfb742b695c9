"""Pipfile and Pipfile.lock, installed with the installer requirements use (no pipenv in the image), as repo2docker installs them.

A lock wins: every package of ``default`` and ``develop`` is installed with its hashes (the lock is
copied in and turned into a requirements file inside the image, so editing it reruns only that step).
Without a lock the Pipfile's ``packages`` and ``dev-packages`` are installed. A ``[[source]]`` that is
PyPI is whatever pip is configured with (PIP_INDEX_URL, through the build secret, serves it as a
mirror); other sources are added as extra indexes, as written. ``[requires] python_version`` chooses
the Python when runtime.txt does not. Local paths install after the project is copied; VCS entries
are refused with one sentence.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from ...api.toml import TOMLDecodeError, loads
from ...errors import InvalidArgument
from ..containerfile_steps import DEPS_DIR
from .handler import Plan, Project

_PYPI_HOSTS = ("pypi.org", "pypi.python.org", "test.pypi.org")
_VCS = ("git", "hg", "svn", "bzr")
# Run in the image, in DEPS_DIR: Pipfile.lock's default and develop packages as a hash-checked requirements file.
_LOCK_TO_REQUIREMENTS = (
    'import json; lock = json.load(open("Pipfile.lock")); '
    'reqs = {**lock.get("develop", {}), **lock.get("default", {})}; '
    'print("\\n".join(n + ("[%s]" % ",".join(e["extras"]) if e.get("extras") else "") + e["version"] '
    '+ (" ; " + e["markers"] if e.get("markers") else "") + "".join(" --hash=" + h for h in e.get("hashes", [])) '
    'for n, e in reqs.items() if "version" in e))')


def _toml(text: str, label: str) -> Dict[str, Any]:
    try:
        return loads(text)
    except TOMLDecodeError as exc:
        raise InvalidArgument(f"{label} is not valid TOML: {exc}") from None


def _index_options(sources: Any, label: str) -> List[str]:
    """pip options for the sources that are not PyPI (PyPI is what pip is configured with)."""
    options = []
    for source in sources if isinstance(sources, list) else []:
        url = str(source.get("url", "")) if isinstance(source, dict) else ""
        host = urlsplit(url).hostname or ""
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"{label}: the source {url!r} is not an http(s) URL")
        if host in _PYPI_HOSTS:
            continue
        options += ["--extra-index-url", url]
        if source.get("verify_ssl") is False:
            options += ["--trusted-host", host]
    return options


def _requirement(name: str, spec: Any, label: str, where: str, local: List[str]) -> Optional[str]:
    """pip's requirement for one Pipfile entry (None for a local path, added to ``local``)."""
    if isinstance(spec, str):
        return name if spec.strip() == "*" else name + spec.strip()
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{label}: {name} = {spec!r} is neither a version nor a table")
    vcs = next((v for v in _VCS if v in spec), None)
    if vcs:
        raise InvalidArgument(f"{label}: {name} comes from {vcs} ({spec[vcs]}), which podman_nb does not install: "
                              "pin a released version")
    if "path" in spec or "file" in spec:
        path = os.path.normpath(os.path.join(where, str(spec.get("path") or spec.get("file"))))
        local.append(("-e " if spec.get("editable") else "") + ("./" + path if path != "." else "."))
        return None
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    version = str(spec.get("version", "*")).strip()
    markers = f" ; {spec['markers']}" if spec.get("markers") else ""
    return name + extras + ("" if version == "*" else version) + markers


class Pipfile:
    name = "Pipfile"
    files = ("Pipfile", "Pipfile.lock")

    def applies(self, project: Project) -> bool:
        return project.has("Pipfile") or project.has("Pipfile.lock")

    def contribute(self, project: Project, plan: Plan) -> None:
        local: List[str] = []
        if project.has("Pipfile.lock"):
            requires = self._lock(project, plan, local)
        else:
            requires = self._pipfile(project, plan, local)
        version = requires.get("python_version") if isinstance(requires, dict) else None
        if version and plan.python_source == Plan.python_source:  # runtime.txt wins
            plan.python, plan.python_source = str(version), project.label("Pipfile")
        for path in local:
            plan.after_copy.append(plan.install(path))

    def _lock(self, project: Project, plan: Plan, local: List[str]) -> Mapping[str, Any]:
        label = project.label("Pipfile.lock")
        try:
            lock = json.loads(project.read("Pipfile.lock"))
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(lock, dict):
            raise InvalidArgument(f"{label} is not a Pipfile.lock: it holds no table")
        for part in ("default", "develop"):
            for name, entry in (lock.get(part) or {}).items():
                if "version" not in entry:
                    _requirement(name, entry, label, project.env_dir, local)
        meta = lock.get("_meta") or {}
        options = _index_options(meta.get("sources"), label)
        plan.needed.append(label)
        convert = f"cd {DEPS_DIR} && python3 -c {shlex.quote(_LOCK_TO_REQUIREMENTS)} > pipfile-lock.txt && "
        plan.dependencies += [f"COPY {label} {DEPS_DIR}/",
                              plan.install(" ".join(options + ["-r", "pipfile-lock.txt"]), cd=convert)]
        return meta.get("requires") or {}

    def _pipfile(self, project: Project, plan: Plan, local: List[str]) -> Mapping[str, Any]:
        label = project.label("Pipfile")
        pipfile = _toml(project.read("Pipfile"), label)
        requirements = [_requirement(name, spec, label, project.env_dir, local)
                        for part in ("packages", "dev-packages") for name, spec in (pipfile.get(part) or {}).items()]
        requirements = [r for r in dict.fromkeys(requirements) if r]
        options = _index_options(pipfile.get("source"), label)
        if requirements:
            plan.dependencies.append(plan.install(" ".join(options + [shlex.quote(r) for r in requirements])))
        return pipfile.get("requires") or {}
