#!/usr/bin/env python3
"""The soak run (scripts/soak): one real IPython kernel making N mixed magic calls against one service, and
whether it leaks.

    scripts/soak [--calls 1000] [--warmup 48] [--out bench/RESULTS-soak.md]

Starts its own isolated Podman 4 service and plain registry (bench/services_env.py, as scripts/bench does), then
one kernel (jupyter_client) that repeats CYCLE: list, inspect, history, pull from the registry, tag, build from
the cache and with --no-cache, push, remove and prune, each with its display (widgets, as in JupyterLab). After
the warm-up calls and at the end (each time after ipykernel's collection of ended threads' output pipes,
SETTLE) it reads the kernel's RSS, open fds and threads from /proc, its comms (each
widget it still keeps), the sockets the service process holds and the containers left on the service; each
call's time is its cell's round trip (execute to idle). LIMITS (leaks) and the listing's p99/p50 are checked;
the figures go to a markdown file; the exit status is 1 when one is broken. ``run_soak(env, calls, warmup, cwd)``
is the entry tests/test_soak.py uses with its fixture service (which asserts the leaks, not the timing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import live_kernel  # noqa: E402  (tests/live_kernel.py)
import services  # noqa: E402  (tests/services.py)
from services_env import Env, start_env  # noqa: E402

# (kind, cell): {base} the local busybox, {pulled} its name in the plain registry, {registry}, {n} the cycle
CYCLE: List[Tuple[str, str]] = [
    ("images", "%images"),
    ("inspect", "%image_inspect {base}"),
    ("history", "%image_history {base}"),
    ("pull", "%image_pull {pulled} --no-tls-verify"),
    ("images", "%images"),
    ("tag", "%image_tag {base} localhost/soak/tagged:{n}"),
    ("build (cached)", "%%image_build -t localhost/soak/cached:latest\nFROM {base}\nRUN echo cached\n"),
    ("build --no-cache", "%%image_build --no-cache -t localhost/soak/fresh:latest\nFROM {base}\nRUN echo {n}\n"),
    ("images", "%images"),
    ("push", "%image_push localhost/soak/tagged:{n} {registry}/soak/pushed:latest --no-tls-verify"),
    ("rm", "%image_rm localhost/soak/tagged:{n}"),
    ("prune", "%image_prune"),
]
# what "flat" allows between after the warm-up and the end: a pool's or thread's coming and going, not growth
LIMITS = {"rss": 20 * 1024 * 1024, "fds": 3, "threads": 2, "comms": 2, "service sockets": 3}
LISTING_P99_OVER_P50 = 3.0


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# the kernel's comms: each widget it keeps (until closed) is one
COMMS = "import comm as _c; print(len(_c.get_comm_manager().comms), len(Out))"
# ipykernel gives each thread that sends output a zmq pipe (an fd or two) and closes those of ended threads only
# every 10 s (IOPubThread._event_pipe_gc): run that collection now, so a display thread that ended lately does not
# count as a leak; where the ipykernel has no such method, wait out its period instead
SETTLE = """
def _settle():
    import time
    io = get_ipython().kernel.iopub_thread
    collect = getattr(io, "_event_pipe_gc", None)
    if collect is None:
        time.sleep(getattr(io, "_event_pipe_gc_seconds", 10) + 1)
        return
    step = collect()  # a coroutine that never awaits: one send runs it whole
    try:
        step.send(None)
    except StopIteration:
        pass
