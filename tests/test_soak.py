"""The short soak: bench/soak.py's mixed magic calls (about 100) in one real kernel on the fixture service, failing
on a leak (kernel RSS, fds, threads, comms, the service's sockets) or a working container left."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def test_short_soak_leaks_nothing(podman_service, registries, base_image, tmp_path):
    import soak  # bench/soak.py
    from services_env import Env

    env = Env(podman_service, registries.plain.host, base_image, workdir=tmp_path)
    calls = 8 * len(soak.CYCLE)  # 96: two cycles of warm-up, six measured (%images 18 times)
    result = soak.run_soak(env, calls, warmup=2 * len(soak.CYCLE), cwd=tmp_path)
    text = soak.report(result)
    assert not result["leaks"], text  # the listing's p99/p50 is reported, not asserted: no timed assertions
    assert set(result["times"]) == {kind for kind, _ in soak.CYCLE}, text
