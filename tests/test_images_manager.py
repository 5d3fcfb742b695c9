"""ImagesManager and Image against a real Podman service (4 and/or 5) and two real registries."""
import io
import tarfile
import uuid

import pytest

import podman_nb
from podman_nb import errors
from podman_nb.domain import events


def unique(prefix="t"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tagged(client, base_image):
    """A fresh local tag of the base image, removed afterwards."""
    name = f"localhost/podman-nb/{unique()}:v1"
    image = client.images.get(base_image.local)
    assert image.tag(name.rsplit(":", 1)[0], "v1")
    yield name
    try:
        client.images.remove(name)
    except errors.ImageNotFound:
        pass


# --- reading ---------------------------------------------------------------------------------------
def test_get_exists_reload_history(client, base_image):
    image = client.images.get(base_image.local)
    assert image.id.replace("sha256:", "") == base_image.id.replace("sha256:", "")
    assert base_image.local in image.tags
    assert client.images.exists(base_image.local)
    assert client.images.exists(image.id)
    assert not client.images.exists("localhost/podman-nb/no-such-image:nope")
    image.attrs = {"Id": image.id}
    image.reload()
    assert base_image.local in image.tags
    history = image.history()
    assert isinstance(history, list) and history and "Created" in history[0]
    # podman-py's rule: the first 10 characters, or 17 when the id keeps its "sha256:" prefix
    assert len(image.short_id) == 10 and image.id.startswith(image.short_id)
    prefixed = client.images.prepare_model({"Id": "sha256:" + image.id.replace("sha256:", "")})
    assert prefixed.short_id == "sha256:" + image.id.replace("sha256:", "")[:10]


def test_get_missing_raises_image_not_found(client, podman_major):
    with pytest.raises(errors.ImageNotFound) as info:
        client.images.get("localhost/podman-nb/no-such-image:nope")
    assert info.value.status_code == 404
    assert info.value.explanation  # the service's own message
    said = "no such image" if podman_major == 3 else "image not known"
    assert "no-such-image" in str(info.value) and said in info.value.explanation


# "UPPER/case" is valid (an upper-case first part names a registry, as in Docker): "upper/CASE" is not
@pytest.mark.parametrize("bad", ["upper/CASE", "a b", "bad::tag", "x@sha256:zz", "", "name:" + "t" * 200])
def test_bad_references_raise_before_any_request(client, bad, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a request was sent")

    monkeypatch.setattr(client.api, "_send", boom)
    with pytest.raises(errors.InvalidArgument):
        client.images.pull(bad)
    with pytest.raises(errors.InvalidArgument):
        client.images.push(bad)
    with pytest.raises(errors.InvalidArgument):
        client.images.get_registry_data(bad)


def test_list_all_filters(client, base_image, tagged):
    images = client.images.list()
    assert any(base_image.local in i.tags for i in images)
    assert len(client.images.list(all=True)) >= len(images)
    by_ref = client.images.list(filters={"reference": tagged})
    assert [tagged] == [t for i in by_ref for t in i.tags if t == tagged]
    assert any(tagged in i.tags for i in client.images.list(name=tagged))
    tag = f"localhost/podman-nb/{unique('dg')}:latest"  # built twice: the first image is left dangling
    orphan, _ = client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nRUN echo {tag} 1 > /d\n"), tag=tag)
    client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nRUN echo {tag} 2 > /d\n"), tag=tag)
    dangling = client.images.list(filters={"dangling": True})
    assert orphan.id in [i.id for i in dangling] and all(not i.tags for i in dangling)
    not_dangling = client.images.list(filters={"dangling": False})
    assert any(base_image.local in i.tags for i in not_dangling)
    assert orphan.id not in [i.id for i in not_dangling]
    client.images.remove(orphan.id)
    client.images.remove(tag)
    assert client.images.list(filters={"reference": "localhost/podman-nb/nothing-like-this*"}) == []


def test_list_label_dict_filter(client, base_image):
    tag = f"localhost/podman-nb/{unique('lab')}:latest"
    client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nLABEL pnbkey=pnbvalue other=x\n"),
                        tag=tag)
    try:
        found = client.images.list(filters={"label": {"pnbkey": "pnbvalue"}})
        assert any(tag in i.tags for i in found)
        assert found[0].labels.get("pnbkey") == "pnbvalue"
        assert not any(tag in i.tags for i in client.images.list(filters={"label": {"pnbkey": "other"}}))
        assert any(tag in i.tags for i in client.images.list(filters={"label": ["pnbkey=pnbvalue", "other"]}))
        # two labels are both required (Podman 3 and 4 match nothing for two: the second is checked here)
        assert not any(tag in i.tags for i in client.images.list(filters={"label": ["pnbkey=pnbvalue", "other=y"]}))
        assert not any(tag in i.tags for i in client.images.list(filters={"label": ["pnbkey", "absent"]}))
        assert any(tag in i.tags for i in client.images.list(filters={"label": "pnbkey"}))
    finally:
        client.images.remove(tag, force=True)


def test_tag_force_ignores_the_services_refusal_only(client, base_image, podman_service):
    image = client.images.get(base_image.local)
    with pytest.raises(errors.APIError):
        image.tag("Not A Valid/Name", "x")  # the service refuses it
    assert image.tag("Not A Valid/Name", "x", force=True) is False
    dead = podman_nb.PodmanClient(base_url="unix:///nonexistent/podman.sock").images.prepare_model(image.attrs)
    with pytest.raises(errors.ServiceUnavailable):  # force does not hide an unreachable service
        dead.tag("localhost/anything", "x", force=True)


def test_tag_and_remove(client, base_image):
    repo = f"localhost/podman-nb/{unique()}"
    image = client.images.get(base_image.local)
    assert image.tag(repo, "one") is True
    assert f"{repo}:one" in client.images.get(f"{repo}:one").tags
    report = client.images.remove(f"{repo}:one")
    assert report == [{"Untagged": f"{repo}:one"}, {"ExitCode": 0}]  # no {"Deleted": ""} (Podman 3 adds one)
    assert client.images.exists(base_image.local)  # only the tag went
    with pytest.raises(errors.ImageNotFound):
        client.images.remove(f"{repo}:one")
    with pytest.raises(errors.ImageNotFound):
        client.images.get(f"{repo}:one")


def test_remove_in_use_needs_force(client, podman_service, base_image):
    tag = f"localhost/podman-nb/{unique('use')}:latest"
    image, _ = client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo x > /x\n"), tag=tag)
    name = unique("ctr")
    podman_service.cli("create", "--name", name, tag)
    try:
        with pytest.raises(errors.APIError) as info:
            client.images.remove(tag)
        assert info.value.status_code == 409 and info.value.explanation
        report = image.remove(force=True)
        assert any("Deleted" in entry for entry in report)
        assert not client.images.exists(tag)
    finally:
        podman_service.cli("rm", "-f", name, check=False)


# --- save / load -----------------------------------------------------------------------------------
def test_save_load_round_trip(client, tmp_path, base_image, podman_major):
    tag = f"localhost/podman-nb/{unique('sv')}:latest"
    image, _ = client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo saved > /s\n"), tag=tag)
    data = b"".join(image.save(chunk_size=1000))
    assert all(len(c) == 1000 for c in list(image.save(chunk_size=1000))[:-1])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert "manifest.json" in tar.getnames()
    named = b"".join(image.save(named=True))
    with tarfile.open(fileobj=io.BytesIO(named)) as tar:
        manifest = tar.extractfile("manifest.json").read().decode()
    assert tag in manifest
    client.images.remove(tag, force=True)
    loaded = list(client.images.load(data=named))
    assert [i.id for i in loaded] == [image.id]
    assert tag in client.images.get(tag).tags
    client.images.remove(tag, force=True)
    path = tmp_path / "image.tar"
    path.write_bytes(named)
    loaded = list(client.images.load(file_path=path))
    assert loaded[0].id == image.id
    client.images.remove(tag, force=True)
    with pytest.raises(errors.InvalidArgument):
        image.save(named="not-a-tag-of-it:latest")
    with pytest.raises(errors.PodmanError):
        client.images.load()
    with pytest.raises(errors.APIError) as info:
        list(client.images.load(data=b"this is not a tarball"))
    if podman_major == 3:  # the service answers 200 {"Names": [""]}: we say what that means
        assert "not an image archive" in str(info.value) and info.value.status_code == 200
    else:
        assert info.value.status_code >= 400


# --- prune -----------------------------------------------------------------------------------------
def test_prune_and_prune_builds(client, base_image):
    tag = f"localhost/podman-nb/{unique('pr')}:latest"
    image, _ = client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo a > /a\n"), tag=tag)
    # Re-building the tag elsewhere leaves the first image dangling.
    client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo b > /b\n"), tag=tag)
    assert image.id in [i.id for i in client.images.prune_candidates()]
    result = client.images.prune(filters={"dangling": True})
    assert set(result) == {"ImagesDeleted", "SpaceReclaimed"}
    assert image.id in [e["Deleted"] for e in result["ImagesDeleted"]]
    assert isinstance(result["SpaceReclaimed"], int)
    # Layers of an earlier --layers build, left untagged by a rebuild, are build cache.
    client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo c > /c\nRUN echo d > /d\n"),
                        tag=tag, layers=True)
    client.images.build(fileobj=io.StringIO("FROM localhost/podman-nb/busybox:latest\nRUN echo c > /c\nRUN echo e > /e\n"),
                        tag=tag, layers=True)
    builds = client.images.prune_builds()
    assert set(builds) == {"CachesDeleted", "SpaceReclaimed"}
    assert builds["CachesDeleted"] and all(isinstance(i, str) for i in builds["CachesDeleted"])
    assert isinstance(builds["SpaceReclaimed"], int)
    assert client.images.exists(tag)  # tagged images survive
    assert client.images.prune_builds()["CachesDeleted"] == []  # nothing left; never throws
    client.images.remove(tag, force=True)


