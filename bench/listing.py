"""The listing section of scripts/bench: ImagesManager.list(), %images, podman-py and the podman CLI against one raw
GET (the floor) at growing numbers of images, the client side alone against a canned server (listing_client.py),
and the events-gated cache prototype (cached_listing.py) with its invalidation checks."""

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
    from cached_listing import CachedLister

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
        frame = run_magic(shell, "line", "images", "")
        assert len(frame) == count, (len(frame), count)
        times = interleaved(methods, reps)
        base = add_against_floor(res, "listing", times, f"{count} images", "floor")
        curve.append((count, base))
        rows = floor()
        t = interleaved({"frame": lambda: images_frame(rows)}, reps)["frame"]
        res.add(Row("listing", f"images_frame() alone @ {count} images", median(t), "floor", median(t) / base,
                    note="no service: DataFrame work only"))
        # the cached-listing prototype: first call lists, then each call is one events read
        lister = CachedLister(ours.images)
        lister.usable()  # one GET /info per session, not per call
        lister.list_attrs()
        t = interleaved({"cached": lambda: tables_from(lister)}, reps, warmup=False)["cached"]
        res.add(Row("listing", f"prototype: events-checked cache + frame @ {count} images", median(t), "floor",
                    median(t) / base, note=f"{lister.hits} hits, {lister.misses} miss(es); no change between calls"))
        if size == sizes[-1]:
            # invalidation: after each change the next cached call must equal a fresh listing
            def names(rows_):
                return sorted(n for r in rows_ for n in (r.get("Names") or r.get("RepoTags") or []))
            checks = []
            for label, args in (("podman tag", ("tag", "localhost/bench/list:0", "localhost/bench/list:retagged")),
                                ("podman untag", ("untag", "localhost/bench/list:retagged")),
                                ("podman rmi", ("rmi", "localhost/bench/list:1")),
                                ("API import", None)):
                if args:
                    env.cli(*args)
                else:
                    make_list_images(env, 1, 2)
                truth = names(floor())
                fresh = names(lister.list_attrs()) == truth
                verdict = "fresh" if fresh else "STALE at once"
                if not fresh:
                    time.sleep(0.25)
                    verdict += ", fresh 0.25 s later" if names(lister.list_attrs()) == truth else ", STILL STALE 0.25 s later"
                    lister._cache.clear()
                    lister.list_attrs()
                checks.append(f"{label}: {verdict}")
            res.note("listing", "Prototype invalidation checks (cached call after each change vs a fresh listing): "
                     + "; ".join(checks) + f". Podman {env.service.version} (file events logger) makes an event visible to "
                     "GET /events a moment after the operation's own answer, so a check made at once can miss it.")
            stale = [c for c in checks if "STALE" in c]
            res.goal("events-gated listing cache never stale", "; ".join(checks), not stale)
            ev = interleaved({"events": lambda: lister.changed_since(time.time() - 0.001)}, reps)["events"]
            res.add(Row("listing", f"prototype: one events check alone @ {count} images", median(ev), "floor",
                        median(ev) / base, note="GET /libpod/events?stream=false&since=...&filters=type"))
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
        run_magic(shell, "line", "images", "")
        prof.disable()
        res.note("listing-profile", profile_text(prof, 14))
    ours.close()
    theirs.close()


def tables_from(lister):
    from podman_nb.notebook.tables import images_frame
    return images_frame(lister.list_attrs())
