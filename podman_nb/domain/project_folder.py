"""Reading a project folder's environment files (repo2docker's names: requirements.txt, pyproject.toml/setup.py,
runtime.txt, apt.txt, postBuild, binder/) into an :class:`~podman_nb.domain.environment_image.Environment`."""

from __future__ import annotations

import os
import re
from typing import Any, List, Mapping, Optional, Tuple

from ..errors import InvalidArgument
from ..failures import MARK
from .build_context import IGNORE_FILES, IgnoreRules
from .containerfile_steps import DEPS_DIR, WORKDIR, check_step, choose_base, current_python, pip_config, pip_step
from .environment_image import Environment

_UNSUPPORTED = {"environment.yml": "environment.yml (conda)", "environment.yaml": "environment.yaml (conda)",
                "install.R": "install.R (R)", "DESCRIPTION": "DESCRIPTION (R)", "Project.toml": "Project.toml (Julia)",
                "JuliaProject.toml": "JuliaProject.toml (Julia)", "REQUIRE": "REQUIRE (Julia)",
                "Pipfile": "Pipfile (pipenv)", "Pipfile.lock": "Pipfile.lock (pipenv)", "default.nix": "default.nix (Nix)",
                "start": "start (a launch script)"}
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION_SPEC = r"(?:===|==|~=|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_REQUIREMENT = re.compile(rf"{_NAME}\s*(?:\[\s*(?:{_NAME}\s*(?:,\s*{_NAME}\s*)*)?\])?\s*"
                          rf"(?:\(?\s*{_VERSION_SPEC}(?:\s*,\s*{_VERSION_SPEC})*\s*\)?|@\s*\S+)?\s*(?:;.*)?")
_OPTIONS_WITH_FILE = ("-r", "--requirement", "-c", "--constraint")
_OPTIONS = _OPTIONS_WITH_FILE + ("-e", "--editable", "-i", "--index-url", "--extra-index-url", "--no-index",
                                 "-f", "--find-links", "--pre", "--trusted-host", "--prefer-binary",
                                 "--only-binary", "--no-binary", "--use-feature", "--require-hashes",
                                 "--hash", "--config-settings", "-Z", "--always-unzip")
_APT_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+:~_-]+)?")


def _read_text(path: str, label: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read {label}: {getattr(exc, 'strerror', None) or exc}") from None


def _requirement_lines(text: str) -> List[Tuple[int, str]]:
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


def _parse_requirements(path: str, label: str) -> Tuple[List[str], bool]:
    """(files it includes with -r/-c, whether it installs something from the project itself).

    Raises InvalidArgument naming the first line pip could not read.
    """
    included, local = [], False
    for number, line in _requirement_lines(_read_text(path, label)):
        where = f"{label} line {number}"
        if line.startswith("-"):
            option, value = _split_option(line)
            if option not in _OPTIONS:
                raise InvalidArgument(f"{where}: {option!r} is not a pip requirements option")
            if option in _OPTIONS_WITH_FILE:
                if not value or "/" in value or value.startswith("."):
                    raise InvalidArgument(f"{where}: {option} {value!r}: only files next to {label} can be included")
                included.append(value)
            if option in ("-e", "--editable") and "://" not in value:
                local = True
            continue
        if "://" in line:
            continue  # a URL: pip fetches it
        if line.startswith((".", "/", "~")) or line.startswith("file:"):
            local = True
            continue
        if not _REQUIREMENT.fullmatch(line.split(" --hash", 1)[0].strip()):
            raise InvalidArgument(f"{where}: {line!r} is not a requirement pip can read "
                                  "(expected NAME, NAME==VERSION, NAME>=VERSION, NAME[extra], ...)")
    return included, local


def _split_option(line: str) -> Tuple[str, str]:
    """``("-r", "other.txt")`` for ``-r other.txt``, ``-rother.txt`` or ``--requirement=other.txt``."""
    match = re.match(r"(--[A-Za-z-]+|-[A-Za-z])(?:[\s=]*(.*))?$", line)
    return (match.group(1), (match.group(2) or "").strip()) if match else (line, "")


def _runtime_python(path: str, label: str) -> Optional[str]:
    text = _read_text(path, label).strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)(?:\.\d+)?", text)
    if text.startswith("r-"):
        raise InvalidArgument(f"{label} asks for R ({text!r}), which podman_nb does not support yet")
    if not match:
        raise InvalidArgument(f"{label} must say python-3.X (e.g. python-3.11), not {text[:40]!r}")
    return f"{match.group(1)}.{match.group(2)}"