def _bare(image_id):
    return image_id.replace("sha256:", "")


def test_prune_candidates_name_exactly_what_prune_deletes(client, podman_service, base_image):
    """The --dry-run preview against the real prune, with dangling, intermediate and in-use images present.

    Each build is unique to this run; ``layers=True`` keeps an untagged intermediate image per step, so
    deleting a dangling image can take its parents with it (Podman prunes in rounds).
    """
    uid = unique("prune")
    label = f"pnbprune={uid}"
    containers, tags = [], []

    def build(tag, *steps, layers=False):
        tags.append(tag)
        text = "\n".join([f"FROM {base_image.local}", *steps]) + "\n"
        return client.images.build(fileobj=io.StringIO(text), tag=tag, layers=layers)[0]

    def in_use(image):
        name = unique("ctr")
        podman_service.cli("create", "--name", name, image.id)
        containers.append(name)

    def parent(image):  # the list documents name the parent; an inspect does not
        listed = [i for i in client.images.list(all=True) if i.id == image.id]
        return _bare(listed[0].attrs["ParentId"])

    def compare(**kwargs):
        preview = {_bare(i.id) for i in client.images.prune_candidates(**kwargs)}
        deleted = {_bare(e["Deleted"]) for e in client.images.prune(**kwargs)["ImagesDeleted"]}
        assert preview == deleted, (kwargs, preview - deleted, deleted - preview)
        return deleted

    try:
        # labelled, --layers: the old top becomes dangling; its unlabelled RUN parent goes with it
        old_top = build(f"localhost/podman-nb/{uid}-a:v1", f"RUN echo {uid}-a1 > /a", f"LABEL {label}", layers=True)
        old_run = parent(old_top)
        new_top = build(f"localhost/podman-nb/{uid}-a:v1", f"RUN echo {uid}-a2 > /a", f"LABEL {label}", layers=True)
        new_run = parent(new_top)
        # labelled, tagged and in use: never pruned
        used = build(f"localhost/podman-nb/{uid}-u:v1", f"RUN echo {uid}-u > /u", f"LABEL {label}")
        in_use(used)
        # unlabelled: a dangling image, a dangling one in use, and the intermediate of a tagged image
        gone = build(f"localhost/podman-nb/{uid}-w:v1", f"RUN echo {uid}-w1 > /w")
        build(f"localhost/podman-nb/{uid}-w:v1", f"RUN echo {uid}-w2 > /w")
        kept = build(f"localhost/podman-nb/{uid}-z:v1", f"RUN echo {uid}-z1 > /z")
        in_use(kept)
        build(f"localhost/podman-nb/{uid}-z:v1", f"RUN echo {uid}-z2 > /z")
        tagged = build(f"localhost/podman-nb/{uid}-y:v1", f"RUN echo {uid}-y1 > /y", f"RUN echo {uid}-y2 > /y2",
                       layers=True)
        intermediate = parent(tagged)
        assert old_run != _bare(base_image.id) and intermediate != _bare(base_image.id)

        assert compare(filters={"label": label}) == {_bare(old_top.id), old_run}
        assert compare(all=True, filters={"label": label}) >= {_bare(new_top.id), new_run}
        deleted = compare()
        assert _bare(gone.id) in deleted
        for survivor in (used.id, kept.id, tagged.id, intermediate, base_image.id):
            assert client.images.exists(_bare(survivor)), survivor
    finally:
        for name in containers:
            podman_service.cli("rm", "-f", name, check=False)
        for tag in tags:
            if client.images.exists(tag):
                client.images.remove(tag, force=True)


