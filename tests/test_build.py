"""ImagesManager.build against a real Podman service: every podman-py keyword, errors, live streaming."""
import io
import json
import uuid

import pytest

from podman_nb import errors
from podman_nb.domain import events

BASE = "localhost/podman-nb/busybox:latest"


def unique(prefix="b"):
    return f"localhost/podman-nb/{prefix}{uuid.uuid4().hex[:8]}:latest"


def log_text(log):
    text = []
    for chunk in log:
        line = json.loads(chunk) if isinstance(chunk, (bytes, str)) else chunk
        text.append(str(line.get("stream", "")))
    return "".join(text)


@pytest.fixture
def build(client, base_image):
    """build(containerfile_text, **kwargs) -> (image, log text); removes what it tagged."""
    made = []

    def run(containerfile, **kwargs):
        kwargs.setdefault("tag", unique())
        made.append(kwargs["tag"])
        image, log = client.images.build(fileobj=io.StringIO(containerfile), **kwargs)
        return image, log_text(log)

    yield run
    for tag in made:
        try:
            client.images.remove(tag, force=True)
        except errors.ImageNotFound:
            pass


def test_text_and_binary_fileobj(client, build):
    image, log = build(f"FROM {BASE}\nRUN echo text-file\n")
    assert "text-file" in log and image.id
    tag = unique()
    image2, log2 = client.images.build(fileobj=io.BytesIO(f"FROM {BASE}\nRUN echo bin-file\n".encode()), tag=tag)
    try:
        assert "bin-file" in log_text(log2) and tag in image2.tags
    finally:
        client.images.remove(tag, force=True)


def test_buildargs_labels_extra_hosts(build):
    image, log = build(f"FROM {BASE}\nARG GREETING=unset\nRUN echo greeting=$GREETING && cat /etc/hosts\n",
                       buildargs={"GREETING": "hi there"}, labels={"org.example.k": "v1"},
                       extra_hosts={"pnb-extra-host": "10.9.8.7"})
    assert "greeting=hi there" in log
    assert "10.9.8.7" in log and "pnb-extra-host" in log
    assert image.labels["org.example.k"] == "v1"


