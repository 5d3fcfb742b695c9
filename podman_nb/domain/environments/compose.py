"""``from_folder``: a project folder's environment image, composed from its handlers in repo2docker's order and
precedence: a Dockerfile alone; else R/Julia/Nix refused; else the first Python environment handler that
applies (environment.yml, then Pipfile, then requirements.txt/setup.py/pyproject.toml), a lower one's files
left uninstalled; runtime.txt, apt.txt, postBuild and start with any of them. With binder/ (or .binder/) only
its files count, its ignore file included. The pip index settings (the host's, and a Pipfile's sources) go in
as build secrets. The context also leaves out what no environment needs (``DEFAULT_IGNORES``) unless the
project's ignore file brings it back.
"""

from __future__ import annotations

import os
import shlex
from typing import Any, List, Mapping, Optional, Tuple

from ...errors import InvalidArgument
from ..build_context import IGNORE_FILES, IgnoreRules
from ..containerfile_steps import (UV_SECRET_MOUNT, WORKDIR, check_step, choose_base, current_python, env_step,
                                   pip_config, uv_config)
from ..environment_image import Environment
from .apt import Apt
from .conda import Conda
from .dockerfile import Dockerfile
from .handler import Plan, Project
from .pipfile import Pipfile
from .postbuild import PostBuild
from .refused import Refused
from .requirements import Requirements
from .runtime import Runtime
from .start import Start, entrypoint_steps

PYTHON_ENVIRONMENTS = (Conda(), Pipfile(), Requirements())  # the first that applies is used, in this order
COMPOSING = (Runtime(), Apt(), PostBuild(), Start())  # with any of them; runtime first: it sets the Python
DEFAULT_IGNORES = ("**/.ipynb_checkpoints", "**/__pycache__", "**/*.pyc", "**/.git", "**/node_modules")


def from_folder(path: Any, base: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
                packages: Tuple[str, ...] = (), installer: str = "uv", write_lock: bool = False) -> Environment:
    """The environment that ``path``'s files describe (see the module's docstring); nothing is built.

    ``base`` overrides the base image (default: python:X.Y-slim for runtime.txt's Python, else the
    running one's); ``environ`` (default os.environ) supplies the pip index settings; ``packages``
    (e.g. ``("ipykernel",)``) are pip-installed in a step of their own before the project's packages
    (a version the project pins wins); ``installer`` is ``"uv"`` (uv pip install, pip's options and
    index settings) or ``"pip"``. ``write_lock``: a conda project's solve step writes a lock instead of
    installing (``environment_lock``); ``lock_path`` is then where it goes; another project is refused.
    """
    environ = os.environ if environ is None else environ
    if installer not in ("uv", "pip"):
        raise InvalidArgument(f"installer={installer!r}: use 'uv' or 'pip'")
    project = _project(path, base, environ)
    plan = Plan(packages=tuple(packages), secret=bool(pip_config(environ)), installer=installer,
                write_lock=write_lock)
    chosen = _contribute(project, plan)
    if write_lock and chosen != Conda.name:
        raise InvalidArgument(f"{plan.needed[0]} is built as it is, so there is no conda environment to lock"
                              if plan.containerfile is not None else f"{project.root} has no "
                              f"{project.label('environment.yml')}: only a conda project's environment can be locked")
    settings = _index_settings(environ, plan)
    secret = pip_config(settings)
    rules, ignore_label = _ignore_rules(project)
    rules.patterns += IgnoreRules([f"/{name}" for name in plan.private]).patterns
    hidden = [n for n in plan.needed if rules.excluded(n)]
    if hidden:
        raise InvalidArgument(f"{ignore_label} leaves out {', '.join(hidden)}, which the image needs")
    if plan.containerfile is not None:
        containerfile = plan.containerfile
        final_base, python = final_from(containerfile), None
    else:
        final_base = plan.base or choose_base(plan.python or current_python(), base, plan.python_source)
        final_base, python = base or final_base, plan.python
        containerfile = _containerfile(project, plan, final_base, bool(secret), chosen)
        if UV_SECRET_MOUNT in containerfile:
            plan.secrets["uvconf"] = uv_config(settings)
    environment = Environment(project.root, final_base, python, containerfile, plan.warnings, root=project.root,
                              pip_config=secret, rules=rules, left_out=_left_out(project.root, rules),
                              secrets=plan.secrets)
    environment.lock_path = project.path("conda-lock.yml") if write_lock else None
    return environment


def _index_settings(environ: Mapping[str, str], plan: Plan) -> Mapping[str, str]:
    """``environ`` with the plan's extra indexes and trusted hosts added to PIP_EXTRA_INDEX_URL/PIP_TRUSTED_HOST."""
    added = {"PIP_EXTRA_INDEX_URL": plan.indexes, "PIP_TRUSTED_HOST": plan.trusted}
    return {**environ, **{var: " ".join([environ.get(var, ""), *values]).strip()
                          for var, values in added.items() if values}}


def final_from(containerfile: str) -> str:
    """The image the last stage starts from: ``FROM [--platform=...] IMAGE [AS NAME]``, a stage's name followed
    to its image; ``""`` when there is no FROM."""
    stages: dict = {}
    image = ""
    for line in containerfile.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if len(words) > 1 and words[0].upper() == "FROM":
            image = stages.get(words[1].lower(), words[1])
            if len(words) > 3 and words[2].upper() == "AS":
                stages[words[3].lower()] = image
    return image


