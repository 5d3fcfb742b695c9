"""start, and the environment every command of the image runs in (repo2docker's conventions).

Every environment image gets ``podman_nb-env`` (sourced: NB_USER/NB_UID default to the user the command
runs as, ~/.local/bin and $REPO_DIR/.local/bin go on PATH) and ``podman_nb-entrypoint``, its
ENTRYPOINT, which sources it and then runs the project's ``start`` with the command (``start`` ends with
``exec "$@"``), or the command itself. Container kernels start through the entrypoint too.
"""

from __future__ import annotations

import json
from typing import Optional

from ..containerfile_steps import ENTRYPOINT, WORKDIR
from .handler import OneFile, Plan, Project

ENV_SCRIPT = "/usr/local/bin/podman_nb-env"


class Start(OneFile):
    name = "start"
    files = ("start",)


    def contribute(self, project: Project, plan: Plan) -> None:
        plan.start = project.label("start")
        plan.needed.append(plan.start)
        plan.after_copy.insert(0, f"RUN chmod +x {plan.start}")


def entrypoint_steps(start: Optional[str]) -> list:
    """The step writing the two scripts, ENTRYPOINT and CMD: early, as they change only when ``start`` comes
    or goes (``Start`` makes the copied file executable)."""
    env = ['export NB_USER="${NB_USER:-$(id -un 2>/dev/null || echo root)}" NB_UID="${NB_UID:-$(id -u)}"',
           'export PATH="${HOME:-/root}/.local/bin:$REPO_DIR/.local/bin:$PATH"']
    run = f'exec {WORKDIR}/{start} "$@"' if start else 'exec "$@"'
    entry = ["#!/bin/sh", f". {ENV_SCRIPT}", run]
    return [f"RUN printf '%s\\n' {_quoted(env)} > {ENV_SCRIPT} && \\\n"
            f"    printf '%s\\n' {_quoted(entry)} > {ENTRYPOINT} && chmod +x {ENTRYPOINT}",
            f"ENTRYPOINT {json.dumps([ENTRYPOINT])}", 'CMD ["python3"]']


def _quoted(lines: list) -> str:
    return " ".join("'" + line.replace("'", "'\\''") + "'" for line in lines)