# --- pull ------------------------------------------------------------------------------------------
def test_pull_plain_registry(client, base_image, podman_major):
    image = client.images.pull(base_image.plain, tls_verify=False)
    assert image.id == client.images.get(base_image.local).id
    assert base_image.plain in client.images.get(base_image.plain).tags  # plain ends with ":latest"
    libpod_lines = {}
    for compat_mode in (True, False):
        got = []
        lines = list(client.images.pull(base_image.plain, tls_verify=False, stream=True, decode=True,
                                        progress=got.append, compatMode=compat_mode))
        assert lines and all(isinstance(line, dict) for line in lines)
        assert any(isinstance(e, events.LayerProgress) for e in got), got
        libpod_lines[compat_mode] = any("images" in line for line in lines)
        # libpod's lines end with the image's id; Docker-style lines never name the image
        results = [e.image_id for e in got if isinstance(e, events.Result)]
        assert results == ([image.id] if libpod_lines[compat_mode] else []), got
    # compatMode (the default) asks for Docker-style lines; Podman 3's say nothing until the end, so it gets libpod's
    assert libpod_lines == {True: podman_major == 3, False: True}
    raw = list(client.images.pull(base_image.plain, "latest", tls_verify=False, stream=True))
    assert raw and all(isinstance(line, bytes) for line in raw)
    client.images.remove(base_image.plain)


