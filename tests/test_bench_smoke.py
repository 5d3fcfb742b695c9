"""The benchmark still runs: bench/bench.py --quick against the test fixture service (no timed assertions)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def test_bench_quick_produces_every_table(podman_service, registries, base_image, tmp_path):
    import bench
    import magic_runner  # bench/magic_runner.py: the bench's in-process IPython shell
    from IPython.core.interactiveshell import InteractiveShell

    shell_was_there = InteractiveShell.initialized()
    options = bench.parse_args(["--quick", "--proxy-rate", "off", "--out", str(tmp_path / "RESULTS.md")])
    # under the service's folder: Podman 5's CLI runs in its chroot, where only that folder is bound
    workdir = podman_service.workdir / "bench-smoke"
    workdir.mkdir(exist_ok=True)
    env = bench.Env(podman_service, registries.plain.host, base_image, workdir=workdir)
    saved = os.environ.pop("CONTAINER_HOST", None)
    try:
        results = bench.run_benchmarks(env, options)
    finally:
        if saved is not None:
            os.environ["CONTAINER_HOST"] = saved
        if not shell_was_there and InteractiveShell.initialized():
            # the bench made the process's IPython singleton: drop it, or test_magics cannot make its own
            InteractiveShell.instance().history_manager.end_session()
            InteractiveShell.clear_instance()
            magic_runner._SHELL = None
    bench.write_report(results, Path(options.out), env, options, 0.0)
    text = Path(options.out).read_text()

    sections = {row.section for row in results.rows}
    assert {"listing", "listing-client", "listing-cache", "build", "pull", "stream", "startup", "ssh",
            "environment", "explore"} <= sections
    for needle in ("floor: raw GET + json.loads @", "%images -> DataFrame @", "podman-py images.list() + images_frame @",
                   "podman --url images --format json @", "%image_pull, widgets display", "podman --url pull",
                   "%%image_build --no-cache, widgets display", "podman --url build", "log line delay",
                   "json_stream + events + widgets display", "peak memory growth", "import podman_nb",
                   "%load_ext podman_nb alone", "nproc:", "podman-py", "%image_pull over ssh://",
                   "%image_env after a notebook edit", "no-op %%image_build of the same Containerfile",
                   "jupyter-repo2docker", "first %image_layers, export path: small child",
                   "first %image_layers, local storage path: small child", "podman save -o + dive"):
        assert needle in text, needle
    ratios = [row for row in results.rows if row.ratio is not None]
    assert ratios and all(row.ratio > 0 for row in ratios)
    # the pull section removed the base image to pull every layer; it must be back for other tests
    assert podman_service.cli("image", "exists", base_image.local, check=False).returncode == 0
