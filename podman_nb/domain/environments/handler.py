"""What environment handlers share: the :class:`Project` they read (its files read once, as UTF-8 with or
without a BOM), the :class:`Plan` they write into, and ``split_credentials`` for URLs that carry them.

A handler is an object with ``name``, ``files`` (the file names it reads, relative to the folder
holding the environment: the project, or its binder/), ``applies(project)`` and
``contribute(project, plan)``. ``compose`` calls ``contribute`` of the handlers that apply, in its
order, on one :class:`Plan`, then writes the Containerfile from the plan.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit, urlunsplit

from ...errors import InvalidArgument
from ..containerfile_steps import install_step, pip_step


class Project:
    """A project folder as handlers see it: ``root`` (the build context, copied to ``/srv/project``) and
    ``env_dir`` (``""``, ``"binder"`` or ``".binder"``: where the environment files are read), ``environ``
    (the host's environment variables) and ``base`` (the base image the user named, or None)."""

    def __init__(self, root: str, env_dir: str, environ: Mapping[str, str], base: Optional[str] = None):
        self.root, self.env_dir, self.environ, self.base = root, env_dir, environ, base  # base: --base

    def path(self, name: str) -> str:
        return os.path.join(self.root, self.env_dir, name)

    def has(self, name: str) -> bool:
        return os.path.isfile(self.path(name))

    def label(self, name: str) -> str:
        """``name`` as the context (and a person) sees it: ``binder/requirements.txt``."""
        return f"{self.env_dir}/{name}" if self.env_dir else name

    def read(self, name: str) -> str:
        try:
            with open(self.path(name), encoding="utf-8-sig") as file:  # a BOM (Windows editors) is dropped
                return file.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read {self.label(name)}: {getattr(exc, 'strerror', None) or exc}") from None


@dataclass
class Plan:
    """What the handlers contribute, in the Containerfile's order:

    ``base`` (the final FROM's default: None picks python:X.Y-slim for ``python``), ``env`` (ENV of the
    final image), ``path`` (folders put first on PATH), ``system`` (steps before the Python packages:
    apt), ``packages`` (pip requirements the caller adds, e.g. ipykernel: a handler that installs them
    itself empties the tuple, else they get a pip step of their own before ``dependencies``),
    ``dependencies`` (steps before ``COPY .``: they copy the files they need themselves),
    ``after_copy`` (steps after the project is copied: ``pip install .``, postBuild), ``start`` (the
    script run before every command), ``needed`` (context files the ignore rules must not leave out),
    ``warnings`` (one sentence each).
    ``python`` is the Python version asked for (``python_source`` says who asked); ``check_python``
    False skips the step checking the base image's Python (a handler that brings its own).
    ``containerfile``, when a handler sets it, is used as is and everything else is ignored.
    ``install(args)`` writes a step installing Python packages (uv, or pip with ``installer="pip"``).
    ``indexes`` and ``trusted`` are extra index URLs and hosts (a Pipfile's sources): ``add_index`` adds one,
    and compose puts them into the pip settings secret beside the host's, never into a step.
    ``secret`` says the pip settings go in as the build secret ``pipconf`` (SECRET_MOUNT mounts it as
    /etc/pip.conf); ``secrets`` adds others (a step mounts ``--mount=type=secret,id=ID,target=PATH``).
    """

    python: Optional[str] = None
    python_source: str = "the running Python"
    check_python: bool = True
    base: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)
    path: List[str] = field(default_factory=list)
    system: List[str] = field(default_factory=list)
    packages: Tuple[str, ...] = ()
    dependencies: List[str] = field(default_factory=list)
    after_copy: List[str] = field(default_factory=list)
    start: Optional[str] = None
    needed: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    containerfile: Optional[str] = None
    secret: bool = False  # set by compose and add_index: the pip settings exist, so install steps mount them
    secrets: Dict[str, bytes] = field(default_factory=dict)  # more build secrets: id -> content, never stored
    private: List[str] = field(default_factory=list)  # context files left out: they hold credentials
    installer: str = "uv"  # or "pip": what ``install`` writes
    write_lock: bool = False  # the conda handler's step solves and writes a lock instead (%image_env --lock)
    indexes: List[str] = field(default_factory=list)  # extra index URLs: in the secret only (they may hold tokens)
    trusted: List[str] = field(default_factory=list)  # hosts whose TLS is not checked

    def add_index(self, url: str, trusted_host: Optional[str] = None) -> None:
        """An extra index for every install step, through the pip settings secret (so steps mount it)."""
        self.indexes += [url] if url not in self.indexes else []
        self.trusted += [trusted_host] if trusted_host and trusted_host not in self.trusted else []
        self.secret = True

    def install(self, args: str, cd: str = "") -> str:
        """The step installing ``args`` (pip's arguments: -r FILE, -c FILE, -e ., NAME==VERSION) with the
        chosen installer, from the configured index; ``cd`` is a shell prefix (``cd DIR && ``)."""
        return (install_step if self.installer == "uv" else pip_step)(args, self.secret, cd=cd)


def split_credentials(url: str) -> Tuple[str, Optional[str]]:
    """``(url without user:password@, "Basic ..." or None)``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return urlunsplit(parts._replace(netloc=netloc)), "Basic " + base64.b64encode(pair.encode()).decode()


class OneFile:
    """A handler that applies when its file (``files[0]``) is in the folder holding the environment."""

    name = ""
    files: Tuple[str, ...] = ()

    def applies(self, project: Project) -> bool:
        return project.has(self.files[0])

    def contribute(self, project: Project, plan: Plan) -> None:
        raise NotImplementedError
