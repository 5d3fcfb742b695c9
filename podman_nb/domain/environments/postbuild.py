"""postBuild: run after the project is copied, with the image's environment (``podman_nb-env``: NB_USER,
NB_UID, ~/.local/bin and $REPO_DIR/.local/bin on PATH) and the pip index settings mounted as
/etc/pip.conf through the build secret, so its ``pip install`` reaches the same index; stored nowhere."""

from __future__ import annotations

from ..containerfile_steps import SECRET_MOUNT
from .handler import OneFile, Plan, Project
from .start import ENV_SCRIPT


class PostBuild(OneFile):
    name = "postBuild"
    files = ("postBuild",)


    def contribute(self, project: Project, plan: Plan) -> None:
        label = project.label("postBuild")
        mount = f"{SECRET_MOUNT} " if plan.secret else ""
        plan.after_copy.append(f"RUN {mount}chmod +x {label} && . {ENV_SCRIPT} && ./{label}")
        plan.needed.append(label)
