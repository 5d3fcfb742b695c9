"""Benchmark section "listing_cache": %images answered from the listing cache, beside the raw floor and podman-py.

At each size: a repeated %images (the cache answers), the first %images 0.5 s after one outside change
(the podman CLI tags an image: the cache must ask again), the same once the background refresh is done,
and the event lag (an event's arrival minus its own time stamp). Hooked into bench.py as --only listing_cache.
"""

from __future__ import annotations

import argparse
import time

from harness import Results, Row, interleaved, median
from listing import api_prefix, make_list_images
from listing_client import raw_list
from magic_runner import ipython_shell, run_magic
from services_env import Env

SECTION = "listing-cache"
TITLE = "Listing cache (%images kept current by the service's events)"


def bench_listing_cache(env: Env, res: Results, options: argparse.Namespace) -> None:
    import podman
    from podman_nb.notebook.tables import images_frame

    sizes, reps = options.sizes, options.reps
    shell = ipython_shell(env.base_url)
    shell.run_line_magic("config", "PodmanMagics.list_cache = 'on'")
    magics = shell.magics_manager.registry["PodmanMagics"]
    theirs = podman.PodmanClient(base_url=env.base_url)
    prefix = api_prefix(env)

    def floor():
        return raw_list(env.service.socket_path, prefix)

    def magic():
        return run_magic(shell, "line", "images", "")

    made, lags, worst_repeat, worst_first = 0, [], 0.0, 0.0
    start = 10_000  # names of this section's own, beside the listing section's bench/list:N
    for size in sizes:
        want = max(1, size - (len(floor()) - made))  # at least the one image the outside change tags
        if want > made:
            make_list_images(env, start + made, start + want)
            made = want
        count = len(floor())
        cache = magics.client.listing("on")
        magic()
        times = interleaved({"floor": floor, "podman-py": lambda: images_frame([i.attrs for i in theirs.images.list()]),
                                   "cached": magic}, reps)
        base = median(times["floor"])
        rows = [("floor: raw GET + json.loads", times["floor"], None),
                ("podman-py images.list() + images_frame", times["podman-py"], None),
                ("%images repeated (answered from the cache)", times["cached"], None)]
        first, healed = [], []
        for rep in range(reps):
            env.cli("tag", f"localhost/bench/list:{start}", f"localhost/bench/list:moved{size}-{rep}")
            time.sleep(0.5)
            t0 = time.perf_counter()
            frame = magic()
            first.append(time.perf_counter() - t0)
            assert f"moved{size}-{rep}" in set(frame["tag"]), "the cache missed the change"
            env.cli("untag", f"localhost/bench/list:{start}", f"localhost/bench/list:moved{size}-{rep}")
            changed, deadline = time.time(), time.monotonic() + 120
            while (cache.status()["since"] is None or cache.status()["since"].timestamp() <= changed) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)  # the background refresh after the change
            t0 = time.perf_counter()
            frame = magic()
            healed.append(time.perf_counter() - t0)
            assert f"moved{size}-{rep}" not in set(frame["tag"]), "the cache missed the change"
        lags += list(cache.stats.lags)
        rows += [("first %images 0.5 s after one outside change", first, "lists again: dirty, rows not patched"),
                 ("%images after the background refresh of that change", healed,
                  f"the refresh starts {cache.debounce} s after the last event")]
        for name, samples, note in rows:
            m = median(samples)
            floor_row = name.startswith("floor")
            res.add(Row(SECTION, f"{name} @ {count} images", m, None if floor_row else "floor",
                              None if floor_row else m / base, note=note or "", samples=samples))
        worst_repeat = max(worst_repeat, median(times["cached"]) / base)
        worst_first = max(worst_first, median(first) / base)
    lags.sort()
    if lags:
        res.note(SECTION, f"Event lag on Podman {env.service.version} (file events logger, polled every 250 ms): "
                 f"median {lags[len(lags) // 2] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms over {len(lags)} events "
                 "(an event's arrival at the watcher minus the time stamp the service gave it).")
    res.goal("repeated %images <= 0.05x the floor at every size", f"worst x{worst_repeat:.3f}", worst_repeat <= 0.05)
    res.goal("first %images after one outside change <= 0.3x the floor (if patched)", f"worst x{worst_first:.2f}",
             worst_first <= 0.3)
    shell.run_line_magic("config", "PodmanMagics.list_cache = 'auto'")
    theirs.close()