def test_pull_secure_registry_with_and_without_auth(client, base_image, registries):
    s = registries.secure
    auth = {"username": s.username, "password": s.password}
    for kwargs in ({}, {"tls_verify": True}, {"policy": "always", "tls_verify": True, "compatMode": False}):
        image = client.images.pull(base_image.secure, auth_config=auth, **kwargs)
        assert image.id == client.images.get(base_image.local).id
        client.images.remove(base_image.secure)
    for kwargs in ({}, {"compatMode": False}):
        with pytest.raises(errors.APIError) as info:
            client.images.pull(base_image.secure, **kwargs)
        text = str(info.value).lower()
        assert "auth" in text, text
        assert s.password not in str(info.value)
    with pytest.raises(errors.APIError) as info:
        client.images.pull(base_image.secure, auth_config={"username": s.username, "password": "wrong-pw"})
    assert "wrong-pw" not in str(info.value) and "wrong-pw" not in repr(info.value)
    assert "authentication required" in str(info.value).lower(), str(info.value)


def test_pull_missing_raises(client, registries):
    missing = f"{registries.plain.host}/podman-nb/does-not-exist"
    with pytest.raises(errors.ImageNotFound) as info:
        client.images.pull(missing, tls_verify=False)
    assert "manifest unknown" in info.value.raw()  # the service's words stay; the sentence says what it means
    assert str(info.value).startswith(f"{missing} has no tag latest, or there is no such repository (hint: ")
    with pytest.raises(errors.APIError):
        list(client.images.pull(missing, tls_verify=False, stream=True, decode=True))


def test_pull_error_reaches_progress_as_an_event(client, registries):
    """Pull and build read lines the same way: the error line becomes an Error event, then the raise."""
    got = []
    with pytest.raises(errors.ImageNotFound) as info:
        client.images.pull(f"{registries.plain.host}/podman-nb/does-not-exist", tls_verify=False,
                           policy="always", compatMode=False, progress=got.append)
    assert isinstance(got[-1], events.Error)
    assert got[-1].message in info.value.raw()


def test_pull_and_build_report_the_image_they_ended_with(client, base_image):
    """The last event of a pull is a Result naming the image and its tags, even for Docker-style lines."""
    got = []
    image = client.images.pull(base_image.plain, progress=got.append)  # registries.conf: insecure
    client.images.remove(base_image.plain)
    assert got[-1] == events.Result(image.id, tuple(image.tags))
    built = []
    tag = f"localhost/podman-nb/result{uuid.uuid4().hex[:8]}:latest"
    image, _ = client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nLABEL a=b\n"), tag=tag,
                                   progress=built.append)
    try:
        assert built[-1] == events.Result(image.id, (tag,))
    finally:
        client.images.remove(tag, force=True)