def test_container_limits(build, podman_major):
    script = ("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    containerfile = f"FROM {BASE}\nRUN {script}\n"
    if podman_major == 3:  # Podman 3 would build with no memory limit at all: refused, never passed as success
        for limits in ({"memory": 64 * 1024 * 1024}, {"memswap": 128 * 1024 * 1024}):
            with pytest.raises(errors.NotSupported, match="Podman 4 or later"):
                build(containerfile, container_limits=limits)
        _, log = build(containerfile, container_limits={"cpushares": 512})  # other limits are sent as asked
    else:
        _, log = build(containerfile, container_limits={"memory": 64 * 1024 * 1024})
        assert str(64 * 1024 * 1024) in log
    with pytest.raises(errors.InvalidArgument):
        build(f"FROM {BASE}\n", container_limits={"bogus": 1})


def test_network_mode(build, podman_major):
    if podman_major == 3:  # Podman 3 runs RUN steps in the host network whatever is asked: refused
        for mode in ("none", "private", "bridge"):
            with pytest.raises(errors.NotSupported, match="host network"):
                build(f"FROM {BASE}\nRUN echo nets: $(ls /sys/class/net)\n", network_mode=mode)
    else:
        _, log = build(f"FROM {BASE}\nRUN echo nets: $(ls /sys/class/net)\n", network_mode="none")
        assert "nets: lo\n" in log
    _, log = build(f"FROM {BASE}\nRUN echo nets: $(ls /sys/class/net)\n", network_mode="host")
    assert len(log.split("nets: ", 1)[1].split("\n", 1)[0].split()) > 1


def test_target_multi_stage(build):
    containerfile = (f"FROM {BASE} AS first\nRUN echo one > /one\nLABEL stage=first\n"
                     f"FROM first AS second\nRUN echo two > /two\nLABEL stage=second\n")
    image, log = build(containerfile, target="first")
    assert image.labels["stage"] == "first"
    assert "echo two" not in log


def test_squash_layers_nocache(client, build, base_image):
    containerfile = f"FROM {BASE}\nRUN echo a > /a\nRUN echo b > /b\n"
    image, _ = build(containerfile, layers=True)
    base_layers = len(client.images.get(BASE).attrs["RootFS"]["Layers"])
    assert len(image.attrs["RootFS"]["Layers"]) == base_layers + 2
    again, log = build(containerfile, layers=True)
    assert "Using cache" in log and again.id == image.id, log
    fresh, log = build(containerfile, layers=True, nocache=True)
    assert "Using cache" not in log and fresh.id != image.id
    squashed, _ = build(containerfile, squash=True, layers=False)
    # Podman's REST squash is buildah's: every layer, the base's too, becomes one.
    assert len(squashed.attrs["RootFS"]["Layers"]) == 1


def test_output_is_accepted_but_ignored_by_podman(build, podman_service):
    """Podman's REST build has no output parameter (4.3 and 5.4): the image is built, nothing exported."""
    dest = podman_service.workdir / f"out-{uuid.uuid4().hex[:6]}.tar"
    image, _ = build(f"FROM {BASE}\nRUN echo out > /out.txt\n", output=f"type=tar,dest={dest}")
    assert image.id and not dest.exists()


def test_platform(build):
    image, _ = build(f"FROM {BASE}\nRUN true\n", platform="linux/amd64")
    assert image.attrs["Architecture"] == "amd64" and image.attrs["Os"] == "linux"


def test_pull_always(client, build, base_image, podman_major):
    pulling = "Getting image source signatures" if podman_major == 3 else "Trying to pull"  # 3 writes no "Trying"
    _, log = build(f"FROM {base_image.plain}\nRUN echo pulled\n", pull=True)
    assert "pulled" in log
    _, log = build(f"FROM {base_image.plain}\nRUN echo pulled again\n", pull=True)
    assert pulling in log and "Copying blob" in log, log  # pulled although present
    _, log = build(f"FROM {base_image.plain}\nRUN echo not pulled\n")
    assert pulling not in log, log
    client.images.remove(base_image.plain, force=True)


def test_a_registry_cache_is_pushed_then_used_by_the_next_build(build, client, podman_service, registries):
    """cache_to pushes the layers of the RUN steps; with the local ones gone, cache_from takes them again: no RUN
    step runs. Podman 3.0.1 would ignore both, and is refused in one sentence naming the version that can."""
    cache, mark = f"{registries.plain.host}/podman-nb/buildcache", uuid.uuid4().hex
    ran = f"RAN-{mark.upper()}"  # what the RUN steps print (their command lines say it in lower case)
    containerfile = f"FROM {BASE}\nRUN echo ran-{mark}-1 | tr a-z A-Z\nRUN echo ran-{mark}-2 | tr a-z A-Z\n"
    if not client.api.features.build_cache_form:
        with pytest.raises(errors.NotSupported, match=r"^Podman 3\.0\.1 ignores cache_to in builds .*Podman 4\.3 "):
            build(containerfile, cache_to=cache)
        return
    secure = registries.secure  # a registry with a login: the credentials go as a push's (X-Registry-Auth)
    try:
        first, log = build(containerfile, layers=True, cache_to=cache)
        assert f"{ran}-1" in log and f"{ran}-2" in log and log.count("Pushing cache") == 2, log
        client.images.remove(first.id, force=True)  # the image and its untagged parents: no local cache left
        second, log = build(containerfile, layers=True, cache_from=cache)
        assert ran not in log and log.count("Using cache") == 2, log
        assert second.attrs["RootFS"]["Layers"] == first.attrs["RootFS"]["Layers"]
        _, log = build(containerfile.replace(mark, mark[::-1]), layers=True,
                       cache_to=f"{secure.host}/podman-nb/cache",
                       auth_config={"username": secure.username, "password": secure.password})
        assert log.count("Pushing cache") == 2 and secure.password not in log, log
    finally:  # the cache's layers, tagged REPO:DIGEST by the service: the listings of later tests stay as they were
        for image in client.images.list():
            if any(tag.startswith((cache + ":", f"{secure.host}/podman-nb/cache:")) for tag in image.tags):
                client.images.remove(image.id, force=True)


def test_dockerfile_outside_context_and_containerignore(client, tmp_path, base_image):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "keep.txt").write_text("keep\n")
    (context / "secret.txt").write_text("nope\n")
    (context / ".containerignore").write_text("secret.txt\n")
    outside = tmp_path / "elsewhere" / "Build.containerfile"
    outside.parent.mkdir()
    outside.write_text(f"FROM {BASE}\nCOPY . /ctx/\nRUN echo files: $(ls /ctx | tr '\\n' ' ')\n")
    tag = unique()
    image, log = client.images.build(path=str(context), dockerfile=str(outside), tag=tag)
    try:
        text = log_text(log)
        assert "keep.txt" in text and "secret.txt" not in text
    finally:
        client.images.remove(tag, force=True)