def _project(path: Any, base: Optional[str], environ: Mapping[str, str]) -> Project:
    try:
        root = os.path.abspath(os.path.expanduser(os.fsdecode(path)))
    except TypeError:
        raise InvalidArgument(f"the project folder must be a str or path, not {type(path).__name__}") from None
    if os.path.exists(root) and not os.path.isdir(root):
        raise InvalidArgument(f"the project folder {root} is not a folder")
    if not os.path.isdir(root):
        raise InvalidArgument(f"the project folder {root} does not exist", hint="give the folder that holds "
                              "requirements.txt or pyproject.toml, or leave it out for the notebook's folder")
    binders = [d for d in ("binder", ".binder") if os.path.isdir(os.path.join(root, d))]
    if len(binders) > 1:
        raise InvalidArgument(f"{root} has both binder/ and .binder/: keep one")
    return Project(root, binders[0] if binders else "", environ, base)


def _contribute(project: Project, plan: Plan) -> str:
    """Run the handlers that apply on ``plan``; the name of the one that chose the Python packages."""
    everything = (Dockerfile(), Refused(), *PYTHON_ENVIRONMENTS, *COMPOSING)
    if project.env_dir:
        top = Project(project.root, "", project.environ)
        ignored = [n for h in everything for n in h.files if top.has(n)]
        ignored += [n for n in IGNORE_FILES if top.has(n)]
        if ignored:
            plan.warnings.append(f"{project.env_dir}/ holds the environment, so {', '.join(dict.fromkeys(ignored))} "
                                 "at the top is not used (as in repo2docker).")
    dockerfile = Dockerfile()
    if dockerfile.applies(project):
        dockerfile.contribute(project, plan)
        others = [project.label(n) for h in everything[1:] for n in h.files if project.has(n)]
        if others:
            plan.warnings.append(f"{plan.needed[0]} is built as it is, so {', '.join(dict.fromkeys(others))} "
                                 "is left alone (as in repo2docker).")
        return dockerfile.name
    for handler in (Refused(), *COMPOSING[:1]):
        if handler.applies(project):
            handler.contribute(project, plan)
    chosen = next((h for h in PYTHON_ENVIRONMENTS if h.applies(project)), None)
    if chosen is not None:
        chosen.contribute(project, plan)
        lower = PYTHON_ENVIRONMENTS[PYTHON_ENVIRONMENTS.index(chosen) + 1:]
        unused = [project.label(n) for h in lower for n in h.files if project.has(n)]
        if unused:
            plan.warnings.append(f"{', '.join(unused)} is not installed: {chosen.name} describes the Python "
                                 "packages (as in repo2docker).")
    for handler in COMPOSING[1:]:
        if handler.applies(project):
            handler.contribute(project, plan)
    return chosen.name if chosen else ""


def _containerfile(project: Project, plan: Plan, base: str, secret: bool, chosen: str) -> str:
    name = " ".join((os.path.basename(project.root) or project.root).split())  # a newline would end the comment
    lines = [f"# podman_nb.environment: the environment of {name}/"]
    if secret:
        lines.append("# pip index settings (PIP_INDEX_URL, ...) come in as the build secrets 'pipconf' (pip) and "
                     "'uvconf' (uv), never stored in the image")
    lines += [f"FROM {base}", env_step({"REPO_DIR": WORKDIR, **plan.env})]
    if plan.path:
        lines.append(f"ENV PATH={':'.join(plan.path)}:$PATH")
    lines += [f"WORKDIR {WORKDIR}", *entrypoint_steps(plan.start)]
    if plan.check_python:
        lines.append(check_step(plan.python))
    lines += plan.system
    if plan.packages:
        lines.append(plan.install(" ".join(shlex.quote(p) for p in plan.packages)))
    lines += plan.dependencies + [f"COPY . {WORKDIR}/"] + plan.after_copy
    return "\n".join(lines) + "\n"


def _ignore_rules(project: Project) -> Tuple[IgnoreRules, str]:
    """DEFAULT_IGNORES (and a .venv or venv holding pyvenv.cfg), then the ignore file of the folder
    holding the environment (binder/'s when there is one), whose lines win."""
    defaults = list(DEFAULT_IGNORES) + [f"/{d}" for d in (".venv", "venv")
                                        if os.path.isfile(os.path.join(project.root, d, "pyvenv.cfg"))]
    name = next((n for n in IGNORE_FILES if project.has(n)), None)
    rules = IgnoreRules(defaults)
    if name is None:
        return rules, "the default ignore rules"
    own = IgnoreRules.from_file(project.path(name))
    combined = IgnoreRules()
    combined.patterns = rules.patterns + own.patterns
    return combined, project.label(name)


def _left_out(root: str, rules: IgnoreRules) -> List[str]:
    """What the default rules leave out and the project's do not bring back: ``.git``, ``__pycache__ (3)``."""
    defaults = IgnoreRules(DEFAULT_IGNORES)
    counts: dict = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in list(dirnames) + filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            is_venv = rel in (".venv", "venv") and os.path.isfile(os.path.join(dirpath, name, "pyvenv.cfg"))
            if not rules.excluded(rel):
                continue
            if defaults.excluded(rel) or is_venv:
                key = "*.pyc" if name.endswith(".pyc") else name
                counts[key] = counts.get(key, 0) + 1
            if name in dirnames and not rules.may_include_below(rel):
                dirnames.remove(name)  # nothing below it goes in
    return [k if n == 1 else f"{k} ({n})" for k, n in sorted(counts.items())]
