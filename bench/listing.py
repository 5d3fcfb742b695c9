"""The listing section of scripts/bench: ImagesManager.list(), %images, podman-py and the podman CLI against one raw
GET (the floor) at growing numbers of images, and the client side alone against a canned server (listing_client.py).
%images is asked with --fresh here: the listing cache has its own section (listing_cache.py)."""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import subprocess
import tarfile
import time
from urllib.parse import quote

from harness import Results, Row, fmt, interleaved, median, profile_text
from listing_client import add_against_floor, client_side_only, listing_methods, raw_list
from magic_runner import ipython_shell, run_magic
from services_env import Env


def _tiny_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"podman_nb bench\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def api_prefix(env: Env) -> str:
    status, _, body = env.service.request("GET", "/version")
    doc = json.loads(body)
    api = doc.get("Components", [{}])[0].get("Details", {}).get("APIVersion") or doc["Version"]
    return f"/v{api}/libpod"


def make_list_images(env: Env, start: int, stop: int) -> None:
    """Import distinct tiny images bench/list:START..STOP-1 through the API import endpoint."""
    tar = _tiny_tar()
    prefix = api_prefix(env)
    for i in range(start, stop):
        query = f"reference={quote(f'localhost/bench/list:{i}')}&changes={quote(f'LABEL n={i}')}"
        status, _, body = env.service.request("POST", f"{prefix}/images/import?{query}", body=tar,
                                              headers={"Content-Type": "application/x-tar"})
        if status >= 300:
            raise RuntimeError(f"import {i} failed: {status} {body[:300]!r}")


def bench_listing(env: Env, res: Results, options: argparse.Namespace) -> None:
    import podman
    import podman_nb
    from podman_nb.notebook.tables import images_frame

    prefix = api_prefix(env)
    ours = podman_nb.PodmanClient(base_url=env.base_url)
    theirs = podman.PodmanClient(base_url=env.base_url)
    shell = ipython_shell(env.base_url)
    cli = env.cli_cmd("images", "--format", "json")
    cli_env = env.cli_env()
    sizes, reps = options.sizes, options.reps

    def floor():
        return raw_list(env.service.socket_path, prefix)

    def run_cli():
        out = subprocess.run(cli, capture_output=True, env=cli_env, check=True).stdout
        return json.loads(out)

    methods = {**listing_methods(floor, ours, theirs, shell), "podman --url images --format json": run_cli}
    existing = len(floor())
    made = 0
    curve = []
    for size in sizes:
        want = size - existing
        if want > made:
            make_list_images(env, made, want)
            made = want
        count = len(floor())
        frame = run_magic(shell, "line", "images", "--fresh")
        assert len(frame) == count, (len(frame), count)
        times = interleaved(methods, reps)
        base = add_against_floor(res, "listing", times, f"{count} images", "floor")
        curve.append((count, base))
        rows = floor()
        t = interleaved({"frame": lambda: images_frame(rows)}, reps)["frame"]
        res.add(Row("listing", f"images_frame() alone @ {count} images", median(t), "floor", median(t) / base,
                    note="no service: DataFrame work only"))
    client_side_only(env, res, floor(), prefix, reps)
    if len(curve) >= 2:
        (n0, t0), (n1, t1) = curve[0], curve[-1]
        exponent = math.log(t1 / t0) / math.log(n1 / n0) if t0 > 0 and n1 != n0 else float("nan")
        res.note("listing", "Podman's own listing (the floor) by size: "
                 + ", ".join(f"{n}: {fmt(t, 's')}" for n, t in curve)
                 + f"; growth exponent between {n0} and {n1} images: {exponent:.2f} (1 = linear, 2 = quadratic).")
    for name in ("%images -> DataFrame",):
        worst = max(r.ratio for r in res.rows if r.section == "listing" and r.name.startswith(name))
        res.goal("%images within 1.3x of the floor at every size", f"worst x{worst:.2f}", worst <= 1.3)
    slower = []
    for size_row in [r for r in res.rows if r.section == "listing" and r.name.startswith("%images")]:
        at = size_row.name.split("@")[1]
        others = [r for r in res.rows if r.section == "listing" and r.name.endswith(at)
                  and (r.name.startswith("podman-py") or r.name.startswith("podman --url"))]
        slower += [f"{o.name.split(' @')[0]}{at}" for o in others if o.value <= size_row.value]
    res.goal("%images faster than podman-py and the CLI at every size",
             "yes" if not slower else "not faster than: " + "; ".join(slower), not slower)
    if options.profile:
        prof = cProfile.Profile()
        prof.enable()
        run_magic(shell, "line", "images", "--fresh")
        prof.disable()
        res.note("listing-profile", profile_text(prof, 14))
    ours.close()
    theirs.close()