_settle()
del _settle
"""


def snapshot(kernel: live_kernel.LiveKernel, env: Env) -> Dict[str, int]:
    kernel.run(SETTLE)
    figures = kernel.stats()
    figures["comms"], figures["results kept"] = map(int, kernel.run(COMMS).text.split())
    figures["service sockets"] = live_kernel.service_sockets(env.service)
    figures["containers"] = len(live_kernel.containers(env.service))
    return figures


def run_soak(env: Env, calls: int, warmup: int, cwd: Path) -> dict:
    """Make ``calls`` magic calls in one kernel: the figures after ``warmup`` calls and at the end, the times per
    kind, and the broken limits."""
    names = {"base": env.base_image.local, "pulled": env.base_image.plain, "registry": env.registry_host}
    kernel = live_kernel.LiveKernel(env.base_url, cwd, progress="widgets")
    times: Dict[str, List[float]] = {}
    began = time.monotonic()
    try:
        warm = None
        for i in range(calls):
            kind, cell = CYCLE[i % len(CYCLE)]
            code = cell.format(n=i // len(CYCLE), **names)
            t0 = time.perf_counter()
            shown = kernel.run(code)
            elapsed = time.perf_counter() - t0
            if not {"display_data", "execute_result"} & {m["msg_type"] for m in shown.messages}:
                raise AssertionError(f"{code!r} showed nothing: {shown.dump()[:500]}")
            if i >= warmup:
                times.setdefault(kind, []).append(elapsed)
            if i + 1 == warmup:
                warm = snapshot(kernel, env)
        end = snapshot(kernel, env)
    finally:
        kernel.stop()
    return judge(warm, end, times, calls, warmup, time.monotonic() - began, env.service.version)


def judge(warm: dict, end: dict, times: Dict[str, List[float]], calls: int, warmup: int, seconds: float,
          version: str) -> dict:
    broken = []
    for name, allowed in LIMITS.items():
        if end[name] - warm[name] > allowed:
            broken.append(f"{name} grew from {warm[name]} to {end[name]} (allowed: +{allowed})")
    if end["containers"]:
        broken.append(f"{end['containers']} working containers left on the service")
    listing = times["images"]
    ratio = percentile(listing, 0.99) / percentile(listing, 0.5)
    slow = [f"%images p99 is {ratio:.1f}x its p50 (allowed: {LISTING_P99_OVER_P50}x)"] * (ratio > LISTING_P99_OVER_P50)
    return {"warm": warm, "end": end, "times": times, "calls": calls, "warmup": warmup, "seconds": seconds,
            "listing_ratio": ratio, "leaks": broken, "broken": broken + slow, "version": version}


def report(result: dict) -> str:
    mb = 1024 * 1024
    warm, end = result["warm"], result["end"]
    lines = [f"# Soak run: {result['calls']} magic calls in one kernel", "",
             f"`scripts/soak --calls {result['calls']}` on Podman {result['version']} (a private service, the plain "
             f"local registry), {result['seconds'] / 60:.1f} min. One ipykernel (jupyter_client) with podman_nb's "
             "widgets display repeats: " + ", ".join(dict.fromkeys(kind for kind, _ in CYCLE)) + ". The first "
             f"{result['warmup']} calls warm up; the figures below compare after them with the end.", "",
             "| measure | after warm-up | at the end | growth | limit | |", "|---|---|---|---|---|---|"]
    for name, key, unit, scale in (("kernel RSS", "rss", "MB", mb), ("kernel open fds", "fds", "", 1),
                                   ("kernel threads", "threads", "", 1),
                                   ("kernel comms (widgets kept)", "comms", "", 1),
                                   ("sockets the service holds", "service sockets", "", 1)):
        grew = end[key] - warm[key]
        limit = f"<= {LIMITS[key] // scale} MB" if unit else f"<= +{LIMITS[key]} (flat)"
        figures = [f"{value / scale:.1f} {unit}" if unit else f"{value:+d}" if i == 2 else str(value)
                   for i, value in enumerate((warm[key], end[key], grew))]
        lines.append(f"| {name} | {' | '.join(figures)} | {limit} | {'ok' if grew <= LIMITS[key] else 'BROKEN'} |")
    lines.append(f"| containers on the service | {warm['containers']} | {end['containers']} | "
                 f"{end['containers'] - warm['containers']:+d} | 0 at the end | {'BROKEN' if end['containers'] else 'ok'} |")
    lines += ["", f"The kernel's RSS includes IPython's output cache: `Out` held {warm['results kept']} results after "
              f"the warm-up and {end['results kept']} at the end (IPython keeps up to 1,000).",
              "", "Each call's time: its cell's round trip (execute request to idle, the display included), after "
              "the warm-up.", "", "| call | n | p50 | p99 | p99/p50 |", "|---|---|---|---|---|"]
    for kind, values in result["times"].items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        lines.append(f"| {kind} | {len(values)} | {p50 * 1000:.0f} ms | {p99 * 1000:.0f} ms | {p99 / p50:.2f} |")
    lines += ["", f"Listing: p99 <= {LISTING_P99_OVER_P50:.0f}x p50: x{result['listing_ratio']:.2f} "
              f"({'ok' if result['listing_ratio'] <= LISTING_P99_OVER_P50 else 'BROKEN'}).", ""]
    lines.append("Limits broken: " + ("; ".join(result["broken"]) if result["broken"] else "none") + ".")
    opened = end["fd kinds"] - warm["fd kinds"]
    if opened:
        lines.append("The kernel's fds opened since the warm-up and still open: "
                     + ", ".join(f"{n} {kind}" for kind, n in sorted(opened.items())) + ".")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=4 * len(CYCLE), help="calls before the first figures")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-soak.md"))
    options = parser.parse_args(argv)
    if options.calls <= options.warmup:
        parser.error("--calls must be more than --warmup")
    os.environ.pop("CONTAINER_HOST", None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the services are stopped (finally/atexit)
    workdir = Path(tempfile.mkdtemp(prefix="pnb-soak-"))
    try:
        env = start_env(workdir, None)
        result = run_soak(env, options.calls, options.warmup, workdir)
    finally:
        services._stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(result)
    Path(options.out).write_text(text)
    print(text)
    return 1 if result["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
