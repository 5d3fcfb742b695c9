"""The explorer section of scripts/bench: the first %image_layers (from the local storage's layer folders, and
from the export) against `podman save -o` + `dive --ci --json` (dive 0.13.1) on the offline Python base (~290 MB,
~11k files) and on a >= 1 GB child of it; a repeated call;
%image_advice, %image_packages (with sizes) and %image_sbom once the image was analysed;
the peak memory growth of a first call (its own process); a diff of the child against its parent once the
parent was analysed, against the child's first analysis. Methods interleaved; medians."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import envservices  # noqa: E402  (tests/envservices.py; bench.py puts tests/ on sys.path)
from harness import Results, Row, interleaved, median
from services_env import Env

BIG = "localhost/bench/explore-big:latest"
# 800 MB in 4000 files over 30 folders, then an eighth of them rewritten and one folder removed (100 MB wasted);
# --quick: 40 files (8 MB)
BIG_STEPS = (
    "RUN python3 -c \"import os; [os.makedirs(f'/data/d{i}', exist_ok=True) for i in range(30)]; "
    "[open(f'/data/d{i % 30}/f{i}', 'wb').write(os.urandom(200_000)) for i in range(FILES)]\"\n"
    "RUN python3 -c \"import os; [open(f'/data/d{i % 30}/f{i}', 'wb').write(os.urandom(200_000)) "
    "for i in range(0, FILES, 8)]\" && rm -rf /data/d29\n")
_PEAK = ("import os, sys, resource; from podman_nb.explore import Explorer; import pandas\n"
         "def rss(key): return int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith(key)))\n"
         "before = rss('VmRSS:'); Explorer(storage=False).layers(sys.argv[1]); print((rss('VmHWM:') - before) * 1024)\n")


def _save_and_dive(service: Any, image: str, workdir: Path) -> float:
    archive, report = workdir / "dive.tar", workdir / "dive.json"
    start = time.perf_counter()
    service.cli("save", "-o", archive, image)
    subprocess.run([shutil.which("dive"), "--ci", "--json", str(report), "--source", "docker-archive", str(archive)],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    archive.unlink()
    return elapsed


def bench_explore(env: Env, res: Results, options: argparse.Namespace) -> None:
    from podman_nb import PodmanClient
    from podman_nb.explore import Explorer, LayerCache

    reps, profile, quick = options.reps, options.profile, options.quick

    service = env.service
    python = envservices.python_base_image(service)
    context = env.workdir / "explore-context"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(f"FROM {python}\n{BIG_STEPS.replace('FILES', '40' if quick else '4000')}")
    service.cli("build", "-t", BIG, context, timeout=1800)
    client = PodmanClient(base_url=service.base_url)
    size = f"{client.images.get(BIG).attrs['Size'] / 1e9:.1f} GB" if not quick else "small"
    for label, image in ((("Python base", python),) if not quick else ()) + ((f"{size} child", BIG),):
        explorers = []

        def first(storage: bool) -> None:
            explorers.append(Explorer(client.api, cache=LayerCache(), storage=storage))
            explorers[-1].layers(image)
            assert explorers[-1].folder_reads == int(storage), "the storage path was not taken"

        times = interleaved({"dive": lambda: _save_and_dive(service, image, env.workdir),
                             "first": lambda: first(False), "storage": lambda: first(True)}, reps)
        base = res.add(Row("explore", f"podman save -o + dive --ci --json: {label}", median(times["dive"])))
        one = res.add(Row("explore", f"first %image_layers, export path: {label}", median(times["first"]),
                          base.name, median(times["first"]) / base.value, note="Explorer(storage=False)"))
        res.goal(f"first %image_layers, export path <= 1.0x save + dive ({label})", f"x{one.ratio:.2f}",
                 one.ratio <= 1.0)
        local = res.add(Row("explore", f"first %image_layers, local storage path: {label}", median(times["storage"]),
                            base.name, median(times["storage"]) / base.value,
                            note="the layers' overlay diff folders: stat, contents read only to compare"))
        res.goal(f"first %image_layers, local storage <= 0.3x save + dive ({label})", f"x{local.ratio:.2f}",
                 local.ratio <= 0.3)
        again = interleaved({"again": lambda: explorers[-1].layers(image)}, reps)["again"]
        row = res.add(Row("explore", f"repeated %image_layers: {label}", median(again), one.name,
                          median(again) / one.value, note="layer indexes from the cache: no export read"))
        res.goal(f"repeated call <= 0.1x the first ({label})", f"x{row.ratio:.3f}", row.ratio <= 0.1)
        for magic, method in (("%image_advice", "advice"), ("%image_packages", "packages"), ("%image_sbom", "sbom")):
            after = interleaved({magic: lambda: getattr(explorers[-1], method)(image)}, reps)[magic]
            row = res.add(Row("explore", f"{magic} once analysed: {label}", median(after), one.name,
                              median(after) / one.value, note="from the layer index: no export read"))
            res.goal(f"{magic} once analysed <= 0.1x the first analysis ({label})", f"x{row.ratio:.3f}",
                     row.ratio <= 0.1)
    env_vars = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    peak = int(subprocess.run([sys.executable, "-c", _PEAK, BIG], check=True, capture_output=True, text=True,
                              env={**env_vars, "CONTAINER_HOST": service.base_url}).stdout.split()[-1])
    res.add(Row("explore", f"peak memory growth of a first %image_layers: {size} child", peak / 1e6, unit="MB",
                note="VmHWM - VmRSS before, in a process of its own"))
    res.goal(f"peak memory growth <= 150 MB on the {size} image", f"{peak / 1e6:.0f} MB", peak <= 150e6)
    cold, warm = [], []
    for _ in range(reps):  # the export path: what a remote or rootless service does
        explorer = Explorer(client.api, cache=LayerCache(), storage=False)
        start = time.perf_counter()
        explorer.layers(BIG)
        cold.append(time.perf_counter() - start)
        explorer = Explorer(client.api, cache=LayerCache(), storage=False)
        explorer.layers(python)
        start = time.perf_counter()
        explorer.diff(python, BIG)
        warm.append(time.perf_counter() - start)
    child = res.add(Row("explore", "first analysis of the child (cold cache), export path", median(cold)))
    row = res.add(Row("explore", "%image_diff parent child, parent analysed before, export path", median(warm), child.name,
                      median(warm) / child.value, note="reads the new layers only; the base's bytes pass unparsed"))
    res.goal("diff against the parent <= 0.5x the child's first analysis", f"x{row.ratio:.2f}", row.ratio <= 0.5)
    if profile and not quick:
        profiler = cProfile.Profile()
        profiler.enable()
        Explorer(client.api, cache=LayerCache(), storage=False).layers(BIG)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
        root = str(Path(__file__).resolve().parents[1]) + "/"
        lines = [line.replace(root, "") for line in out.getvalue().splitlines() if line.strip()][-9:]
        res.note("explore", f"Profile of a first %image_layers on the {size} child, export path (cProfile, by own time; "
                            "`recv_into` is the wait for the service, which writes the export to a file of its own "
                            "before it sends the first byte):\n\n```\n" + "\n".join(lines) + "\n```")
    client.close()
    service.cli("rmi", "-f", BIG, check=False)
