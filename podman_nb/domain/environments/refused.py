"""Layouts podman_nb does not build: R, Julia and Nix. Each is refused with one sentence, before anything
is built."""

from __future__ import annotations

from ...errors import InvalidArgument
from .handler import Plan, Project

_WHY = {
    "R": "R environments (install.R, DESCRIPTION, runtime.txt r-...) are not supported by podman_nb",
    "Julia": "Julia environments (Project.toml, JuliaProject.toml, REQUIRE) are not supported by podman_nb",
    "Nix": "Nix environments (default.nix) are not supported by podman_nb",
}
_FILES = {"install.R": "R", "DESCRIPTION": "R", "Project.toml": "Julia", "JuliaProject.toml": "Julia",
          "REQUIRE": "Julia", "default.nix": "Nix"}


class Refused:
    name = "refused"
    files = tuple(_FILES) + ("runtime.txt",)

    def _found(self, project: Project):
        for name, kind in _FILES.items():
            if project.has(name):
                return name, kind
        if project.has("runtime.txt") and project.read("runtime.txt").strip().startswith("r-"):
            return "runtime.txt", "R"
        return None

    def applies(self, project: Project) -> bool:
        return self._found(project) is not None

    def contribute(self, project: Project, plan: Plan) -> None:
        name, kind = self._found(project)
        raise InvalidArgument(f"{project.root} holds {project.label(name)}: {_WHY[kind]}, so nothing was built "
                              "(a Dockerfile in the folder is built as it is)")
