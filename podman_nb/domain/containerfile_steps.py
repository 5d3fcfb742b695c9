"""Writing an environment image's Containerfile: the base it starts from, the step that checks its
Python, the install steps (uv, with a cache mount, and the host's index settings as a build secret;
pip for a frozen interpreter and on request).

uv is pip-installed (from the same index) into a cache mount the first time a step needs it, so the
image never holds it. uv reads the index settings from /etc/uv/uv.toml (``uv_config``, the secret
``uvconf``); pip from /etc/pip.conf (``pipconf``)."""

from __future__ import annotations

import json
import re
import sys
from typing import Mapping, Optional, Sequence

from ..base_errors import InvalidArgument
from ..failures import MARK

SUPPORTED_PYTHONS = tuple(f"3.{minor}" for minor in range(8, 15))  # official python:3.X-slim images
SUPPORTED_BASES = ("official Python images (docker.io/library/python:3.X and 3.X-slim, Debian-based), "
                   "or any Debian-based image whose python3 lets root pip install (no PEP 668 marker)")
WORKDIR = "/srv/project"
DEPS_DIR = "/tmp/podman_nb-deps"
ENTRYPOINT = "/usr/local/bin/podman_nb-entrypoint"  # runs `start`; container kernels start through it
_PIP_CACHE = "--mount=type=cache,target=/root/.cache/pip"
SECRET_MOUNT = "--mount=type=secret,id=pipconf,target=/etc/pip.conf"  # the pip settings, never stored
_PIP = "PIP_ROOT_USER_ACTION=ignore python3 -m pip install --disable-pip-version-check"
_PIP_SETTINGS = (("PIP_INDEX_URL", "index-url"), ("PIP_EXTRA_INDEX_URL", "extra-index-url"),
                 ("PIP_TRUSTED_HOST", "trusted-host"))
UV_VERSION = "0.13.9"
_UV_SETTINGS = (("PIP_INDEX_URL", "index-url", False), ("PIP_EXTRA_INDEX_URL", "extra-index-url", True),
                ("PIP_TRUSTED_HOST", "allow-insecure-host", True))
UV_SECRET_MOUNT = "--mount=type=secret,id=uvconf,target=/etc/uv/uv.toml"
_UV_HOME = f"/root/.cache/podman_nb-uv/{UV_VERSION}"  # in a cache mount: uv is in no layer
_UV_MOUNTS = ("--mount=type=cache,target=/root/.cache/podman_nb-uv", "--mount=type=cache,target=/root/.cache/uv")
# pip's behaviour where uv's differs: every index searched for the best version, bytecode compiled, files copied
_UV = (f"UV_LINK_MODE=copy {_UV_HOME}/bin/uv pip install --system --index-strategy unsafe-best-match "
       "--compile-bytecode")


def default_base(python: str) -> str:
    return f"docker.io/library/python:{python}-slim"


def pip_config(environ: Mapping[str, str]) -> Optional[bytes]:
    """An /etc/pip.conf holding the pip index settings of ``environ`` (None when it has none)."""
    lines = [f"{key} = {' '.join(environ[var].split())}" for var, key in _PIP_SETTINGS
             if environ.get(var, "").strip()]
    return ("[global]\n" + "\n".join(lines) + "\n").encode() if lines else None


def uv_config(environ: Mapping[str, str]) -> Optional[bytes]:
    """An /etc/uv/uv.toml holding the pip index settings of ``environ`` (None when it has none)."""
    lines = []
    for var, key, many in _UV_SETTINGS:
        values = environ.get(var, "").split()
        if values:
            lines.append(f"{key} = {json.dumps(values if many else values[0])}")
    return ("\n".join(lines) + "\n").encode() if lines else None


def install_step(args: str, secret: bool, cd: str = "") -> str:
    """``uv pip install ARGS``: uv is pip-installed once (from the same index) into a cache mount, its own
    cache is another, and the index settings come in as secrets (pip's for uv itself, uv's for ARGS)."""
    mounts = _UV_MOUNTS + ((SECRET_MOUNT, UV_SECRET_MOUNT) if secret else ())
    get_uv = pip_once(_UV_HOME, f"uv=={UV_VERSION}", f"{_UV_HOME}/bin/uv")
    return "RUN " + " \\\n    ".join(mounts + (get_uv, cd + _UV + " " + args))


def copy_step(sources: Sequence[str], destination: str) -> str:
    """``COPY SOURCES DESTINATION``, in the JSON form when a name holds a space, a quote or a backslash."""
    words = [*sources, destination]
    if any(char in word for word in words for char in ' \t"\'\\'):
        return "COPY " + json.dumps(words)
    return "COPY " + " ".join(words)


def env_step(values: Mapping[str, str]) -> str:
    """``ENV NAME=VALUE ...``, each value as written (unless plain, quoted with ``"``, ``\\`` and ``$`` escaped)."""
    quoted = {name: value if re.fullmatch(r"[\w./:,+=@%-]+", value) else
              '"' + re.sub(r'(["\\$])', r"\\\1", value) + '"' for name, value in values.items()}
    return "ENV " + " ".join(f"{name}={value}" for name, value in quoted.items())


def pip_once(home: str, requirement: str, marker: str) -> str:
    """A shell line that pip-installs ``requirement`` into ``home`` (a folder in a cache mount, so no layer holds
    it) unless ``marker`` is there already; the step then runs the tool from ``home``."""
    return f"[ -x {marker} ] || {_PIP} -q --target {home} {requirement} || exit 1;"


def check_step(python: Optional[str]) -> str:
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


def pip_step(args: str, secret: bool, cd: str = "") -> str:
    mounts = f"{_PIP_CACHE} {SECRET_MOUNT}" if secret else _PIP_CACHE
    return f"RUN {mounts} \\\n    {cd}{_PIP} {args}"


def choose_base(python: Optional[str], base: Optional[str], why: str) -> str:
    if base:
        return base
    if python not in SUPPORTED_PYTHONS:
        raise InvalidArgument(f"{why} asks for Python {python}, which has no official python image here "
                              f"(supported: {SUPPORTED_PYTHONS[0]} to {SUPPORTED_PYTHONS[-1]}): "
                              "change it, or name a base image with --base / base=")
    return default_base(python)


def current_python() -> str:
    return "%d.%d" % sys.version_info[:2]