class ThrottledProxy:
    """A TCP proxy to ``port`` sending at most ``rate`` bytes/s back to the client (TLS passes through)."""

    def __init__(self, port, rate):
        import socket
        import threading
        self.port, self.rate = port, rate
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.rate), daemon=True).start()

    @staticmethod
    def _pump(source, dest, rate):
        import time
        try:
            while True:
                data = source.recv(64 * 1024 if rate is None else 16 * 1024)
                if not data:
                    break
                dest.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for sock in (source, dest):
                try:
                    sock.shutdown(2)
                except OSError:
                    pass

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def slow_secure_registry(registries, podman_service):
    """The secure registry behind a 20 MB/s proxy on another port, its CA trusted for that port too."""
    import shutil
    from pathlib import Path
    proxy = ThrottledProxy(registries.secure.port, 20_000_000)
    dirs = [Path("/etc/containers/certs.d") / proxy.host]
    if getattr(podman_service, "root", None):
        dirs.append(Path(podman_service.root) / "etc/containers/certs.d" / proxy.host)
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(registries.secure.ca_path, d / "ca.crt")
    yield proxy
    proxy.close()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def pushed_behind_slow_proxy(client, base_image, registries, slow_registry, megabytes, prefix="large"):
    """An image with a MEGABYTES random layer, built, pushed to the secure registry and removed from the service:
    returns its name behind the slow proxy and the registry's auth_config, ready for a pull that takes seconds."""
    s = registries.secure
    auth = {"username": s.username, "password": s.password}
    name = f"{s.host}/podman-nb/{unique(prefix)}:latest"
    client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\n"
                                            f"RUN dd if=/dev/urandom of=/blob bs=1M count={megabytes}\n"), tag=name)
    client.images.push(name, auth_config=auth)
    client.images.remove(name, force=True)
    return name.replace(s.host, slow_registry.host), auth


def test_pull_byte_progress(client, base_image, registries, slow_secure_registry, podman_service, podman_major):
    """A layer that takes seconds to download reports its bytes (compat endpoint on 4, compatMode on 5);
    Podman 3 reports layer states only (its compat endpoint says nothing until the end, so libpod's is used).

    Podman reports layer bytes about once a second, so a layer that downloads faster (30 MiB, even
    300 MB, from a loopback registry does) only ever reports "Pulling fs layer" and "Download complete".
    """
    slow, auth = pushed_behind_slow_proxy(client, base_image, registries, slow_secure_registry, 60)
    got = []
    image = client.images.pull(slow, auth_config=auth, progress=got.append)
    try:
        layers = [e for e in got if isinstance(e, events.LayerProgress)]
        with_bytes = [e for e in layers if e.current is not None and e.total]
        if podman_major == 3:
            assert layers and with_bytes == [] and all(len(e.layer) == 12 for e in layers), layers
            assert {e.state for e in layers} == {"Copying blob"}, layers
            return
        assert with_bytes, f"no byte progress from Podman {podman_service.version}: {layers}"
        assert all(0 < e.current <= e.total for e in with_bytes)
        assert max(e.total for e in with_bytes) >= 60 * 1024 * 1024 * 0.9
        assert any(e.done for e in layers)
    finally:
        client.images.remove(image.id, force=True)


# --- push ------------------------------------------------------------------------------------------
def test_push_both_registries(client, base_image, registries, tagged, podman_major):
    s = registries.secure
    dest = f"{s.host}/podman-nb/{unique('push')}:v1"
    got = []
    out = client.images.push(tagged, destination=dest, auth_config={"username": s.username, "password": s.password},
                              progress=got.append)
    if podman_major == 3:  # an empty answer once the push is over: progress is told so, not shown bars that never move
        assert out == "" and [e for e in got if isinstance(e, events.LayerProgress)] == []
        assert got == [events.Status(f"Podman {client.api.podman_version} reports nothing until a push is over: "
                                     "waiting for it to finish")]
    else:
        assert isinstance(out, str) and "Writing manifest" in out and s.password not in out
        assert [e for e in got if isinstance(e, events.LayerProgress)]
    data = client.images.get_registry_data(dest, auth_config={"username": s.username, "password": s.password})
    assert data.id.startswith("sha256:")
    plain = f"{registries.plain.host}/podman-nb/{unique('push')}"
    client.images.get(tagged).tag(plain, "v2")
    lines = list(client.images.push(plain, "v2", tls_verify=False, stream=True, decode=True))
    assert lines == [] if podman_major == 3 else any("Writing manifest" in str(line) for line in lines)
    assert client.images.get_registry_data(f"{plain}:v2").id.startswith("sha256:")  # it arrived
    client.images.remove(f"{plain}:v2")