def test_build_error_carries_log(client, base_image):
    with pytest.raises(errors.BuildError) as info:
        client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN echo about-to-fail && exit 3\n"))
    error = info.value
    assert "exit status 3" in str(error)
    assert any("about-to-fail" in str(line) for line in error.build_log)
    with pytest.raises(errors.BuildError):
        list(client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN exit 4\n"), stream=True, decode=True))
    with pytest.raises(errors.BuildError) as info:  # an error line in a stream that began with 200
        client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/not-there:latest\n"))
    assert "localhost/podman-nb/not-there:latest" in str(info.value)


def test_one_log_per_build_returned_kept_on_the_image_and_podman_py_shaped(build, client, podman_major):
    tag = unique("log")
    image, log = client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN echo hello-log\n"), tag=tag)
    try:
        assert image.build_log is log
        assert all(isinstance(line, bytes) for line in log)  # podman-py: the service's lines, as bytes
        assert "hello-log" in log_text(log) and "hello-log" in log.text
        if podman_major == 3:  # no step total, the commit is a step, and no "Successfully tagged" line
            assert log.text[0] == f"STEP 1: FROM {BASE}" and log.text[-1].startswith("--> "), list(log.text)
            assert f"STEP 3: COMMIT {tag}" in log.text
        else:
            assert log.text[0] == f"STEP 1/2: FROM {BASE}" and log.text[-1] == f"Successfully tagged {tag}"
        first = next(log)
        assert json.loads(first) == next(log.records()) and next(log) != first
    finally:
        client.images.remove(tag, force=True)


def test_failing_200000_line_build_keeps_every_line_in_bounded_memory(client, base_image, podman_major):
    """The BuildError carries the build's one log, every line of it, spooled to disk past a megabyte.

    Podman 3.0.1 ends a failed build's response while output is still pending when the client reads
    slower than the build writes (here: tracemalloc slows the reading): the last lines never reach
    the client (curl --limit-rate shows the same). There the log must be every line the service sent,
    a gapless start of the output, and the error.
    """
    import tracemalloc

    from podman_nb.domain.buildlog import BuildLog

    lines = 200_000
    run = (f'i=0; while [ $i -lt {lines} ]; do echo "line $i of a long failing build, as long as a compiler'
           f' line usually is"; i=$((i+1)); done; exit 7')
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with pytest.raises(errors.BuildError) as info:
        client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN {run}\n"), layers=False)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    log = info.value.build_log
    assert isinstance(log, BuildLog)
    output = [text for text in log.text if text.startswith("line")]
    assert any(not json.loads(line).get("stream", "\n").endswith("\n") for line in log)  # lines were cut
    streamed = "".join(str(record.get("stream", "")) for record in log.records())
    # all the service sent (a line the service cut, "line 199669 of a ", reads without its trailing space)
    assert output == [text.rstrip() for text in streamed.splitlines() if text.startswith("line")]
    # the service's own message on the failed step (Podman 3.0.1 sends it twice) may land inside the step's last
    # lines ("line 1996" + "subprocess exited with status 7\n" + "82 of ..."), written while they are on their way
    sent = streamed.replace("subprocess exited with status 7\n", "")
    numbered = [text for text in sent.splitlines() if text.startswith("line ")]
    expected = [f"line {i} of a long failing build, as long as a compiler line usually is" for i in range(lines)]
    if podman_major == 3:  # the service may cut the tail (see above): lines 0..k-1, the last perhaps cut short
        assert len(numbered) > lines // 2 and numbered[:-1] == expected[:len(numbered) - 1]
        assert expected[len(numbered) - 1].startswith(numbered[-1])
    else:
        assert numbered == expected
    size = sum(len(text) for text in log.text) + sum(len(line) for line in log)
    assert size > 25 * 1024 * 1024
    print(f"200,000-line failing build: peak {peak} bytes of Python memory for {size} bytes of log")
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes for {size} bytes of log"
    assert log.text[-1].startswith("Error: ") and "exit status 7" in log.text[-1]


def test_build_error_reaches_progress_as_an_event(client, base_image):
    """The error line is offered to ``progress`` as an Error event before build() raises BuildError."""
    got = []
    with pytest.raises(errors.BuildError) as info:
        client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN exit 5\n"), progress=got.append)
    errors_seen = [e for e in got if isinstance(e, events.Error)]
    assert len(errors_seen) == 1 and errors_seen[0] is got[-1]
    assert errors_seen[0].message.strip() == info.value.msg


def test_stream_yields_live(client, base_image, podman_major):
    """The first STEP arrives while a later ``RUN sleep 2`` has not finished: the image does not exist yet."""
    tag = unique("live")
    got = []
    stream = client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN sleep 2 && echo slept\n"), tag=tag,
                                 stream=True, decode=True, progress=got.append)
    try:
        first = next(stream)
        assert first["stream"].startswith("STEP 1: " if podman_major == 3 else "STEP 1/2: ")
        assert not client.images.exists(tag)  # the build is still going
        rest = list(stream)
        assert any("slept" in str(line.get("stream")) for line in rest)
        assert client.images.exists(tag)
        final_id = client.images.get(tag).id
        assert rest[-1] == {"stream": final_id.replace("sha256:", "") + "\n"}, rest[-3:]  # the image id ends it
        steps = [e for e in got if isinstance(e, events.Step)]
        if podman_major == 3:  # "STEP 1: FROM ...", no total, and the commit is a step of its own
            assert [(s.number, s.total) for s in steps] == [(1, None), (2, None), (3, None)]
            assert steps[-1].instruction.startswith("COMMIT")
        else:
            assert [(s.number, s.total) for s in steps] == [(1, 2), (2, 2)]
        assert isinstance([e for e in got if isinstance(e, events.Result)][-1], events.Result)
    finally:
        if client.images.exists(tag):
            client.images.remove(tag, force=True)


