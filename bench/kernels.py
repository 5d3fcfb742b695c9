"""The kernels section of scripts/bench: a podman_nb container kernel (``%image_env --kernel``'s image) against a
plain ipykernel in ``podman run --network host`` from the CLI (its connection file bind-mounted), and a local
ipykernel, all started by jupyter_client's KernelManager in the same run.

Rows: start to ready (start_kernel + wait_for_ready, then shutdown untimed) and a cell's round trip
(execute "1 + 1" until idle) on a running kernel. Goals: start <= 1.2x the CLI run; round trip no slower than
the local kernel's (1.2x allowed for noise).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List
from unittest import mock

import envservices  # noqa: E402  (tests/envservices.py; bench.py puts tests/ on sys.path)
from harness import Results, Row, interleaved, median
from services_env import Env

TAG = "localhost/bench/kernel:latest"


def _spec(folder: Path, name: str, argv: List[str], env: Dict[str, str]) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "python",
                                                            "interrupt_mode": "signal", "env": env}))


def bench_kernels(env: Env, res: Results, options: argparse.Namespace) -> None:
    reps = options.reps
    from jupyter_client import KernelManager
    from podman_nb import environment, kernels

    base = envservices.python_base_image(env.service)
    index = envservices.PackageIndex(env.workdir / "kernel-index")
    data = Path(tempfile.mkdtemp(prefix="pnb-bench-jupyter-"))
    settings = mock.patch.dict(os.environ, PIP_INDEX_URL=index.url, PIP_TRUSTED_HOST="127.0.0.1",
                               JUPYTER_DATA_DIR=str(data), JUPYTER_PATH=str(data))
    settings.start()
    folder = env.workdir / "kernel-notebook"
    folder.mkdir(exist_ok=True)
    try:
        project = env.workdir / "kernel-project"
        project.mkdir(exist_ok=True)
        (project / "requirements.txt").write_text("six==1.16.0\n")
        from podman_nb import PodmanClient
        with PodmanClient(base_url=env.base_url) as client:
            environment.build(client.images, environment.from_folder(project, base=base, packages=("ipykernel",)),
                              tag=TAG, network_mode="host")
        kernels.install(TAG, "bench-podman-nb", base_url=env.base_url)
        cli = [*env.service._podman(), "--remote", "--url", env.base_url, "run", "--rm", "-i", "--network", "host",
               "-v", "{connection_file}:{connection_file}:ro", TAG, "python3", "-m", "ipykernel_launcher",
               "-f", "{connection_file}"]
        _spec(data / "kernels", "bench-cli", cli, {k: v for k, v in env.service.env.items()})
        _spec(data / "kernels", "bench-local", [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], {})
        names = {"podman_nb": "bench-podman-nb", "cli": "bench-cli", "local": "bench-local"}

        def start(name):
            manager = KernelManager(kernel_name=name)
            manager.start_kernel(cwd=str(folder))
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=120)
            return manager, client

        def stop(running):
            running[1].stop_channels()
            running[0].shutdown_kernel(now=True)

        starts = {key: [] for key in names}
        for _ in range(reps + 1):  # the first round warms up
            for key, name in names.items():
                began = time.perf_counter()
                running = start(name)
                starts[key].append(time.perf_counter() - began)
                stop(running)
        starts = {key: values[1:] for key, values in starts.items()}
        running = {key: start(name) for key, name in names.items()}

        def round_trip(client):
            msg_id = client.execute("1 + 1")
            while True:
                msg = client.get_iopub_msg(timeout=30)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                        and msg["content"]["execution_state"] == "idle":
                    return

        trips = interleaved({key: (lambda c=running[key][1]: round_trip(c)) for key in names}, reps * 20)
        for value in running.values():
            stop(value)
        labels = {"podman_nb": "podman_nb container kernel", "cli": "ipykernel in `podman run --network host` (CLI)",
                  "local": "local ipykernel (no container)"}
        for key in names:
            m = median(starts[key])
            res.add(Row("kernels", f"start to ready: {labels[key]}", m, "CLI run" if key != "cli" else None,
                        m / median(starts["cli"]) if key != "cli" else None, samples=starts[key]))
        for key in names:
            m = median(trips[key])
            res.add(Row("kernels", f"round trip of `1 + 1`: {labels[key]}", m, "local" if key != "local" else None,
                        m / median(trips["local"]) if key != "local" else None, samples=trips[key]))
        ratio = median(starts["podman_nb"]) / median(starts["cli"])
        res.goal("container kernel start to ready <= 1.2x a plain ipykernel in `podman run` (CLI)", f"x{ratio:.2f}",
                 ratio <= 1.2)
        ratio = median(trips["podman_nb"]) / median(trips["local"])
        res.goal("container kernel round trip no slower than a local kernel's (1.2x)", f"x{ratio:.2f}", ratio <= 1.2)
        res.note("kernels", dockernel_note())
    finally:
        settings.stop()
        index.stop()
        try:
            kernels.remove("bench-podman-nb")
        except Exception:  # noqa: BLE001 (best effort: the run's service goes away anyway)
            pass
        env.cli("rmi", "-f", TAG, check=False)


def dockernel_note() -> str:
    return ("dockernel is not beside them: not run in this run. Read from dockernel 1.0.2's source (PyPI): its "
            "launcher calls docker-py's containers.run with network_mode='bridge', every port published on all "
            "addresses (it rewrites the connection file's ip to 0.0.0.0), only the connection file mounted, and "
            "it needs an image whose own CMD starts the kernel from $DOCKERNEL_CONNECTION_FILE; so it measures "
            "another image and another network set-up than the two rows above, and pointing DOCKER_HOST at "
            "Podman's compatible socket was not tried. No figure is given rather than a guessed one.")