def from_folder(path: Any, base: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
                packages: Tuple[str, ...] = ()) -> Environment:
    """The environment that ``path``'s files describe (see the module's docstring); nothing is built.

    ``base`` overrides the base image (default: python:X.Y-slim for runtime.txt's Python, else the
    running one's); ``environ`` (default os.environ) supplies the pip index settings; ``packages``
    (e.g. ``("ipykernel",)``) are pip-installed with requirements.txt, before the project's files (a
    version the requirements pin wins).
    """
    environ = os.environ if environ is None else environ
    try:
        root = os.path.abspath(os.path.expanduser(os.fsdecode(path)))
    except TypeError:
        raise InvalidArgument(f"the project folder must be a str or path, not {type(path).__name__}") from None
    if not os.path.isdir(root):
        raise InvalidArgument(f"project folder {root} {'is not a folder' if os.path.exists(root) else 'does not exist'}")
    binders = [d for d in ("binder", ".binder") if os.path.isdir(os.path.join(root, d))]
    if len(binders) > 1:
        raise InvalidArgument(f"{root} has both binder/ and .binder/: keep one")
    env_dir = binders[0] if binders else ""
    at = os.path.join(root, env_dir)

    def has(name: str, where: str = at) -> bool:
        return os.path.isfile(os.path.join(where, name))

    def label(name: str) -> str:
        return f"{env_dir}/{name}" if env_dir else name

    warnings = []
    unsupported = [what for name, what in _UNSUPPORTED.items() if has(name)]
    for what in unsupported:
        warnings.append(f"{label(what)} is not supported yet: what it lists is not installed.")
    package = [] if env_dir else [n for n in ("pyproject.toml", "setup.py") if has(n)]
    supported = [n for n in ("requirements.txt", "apt.txt", "postBuild", "runtime.txt") if has(n)] + package
    if unsupported and not supported:
        raise InvalidArgument(f"{root} describes its environment only with {', '.join(unsupported)}, which "
                              "podman_nb does not support yet: add a requirements.txt (and apt.txt) instead")
    if env_dir:
        ignored = [n for n in ("requirements.txt", "apt.txt", "postBuild", "runtime.txt", "setup.py",
                               "pyproject.toml") if has(n, root)]
        if ignored:
            warnings.append(f"{env_dir}/ holds the environment, so {', '.join(ignored)} at the top is not used "
                            "(as in repo2docker).")

    python = _runtime_python(os.path.join(at, "runtime.txt"), label("runtime.txt")) if has("runtime.txt") else None
    chosen_base = choose_base(python or current_python(), base,
                               label("runtime.txt") if python else "the running Python")
    secret = pip_config(environ)
    lines = [f"# podman_nb.environment: the environment of {os.path.basename(root) or root}/",
             f"FROM {chosen_base}", f"WORKDIR {WORKDIR}", check_step(python)]
    if has("apt.txt"):
        apt_packages = []
        for number, line in enumerate(_read_text(os.path.join(at, "apt.txt"), label("apt.txt")).splitlines(), 1):
            for word in line.split("#", 1)[0].split():
                if not _APT_NAME.fullmatch(word):
                    raise InvalidArgument(f"{label('apt.txt')} line {number}: {word!r} is not a Debian package name")
                apt_packages.append(word)
        if apt_packages:
            names = " ".join(apt_packages)
            lines.append(
                f"RUN set -e; apt-get update -q; missing=; \\\n"
                f"    for p in {names}; do apt-cache show \"$p\" >/dev/null 2>&1 || missing=\"$missing $p\"; done; \\\n"
                f"    if [ -n \"$missing\" ]; then echo \"{MARK}{label('apt.txt')} names packages that the base "
                f"image's apt sources do not have:$missing\" >&2; exit 1; fi; \\\n"
                f"    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {names}; \\\n"
                f"    rm -rf /var/lib/apt/lists/*")
    late_requirements = False
    if has("requirements.txt"):
        included, late_requirements = _parse_requirements(os.path.join(at, "requirements.txt"),
                                                          label("requirements.txt"))
        for name in included:
            if not has(name):
                raise InvalidArgument(f"{label('requirements.txt')} includes {name}, which does not exist")
            _parse_requirements(os.path.join(at, name), label(name))
        if late_requirements:
            warnings.append(f"{label('requirements.txt')} installs from the project itself, so its packages "
                            "install after the project's files are copied: any file edit reinstalls them.")
        else:
            sources = " ".join(label(n) for n in ["requirements.txt", *dict.fromkeys(included)])
            lines += [f"COPY {sources} {DEPS_DIR}/",
                      pip_step(" ".join(["-r requirements.txt", *packages]), bool(secret), cd=f"cd {DEPS_DIR} && ")]
            packages = ()
    if packages:
        lines.append(pip_step(" ".join(packages), bool(secret)))
    lines.append(f"COPY . {WORKDIR}/")
    if late_requirements:
        lines.append(pip_step(f"-r {label('requirements.txt')}", bool(secret)))
    if package:
        lines.append(pip_step(".", bool(secret)))
    if has("postBuild"):
        lines.append(f"RUN chmod +x {label('postBuild')} && ./{label('postBuild')}")
    if secret:
        lines.insert(1, "# pip index settings (PIP_INDEX_URL, ...) come in as the build secret 'pipconf', "
                        "never stored in the image")
    ignore = next((os.path.join(root, n) for n in IGNORE_FILES if os.path.isfile(os.path.join(root, n))), None)
    rules = IgnoreRules.from_file(ignore) if ignore else IgnoreRules()
    needed = [label(n) for n in ("requirements.txt", "postBuild") if has(n)] + package
    hidden = [n for n in needed if rules.excluded(n)]
    if hidden:
        raise InvalidArgument(f"{os.path.basename(ignore)} leaves out {', '.join(hidden)}, which the image needs")
    return Environment(root, chosen_base, python, "\n".join(lines) + "\n", warnings, root=root, pip_config=secret)
