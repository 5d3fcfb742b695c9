"""The installers section of scripts/bench: a --kernel project's rebuild after one requirement is added,
uv (the default: the kernel's packages in a step of their own, then `uv pip install -r requirements.txt`)
beside plain pip on the same project, in one run.

Peers (each its own copy of the project and its own tag, over the Debian Python base the tests use, the wheels
from the local token-guarded plain-http index):
- "pip as before": what %image_env wrote before issue 27 §4, one `pip install -r requirements.txt ipykernel`
  step (here: ipykernel listed in requirements.txt, installer="pip"), so every requirements edit reinstalls
  ipykernel and the packages it brings;
- "pip, kernel step of its own": installer="pip" with the kernel's packages before requirements.txt;
- "uv": the default.
Each rebuild adds or removes one wheel (pyparsing) and changes a comment, so requirements.txt is always new.
Goal: uv's rebuild <= 0.3x pip as before.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from unittest import mock

import envservices  # noqa: E402  (tests/envservices.py; bench.py puts tests/ on sys.path)
from harness import Results, Row, interleaved, median
from services_env import Env

PINS = ["six==1.16.0", "idna==3.7", "attrs==23.2.0", "packaging==24.0", "tomli==2.0.1"]
KERNEL = ("ipykernel",)
PEERS = {"pip-before": ("pip as before (ipykernel in the requirements step)", "pip", True),
         "pip-split": ("pip, the kernel's packages in a step of their own", "pip", False),
         "uv": ("uv, the kernel's packages in a step of their own (default)", "uv", False)}


def bench_installers(env: Env, res: Results, options: argparse.Namespace) -> None:
    from podman_nb import PodmanClient, environment

    base = envservices.python_base_image(env.service)
    index = envservices.PackageIndex(env.workdir / "installers-index")
    settings = mock.patch.dict(os.environ, PIP_INDEX_URL=index.url, PIP_TRUSTED_HOST="127.0.0.1")
    settings.start()
    client = PodmanClient(base_url=env.base_url)
    edits = {key: 0 for key in PEERS}
    try:
        def rebuild(key):
            _, installer, together = PEERS[key]
            project = env.workdir / f"installers-{key}"
            project.mkdir(exist_ok=True)
            edits[key] += 1
            extra = ["pyparsing==3.1.2"] if edits[key] % 2 else []
            kernel = list(KERNEL) if together else []
            (project / "requirements.txt").write_text("\n".join(kernel + PINS + extra + [f"# edit {edits[key]}"]) + "\n")
            (project / "analysis.py").write_text("ANSWER = 42\n")
            made = environment.from_folder(project, base=base, installer=installer,
                                           packages=() if together else KERNEL)
            environment.build(client.images, made, network_mode="host", tag=f"localhost/bench/installers-{key}")

        times = interleaved({key: (lambda key=key: rebuild(key)) for key in PEERS}, options.reps, warmup=True)
        baseline = median(times["pip-before"])
        for key, (name, _, _) in PEERS.items():
            m = median(times[key])
            res.add(Row("installers", f"rebuild after a requirements.txt edit (one wheel added or removed): {name}", m, "pip as before",
                        m / baseline, samples=times[key]))
        ratio = median(times["uv"]) / baseline
        res.goal("%image_env --kernel rebuild after a requirements.txt edit (uv) <= 0.3x pip as before", f"x{ratio:.2f}",
                 ratio <= 0.3)
        res.note("installers", f"Project: {len(PINS)} pure-Python wheels ({', '.join(PINS)}) and ipykernel with the "
                 "packages it brings, from a local plain-http index (its URL and token passed as the build secret); "
                 f"base {base}. The warm-up built each peer once, so every timed rebuild reuses the base, the "
                 "entrypoint and (except pip as before) the kernel's step; pip and uv each keep their cache mount.")
    finally:
        settings.stop()
        index.stop()
        client.close()
        for key in PEERS:
            env.cli("rmi", "-f", f"localhost/bench/installers-{key}", check=False)
