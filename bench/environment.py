"""The environment section of scripts/bench: %image_env on a small project (5 pure-Python wheels from a local
index, a notebook, a module) over the Debian Python base the tests use.

Rows: a first build (--no-cache; uv's cache mount is warm after the warm-up), a rebuild after a notebook edit,
a rebuild after a requirements.txt edit, and the baseline: a no-op %%image_build of the same Containerfile and
folder (every step cached). Goal: notebook-edit rebuild <= 1.2x that no-op build. Then the installers side by side
through the Python API: a rebuild after adding one requirement with uv (the default) and with pip
(``installer="pip"``, what every build did before). Goal: uv's <= 0.3x pip's.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import List
from unittest import mock

import envservices  # noqa: E402  (tests/envservices.py; bench.py puts tests/ on sys.path)
from harness import Results, Row, interleaved, median
from magic_runner import ipython_shell, run_magic
from services_env import Env

PINS = ["six==1.16.0", "idna==3.7", "attrs==23.2.0", "packaging==24.0", "tomli==2.0.1"]
TAG = "localhost/bench/env:latest"


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text("\n".join(PINS) + "\n")
    (root / "runtime.txt").write_text("python-3.11\n")
    (root / "analysis.py").write_text("import six, idna, attrs\n\nANSWER = 42\n")
    # %%image_build sends its cell as .containerfile.<random> in the context: keep it out of COPY . (a no-op)
    (root / ".containerignore").write_text(".containerfile.*\n.containerignore\n")
    write_notebook(root, 0)
    return root


def write_notebook(root: Path, edits: int) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": f"from analysis import ANSWER\nANSWER + {n}"} for n in range(edits + 1)]
    (root / "analysis.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                     "nbformat_minor": 5}))


def bench_environment(env: Env, res: Results, options: argparse.Namespace) -> None:
    from podman_nb import PodmanClient, environment

    reps = options.reps
    base = envservices.python_base_image(env.service)
    index = envservices.PackageIndex(env.workdir / "env-index")
    settings = mock.patch.dict(os.environ, PIP_INDEX_URL=index.url, PIP_TRUSTED_HOST="127.0.0.1")
    settings.start()
    try:
        project = _project(env.workdir / "env-project")
        shell = ipython_shell(env.base_url)
        run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
        line = f"{project} -t {TAG} --base {base}"
        edits, requirement_edits, hits = [0], [0], {}

        def magic(key, *args):
            image = run_magic(shell, *args)
            log = str(getattr(image, "build_log", ""))
            hits[key] = (log.count("--> Using cache"), log.count("STEP "))

        def first():
            magic("first", "line", "image_env", line + " --no-cache")

        def notebook_edit():
            edits[0] += 1
            write_notebook(project, edits[0])
            magic("notebook", "line", "image_env", line)

        def requirements_edit():
            requirement_edits[0] += 1  # alternately with and without one more wheel
            extra = ["pyparsing==3.1.2"] if requirement_edits[0] % 2 else []
            note = f"# edit {requirement_edits[0]}"  # never a state built before (its layers would be cached)
            (project / "requirements.txt").write_text("\n".join(PINS + extra + [note]) + "\n")
            magic("requirements", "line", "image_env", line)

        containerfile = environment.from_folder(project, base=base).containerfile  # edits do not change it

        def noop():  # runs after the requirements edit's build: every step is in the cache
            magic("noop", "cell", "image_build", f"-t {TAG} --context {project}", containerfile)

        client = PodmanClient(base_url=env.base_url)

        alone = _project(env.workdir / "env-project-installers")  # its edits leave the magic's rows alone

        def add_one(installer):  # one more requirement than last time, never a state built before
            def run():
                requirement_edits[0] += 1
                extra = [f"# {installer} {requirement_edits[0]}", "pyparsing==3.1.2"]
                (alone / "requirements.txt").write_text("\n".join(PINS + extra) + "\n")
                environment.build(client.images, environment.from_folder(alone, base=base, installer=installer),
                                  tag=f"{TAG}-{installer}", network_mode="host")
            return run

        times = interleaved({"first": first, "notebook": notebook_edit, "requirements": requirements_edit,
                             "noop": noop, "uv": add_one("uv"), "pip": add_one("pip")}, reps, before=None,
                            warmup=True)
        baseline = median(times["noop"])
        res.add(Row("environment", "no-op %%image_build of the same Containerfile and folder", baseline,
                    note="cache hits %d of %d steps" % hits["noop"], samples=times["noop"]))
        rows = [("first", "%image_env, first build (--no-cache; uv's cache mount warm)"),
                ("notebook", "%image_env after a notebook edit"),
                ("requirements", "%image_env after a requirements.txt edit")]
        for key, name in rows:
            m = median(times[key])
            res.add(Row("environment", name, m, "no-op %%image_build", m / baseline,
                        note="cache hits %d of %d steps" % hits[key], samples=times[key]))
        ratio = median(times["notebook"]) / baseline
        res.goal("%image_env rebuild after a notebook edit <= 1.2x a no-op %%image_build", f"x{ratio:.2f}",
                 ratio <= 1.2)
        pip = median(times["pip"])
        res.add(Row("environment", "rebuild after adding one requirement, pip (installer='pip')", pip,
                    samples=times["pip"]))
        uv = median(times["uv"])
        res.add(Row("environment", "rebuild after adding one requirement, uv (the default)", uv,
                    "the same with pip", uv / pip, samples=times["uv"]))
        res.goal("rebuild after adding one requirement with uv <= 0.3x the same with pip (whole builds)",
                 f"x{uv / pip:.2f}", uv / pip <= 0.3)
        res.note("environment", f"Project: {len(PINS)} pure-Python wheels ({', '.join(PINS)}) from a local index "
                 "(its URL and token passed as the pip build secret), runtime.txt, a module and a notebook; base "
                 f"{base} (Debian bookworm python3, imported offline). The requirements edit adds or removes "
                 "pyparsing, so the installer reinstalls from its cache mount, never the network. The installer rows "
                 "build the same folder through environment.build (no display); each adds pyparsing to the five "
                 "pins, so the step before it (COPY requirements.txt) and the install run again, with a warm cache: "
                 "uv's in its cache mount, pip's in its own.")
    finally:
        settings.stop()
        index.stop()
        env.cli("rmi", "-f", TAG, f"{TAG}-uv", f"{TAG}-pip", check=False)
    for text in repo2docker_note():
        res.note("environment", text)


def repo2docker_note() -> List[str]:
    return [
        "jupyter-repo2docker is not beside it. Tried with jupyter-repo2docker 2026.4.0 from PyPI, DOCKER_HOST at "
        "this Podman 4.3.1 service's socket and the same project: it stops before building, with `RuntimeError: "
        "The buildx plugin must be installed: Command '['podman', 'buildx', 'version']' returned non-zero exit "
        "status 125` (repo2docker now builds through the container CLI's `buildx build` and picks `podman` when "
        "DOCKER_HOST names a Podman socket; Podman 4.3's CLI has no `buildx version`). Not tried: the Podman 5 "
        "CLI; past that, its images start from docker.io/library/buildpack-deps and install Python with "
        "micromamba from conda-forge, which this machine cannot reach (only PyPI, Debian and npm). No figure is "
        "given rather than a guessed one."]
