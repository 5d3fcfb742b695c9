"""Two real kernels (jupyter_client) on one service: one builds while the other pulls, then makes and prunes its own
dangling image for real while the first's build runs; the first prunes with --dry-run; both list. Neither removes
the other's working containers or images, both listings match the service, each display shows only its own
progress."""
import json
import time
import uuid

from gates import gate, waits_on
from live_kernel import LiveKernel, containers


def _wait_listed(kernels, truth, timeout=60):
    """Wait until each kernel's %images shows the service's images (a change shows once its event is read)."""
    deadline = time.monotonic() + timeout
    for kernel in kernels:
        while (listed := _listed(kernel)) != truth:
            assert time.monotonic() < deadline, (listed, truth)
            time.sleep(0.2)


def _images(service):
    """The service's images: {short id: set of repo:tag}."""
    status, _, body = service.request("GET", "/v4.0.0/libpod/images/json")
    assert status == 200, body
    return {image["Id"].removeprefix("sha256:")[:12]: set(image.get("RepoTags") or []) for image in json.loads(body)}


def _listed(kernel):
    """What the kernel's %images shows: {image_id: set of repo:tag}."""
    out = kernel.run("_df = %images\n_df\n"
                     "import json as _json\n"
                     "_rows = {}\n"
                     "for _r in _df.itertuples():\n"
                     "    _rows.setdefault(_r.image_id, []).extend([f'{_r.repository}:{_r.tag}'] if _r.repository else [])\n"
                     "print(_json.dumps(_rows))")
    return {key: set(value) for key, value in json.loads(out.text.strip().splitlines()[-1]).items()}


def _built_id(kernel):
    return kernel.run("print(_.id)").text.strip().removeprefix("sha256:")[:12]


def test_two_kernels_keep_to_their_own(podman_service, registries, base_image, tmp_path):
    mark = uuid.uuid4().hex[:8]
    pulled = f"{registries.plain.host}/two/pulled:{mark}"
    source = podman_service.workdir / f"two-{mark}"  # under the service's folder: Podman 5's CLI runs in a chroot
    source.mkdir()
    (source / "Containerfile").write_text(f"FROM {base_image.local}\nRUN echo {mark} > /pulled\n")
    podman_service.cli("build", "-t", pulled, "-f", source / "Containerfile", source)
    podman_service.cli("push", "--tls-verify=false", pulled)
    podman_service.remove_images(pulled)
    built = f"localhost/two/built:{mark}"
    mine = f"localhost/two/dangling:{mark}"
    own = f"localhost/two/kept:{mark}"  # kernel A's image, no container uses it: B's prune must leave it

    a = LiveKernel(podman_service.base_url, tmp_path, progress="widgets")
    b = LiveKernel(podman_service.base_url, tmp_path, progress="text")
    try:
        with gate() as (url, release):
            a.run(f"%%image_build -t {own}\nFROM {base_image.local}\nRUN echo A-own-{mark}\n")
            own_id = _built_id(a)
            before = containers(podman_service)
            building = a.start(f"%%image_build --no-cache -t {built}\nFROM {base_image.local}\n"
                               f"RUN echo A-{mark} && {waits_on(url)}\n")
            deadline = time.monotonic() + 60
            while not set(containers(podman_service)) - set(before):
                assert time.monotonic() < deadline, "kernel A's build container never appeared"
                time.sleep(0.1)
            a_working = set(containers(podman_service)) - set(before)

            b_cells = [b.run(f"%image_pull {pulled} --no-tls-verify")]
            b_cells.append(b.run(f"%%image_build --no-cache -t {mine}\nFROM {base_image.local}\nRUN echo B-{mark}-1\n"))
            first = _built_id(b)
            b_cells.append(b.run(f"%%image_build --no-cache -t {mine}\nFROM {base_image.local}\nRUN echo B-{mark}-2\n"))
            second = _built_id(b)
            assert _images(podman_service)[first] == set(), "B's first build should be dangling now"
            assert a_working <= set(containers(podman_service)), "A's build ended before B's prune"
            pruned = b.run("%image_prune")
            assert first in pruned.dump(), pruned.dump()
            assert a_working <= set(containers(podman_service)), "B's prune removed A's working container"
            assert own in _images(podman_service).get(own_id, ()), "B's prune removed A's image"

            release()
            a_build = a.finish(building)
        assert a_build.status == "ok", a_build.dump()[-2000:]
        a_id = _built_id(a)
        b_cells.append(b.run(f"%%image_build --no-cache -t {mine}\nFROM {base_image.local}\nRUN echo B-{mark}-3\n"))
        dry = a.run("%image_prune --dry-run")
        assert second in dry.dump(), dry.dump()  # B's new dangling image would go ...
        images = _images(podman_service)
        assert images.get(second) == set(), images  # ... and is still there
        assert first not in images
        assert built in images[a_id] and own in images[own_id] and pulled in set().union(*images.values()), images
        assert not set(containers(podman_service)) - set(before), "a working container was left"

        _wait_listed((a, b), _images(podman_service))  # another kernel's change shows (the listing cache's events)

        # each display: its own progress only
        a_shown = a_build.dump()
        assert f"A-{mark}" in a_shown and built in a_shown, a_shown[-2000:]
        assert pulled not in a_shown and f"B-{mark}" not in a_shown and mine not in a_shown
        b_shown = "\n".join(cell.dump() for cell in b_cells)
        assert pulled in b_shown and f"B-{mark}-1" in b_shown and f"B-{mark}-3" in b_shown, b_shown[-2000:]
        assert f"A-{mark}" not in b_shown and built not in b_shown
    finally:
        a.stop()
        b.stop()
        podman_service.remove_images(built, own, mine, pulled, second)
