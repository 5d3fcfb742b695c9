"""Environment images: a Containerfile and build context made from a project folder's environment files
(repo2docker's names: requirements.txt, pyproject.toml/setup.py, runtime.txt, apt.txt, postBuild, binder/)
or from a Python interpreter's installed distributions (``from_interpreter``: a frozen kernel).

The layers go base, apt packages, dependency files + ``pip install`` (with a pip cache mount), the
project's files, postBuild: editing a notebook or a module reuses every dependency layer. The host's
PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_TRUSTED_HOST reach pip as a build secret that lives only
in the uploaded context stream, never in the user's folder, a layer, the history or the config.

    env = from_folder("myproject")
    image, log = build(client.images, env, tag="localhost/myproject:latest")   # or:
    client.images.build(tag="localhost/myproject:latest", **env.build_kwargs())
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import tarfile
import tempfile
from typing import IO, Any, Dict, List, Mapping, Optional, Tuple

from ..errors import BuildError, InvalidArgument
from .build_context import IGNORE_FILES, SPOOL_MAX_BYTES, IgnoreRules, _add_tree

SUPPORTED_PYTHONS = tuple(f"3.{minor}" for minor in range(8, 15))  # official python:3.X-slim images
SUPPORTED_BASES = ("official Python images (docker.io/library/python:3.X and 3.X-slim, Debian-based), "
                   "or any Debian-based image whose python3 lets root pip install (no PEP 668 marker)")
WORKDIR = "/srv/project"
DEPS_DIR = "/tmp/podman_nb-deps"
CONTAINERFILE = ".podman_nb.Containerfile"  # its name in the context: apart from a project's own
MARK = "podman_nb: "  # build steps' own failures start with this, so build() can show just the sentence
_PIP_CACHE = "--mount=type=cache,target=/root/.cache/pip"
_PIP_SECRET = "--mount=type=secret,id=pipconf,target=/etc/pip.conf"
_PIP = "PIP_ROOT_USER_ACTION=ignore python3 -m pip install --disable-pip-version-check"
_PIP_SETTINGS = (("PIP_INDEX_URL", "index-url"), ("PIP_EXTRA_INDEX_URL", "extra-index-url"),
                 ("PIP_TRUSTED_HOST", "trusted-host"))
_UNSUPPORTED = {"environment.yml": "environment.yml (conda)", "environment.yaml": "environment.yaml (conda)",
                "install.R": "install.R (R)", "DESCRIPTION": "DESCRIPTION (R)", "Project.toml": "Project.toml (Julia)",
                "JuliaProject.toml": "JuliaProject.toml (Julia)", "REQUIRE": "REQUIRE (Julia)",
                "Pipfile": "Pipfile (pipenv)", "Pipfile.lock": "Pipfile.lock (pipenv)", "default.nix": "default.nix (Nix)",
                "start": "start (a launch script)"}
_FREEZE_SKIP = {"pip", "setuptools", "wheel", "distribute"}  # as `pip freeze` leaves them out
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
_FREEZE_SCRIPT = r"""
import json, os, re, site, sys
from importlib import metadata
found = {}
sites = {os.path.realpath(p) for p in site.getsitepackages() + [site.getusersitepackages()]}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    key = re.sub(r"[-_.]+", "-", name or "").lower()
    if not name or key in found:
        continue
    where = os.path.realpath(str(dist.locate_file("")))
    direct = dist.read_text("direct_url.json")
    if not direct and where not in sites:  # an egg-link (setup.py develop) or a path on sys.path
        direct = json.dumps({"url": "file://" + where, "dir_info": {"editable": True}})
    found[key] = [name, dist.version, direct]
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "distributions": list(found.values())}))
"""


class Environment:
    """A Containerfile (``containerfile``) with the files it needs; ``build_kwargs()`` feeds ``images.build``.

    ``warnings`` lists what the image leaves out (unsupported files, unreproducible distributions);
    ``base`` and ``python`` say what it starts from. Host pip index settings, when set, go in as a
    build secret: they appear in no attribute and no repr.
    """

    def __init__(self, source: str, base: str, python: Optional[str], containerfile: str,
                 warnings: List[str], root: Optional[str] = None, ignore_lines: Tuple[str, ...] = (),
                 pip_config: Optional[bytes] = None):
        self.source, self.base, self.python = source, base, python
        self.containerfile, self.warnings = containerfile, warnings
        self._root, self._ignore_lines, self._pip_config = root, ignore_lines, pip_config

    def __repr__(self) -> str:
        return f"Environment(source={self.source!r}, base={self.base!r}, python={self.python!r})"

    def context(self) -> Tuple[IO[bytes], Optional[str]]:
        """``(tar, secret_name)``: the build context and the name of the pip settings file in it (None
        when there are none). It holds the project's files as ``%%image_build --context FOLDER`` would
        send them (the project's ignore rules applied here) beside the Containerfile, the secret and an
        ignore file that keeps those two out of ``COPY .``. Nothing is written into the folder."""
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)
        secret = f".pipconf-{secrets.token_hex(8)}" if self._pip_config else None
        extra = {CONTAINERFILE: self.containerfile.encode(),
                 IGNORE_FILES[0]: f"{CONTAINERFILE}\n.pipconf-*\n{IGNORE_FILES[0]}\n".encode()}
        if secret:
            extra[secret] = self._pip_config
        # the project's own ignore files are replaced by the one above (their rules are applied here)
        rules = IgnoreRules([*self._ignore_lines, *(f"/{name}" for name in (*IGNORE_FILES, CONTAINERFILE))])
        try:
            with tarfile.open(fileobj=body, mode="w", format=tarfile.PAX_FORMAT,
                              encoding="utf-8", errors="surrogateescape") as tar:
                for name, content in extra.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(content), 0o600 if name == secret else 0o644
                    tar.addfile(info, io.BytesIO(content))
                if self._root is not None:
                    _add_tree(tar, self._root, "", rules, set(), [])
            body.seek(0)
        except BaseException:
            body.close()
            raise
        return body, secret

    def build_kwargs(self) -> Dict[str, Any]:
        """Keywords for ``images.build``: a ready context (a new one on each call) and the pip secret."""
        body, secret = self.context()
        kwargs: Dict[str, Any] = {"fileobj": body, "custom_context": True, "dockerfile": CONTAINERFILE}
        if secret:
            kwargs["secrets"] = [f"id=pipconf,src={secret}"]
        return kwargs


def default_base(python: str) -> str:
    return f"docker.io/library/python:{python}-slim"


def pip_config(environ: Mapping[str, str]) -> Optional[bytes]:
    """An /etc/pip.conf holding the pip index settings of ``environ`` (None when it has none)."""
    lines = [f"{key} = {' '.join(environ[var].split())}" for var, key in _PIP_SETTINGS
             if environ.get(var, "").strip()]
    return ("[global]\n" + "\n".join(lines) + "\n").encode() if lines else None


def _check_step(python: Optional[str]) -> str:
    """A step that fails with one sentence on a base without python3, of another version, or PEP 668's."""
    code = ["import os, sys, sysconfig", "v = '%d.%d' % sys.version_info[:2]"]
    if python:
        code.append(f"v == '{python}' or sys.exit('{MARK}the environment asks for Python {python}, "
                    "the base image has Python ' + v)")
    code.append("sys.prefix != sys.base_prefix or not os.path.exists(sysconfig.get_path('stdlib') + "
                f"'/EXTERNALLY-MANAGED') or sys.exit('{MARK}the Python of the base image is externally managed "
                f"(PEP 668) and refuses pip install: use an official python image such as "
                f"{default_base(python or '3.X')}')")
    return "RUN " + json.dumps(["python3", "-c", "; ".join(code)])


def _pip_step(args: str, secret: bool, cd: str = "") -> str:
    mounts = f"{_PIP_CACHE} {_PIP_SECRET}" if secret else _PIP_CACHE
    return f"RUN {mounts} \\\n    {cd}{_PIP} {args}"


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


def _choose_base(python: Optional[str], base: Optional[str], why: str) -> str:
    if base:
        return base
    if python not in SUPPORTED_PYTHONS:
        raise InvalidArgument(f"{why} asks for Python {python}, which has no official python image here "
                              f"(supported: {SUPPORTED_PYTHONS[0]} to {SUPPORTED_PYTHONS[-1]}): "
                              "change it, or name a base image with --base / base=")
    return default_base(python)


def _current_python() -> str:
    return "%d.%d" % sys.version_info[:2]


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
    chosen_base = _choose_base(python or _current_python(), base,
                               label("runtime.txt") if python else "the running Python")
    secret = pip_config(environ)
    lines = [f"# podman_nb.environment: the environment of {os.path.basename(root) or root}/",
             f"FROM {chosen_base}", f"WORKDIR {WORKDIR}", _check_step(python)]
    if has("apt.txt"):
        packages = []
        for number, line in enumerate(_read_text(os.path.join(at, "apt.txt"), label("apt.txt")).splitlines(), 1):
            for word in line.split("#", 1)[0].split():
                if not _APT_NAME.fullmatch(word):
                    raise InvalidArgument(f"{label('apt.txt')} line {number}: {word!r} is not a Debian package name")
                packages.append(word)
        if packages:
            names = " ".join(packages)
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
                      _pip_step(" ".join(["-r requirements.txt", *packages]), bool(secret), cd=f"cd {DEPS_DIR} && ")]
            packages = ()
    if packages:
        lines.append(_pip_step(" ".join(packages), bool(secret)))
    lines.append(f"COPY . {WORKDIR}/")
    if late_requirements:
        lines.append(_pip_step(f"-r {label('requirements.txt')}", bool(secret)))
    if package:
        lines.append(_pip_step(".", bool(secret)))
    if has("postBuild"):
        lines.append(f"RUN chmod +x {label('postBuild')} && ./{label('postBuild')}")
    if secret:
        lines.insert(1, "# pip index settings (PIP_INDEX_URL, ...) come in as the build secret 'pipconf', "
                        "never stored in the image")
    ignore = next((os.path.join(root, n) for n in IGNORE_FILES if os.path.isfile(os.path.join(root, n))), None)
    rules = IgnoreRules.from_file(ignore) if ignore else IgnoreRules()
    ignore_lines = tuple(p.text if not p.exception else "!" + p.text for p in rules.patterns)
    needed = [label(n) for n in ("requirements.txt", "postBuild") if has(n)] + package
    hidden = [n for n in needed if rules.excluded(n)]
    if hidden:
        raise InvalidArgument(f"{os.path.basename(ignore)} leaves out {', '.join(hidden)}, which the image needs")
    return Environment(root, chosen_base, python, "\n".join(lines) + "\n", warnings, root=root,
                       ignore_lines=ignore_lines, pip_config=secret)