def test_push_errors(client, registries, tagged):
    with pytest.raises(errors.ImageNotFound):
        client.images.push("localhost/podman-nb/not-here:latest", tls_verify=False)
    s = registries.secure
    with pytest.raises(errors.APIError) as info:
        client.images.push(tagged, destination=f"{s.host}/podman-nb/x:latest")
    assert "auth" in str(info.value).lower()
    with pytest.raises(errors.APIError) as info:
        client.images.push(tagged, destination=f"{s.host}/podman-nb/x:latest",
                           auth_config={"username": s.username, "password": "wrong-pw"})
    assert "wrong-pw" not in str(info.value) and "wrong-pw" not in repr(info.value)


def test_push_to_stopped_registry(client, registries, tagged):
    p = registries.plain
    p.stop()
    try:
        with pytest.raises(errors.APIError) as info:
            client.images.push(tagged, destination=f"{p.host}/podman-nb/x:latest", tls_verify=False)
        assert p.host in str(info.value)
    finally:
        p.start()


# --- registry data ---------------------------------------------------------------------------------
def _registry_head_digest(registry, repo, tag="latest"):
    import base64
    import urllib.request
    import ssl
    request = urllib.request.Request(f"{registry.url}/v2/{repo}/manifests/{tag}", method="HEAD", headers={
        "Accept": ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json",
                             "application/vnd.docker.distribution.manifest.v2+json"])})
    if registry.username:
        token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=registry.ca_path) if registry.tls else None
    with urllib.request.urlopen(request, context=context) as response:
        return response.headers["Docker-Content-Digest"]


def test_get_registry_data(client, base_image, registries):
    s = registries.secure
    data = client.images.get_registry_data(base_image.secure, auth_config={"username": s.username,
                                                                           "password": s.password})
    assert data.id == _registry_head_digest(s, "podman-nb/busybox")
    assert data.attrs["Descriptor"]["digest"] == data.id and data.attrs["Descriptor"]["size"] > 0
    assert data.attrs["Descriptor"]["mediaType"]
    assert {"os": "linux"}.items() <= data.platforms[0].items() and data.platforms[0]["architecture"]
    assert data.has_platform(f"linux/{data.platforms[0]['architecture']}")
    assert s.password not in repr(data)
    plain = client.images.get_registry_data(base_image.plain)
    assert plain.id == _registry_head_digest(registries.plain, "podman-nb/busybox")
    with pytest.raises(errors.APIError) as info:
        client.images.get_registry_data(base_image.secure)
    assert "authentication required" in str(info.value).lower(), str(info.value)
    with pytest.raises(errors.APIError) as info:
        client.images.get_registry_data(base_image.secure, auth_config={"username": s.username, "password": "bad-pw"})
    assert "bad-pw" not in str(info.value)
    with pytest.raises(errors.ImageNotFound) as missing:
        client.images.get_registry_data(f"{registries.plain.host}/podman-nb/does-not-exist")
    assert missing.value.hint is None  # a local service reads the same files: nothing to add (see test_connections)


# --- search, scp -----------------------------------------------------------------------------------
def test_search_plain_registry(client, base_image, registries):
    results = client.images.search(f"{registries.plain.host}/podman-nb/busybox", tls_verify=False)
    assert any("podman-nb/busybox" in r.get("Name", "") for r in results), results
    tags = client.images.search(f"{registries.plain.host}/podman-nb/busybox", tls_verify=False, listTags=True)
    assert any(r.get("Tag") == "latest" for r in tags), tags


def test_scp_reports_service_error(client, base_image, podman_major):
    if podman_major == 3:  # the service has no scp endpoint (405): refused before anything is sent
        with pytest.raises(errors.NotSupported, match="scp needs Podman 4 or later"):
            client.images.scp(base_image.local, "nosuchconnection::")
        return
    try:
        result = client.images.scp(base_image.local, "nosuchconnection::")
    except errors.APIError as error:
        assert error.explanation and error.status_code >= 400
    else:
        pytest.fail(f"scp to a missing connection succeeded: {result!r}")
