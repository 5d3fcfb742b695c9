"""The conda section of scripts/bench (``--only conda``, not in the default run): issue 27 §4's goals for an
environment.yml project, against the offline channel of the tests (tests/condachannel.py: python 3.11, pip,
pnb-data) served on loopback behind a token (named through CONDA_CHANNEL_ALIAS), py-rattler from the token-guarded
wheel index of tests/envservices.py, over the Debian Python base the tests use.

Peers, timed round-robin in one run (each rebuild through environment.build, with a progress callback that stamps
each build step as its STEP line arrives):
- "no-op": the unchanged project built again (every step cached), the baseline of the notebook goal;
- "notebook edit": the same project after its notebook changed (goal: <= 1.2x the no-op);
- "environment.yml edit": a copy of the project whose environment.yml asks for ``pnb-data >=0.N`` with a new N
  each time, so the solve and install step and every later step run again, on a warm service;
- "py-rattler outside a build": conda_install.py (the script the build's step runs) with this machine's Python and
  py-rattler, the same request (channels, specs) read from the Containerfile, a fresh repodata cache and prefix,
  the token in an auth file; once with a fresh package cache too, once with a package cache kept between runs, as
  the build keeps its own in a cache mount (goal: the build's solve and install step <= 1.2x that);
- "floor of one RUN step": a --no-cache build of ``FROM base`` + ``RUN true`` (a container started, a layer
  committed), what any step costs beyond its work.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import condachannel  # noqa: E402  (tests/condachannel.py; bench.py puts tests/ on sys.path)
import envservices  # noqa: E402
from environment import write_notebook  # the same notebook edit as the pip project's
from harness import Results, Row, interleaved, median
from services_env import Env

TAG = "localhost/bench/conda"
RECORD = re.compile(r"  \S+ \S+ \S+ \(http\S+\)")  # a solved record, as conda_install.py prints it
SOLVED = "(solved) "


def _environment_yml(minimum: int) -> str:
    return f"channels: [pnb]\ndependencies:\n  - python=3.11\n  - pnb-data >=0.{minimum}\n"


def _project(root: Path, minimum: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "environment.yml").write_text(_environment_yml(minimum))
    (root / "analysis.py").write_text("ANSWER = 42\n")
    write_notebook(root, 0)
    return root


class StepClock:
    """A build's progress callback: the seconds each step took (its STEP line to the next one, or the result),
    the install step cut in two where it prints the solved records (``  NAME VERSION BUILD (CHANNEL)``)."""

    def __init__(self):
        self.marks: List[tuple] = []  # (time, instruction or None for the result)

    def __call__(self, event) -> None:
        from podman_nb.domain import events
        now = time.perf_counter()
        if isinstance(event, events.Step):
            self.marks.append((now, event.instruction))
        elif isinstance(event, events.LogLine) and RECORD.fullmatch(event.text.rstrip("\n")):
            if not self.marks[-1][1].startswith(SOLVED):
                self.marks.append((now, SOLVED + self.marks[-1][1]))
            self.marks[-1] = (now, self.marks[-1][1])  # the last record printed
        elif isinstance(event, events.Result):
            self.marks.append((now, None))

    def durations(self) -> List[tuple]:
        return [(what, end - start) for (start, what), (end, _) in zip(self.marks, self.marks[1:])]


def _request(containerfile: str) -> dict:
    """The install step's JSON request, as the Containerfile passes it."""
    match = re.search(r"python3 \S+/install\.py (.+)$", containerfile, re.M)
    return json.loads(shlex.split(match.group(1))[0])


class Peers:
    """The timed methods, on two copies of the project (one edited in its notebook, one in environment.yml)."""

    def __init__(self, env: Env, client, base: str, environ: Dict[str, str]):
        self.client, self.base, self.environ, self.workdir = client, base, environ, env.workdir
        self.edited = _project(env.workdir / "conda-notebook", 1)
        self.solved = _project(env.workdir / "conda-solve", 1)
        self.outside = env.workdir / "conda-outside"
        self.counters = {"notebook": 0, "solve": 1}
        self.steps: Dict[str, List[List[tuple]]] = {}
        self.request: dict = {}
        self.auth = env.workdir / "conda-auth.json"

    def build(self, key: str, project: Path, tag: str):
        from podman_nb import environment
        clock = StepClock()
        made = environment.from_folder(project, base=self.base, environ=self.environ)
        environment.build(self.client.images, made, tag=tag, network_mode="host", progress=clock)
        self.steps.setdefault(key, []).append(clock.durations())
        return made

    def noop(self):
        return self.build("noop", self.edited, f"{TAG}-notebook")

    def notebook_edit(self):
        self.counters["notebook"] += 1
        write_notebook(self.edited, self.counters["notebook"])
        self.build("notebook", self.edited, f"{TAG}-notebook")

    def environment_edit(self):
        self.counters["solve"] += 1
        (self.solved / "environment.yml").write_text(_environment_yml(self.counters["solve"]))
        self.build("solve", self.solved, f"{TAG}-solve")

    def before(self):  # untimed: the outside peer's prefix and caches of the last run go
        shutil.rmtree(self.outside, ignore_errors=True)
        self.outside.mkdir(parents=True)

    def py_rattler(self, packages: Path = None):
        from podman_nb.domain.environments import conda_install
        here = dict(self.request, prefix=str(self.outside / "prefix"))
        kept = {"PODMAN_NB_CONDA_PKGS": str(packages)} if packages else {}
        subprocess.run([sys.executable, conda_install.__file__, json.dumps(here)], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "PODMAN_NB_CONDA_AUTH": str(self.auth),
                                                       "TMPDIR": str(self.outside), **kept})

    def empty_step(self):  # the floor of any RUN step: a container started, a layer committed
        self.client.images.build(fileobj=io.BytesIO(f"FROM {self.base}\nRUN true\n".encode()), nocache=True,
                                 tag=f"{TAG}-empty", network_mode="host")


