"""The ssh section of scripts/bench: %images and %image_pull through ssh:// (a loopback sshd, tests/sshd.py) beside
the same through the unix socket of the same service."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from unittest import mock

from harness import Results, Row, both_orders, median
from magic_runner import ipython_shell, run_magic
from pull import clear_for_pull, make_big_image, restore_base
from services_env import Env


@contextlib.contextmanager
def ssh_connection(env: Env):
    """A loopback sshd (tests/sshd.py) and a connection 'bench-ssh' to the service through it, in a
    connections file of our own; yields the connection name."""
    import sshd
    server = sshd.SSHServer(env.workdir / "sshd", {"CONTAINER_HOST": env.base_url})
    conf = env.workdir / "bench-connections.json"
    conf.write_text(json.dumps({"Connection": {"Connections": {"bench-ssh": {
        "URI": server.uri(env.service.socket_path), "Identity": str(server.key)}}}}))
    try:
        with mock.patch.dict(os.environ, PODMAN_CONNECTIONS_CONF=str(conf), PATH=f"{server.bin}:{os.environ['PATH']}"):
            yield "bench-ssh"
    finally:
        server.stop()


def bench_ssh(env: Env, res: Results, options: argparse.Namespace) -> None:
    """%images and a pull through ssh:// beside the same through the unix socket (same service), each
    median over both orders."""
    import podman_nb

    reps, layers, mb = options.pull_reps, options.pull_layers, options.pull_mb
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    repo = make_big_image(env, layers, mb)
    ref = f"{env.registry_host}/{repo}"
    with ssh_connection(env) as name:
        t0 = time.perf_counter()
        with podman_nb.PodmanClient(connection=name) as client:
            client.images.list()
        first = time.perf_counter() - t0
        listing = both_orders({"unix": lambda: run_magic(shell, "line", "images", "--fresh"),
                               "ssh": lambda: run_magic(shell, "line", "images", f"--fresh --connection {name}")},
                              max(reps, 3))
        unix, over = median(listing["unix"]), median(listing["ssh"])
        res.add(Row("ssh", "%images over the unix socket", unix, samples=listing["unix"]))
        res.add(Row("ssh", "%images over ssh:// (forwarding running)", over, "unix socket", over / unix,
                    samples=listing["ssh"]))
        res.add(Row("ssh", "first call over ssh:// (starts ssh, then lists)", first,
                    note="a new client: ssh connects, authenticates and forwards the socket"))
        pulls = both_orders({"unix": lambda: run_magic(shell, "line", "image_pull", ref),
                             "ssh": lambda: run_magic(shell, "line", "image_pull", f"--connection {name} {ref}")},
                            reps, before=lambda: clear_for_pull(env, [ref]), warmup=False)
        unix, over = median(pulls["unix"]), median(pulls["ssh"])
        size = f"{layers}x{mb} MB + base"
        res.add(Row("ssh", f"%image_pull over the unix socket ({size})", unix, samples=pulls["unix"]))
        res.add(Row("ssh", f"%image_pull over ssh:// ({size})", over, "unix socket", over / unix,
                    samples=pulls["ssh"], note="the layers go registry -> service; ssh carries the progress"))
        res.goal("pull over ssh:// within 1.1x of the unix socket", f"x{over / unix:.3f}", over / unix <= 1.1)
        magics = shell.magics_manager.registry["PodmanMagics"]
        magics._reconnect(None)  # close the ssh client before its sshd stops
    clear_for_pull(env, [ref])
    restore_base(env)
