"""environment.yml (or .yaml): a conda environment, solved and installed with py-rattler in one build step.

One step of the image runs ``conda_install.py``, which solves the file's dependencies on linux-64 + noarch and
installs them at ``/srv/conda/envs/notebook`` (repo2docker's path), with py-rattler pip-installed once from the
configured index (the pip secret) into a cache mount beside rattler's package cache: the image gets the
environment alone, in one layer, and a new solve reuses the packages already fetched. Its ``bin`` goes first on
PATH (``python``/``python3`` are the environment's); the file's ``pip:`` list is installed with its pip.
The ``python`` the file asks for wins over runtime.txt; without one, runtime.txt's (or any) python is added.
``channels`` are used as written; none means conda-forge; a named channel is resolved against
``CONDA_CHANNEL_ALIAS`` (the kernel's environment) or the ``channel_alias`` of the ``.condarc`` beside the file
(binder/'s when binder/ holds the environment), as conda does. ``variables:`` become ENV of the image, as written.
Credentials in a channel URL (``https://user:TOKEN@host/...``) leave the URL and go to the solver as the build
secret ``condaauth``: they land in no layer, config, history or lock.
A ``conda-lock.yml`` or ``pixi.lock`` beside the file is installed as it is, with no solve. With
``plan.write_lock`` (``%image_env --lock``) any lock is ignored, and the Containerfile is the base and that step
alone, which solves and writes the records to LOCK_IN_IMAGE in conda-lock's format without installing them
(see ``environment_lock``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from typing import Dict, List, Optional, Tuple

from ...errors import InvalidArgument
from ..containerfile_steps import SECRET_MOUNT, current_python, default_base, pip_once, pip_step
from . import conda_yaml
from .handler import Plan, Project, split_credentials
from .requirements import REQUIREMENT

PREFIX = "/srv/conda/envs/notebook"
SOLVER_DIR = "/run/podman_nb-conda"  # mount points under /run stay out of the layer
RATTLER = "py-rattler>=0.28,<0.29"
RATTLER_CACHE = "/root/.cache/podman_nb-rattler"  # a cache mount: py-rattler (0.28/) and conda packages (pkgs/)
DEFAULT_ALIAS = "https://conda.anaconda.org/"
_DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
_SPEC = re.compile(r"(?:[A-Za-z0-9_./:-]+::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)(?:\s*(?:[=<>!~ ][^#]*)?)?")
_LOCKS = ("conda-lock.yml", "pixi.lock")
LOCK_IN_IMAGE = f"/tmp/podman_nb-{_LOCKS[0]}"  # where --lock's build writes the lock it solved (not under /run)
_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s'\"@]+@")  # scheme://user:password@


def _alias(project: Project) -> str:
    """CONDA_CHANNEL_ALIAS from the kernel's environment, else the project's .condarc channel_alias."""
    alias = project.environ.get("CONDA_CHANNEL_ALIAS", "").strip()
    if not alias and project.has(".condarc"):
        condarc = conda_yaml.parse(project.read(".condarc"), project.label(".condarc"))
        alias = str(condarc.get("channel_alias") or "") if isinstance(condarc, dict) else ""
    return alias or DEFAULT_ALIAS


def channels(written: List[str], alias: str, label: str) -> Tuple[List[str], Dict[str, str]]:
    """(channel URLs without credentials, {URL: Authorization header}) for the channels as written."""
    urls, auth = [], {}
    alias_url, alias_auth = split_credentials(alias)
    for channel in written or ["conda-forge"]:
        if channel == "nodefaults":
            continue
        if "://" in channel:
            if not channel.startswith(("http://", "https://")):
                raise InvalidArgument(f"{_at(label, channel)}: the channel is not an http(s) URL, which a build "
                                      "cannot reach")
            url, header = split_credentials(channel.rstrip("/"))
        elif channel == "defaults":
            urls += [u for u in _DEFAULTS if u not in urls]
            continue
        elif re.fullmatch(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", channel):
            url, header = alias_url.rstrip("/") + "/" + channel, alias_auth
        else:
            raise InvalidArgument(f"{_at(label, channel)}: the channel is neither a channel name nor a URL")
        if url not in urls:
            urls.append(url)
        if header:
            auth[url + "/"] = header
    return urls, auth


def _at(label: str, value: object) -> str:
    """``environment.yml line 7`` for a value parsed from it (its line), else the file's name."""
    line = conda_yaml.line_of(value)
    return f"{label} line {line}" if line else label