def test_fileobj_must_be_a_file_object(client):
    with pytest.raises(errors.InvalidArgument):
        client.images.build(fileobj="FROM scratch\n")


def service_containers(podman_service):
    """Every container the service holds, build (buildah working) containers included."""
    status, _, body = podman_service.request("GET", "/v4.0.0/libpod/containers/json?all=true&external=true")
    assert status == 200, body
    return sorted(c["Id"] for c in json.loads(body) or [])


@pytest.mark.parametrize("containerfile", [f"FROM {BASE}\nRUN echo about-to-fail && exit 1\n",
                                           f"FROM {BASE}\nCOPY missing.txt /missing.txt\n",
                                           f"FROM {BASE}\nRUNN echo typo\n"],
                         ids=["run-exit-1", "copy-missing", "runn-typo"])
def test_failed_build_leaves_no_container(client, base_image, podman_service, podman_major, containerfile):
    """As ``podman build`` (--force-rm defaults to true): a failed build leaves nothing behind."""
    before = service_containers(podman_service)
    if podman_major == 3 and "RUNN" in containerfile:  # Podman 3 skips an unknown instruction: no failure
        image, _ = client.images.build(fileobj=io.StringIO(containerfile))
        client.images.remove(image.id, force=True)
    else:
        with pytest.raises(errors.BuildError):
            client.images.build(fileobj=io.StringIO(containerfile))
    assert service_containers(podman_service) == before


