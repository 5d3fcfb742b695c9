"""Environment images: the :class:`Environment` (a Containerfile, the project's files, the build secrets),
its build context (``make_build_context`` with the generated files as ``extra_files``) and its build,
whose failure says what the build log explains. Made by ``environments.from_folder`` (a project
folder's environment files, repo2docker's names and order) or ``frozen_interpreter.from_interpreter`` (a
frozen kernel); the Containerfile's steps are written by ``containerfile_steps``.

The layers go base (after a conda solver stage, for environment.yml), apt packages, the kernel's packages,
dependency files + their install (uv, with cache mounts), the project's files, postBuild: editing a notebook
or a module reuses every dependency layer. The pip index settings (the host's PIP_INDEX_URL /
PIP_EXTRA_INDEX_URL / PIP_TRUSTED_HOST, a Pipfile's sources) and a conda channel's credentials reach the
installers as build secrets that live only in the uploaded context stream, never in the user's folder, a
layer, the history or the config.

    env = from_folder("myproject")
    image, log = build(client.images, env, tag="localhost/myproject:latest")   # or:
    client.images.build(tag="localhost/myproject:latest", **env.build_kwargs())
"""

from __future__ import annotations

import secrets
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import BuildError, InvalidArgument
from ..failures import attach
from .build_context import IGNORE_FILES, IgnoreRules, make_build_context

CONTAINERFILE = ".podman_nb.Containerfile"  # its name in the context: apart from a project's own


class Environment:
    """A Containerfile (``containerfile``) with the files it needs; ``build_kwargs()`` feeds ``images.build``.

    ``warnings`` lists what the image leaves out (unsupported files, unreproducible distributions);
    ``base`` and ``python`` say what it starts from; ``left_out`` names what the context leaves out
    that no environment needs (``.git``, ``__pycache__ (3)``). Host pip index settings, when set, go in as a
    build secret: they appear in no attribute and no repr.
    """

    def __init__(self, source: str, base: str, python: Optional[str], containerfile: str,
                 warnings: List[str], root: Optional[str] = None, pip_config: Optional[bytes] = None,
                 rules: Optional[IgnoreRules] = None, left_out: Sequence[str] = (),
                 secrets: Optional[Mapping[str, bytes]] = None):
        self.source, self.base, self.python = source, base, python
        self.containerfile, self.warnings, self.left_out = containerfile, warnings, list(left_out)
        self._root, self._rules = root, rules
        self.lock_path: Optional[str] = None  # from_folder(write_lock=True): where the solved lock goes
        self._secrets = {"pipconf": pip_config} if pip_config else {}
        self._secrets.update(secrets or {})

    def __repr__(self) -> str:
        return f"Environment(source={self.source!r}, base={self.base!r}, python={self.python!r})"

    def context(self) -> Tuple[IO[bytes], Dict[str, str]]:
        """``(tar, {secret id: its file in the tar})``: the build context and the secrets in it (the pip
        settings are ``pipconf``). It holds the project's files as ``%%image_build --context FOLDER`` would
        send them (the environment's ignore rules applied: ``rules``, else the project's file) beside the
        Containerfile, the secrets and an ignore file that keeps them out of ``COPY .``. Nothing is written
        into the folder."""
        names = {key: f".secret-{secrets.token_hex(8)}" for key in self._secrets}
        extra = {CONTAINERFILE: (self.containerfile.encode(), 0o644),
                 IGNORE_FILES[0]: (f"{CONTAINERFILE}\n.secret-*\n{IGNORE_FILES[0]}\n".encode(), 0o644)}
        extra.update({names[key]: (content, 0o600) for key, content in self._secrets.items()})
        body, _, _ = make_build_context(path=self._root, dockerfile=CONTAINERFILE, extra_files=extra,
                                        rules=self._rules)
        return body, names

    def build_kwargs(self) -> Dict[str, Any]:
        """Keywords for ``images.build``: a ready context (a new one on each call) and the secrets."""
        body, names = self.context()
        kwargs: Dict[str, Any] = {"fileobj": body, "custom_context": True, "dockerfile": CONTAINERFILE}
        if names:
            kwargs["secrets"] = [f"id={key},src={name}" for key, name in names.items()]
        return kwargs


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
        raise attach(error, explain_log=True)  # str(error) is then what the build log explains
