"""Freezing a Python interpreter: its major.minor and every installed distribution pinned, as an
:class:`~podman_nb.domain.environment_image.Environment` (what ``%image_env --freeze`` builds)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any, Dict, Mapping, Optional

from ..errors import InvalidArgument
from .containerfile_steps import check_step, choose_base, pip_config, pip_step
from .environment_image import Environment

_FREEZE_SKIP = {"pip", "setuptools", "wheel", "distribute"}  # as `pip freeze` leaves them out
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
    chosen_base = choose_base(version, base, f"the interpreter {python or sys.executable}")
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
    lines += [f"FROM {chosen_base}", check_step(version)]
    if secret:
        lines.insert(1, "# pip index settings (PIP_INDEX_URL, ...) come in as the build secret 'pipconf', "
                        "never stored in the image")
    if pins:
        lines.append(pip_step("".join(f"\\\n        '{pin}' " for pin in pins).rstrip(), bool(secret)))
    return Environment(python or sys.executable, chosen_base, version, "\n".join(lines) + "\n", warnings,
                       pip_config=secret)