def test_failed_build_keeps_its_container_with_forcerm_false(client, base_image, podman_service):
    before = service_containers(podman_service)
    with pytest.raises(errors.BuildError):
        client.images.build(fileobj=io.StringIO(f"FROM {BASE}\nRUN exit 1\n"), forcerm=False)
    kept = set(service_containers(podman_service)) - set(before)
    assert len(kept) == 1, kept
    for container in kept:
        podman_service.request("DELETE", f"/v4.0.0/libpod/containers/{container}?force=true")
    assert service_containers(podman_service) == before


def test_a_second_interrupt_cannot_cut_the_clean_up_short():
    """Ctrl-C during the clean-up of an interrupted build is held off until the clean-up is done."""
    import os
    import signal
    import time

    from podman_nb.domain.build import interrupts_held

    finished = []
    with interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        finished.append(True)
    assert finished
    with pytest.raises(KeyboardInterrupt):  # afterwards Ctrl-C interrupts again
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


def test_build_containers_tells_its_own_from_another_builds():
    """The rules of build_containers (the real two-build case is in test_faults): what is new since the
    build was sent and was alone at its second step is ours; another build's from the same base is not."""
    from podman_nb.domain.build_containers import BuildContainers
    on_service = {"old": "base"}
    found, bases = BuildContainers(on_service), {"localhost/b:1": "base", "localhost/c:1": "cbase"}.get
    found.see(events.Step(1, 3, "FROM localhost/b:1"), lambda: dict(on_service))
    on_service["mine"] = "base"
    found.see(events.Step(2, 3, "RUN sleep 9"), lambda: dict(on_service))
    on_service["theirs"] = "base"  # another build from the same base, begun after our second step
    assert found.own(dict(on_service), bases) == ({"mine"}, set())
    # a cache hit starts a new container from the cached layer: ours, unless another starts from it too
    found.see(events.LogLine("--> Using cache " + "ab" * 32), lambda: dict(on_service))
    on_service["cached"] = "ab" * 32
    assert found.own(dict(on_service), bases) == ({"mine", "cached"}, set())
    on_service["cached-too"] = "ab" * 32
    assert found.own(dict(on_service), bases) == ({"mine"}, {"cached", "cached-too"})


def test_build_containers_leaves_what_it_cannot_tell():
    """Interrupted before its second step, or two builds begun in the same instant: nothing is ours for sure."""
    from podman_nb.domain.build_containers import BuildContainers
    on_service = {}
    found, bases = BuildContainers(on_service), {"localhost/b:1": "base"}.get
    found.see(events.Step(1, 2, "FROM localhost/b:1 AS build"), lambda: dict(on_service))
    on_service.update({"a": "base"})
    assert found.own(dict(on_service), bases) == (set(), {"a"})  # before step 2: maybe another build's
    on_service.update({"b": "base"})
    found.see(events.Step(2, 2, "RUN true"), lambda: dict(on_service))
    assert found.first is None and found.own(dict(on_service), bases) == (set(), {"a", "b"})


def test_build_containers_unknown_base_leaves_new_containers_unsure():
    """A base it cannot resolve (an ARG in FROM, say) and no second step: every new container is unsure,
    so the caller says so rather than leaving the build running in silence."""
    from podman_nb.domain.build_containers import BuildContainers
    on_service = {"old": "x"}
    found, bases = BuildContainers(on_service), lambda reference: None
    found.see(events.Step(1, 2, "FROM $BASE"), lambda: dict(on_service))
    on_service["new"] = "base"
    assert found.own(dict(on_service), bases) == (set(), {"new"})


def test_cache_credentials_go_to_the_cache_registry_only():
    """auth_config with a registry cache is scoped to the cache repositories' registries (a single login would
    be Podman's for every registry of the build, a FROM image's too); test_a_registry_cache_is_pushed_then_used_by_the_next_build
    pushes to the login-protected registry with it."""
    import base64

    from podman_nb.domain.build import _build_headers

    login = {"username": "alice", "password": "s3cret"}
    header = _build_headers(None, {"cache_to": "127.0.0.1:5000/team/cache", "cache_from": ["quay.io/t/c", "t/c"],
                                   "auth_config": login})["X-Registry-Auth"]
    assert json.loads(base64.urlsafe_b64decode(header)) == {"127.0.0.1:5000": login, "docker.io": login,
                                                            "quay.io": login}
