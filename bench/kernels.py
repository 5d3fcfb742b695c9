"""The kernels section of scripts/bench: a podman_nb container kernel (``%image_env --kernel``'s image) against a
plain ipykernel in ``podman run --network host`` from the CLI (its connection file bind-mounted), a local
ipykernel and dockernel (docker-py over Podman's Docker-compatible socket, on an image made from the same one
with the CMD dockernel asks for), all started by jupyter_client's KernelManager in the same run.

Rows: start to ready (start_kernel + wait_for_ready, then a graceful shutdown untimed: a SIGKILLed ``podman run``
or dockernel leaves its container running) and a cell's round trip (execute "1 + 1" until idle) on a running
kernel. Goals: start <= 1.1x the CLI run (issue 31); round trip no slower than the local kernel's (1.2x allowed
for noise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
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
DOCKERNEL_TAG = "localhost/bench/dockernel:latest"
# dockernel's README: the image's own CMD starts the kernel on the connection file dockernel mounts
DOCKERNEL_CMD = "CMD python3 -m ipykernel_launcher -f $DOCKERNEL_CONNECTION_FILE"


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
        dockernel = _dockernel_spec(env, data / "kernels", "bench-dockernel")
        if dockernel is None:
            names["dockernel"] = "bench-dockernel"

        def start(name):
            manager = KernelManager(kernel_name=name)
            manager.start_kernel(cwd=str(folder))
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=120)
            return manager, client

        def stop(running):
            running[1].stop_channels()
            running[0].shutdown_kernel()

        if "dockernel" in names:
            try:
                stop(start(names["dockernel"]))
            except Exception as error:  # noqa: BLE001 (why it did not run goes into the results)
                del names["dockernel"]
                dockernel = f"dockernel is not beside them: its kernel did not start: {type(error).__name__}: {error}"
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
                  "local": "local ipykernel (no container)", "dockernel": f"dockernel {_version('dockernel')}"}
        for key in names:
            m = median(starts[key])
            res.add(Row("kernels", f"start to ready: {labels[key]}", m, "CLI run" if key != "cli" else None,
                        m / median(starts["cli"]) if key != "cli" else None, samples=starts[key]))
        for key in names:
            m = median(trips[key])
            res.add(Row("kernels", f"round trip of `1 + 1`: {labels[key]}", m, "local" if key != "local" else None,
                        m / median(trips["local"]) if key != "local" else None, samples=trips[key]))
        # where the podman_nb kernel's start differs from the CLI run's: the launcher is a Python, the CLI a Go binary
        quiet = {"stdout": subprocess.DEVNULL, "check": True}
        spawns = interleaved({
            "launcher": lambda: subprocess.run([sys.executable, "-m", "podman_nb.kernel", "--help"], **quiet),
            "bare": lambda: subprocess.run([sys.executable, "-c", "pass"], **quiet),
            "podman": lambda: subprocess.run(["podman", "--version"], **quiet)}, reps * 5)
        for key, label in (("launcher", "the launcher's interpreter and imports (`python -m "
                                        "podman_nb.kernel --help`)"),
                           ("bare", "a bare interpreter (`python -c pass`)"),
                           ("podman", "the podman CLI's own start (`podman --version`)")):
            m = median(spawns[key])
            res.add(Row("kernels", f"start-up of {label}", m, "bare interpreter" if key != "bare" else None,
                        m / median(spawns["bare"]) if key != "bare" else None, samples=spawns[key]))
        left = median(starts["podman_nb"]) - median(starts["cli"])
        python = median(spawns["launcher"]) - median(spawns["podman"])
        res.note("kernels", f"What is left of the podman_nb kernel's start over the CLI run's ({left * 1000:.0f} ms in this "
                 f"run): its launcher is a Python whose start-up and imports take {python * 1000:.0f} ms more than "
                 "the podman CLI's start (the rows above; since issue 31 it imports no requests or urllib3: its calls "
                 "go through http.client over the unix socket, podman_nb.api.unixhttp, and it raises only "
                 "podman_nb.base_errors' classes). The rest is the same in both: the API calls "
                 "(_ping, create, attach, start: the CLI makes them too; the attach's upgrade answers after about "
                 "0.1 s, and the start must wait for it or lose the kernel's first output), the container's "
                 "ipykernel start and wait_for_ready's own 0.2 s of IOPub flushing.")
        ratio = median(starts["podman_nb"]) / median(starts["cli"])
        res.goal("container kernel start to ready <= 1.1x a plain ipykernel in `podman run` (CLI)", f"x{ratio:.2f}",
                 ratio <= 1.1)
        ratio = median(trips["podman_nb"]) / median(trips["local"])
        res.goal("container kernel round trip no slower than a local kernel's (1.2x)", f"x{ratio:.2f}", ratio <= 1.2)
        res.note("kernels", dockernel or DOCKERNEL_NOTE.format(dockernel=_version("dockernel"), docker=_version("docker")))
    finally:
        settings.stop()
        index.stop()
        try:
            kernels.remove("bench-podman-nb")
        except Exception:  # noqa: BLE001 (best effort: the run's service goes away anyway)
            pass
        env.cli("rm", "-f", "-t", "0", "--filter", f"ancestor={DOCKERNEL_TAG}", check=False)
        env.cli("rmi", "-f", DOCKERNEL_TAG, TAG, check=False)


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = (done.stderr or "").strip().splitlines() or (done.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _dockernel_spec(env: Env, kernels: Path, name: str):
    """dockernel's kernelspec as ``dockernel install`` writes it, for an image of TAG with dockernel's CMD, pointed
    at the service's socket (DOCKER_HOST); None when it is written, else why not (the error, for the results)."""
    if _version("dockernel") == "?":
        return "dockernel is not beside them: it is not installed (the [bench] extra installs it)."
    context = env.workdir / "dockernel-image"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(f"FROM {TAG}\n{DOCKERNEL_CMD}\n")
    home = Path(tempfile.mkdtemp(prefix="pnb-bench-dockernel-"))
    (home / ".local/share/jupyter").mkdir(parents=True)  # dockernel makes only the last folder
    socket = "unix://" + env.base_url.split("://", 1)[1]
    try:
        built = env.cli("build", "-t", DOCKERNEL_TAG, str(context), check=False)
        if built.returncode != 0:
            return f"dockernel is not beside them: its image did not build: {_last_line(built)}"
        done = subprocess.run([sys.executable, "-m", "dockernel", "install", "--name", name, DOCKERNEL_TAG],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, HOME=str(home), DOCKER_HOST=socket))
        if done.returncode != 0:
            return ("dockernel is not beside them: `dockernel install` against Podman's socket failed: "
                    f"{_last_line(done)}")
        written = list((home / ".local/share/jupyter/kernels").glob("*/kernel.json"))
        spec = json.loads(written[0].read_text())
    finally:  # the scratch HOME goes whether dockernel's spec was written or not
        shutil.rmtree(home, ignore_errors=True)
    # its argv starts with `/usr/bin/env python`: this run's interpreter (where dockernel is installed) instead
    argv = spec["argv"]
    spec["argv"] = [sys.executable, *argv[argv.index("-m"):]]
    spec["env"] = {"DOCKER_HOST": socket}
    (kernels / name).mkdir(parents=True, exist_ok=True)
    (kernels / name / "kernel.json").write_text(json.dumps(spec))
    return None


DOCKERNEL_NOTE = (
    "dockernel's rows: dockernel {dockernel} with docker-py {docker} on Podman's Docker-compatible API (the same "
    "service's socket as DOCKER_HOST), its kernelspec written by `dockernel install` (the interpreter put in for "
    "its `/usr/bin/env python`), on an image FROM the podman_nb kernel's image with dockernel's `" + DOCKERNEL_CMD
    + "`. It starts the container as dockernel does: docker-py's containers.run, the bridge network, every port "
    "published on all addresses (it rewrites the connection file's ip to 0.0.0.0), only the connection file "
    "mounted; so its figures include the bridge's port forwarding, which the two other container rows do not "
    "have. Shut down gracefully: killed, it leaves its container running (as a killed `podman run` does).")
