"""The startup section of scripts/bench (no service): `python -c "import podman_nb"` and a fresh IPython shell's
`%load_ext podman_nb` against `import podman` and a bare interpreter, and the heaviest imports it pulls in."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import List

from harness import Results, Row, median
from services_env import Env

CHECKOUT = Path(__file__).resolve().parent.parent  # the subprocesses import podman_nb from this checkout


LOAD_EXT = ("import time; t0 = time.perf_counter(); "
            "from IPython.core.interactiveshell import InteractiveShell; s = InteractiveShell.instance(); "
            "t1 = time.perf_counter(); s.run_line_magic('load_ext', 'podman_nb'); "
            "print(time.perf_counter() - t1)")


def bench_startup(env: Env, res: Results, options: argparse.Namespace) -> None:
    reps = options.startup_reps
    def wall(code: str) -> List[float]:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=str(CHECKOUT))
            times.append(time.perf_counter() - t0)
        return times

    cases = {"python -c pass": "pass", "python -c 'import podman'": "import podman",
             "python -c 'import podman_nb'": "import podman_nb",
             "python -c '<IPython shell> + %load_ext podman_nb'": LOAD_EXT,
             "python -c '<IPython shell>' (no extension)": LOAD_EXT.replace(
                 "s.run_line_magic('load_ext', 'podman_nb'); ", "")}
    walls = {name: [] for name in cases}
    for _ in range(reps):  # interleaved
        for name, code in cases.items():
            walls[name] += wall(code)[:1]
    bare = median(walls["python -c pass"])
    podman_t = median(walls["python -c 'import podman'"]) - bare
    for name, samples in walls.items():
        res.add(Row("startup", name, median(samples), samples=samples))
    ours = median(walls["python -c 'import podman_nb'"]) - bare
    measurable = ours > 0 and podman_t > 0  # at or under a bare interpreter's start, the difference is noise
    res.add(Row("startup", "import podman_nb minus bare interpreter", ours, "import podman (minus bare)",
                ours / podman_t if measurable else None,
                note="" if measurable else "within the noise of a bare interpreter's start"))
    load = []
    for _ in range(reps):
        out = subprocess.run([sys.executable, "-c", LOAD_EXT], check=True, capture_output=True, text=True,
                             cwd=str(CHECKOUT)).stdout
        load.append(float(out.strip().splitlines()[-1]))
    res.add(Row("startup", "%load_ext podman_nb alone (in a fresh shell)", median(load),
                "import podman (minus bare)", median(load) / podman_t if podman_t > 0 else None, samples=load))
    # what import podman_nb / %load_ext pull in (self time, -X importtime)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", LOAD_EXT], capture_output=True, text=True,
                          cwd=str(CHECKOUT))
    top = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            parts = [p.strip() for p in line[len("import time:"):].split("|")]
            top.append((int(parts[1]), parts[2]))
    heavy = [(us, name) for us, name in top if not name.startswith(" ")]
    heavy.sort(reverse=True)
    res.note("startup", "Heaviest top-level imports of a fresh `%load_ext podman_nb` (cumulative, -X importtime): "
             + ", ".join(f"{name.strip()} {us / 1000:.0f} ms" for us, name in heavy[:8]) + ".")
