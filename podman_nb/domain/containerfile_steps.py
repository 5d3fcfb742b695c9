"""Writing an environment image's Containerfile: the base it starts from, the step that checks its
Python, the pip steps (with a cache mount, and the host's index settings as a build secret)."""

from __future__ import annotations

import json
import sys
from typing import Mapping, Optional

from ..errors import InvalidArgument
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


def default_base(python: str) -> str:
    return f"docker.io/library/python:{python}-slim"


def pip_config(environ: Mapping[str, str]) -> Optional[bytes]:
    """An /etc/pip.conf holding the pip index settings of ``environ`` (None when it has none)."""
    lines = [f"{key} = {' '.join(environ[var].split())}" for var, key in _PIP_SETTINGS
             if environ.get(var, "").strip()]
    return ("[global]\n" + "\n".join(lines) + "\n").encode() if lines else None


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
