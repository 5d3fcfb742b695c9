"""A Dockerfile or Containerfile: built as it is, with the project as its context; every other
environment file is left alone, with a one-line note saying so (repo2docker's rule)."""

from __future__ import annotations

from .handler import Plan, Project

NAMES = ("Containerfile", "Dockerfile")


class Dockerfile:
    name = "Dockerfile"
    files = NAMES

    def applies(self, project: Project) -> bool:
        return any(project.has(n) for n in NAMES)

    def contribute(self, project: Project, plan: Plan) -> None:
        name = next(n for n in NAMES if project.has(n))
        label = project.label(name)
        plan.containerfile = project.read(name)
        plan.needed.append(label)
        if project.base:
            plan.warnings.append(f"{label} is built as it is: --base {project.base} is not used.")
        if plan.packages:
            plan.warnings.append(f"{label} is built as it is: {', '.join(plan.packages)} is added only if it "
                                 "installs it.")
        plan.packages = ()
