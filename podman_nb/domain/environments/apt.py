"""apt.txt: Debian packages, one step before the Python packages; a name the base's sources lack fails
the build with one sentence naming it."""

from __future__ import annotations

import re

from ...errors import InvalidArgument
from ...failures import MARK
from .handler import OneFile, Plan, Project

_APT_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+:~_-]+)?")


class Apt(OneFile):
    name = "apt"
    files = ("apt.txt",)


    def contribute(self, project: Project, plan: Plan) -> None:
        label = project.label("apt.txt")
        packages = []
        for number, line in enumerate(project.read("apt.txt").splitlines(), 1):
            for word in line.split("#", 1)[0].split():
                if not _APT_NAME.fullmatch(word):
                    raise InvalidArgument(f"{label} line {number}: {word!r} is not a Debian package name")
                packages.append(word)
        if not packages:
            return
        names = " ".join(packages)
        plan.system.append(
            f"RUN set -e; apt-get update -q; missing=; \\\n"
            f"    for p in {names}; do apt-cache show \"$p\" >/dev/null 2>&1 || missing=\"$missing $p\"; done; \\\n"
            f"    if [ -n \"$missing\" ]; then echo \"{MARK}{label} names packages that the base "
            f"image's apt sources do not have:$missing\" >&2; exit 1; fi; \\\n"
            f"    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {names}; \\\n"
            f"    rm -rf /var/lib/apt/lists/*")
