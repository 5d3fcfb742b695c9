"""The pull section of scripts/bench: %image_pull with the widgets display against `podman --url pull` of a big
image (4 layers of random data on the base; every layer removed before each pull), directly and, with nginx,
through a rate-limited proxy. make_big_image, clear_for_pull and restore_base serve the ssh section too."""

from __future__ import annotations

import argparse
import subprocess
from typing import List

from harness import Results, Row, fmt, interleaved, median
from magic_runner import DisplaySpy, ipython_shell, run_magic
from services_env import Env


def make_big_image(env: Env, layers: int, mb: int) -> str:
    ctx = env.workdir / "big-context"
    ctx.mkdir(exist_ok=True)
    steps = "".join(f"RUN dd if=/dev/urandom of=/l{n} bs=1M count={mb} 2>/dev/null\n" for n in range(layers))
    (ctx / "Containerfile").write_text(f"FROM {env.base_image.local}\n{steps}")
    local = "localhost/bench/big:latest"
    env.cli("build", "--layers=true", "-t", local, "-f", ctx / "Containerfile", ctx)
    remote = f"{env.registry_host}/bench/big:latest"
    env.cli("push", "--tls-verify=false", local, remote)
    return "bench/big:latest"


def clear_for_pull(env: Env, names: List[str]) -> None:
    """Remove the pulled image and every image sharing its layers (the base too): all layers pull."""
    for name in names:
        env.cli("rmi", "-f", name, check=False)
    env.cli("rmi", "-f", "localhost/bench/big:latest", env.base_image.local, check=False)
    env.cli("image", "prune", "-f", check=False)  # the big build's dangling intermediate images


def bench_pull(env: Env, res: Results, options: argparse.Namespace) -> None:
    reps, layers, mb = options.pull_reps, options.pull_layers, options.pull_mb
    repo = make_big_image(env, layers, mb)
    ref = f"{env.registry_host}/{repo}"
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    cli = env.cli_cmd("pull", "--tls-verify=false", "-q", ref)
    cli_env = env.cli_env()
    names = [ref] + ([f"{env.proxy_host}/{repo}"] if env.proxy_host else [])
    spy = DisplaySpy()

    def ours():
        with spy:
            run_magic(shell, "line", "image_pull", ref)

    def cli_pull():
        subprocess.run(cli, capture_output=True, env=cli_env, check=True)

    times = interleaved({"%image_pull (widgets display)": ours, "podman --url pull": cli_pull}, reps,
                        before=lambda: clear_for_pull(env, names), warmup=False)
    base = median(times["podman --url pull"])
    res.add(Row("pull", f"podman --url pull ({layers}x{mb} MB + base)", base, samples=times["podman --url pull"]))
    m = median(times["%image_pull (widgets display)"])
    last = spy.displays[-1]
    res.add(Row("pull", f"%image_pull, widgets display ({layers}x{mb} MB + base)", m, "CLI", m / base,
                note=f"{last.updates} display updates, {last.progress.events} events, "
                     f"{last.progress.layer_count} layers", samples=times["%image_pull (widgets display)"]))
    res.goal("pull within 1.05x of podman pull", f"x{m / base:.3f}", m / base <= 1.05)
    if env.proxy_host:
        pref = f"{env.proxy_host}/{repo}"
        pcli = env.cli_cmd("pull", "--tls-verify=false", "-q", pref)
        spy2 = DisplaySpy()

        def ours_proxy():
            with spy2:
                run_magic(shell, "line", "image_pull", pref)

        preps = max(1, min(reps, 2))
        times = interleaved({"ours": ours_proxy,
                             "cli": lambda: subprocess.run(pcli, capture_output=True, env=cli_env, check=True)},
                            preps, before=lambda: clear_for_pull(env, names), warmup=False)
        pbase = median(times["cli"])
        res.add(Row("pull", f"podman --url pull via nginx limit_rate {env.proxy_rate}/connection", pbase))
        pm = median(times["ours"])
        shown = spy2.displays[-1]
        bytes_updates = len({b for _, b in shown.refresh_log})
        res.add(Row("pull", f"%image_pull via nginx limit_rate {env.proxy_rate}/connection", pm, "CLI", pm / pbase,
                    note=f"{shown.updates} display updates ({bytes_updates} distinct byte counts), "
                         f"{shown.progress.events} events, {fmt(shown.progress.bytes_total / 1e6, 'MB')} total "
                         f"bytes reported"))
        res.note("pull", f"Through the rate-limited proxy the display refreshed {shown.updates} times in "
                 f"{fmt(pm, 's')} (update_interval 0.25 s allows at most {int(pm / 0.25) + 2}); "
                 f"byte progress: {'yes' if shown.progress.bytes_total else 'NO'}.")
    clear_for_pull(env, names)
    restore_base(env)


def restore_base(env: Env) -> None:
    """Put the base image back (same id: its config is unchanged) for whatever runs next."""
    env.cli("pull", "--tls-verify=false", env.base_image.plain)
    env.cli("tag", env.base_image.plain, env.base_image.local)
    env.cli("rmi", env.base_image.plain, check=False)
