"""The build cache through a registry: a second host's build of a project the first host built with --cache-to,
against that second host's own cold build. Writes bench/RESULTS-build-cache.md.

    .venv/bin/python bench/build_cache.py [--reps N] [--install-seconds S] [--out FILE]

Two Podman services of its own (the first 4.3.1, the second 5.4.2, as a team's mixed hosts) and one plain
registry (tests/services.py); the base image goes from the first host through the registry to the second, as a
team's would. The project's install step is a RUN that sleeps S seconds (default 25) and writes a file: it stands
in for a heavy `pip install` (a real one would measure the network and the index as much as the cache).
Each repetition uses a new project (a new marker in its steps), so no local layer can answer for another:

- cold: the second host builds the project with nothing cached anywhere;
- first host: the first host builds another new project with --cache-to REPO;
- second host, from the registry: the second host builds that project with --cache-from REPO.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import services  # noqa: E402
import podman_nb  # noqa: E402

PROJECT = """FROM {base}
LABEL project={mark}
ARG REQUIREMENTS=numpy==2.1.0
RUN echo installing $REQUIREMENTS {mark} && sleep {seconds} && echo "$REQUIREMENTS" > /srv-env.txt
RUN echo configured {mark} > /srv-config.txt
"""


def timed_build(client: podman_nb.PodmanClient, containerfile: str, cached: int = 0, **kwargs) -> float:
    """Seconds to build; fails unless exactly ``cached`` steps came from the registry's cache."""
    started = time.perf_counter()
    image, _ = client.images.build(fileobj=io.StringIO(containerfile), layers=True, **kwargs)
    took = time.perf_counter() - started
    pulled = sum("Cache pulled from remote" in line for line in image.build_log.text)
    if pulled != cached:
        raise SystemExit(f"{pulled} steps came from the registry's cache, not {cached}:\n" + "\n".join(image.build_log.text))
    return took


def run(reps: int, seconds: int) -> Dict[str, List[float]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-build-cache-"))
    registries = services.Registries(tmp / "registries")
    first = services.PodmanService("4", tmp / "first", registries.registries_conf, registries.ca_files)
    second = services.PodmanService("5", tmp / "second", registries.registries_conf, registries.ca_files)
    times: Dict[str, List[float]] = {"cold": [], "first host": [], "second host, from the registry": []}
    try:
        base = services.share_base_image(first, second, registries, "1")
        cache = f"{registries.plain.host}/team/cache"
        with podman_nb.PodmanClient(base_url=first.base_url) as one, \
                podman_nb.PodmanClient(base_url=second.base_url) as two:
            versions = (one.version()["Version"], two.version()["Version"])
            for _ in range(reps):
                cold = PROJECT.format(base=base, mark=uuid.uuid4().hex, seconds=seconds)
                shared = PROJECT.format(base=base, mark=uuid.uuid4().hex, seconds=seconds)
                times["cold"].append(timed_build(two, cold))
                times["first host"].append(timed_build(one, shared, cache_to=cache))
                times["second host, from the registry"].append(timed_build(two, shared, cached=4, cache_from=cache))
    finally:
        first.close()
        second.close()
        registries.stop()
    times["versions"] = list(versions)  # type: ignore[assignment]
    return times


def report(times: Dict[str, List[float]], seconds: int) -> str:
    cold, first, second = (times[k] for k in ("cold", "first host", "second host, from the registry"))
    def median(values: List[float]) -> float:
        return sorted(values)[len(values) // 2]
    ratio = median(second) / median(cold)
    rows = "\n".join(f"| {name} | {median(values):.1f} s | {', '.join(f'{v:.1f}' for v in values)} |"
                     for name, values in (("second host, cold (baseline)", cold), ("first host, --cache-to", first),
                                          ("second host, --cache-from", second)))
    return f"""# The build cache through a registry (bench/build_cache.py)

First host Podman {times['versions'][0]}, second host Podman {times['versions'][1]}, one local registry; a project
whose install step takes {seconds} s (a RUN that sleeps, standing in for a heavy pip install), {len(cold)}
repetitions, each with new projects. Run on the 2-core CI machine while other engineers' work shared it.

| build | median | each |
|---|---|---|
{rows}

The second host's build from the first one's cache: **{ratio:.2f}x** its own cold build (goal: at most 0.3x).
What is left is pulling the four cached steps from the registry (each one a request or more) and tagging.
Each project starts with a LABEL naming it: a step the second host finds in its own local cache (here the
cold build's identical ARG step, made there at another time) is another image than the first host's, and
the registry's cache matches no step after it.

Between Podman 4.3.1 and 5.4.2 this holds for RUN (and ARG, ENV) steps: a COPY step is named by a digest of the
copied files that buildah 1.28 and 1.39 compute differently (`COPY file:3b5e39…` and `COPY file:98c316…` for one
file), so between these two versions the steps after the first COPY are built again. An environment image from
`%image_env` copies requirements.txt before its pip step: mixed 4.x/5.x hosts share only the steps before that
COPY (the apt packages); hosts of one Podman version compute one digest, so should share it all (not measured here).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--install-seconds", type=int, default=25)
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-build-cache.md"))
    options = parser.parse_args()
    text = report(run(options.reps, options.install_seconds), options.install_seconds)
    Path(options.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