def _read(project: Project, name: str) -> Tuple[List[str], List[str], Dict[str, str], List[str]]:
    """(conda specs, pip requirements, variables, channels as written) of environment.yml, each checked."""
    label = project.label(name)
    document = conda_yaml.parse(project.read(name), label)
    if not isinstance(document, dict):
        raise InvalidArgument(f"{label} must be a mapping with channels: and dependencies:")
    specs, pip, variables = [], [], document.get("variables") or {}
    dependencies = document.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise InvalidArgument(f"{_at(label, dependencies)}: dependencies: must be a list of packages")
    for item in dependencies:
        if isinstance(item, dict) and list(item) == ["pip"]:
            if not isinstance(item["pip"], list) or not all(isinstance(p, str) for p in item["pip"]):
                raise InvalidArgument(f"{_at(label, item)}: pip: must be a list of requirements")
            pip += item["pip"]
        elif isinstance(item, str) and _SPEC.fullmatch(item.strip()):
            specs.append(item.strip())
        else:
            raise InvalidArgument(f"{_at(label, item)}: the dependency is not a conda package spec (e.g. numpy, "
                                  "numpy=1.26, 'numpy >=1.26') nor a pip: list")
    for requirement in pip:
        if not REQUIREMENT.fullmatch(requirement):
            raise InvalidArgument(f"{_at(label, requirement)}: the pip requirement is not one pip can read "
                                  "(expected NAME, NAME==VERSION, NAME>=VERSION, NAME[extra], ...)")
    if not isinstance(variables, dict) or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and isinstance(v, str)
                                                  for k, v in variables.items()):
        raise InvalidArgument(f"{_at(label, variables)}: variables: must map NAME to a value")
    listed = document.get("channels") or []
    if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
        raise InvalidArgument(f"{_at(label, listed)}: channels: must be a list of channel names or URLs")
    return specs, pip, dict(variables), listed


def _name(spec: str) -> str:
    return _SPEC.fullmatch(spec).group(1).lower()


def _python_version(specs: List[str]) -> Optional[str]:
    """``3.11`` for ``python=3.11``, ``python 3.11.*``, ``python==3.11.7``; None for an open range."""
    for spec in specs:
        if _name(spec) == "python":
            match = re.fullmatch(r"(?:[^:]+::)?python\s*(?:==?|\s)\s*(\d+)\.(\d+)(?:[.*\d]*)", spec.strip())
            return f"{match.group(1)}.{match.group(2)}" if match else None
    return None


