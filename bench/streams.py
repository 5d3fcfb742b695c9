"""The stream section of scripts/bench (no service): json_stream + event_from_line + WidgetsDisplay over a synthetic
build log and pull, in events/s, display updates and tracemalloc peaks, and through ImagesManager._build_lines."""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import time
import tracemalloc
import types

from harness import Results, Row, median, profile_text
from services_env import Env


def synthetic_build(lines: int) -> bytes:
    out = io.BytesIO()
    step_every = max(1, lines // 20)
    for n in range(lines):
        if n % step_every == 0:
            text = f"STEP {n // step_every + 1}/20: RUN make -j8 target{n}\n"
        else:
            text = f"cc -O2 -c src/module_{n:06d}.c -o obj/module_{n:06d}.o  # compiler output line\n"
        out.write(json.dumps({"stream": text}).encode() + b"\n")
    out.write(json.dumps({"stream": "a" * 64 + "\n"}).encode() + b"\n")
    return out.getvalue()


def synthetic_pull(layers: int, updates_per_layer: int) -> bytes:
    out = io.BytesIO()
    ids = [f"{n:012x}" for n in range(1, layers + 1)]
    w = lambda d: out.write(json.dumps(d).encode() + b"\r\n")  # noqa: E731
    w({"status": "Pulling from bench/big", "id": "latest"})
    for i in ids:
        w({"status": "Pulling fs layer", "progressDetail": {}, "id": i})
    total = 4 * 1024 * 1024
    for u in range(1, updates_per_layer + 1):
        for i in ids:
            cur = total * u // updates_per_layer
            w({"status": "Downloading", "progressDetail": {"current": cur, "total": total},
               "progress": "[=====>   ] x", "id": i})
    for i in ids:
        w({"status": "Download complete", "progressDetail": {}, "id": i})
        w({"status": "Extracting", "progressDetail": {"current": total, "total": total}, "id": i})
        w({"status": "Pull complete", "progressDetail": {}, "id": i})
    w({"status": "Digest: sha256:" + "0" * 64})
    w({"status": "Status: Downloaded newer image for bench/big:latest"})
    return out.getvalue()


def chunked(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def bench_streams(env: Env, res: Results, options: argparse.Namespace) -> None:
    build_lines, pull_layers, pull_updates = options.stream_lines, options.stream_layers, options.stream_updates
    reps, profile = options.stream_reps, options.profile
    from podman_nb.api.stream import json_stream
    from podman_nb.domain.events import event_from_line
    from podman_nb.notebook.progress_widgets import WidgetsDisplay

    def run(kind: str, data: bytes, log_tail: int = 200):
        shown = WidgetsDisplay(kind, "synthetic", show=False, update_interval=0.25, log_tail=log_tail)
        n = 0
        for line in json_stream(chunked(data)):
            for event in event_from_line(line):
                shown.update(event)
                n += 1
        shown.close()
        return n, shown

    for kind, data, label in (("build", synthetic_build(build_lines), f"build log, {build_lines:,} lines"),
                              ("pull", synthetic_pull(pull_layers, pull_updates),
                               f"pull, {pull_layers} layers x {pull_updates} byte updates")):
        run(kind, data[: data.rfind(b"\n", 0, 256 * 1024) + 1])  # warm up imports and widgets (whole lines)
        times, counts = [], None
        for _ in range(reps):
            gc.collect()
            t0 = time.perf_counter()
            counts = run(kind, data)
            times.append(time.perf_counter() - t0)
        n, shown = counts
        m = median(times)
        res.add(Row("stream", f"{label}: json_stream + events + widgets display", m,
                    note=f"{n:,} events, {n / m:,.0f} events/s, {len(data) / m / 1e6:,.0f} MB/s, "
                         f"{shown.updates} display updates", samples=times))
        gc.collect()
        tracemalloc.start()
        base_mem = tracemalloc.get_traced_memory()[0]
        n, shown = run(kind, data)
        peak = tracemalloc.get_traced_memory()[1] - base_mem
        kept = tracemalloc.get_traced_memory()[0] - base_mem
        tracemalloc.stop()
        res.add(Row("stream", f"{label}: peak memory growth (tracemalloc)", peak / 1e6, unit="MB",
                    note=f"{kept / 1e6:.1f} MB still held by the closed display; stream is "
                         f"{len(data) / 1e6:.1f} MB"))
        if kind == "build":
            per_line = kept / max(1, build_lines)
            res.note("stream", f"Build log memory stays bounded: BuildProgress keeps the tail ({shown.progress.tail.maxlen} "
                     f"lines) in memory and every line in a LineLog spooled to disk past 1 MB; the closed display "
                     f"holds {kept / 1e6:.1f} MB for {build_lines:,} lines ({per_line:.0f} bytes per line).")
            del shown
            # the same stream with the whole path through ImagesManager._build_lines (manager log too)
            from podman_nb.domain.build_containers import BuildContainers
            from podman_nb.domain.buildlog import BuildLog
            from podman_nb.domain.manager import ImagesManager

            class FakeClient:
                base_url = "synthetic"

                def stream_json(self, response):
                    return json_stream(chunked(data))

                def get(self, path, **params):  # the build containers, asked at the second step: none
                    return types.SimpleNamespace(json=list)

            manager = ImagesManager(FakeClient())
            gc.collect()
            tracemalloc.start()
            base_mem = tracemalloc.get_traced_memory()[0]
            shown = WidgetsDisplay("build", "synthetic", show=False)
            t0 = time.perf_counter()
            no_containers = BuildContainers(set())  # a synthetic stream: no build container before it
            for _built in manager._build_lines(None, shown.update, BuildLog(), no_containers):
                pass
            elapsed = time.perf_counter() - t0
            shown.close()
            peak = tracemalloc.get_traced_memory()[1] - base_mem
            tracemalloc.stop()
            res.add(Row("stream", f"{label}: through ImagesManager._build_lines + display, peak memory",
                        peak / 1e6, unit="MB", note=f"{elapsed:.2f} s under tracemalloc; the manager keeps every "
                                                     f"line for BuildError in its own LineLog"))
            del shown, manager
        if profile and kind == "build":
            prof = cProfile.Profile()
            prof.enable()
            run(kind, data)
            prof.disable()
            res.note("stream-profile", profile_text(prof, 14))