def bench_conda(env: Env, res: Results, options: argparse.Namespace) -> None:
    from podman_nb import PodmanClient

    base = envservices.python_base_image(env.service)
    index = envservices.PackageIndex(env.workdir / "conda-index")
    condachannel.ensure_rattler_wheel()
    channel = condachannel.make_channel(env.workdir / "conda-channels" / "pnb")
    server = condachannel.ChannelServer(channel.parent, env.workdir)
    environ = {"CONDA_CHANNEL_ALIAS": server.alias, "PIP_INDEX_URL": index.url, "PIP_TRUSTED_HOST": "127.0.0.1"}
    client = PodmanClient(base_url=env.base_url)
    peers = Peers(env, client, base, environ)
    try:
        peers.request = _request(peers.noop().containerfile)
        peers.auth.write_text(json.dumps({server.plain_url("pnb") + "/": "Basic " + base64.b64encode(
            f"pnb:{server.token}".encode()).decode()}))
        peers.steps.clear()
        times = interleaved({"noop": peers.noop, "notebook": peers.notebook_edit, "solve": peers.environment_edit,
                             "outside": peers.py_rattler, "empty": peers.empty_step,
                             "outside-kept": lambda: peers.py_rattler(env.workdir / "conda-outside-pkgs")},
                            options.reps, before=peers.before, warmup=True)
        _report(res, times, peers.steps, base, peers.request, options)
    finally:
        client.close()
        server.stop()
        index.stop()
        shutil.rmtree(peers.outside, ignore_errors=True)
        env.cli("rmi", "-f", f"{TAG}-notebook", f"{TAG}-solve", f"{TAG}-empty", check=False)


def _step_median(steps: List[List[tuple]], pick) -> float:
    return median([sum(t for what, t in run if pick(what or "")) for run in steps])


def _report(res: Results, times, steps, base: str, request: dict, options) -> None:
    noop = median(times["noop"])
    res.add(Row("conda", "no-op rebuild of the conda project (every step cached)", noop, samples=times["noop"]))
    notebook = median(times["notebook"])
    res.add(Row("conda", "rebuild after a notebook edit", notebook, "no-op", notebook / noop,
                samples=times["notebook"]))
    res.goal("conda project: %image_env rebuild after a notebook edit <= 1.2x a no-op build", f"x{notebook / noop:.2f}",
             notebook / noop <= 1.2)
    fresh = median(times["outside"])
    res.add(Row("conda", "py-rattler outside a build: solve + install, fresh repodata and package caches", fresh,
                samples=times["outside"]))
    outside = median(times["outside-kept"])
    res.add(Row("conda", "py-rattler outside a build: solve + install, fresh repodata cache, package cache kept (as "
                "the build's cache mount)", outside, "py-rattler, fresh caches", outside / fresh,
                samples=times["outside-kept"]))
    solve = median(times["solve"])
    res.add(Row("conda", "rebuild after an environment.yml edit (solve, install and every later step)", solve,
                "py-rattler, package cache kept", solve / outside, samples=times["solve"]))
    stage = _step_median(steps["solve"], lambda what: "install.py" in what)
    res.add(Row("conda", "of which the solve + install step (its STEP line to the next)", stage,
                "py-rattler, package cache kept", stage / outside))
    to_solved = _step_median(steps["solve"], lambda what: "install.py" in what and not what.startswith(SOLVED))
    res.add(Row("conda", "of which its STEP line to the solved records printed (a container started, python3 "
                "checked, py-rattler imported from the cache mount, the solve)", to_solved))
    res.add(Row("conda", "of which the records printed to the next STEP line (the install, the process's exit, the "
                "layer committed)", stage - to_solved))
    for what in sorted({w for run in steps["solve"] for w, _ in run if w and "install.py" not in w}):
        took = _step_median(steps["solve"], lambda w, what=what: w == what)
        if took >= 0.05:
            res.add(Row("conda", f"of which step `{what.splitlines()[0][:90]}`", took))
    empty = median(times["empty"])
    res.add(Row("conda", "floor of one RUN step: a --no-cache build of `FROM base` + `RUN true`", empty,
                "py-rattler, package cache kept", empty / outside, samples=times["empty"]))
    res.goal("conda solve + install step in the build <= 1.2x py-rattler outside a build (same caches)",
             f"x{stage / outside:.2f}", stage / outside <= 1.2)
    res.goal("conda project: rebuild after an environment.yml edit <= 1.2x py-rattler outside a build (same caches)",
             f"x{solve / outside:.2f}", solve / outside <= 1.2)
    res.note("conda", f"Project: environment.yml asking for {', '.join(request['specs'])} from the channel `pnb` "
             "(tests/condachannel.py: python 3.11 repackaged from pyenv, pip, pnb-data 1.0) named through "
             "CONDA_CHANNEL_ALIAS, served by python's http.server on loopback behind a token; a module and a "
             f"notebook; base {base}. Builds through environment.build with network_mode host.")