class Conda:
    name = "environment.yml"
    files = ("environment.yml", "environment.yaml", ".condarc") + _LOCKS

    def _file(self, project: Project) -> Optional[str]:
        return next((n for n in ("environment.yml", "environment.yaml") if project.has(n)), None)

    def applies(self, project: Project) -> bool:
        return self._file(project) is not None

    def contribute(self, project: Project, plan: Plan) -> None:
        name = self._file(project)
        label = project.label(name)
        specs, pip, variables, written = _read(project, name)
        urls, auth = channels(written, _alias(project), label)
        names = [_name(s) for s in specs]
        if "python" in names:
            plan.python, plan.python_source = _python_version(specs), label
        else:
            specs.insert(0, f"python={plan.python}" if plan.python else "python")
        kernel = list(plan.packages)
        if (pip or kernel) and "pip" not in names:
            specs.append("pip")
        request = {"prefix": PREFIX, "channels": urls, "specs": specs, "file": label, "optional": kernel}
        lock = None if plan.write_lock else next((n for n in _LOCKS if project.has(n)), None)
        if plan.write_lock:  # the step only solves and writes the lock
            request.update(write_lock=LOCK_IN_IMAGE)
            del request["prefix"]
        if lock:
            request.update(lock=f"{SOLVER_DIR}/{lock}", file=project.label(lock))
            plan.warnings.append(f"{project.label(lock)} is installed as it is: {label} is not solved again.")
        base = project.base or default_base(current_python())
        plan.base, plan.check_python, plan.packages = base, False, ()
        plan.secrets["condainstall"] = _installer()  # a secret mount: no file in the context or the project
        if auth:
            plan.secrets["condaauth"] = json.dumps(auth).encode()
        step = self._step(plan, base, request, project, lock, bool(auth))
        if plan.write_lock:  # the base and the solve alone: environment_lock reads the file out of the image
            plan.containerfile = f"FROM {base}\n{step}"
            return
        plan.dependencies.append(step)
        plan.path.insert(0, f"{PREFIX}/bin")
        plan.env.update({"CONDA_DIR": os.path.dirname(os.path.dirname(PREFIX)), "NB_PYTHON_PREFIX": PREFIX,
                         **variables})  # repo2docker's names
        plan.needed += [project.label(lock)] if lock else []
        held = [project.label(n) for n in (name, ".condarc")
                if project.has(n) and _CREDENTIALS.search(project.read(n))]
        if held:  # a URL with user:password@ in the file: COPY . would store it
            plan.private += held
            plan.warnings.append(f"{' and '.join(held)} {'hold' if len(held) > 1 else 'holds'} credentials in a "
                                 f"URL, so {'they are' if len(held) > 1 else 'it is'} left out of the image.")
        if kernel:
            plan.dependencies.append(pip_step(" ".join(shlex.quote(k) for k in kernel), plan.secret))
        if pip:
            plan.dependencies.append(pip_step(" ".join(shlex.quote(p) for p in pip), plan.secret))

    def _step(self, plan: Plan, base: str, request: dict, project: Project, lock: Optional[str], auth: bool) -> str:
        """The solve and install step; the request is its argument, so a change to it reruns the step, and the
        installer's and the lock's hashes are in the step too (they come as mounts, which the cache ignores)."""
        check = ("import sys; sys.version_info >= (3, 10) or sys.exit('podman_nb: the conda solver needs Python "
                 f"3.10 or newer in the base image ({base}), which has ' + sys.version.split()[0])")
        lib = f"{RATTLER_CACHE}/0.28"
        mounts = [f"--mount=type=cache,target={RATTLER_CACHE}", f"--mount=type=secret,id=condainstall,target="
                  f"{SOLVER_DIR}/install.py"] + ([SECRET_MOUNT] if plan.secret else [])
        mounts += ["--mount=type=secret,id=condaauth,target=/run/secrets/condaauth"] if auth else []
        digests = f"PODMAN_NB_INSTALLER={hashlib.sha256(_installer()).hexdigest()[:16]}"
        if lock:
            mounts.append(f"--mount=type=bind,source={project.label(lock)},target={SOLVER_DIR}/{lock}")
            digests += f" PODMAN_NB_LOCK={hashlib.sha256(project.read(lock).encode()).hexdigest()[:16]}"
        return "RUN " + " \\\n    ".join(mounts + [
            f"python3 -c {shlex.quote(check)} || exit 1;", pip_once(lib, shlex.quote(RATTLER), f"{lib}/rattler"),
            f"{digests} PYTHONPATH={lib} PODMAN_NB_CONDA_PKGS={RATTLER_CACHE}/pkgs python3 {SOLVER_DIR}/install.py "
            f"{shlex.quote(json.dumps(request, separators=(',', ':')))}"])


def _installer() -> bytes:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "conda_install.py"), "rb") as file:
        return file.read()