def interpreter_distributions(python: Optional[str] = None) -> Dict[str, Any]:
    """``{"python": "3.11", "distributions": [[name, version, direct_url.json text or None], ...]}``
    of the interpreter ``python`` (default: this one), read by running it."""
    executable = python or sys.executable
    try:
        # run from "/": "-c" puts the working folder on sys.path, and a project's own .egg-info there (what
        # `pip install -e .` leaves) would be listed as if installed
        done = subprocess.run([executable, "-c", _FREEZE_SCRIPT], capture_output=True, text=True, timeout=120,
                              cwd=os.path.abspath(os.sep))
    except OSError as exc:
        raise InvalidArgument(f"cannot run the Python interpreter {executable}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InvalidArgument(f"cannot list what {executable} has installed: {last}")
    return json.loads(done.stdout)


def _unreproducible(direct_url: Optional[str]) -> Optional[str]:
    """Why a distribution cannot come from an index (None when it can): where it was installed from."""
    if not direct_url:
        return None
    try:
        info = json.loads(direct_url)
    except ValueError:
        return "unknown origin"
    url = str(info.get("url", ""))
    if "vcs_info" in info:
        return f"from {info['vcs_info'].get('vcs', 'VCS')} {url}"
    if "dir_info" in info:
        return f"{'editable' if info['dir_info'].get('editable') else 'local folder'} {url.replace('file://', '')}"
    if url.startswith("file:"):
        return f"local file {url.replace('file://', '')}"
    return None


def from_interpreter(python: Optional[str] = None, base: Optional[str] = None,
                     environ: Optional[Mapping[str, str]] = None) -> Environment:
    """The running interpreter's environment (or that of the interpreter at ``python``), frozen:
    its Python major.minor and every installed distribution pinned (pip, setuptools, wheel left to
    the base, as ``pip freeze`` does). Those installed from a local path, editable or from VCS
    cannot come from an index: they are named in ``warnings`` and left out."""
    environ = os.environ if environ is None else environ
    found = interpreter_distributions(python)
    version = found["python"]
    chosen_base = _choose_base(version, base, f"the interpreter {python or sys.executable}")
    pins, skipped, tools = [], [], []
    for name, dist_version, direct_url in sorted(found["distributions"], key=lambda d: d[0].lower()):
        if re.sub(r"[-_.]+", "-", name).lower() in _FREEZE_SKIP:
            tools.append(f"{name} {dist_version}")
            continue
        why = _unreproducible(direct_url)
        if why:
            skipped.append(f"{name} {dist_version} ({why})")
        elif direct_url and json.loads(direct_url).get("url"):
            pins.append(f"{name} @ {json.loads(direct_url)['url']}")
        else:
            pins.append(f"{name}=={dist_version}")
    warnings = []
    if skipped:
        warnings.append(f"{len(skipped)} installed distribution(s) cannot be reproduced from a package index "
                        f"and are not in the image: {'; '.join(skipped)}.")
    secret = pip_config(environ)
    lines = [f"# podman_nb.environment: Python {version} of {python or sys.executable}, "
             f"{len(pins)} distributions pinned"]
    if tools:  # said, not dropped silently
        lines.append(f"# left to the base's own, as `pip freeze` does: {', '.join(tools)}")
    lines += [f"FROM {chosen_base}", _check_step(version)]
    if secret:
        lines.insert(1, "# pip index settings (PIP_INDEX_URL, ...) come in as the build secret 'pipconf', "
                        "never stored in the image")
    if pins:
        lines.append(_pip_step("".join(f"\\\n        '{pin}' " for pin in pins).rstrip(), bool(secret)))
    return Environment(python or sys.executable, chosen_base, version, "\n".join(lines) + "\n", warnings,
                       pip_config=secret)


_KNOWN_FAILURES = (
    (re.compile(r"externally-managed-environment"),
     "the base image's Python is externally managed (PEP 668) and refuses pip install: use an official "
     "python image (docker.io/library/python:3.X-slim)"),
    (re.compile(r"python3[\"'`]?: (?:executable file )?not found|executable file [`\"]?python3[`\"]? not found"),
     "the base image has no python3: use an official python image (docker.io/library/python:3.X-slim)"),
    (re.compile(r"No module named pip"),
     "the base image's python3 has no pip: use an official python image (docker.io/library/python:3.X-slim)"),
    (re.compile(r"No matching distribution found for (\S+)"),
     "pip found no distribution for {0} in the package index: check the name and version, and "
     "PIP_INDEX_URL / PIP_EXTRA_INDEX_URL"),
)


def explain(error: BuildError) -> Optional[str]:
    """One sentence for an environment build's failure (None when it is not one of the known ones)."""
    log = error.build_log
    # our BuildLog's text; else podman-py's ImagesManager was given, whose build_log is the service's dicts
    lines = log.text if hasattr(log, "text") else "\n".join(
        str(line.get("stream", "")) if isinstance(line, dict) else str(line) for line in log).splitlines()
    mark, matches = None, {}
    for line in lines:
        if line.startswith(MARK):
            mark = line
        for pattern, message in _KNOWN_FAILURES:
            match = pattern not in matches and pattern.search(line)
            if match:
                matches[pattern] = message.format(*match.groups())
    if mark is not None:
        return mark[len(MARK):].strip()
    return next((matches[pattern] for pattern, _ in _KNOWN_FAILURES if pattern in matches), None)


def build(images: Any, environment: Environment, **kwargs: Any) -> Tuple[Any, Any]:
    """``images.build`` for ``environment`` (with any other build keywords): ``(Image, log)``.

    A failure that an environment file explains (an apt package that does not exist, another Python,
    a PEP 668 base, a requirement pip cannot find) raises BuildError with that sentence.
    """
    if kwargs.get("stream"):
        raise InvalidArgument("environment.build does not stream: call images.build(**env.build_kwargs()) for that")
    try:
        return images.build(**environment.build_kwargs(), **kwargs)
    except BuildError as error:
        reason = explain(error)
        if reason is None:
            raise
        raise BuildError(reason, error.build_log) from None
