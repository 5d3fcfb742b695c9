"""The build section of scripts/bench: %%image_build --no-cache with the widgets display against `podman --url
build --no-cache`, and each log line's delay from its socket read to the display refresh that shows it."""

from __future__ import annotations

import argparse
import subprocess
from typing import List

from harness import Results, Row, fmt, interleaved, median
from magic_runner import DisplaySpy, ReadStamps, ipython_shell, run_magic
from services_env import Env


def build_file(env: Env, steps: int) -> str:
    lines = [f"FROM {env.base_image.local}"]
    for n in range(1, steps):
        if n % 3 == 0:
            lines.append(f"ENV STEP{n}={n}")
        else:
            lines.append(f"RUN echo step {n} first line && echo step {n} second line")
    return "\n".join(lines) + "\n"


def bench_build(env: Env, res: Results, options: argparse.Namespace) -> None:
    reps, steps = options.build_reps, options.build_steps
    containerfile = build_file(env, steps)
    ctx = env.workdir / "build-context"
    ctx.mkdir(exist_ok=True)
    (ctx / "Containerfile").write_text(containerfile)
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    cli = env.cli_cmd("build", "--no-cache", "-t", "localhost/bench/b20:cli", "-f", str(ctx / "Containerfile"),
                      str(ctx))
    cli_env = env.cli_env()
    spy = DisplaySpy()
    delays: List[float] = []
    lines_seen = [0]

    def ours():
        stamps = ReadStamps()
        read_at: List[float] = []  # per log line index: when its bytes came off the socket
        with spy, stamps:
            import podman_nb.notebook.context as context
            shown_box = []
            original_make = context.make_display

            def make(*a, **k):
                shown = original_make(*a, **k)
                update = shown.update

                def stamped(event):
                    before = shown.progress.lines
                    update(event)
                    read_at.extend([stamps.last] * (shown.progress.lines - before))
                shown.update = stamped
                shown_box.append(shown)
                return shown
            context.make_display = make
            try:
                run_magic(shell, "cell", "image_build", "-t localhost/bench/b20:ours --no-cache", containerfile)
            finally:
                context.make_display = original_make
        shown = shown_box[-1]
        lines_seen[0] = shown.progress.lines
        refreshes = shown.refresh_log
        for index, t_read in enumerate(read_at):
            shown_at = next((t for t, n in refreshes if n > index), None)
            if shown_at is not None:
                delays.append(shown_at - t_read)

    def cli_build():
        subprocess.run(cli, capture_output=True, env=cli_env, check=True)

    times = interleaved({"%%image_build (widgets display)": ours, "podman --url build": cli_build}, reps,
                        warmup=True)
    base = median(times["podman --url build"])
    res.add(Row("build", f"podman --url build --no-cache ({steps} steps)", base, samples=times["podman --url build"]))
    m = median(times["%%image_build (widgets display)"])
    shown = spy.displays[-1]
    res.add(Row("build", f"%%image_build --no-cache, widgets display ({steps} steps)", m, "CLI", m / base,
                note=f"{shown.updates} display updates, {lines_seen[0]} log lines",
                samples=times["%%image_build (widgets display)"]))
    res.goal("build within 1.05x of podman build", f"x{m / base:.3f}", m / base <= 1.05)
    if delays:
        delays.sort()
        p50 = delays[len(delays) // 2]
        p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        worst = delays[-1]
        over = sum(1 for d in delays if d > 0.2)
        res.add(Row("build", "log line delay, socket read -> display refresh: median", p50, note=f"{len(delays)} lines"))
        res.add(Row("build", "log line delay: 95th percentile", p95))
        res.add(Row("build", "log line delay: worst", worst, note=f"{over} of {len(delays)} lines over 0.2 s"))
        res.goal("log line shown within 0.2 s of its socket read", f"p50 {fmt(p50, 's')}, p95 {fmt(p95, 's')}, "
                 f"worst {fmt(worst, 's')} ({over}/{len(delays)} over)", worst <= 0.2)
    env.cli("rmi", "-f", "localhost/bench/b20:ours", "localhost/bench/b20:cli", check=False)
