"""The listing cache against real services: never stale (a seeded differential test), its fallbacks, no leaks.

Each test here runs on a Podman service of its own (same Podman as the suite's), so that ~100 imported
images and a killed service slow or disturb no other test. "Outside" changes are made by the podman
CLI straight on the storage, the CLI through the service, a second client, and the magics.
"""
import io
import json
import os
import random
import tarfile
import threading
import time
import urllib.parse

import pandas as pd
import pytest
from IPython.testing.globalipapp import get_ipython

import podman_nb
import reliability
import services
from podman_nb.api.api_client import abort_stream
from podman_nb.notebook import tables

OUTSIDE_WAIT = 0.5  # what the issue promises: a listing asked this long after an outside change shows it
IMAGES = int(os.environ.get("PODMAN_NB_TEST_CACHE_IMAGES", "100"))  # the differential test's imported images


def _tar(text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Outside:
    """One Podman service of this module's own, and the ways to change it that are not the magics."""

    def __init__(self, which, workdir, registries):
        self.svc = services.PodmanService(which, workdir, registries.registries_conf, registries.ca_files)
        self.registry = registries.plain.host
        conf = self.svc.workdir / "containers.conf"
        self.silent_conf = self.svc.workdir / "containers-noevents.conf"  # a CLI that logs no event
        self.silent_conf.write_text(conf.read_text().replace('events_logger = "file"', 'events_logger = "none"'))
        self.tar = self.svc.workdir / "hello.tar"
        self.tar.write_bytes(_tar("hello"))
        self.context = self.svc.workdir / "context"
        self.context.mkdir()
        (self.context / "hello.txt").write_text("hello")

    def storage(self, *args, silent=False):
        """The podman CLI straight on the storage (no service), as another terminal would run it."""
        env = self.svc._service_env()
        if silent:
            env["CONTAINERS_CONF"] = str(self.silent_conf)
        return services.run(self.svc._podman() + list(map(str, args)), env=env, timeout=300)

    def remote(self, *args):
        """The podman CLI as a client of the service (CONTAINER_HOST)."""
        env = dict(self.svc._service_env(), CONTAINER_HOST=self.svc.base_url)
        return services.run(self.svc._podman() + ["--remote"] + list(map(str, args)), env=env, timeout=300)

    def raw(self, **query):
        """The service's own listing, asked without podman_nb."""
        path = f"{services.LIBPOD}/images/json" + ("?" + urllib.parse.urlencode(query) if query else "")
        status, _, body = self.svc.request("GET", path)
        assert status == 200, body[:300]
        return json.loads(body) or []

    def probe(self):
        """The ``timeNano`` of a save event made now through the service: the service logs its image events in
        order, a little after each call returns, so a cache that has read this one has read every earlier one."""
        started = time.time_ns()
        name = next(t for row in self.raw() for t in row.get("RepoTags") or [])
        status, _, body = self.svc.request("GET", f"{services.LIBPOD}/images/{urllib.parse.quote(name, safe='')}/get")
        assert status == 200, body[:300]
        filters = urllib.parse.quote(json.dumps({"type": ["image"], "event": ["save"]}))
        saved = []

        def logged():
            _, _, log = self.svc.request("GET", f"{services.LIBPOD}/events?stream=false&filters={filters}")
            saved[:] = [e["timeNano"] for e in map(json.loads, log.decode().splitlines()) if e["timeNano"] >= started]
            return saved

        wait_for(logged, timeout=60.0)
        return min(saved)

    def import_images(self, count, prefix="localhost/d/imported"):
        for i in range(count):
            self.svc.import_image(self.tar, f"{prefix}:{i}", changes=(f"LABEL n={i}",))


@pytest.fixture(scope="module")
def outside(podman_service, registries, tmp_path_factory):
    made = Outside(podman_service.which, tmp_path_factory.mktemp("listing-cache"), registries)
    yield made
    made.svc.close()


@pytest.fixture(scope="module")
def shell(outside):
    from IPython.core.interactiveshell import InteractiveShell

    ip = get_ipython() or InteractiveShell.instance()
    ip.run_line_magic("load_ext", "podman_nb")
    ip.run_line_magic("config", f"PodmanMagics.base_url = {outside.svc.base_url!r}")
    ip.run_line_magic("config", "PodmanMagics.list_cache = 'on'")
    ip.run_line_magic("config", "PodmanMagics.progress = 'none'")
    yield ip
    ip.run_line_magic("config", "PodmanMagics.list_cache = 'auto'")
    ip.run_line_magic("config", "PodmanMagics.base_url = None")


def magics(ip):
    return ip.magics_manager.registry["PodmanMagics"]


def cache_of(ip):
    return magics(ip).client.listing(magics(ip).list_cache)


def listed(ip, line=""):
    return ip.run_line_magic("images", line)


def expected(outside, line=""):
    """What %images LINE shows when it asks the service itself."""
    query = {"all": "true"} if "--all" in line else {}
    if "dangling=true" in line:
        query["filters"] = json.dumps({"dangling": ["true"]})
    return tables.images_frame(outside.raw(**query), wide="--wide" in line, sort="size" if "size" in line else None)


def assert_same(got, want, context):
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), obj=context)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def caught_up(cache, outside):
    """Wait until the cache has read every event the service logged so far and made its background refresh:
    on a loaded machine an event can come seconds late, and its refresh would race the next step."""
    probe = outside.probe()
    wait_for(lambda: cache.idle(probe), timeout=60.0)


# -- fallbacks --------------------------------------------------------------------------------
def test_fresh_and_the_safety_net_heal_a_change_that_emits_no_event(shell, outside):
    outside.import_images(3, "localhost/d/net")
    cache = cache_of(shell)
    listed(shell)
    caught_up(cache, outside)  # the imports' events are read and their refresh made: nothing will list anew
    before_hits = cache.stats.hits
    assert_same(listed(shell), expected(outside), "warm")
    assert cache.stats.hits == before_hits + 1  # answered from the cache
    outside.storage("tag", "localhost/d/net:0", "localhost/d/net:silent", silent=True)  # no event at all
    time.sleep(OUTSIDE_WAIT)
    assert "silent" not in set(listed(shell)["tag"])  # the cache cannot know...
    assert_same(listed(shell, "--fresh"), expected(outside), "--fresh")  # ...but --fresh asks
    outside.storage("untag", "localhost/d/net:silent", "localhost/d/net:silent", silent=True)
    cache.max_age = 0.3  # the safety net: past max_age a call still answers, and the listing is made again
    try:
        time.sleep(0.4)
        assert "silent" in set(listed(shell)["tag"])  # the listing --fresh made, answered once more
        wait_for(lambda: "silent" not in set(listed(shell)["tag"]))
    finally:
        cache.max_age = 300.0


def test_list_cache_off_asks_every_time_and_podman_says_so(shell, outside, capsys):
    cache = cache_of(shell)
    shell.run_line_magic("config", "PodmanMagics.list_cache = 'off'")
    try:
        assert cache.closed and not any(thread.is_alive() for thread in cache._threads)
        outside.storage("tag", "localhost/d/net:0", "localhost/d/net:off", silent=True)
        assert "off" in set(listed(shell)["tag"])
        facts = shell.run_line_magic("podman", "")
        assert facts["listing"] == {"cached": False, "since": None, "why": 'list_cache = "off"'}
        assert repr(facts).endswith('\n%images asks the service each time: list_cache = "off"'), repr(facts)
    finally:
        shell.run_line_magic("config", "PodmanMagics.list_cache = 'on'")
    listed(shell)
    facts = shell.run_line_magic("podman", "")
    assert facts["listing"]["cached"] and facts["listing"]["since"] is not None
    assert "%images is cached, kept current by the service's events: current since " in repr(facts)


def test_a_cut_events_stream_makes_the_listing_ask_again(shell, outside):
    cache = cache_of(shell)
    listed(shell)
    caught_up(cache, outside)
    connects = cache.stats.connects
    outside.storage("tag", "localhost/d/net:0", "localhost/d/net:cut", silent=True)
    assert "cut" not in set(listed(shell)["tag"])  # stale: nothing said there was a change
    abort_stream(cache._response)  # the connection breaks, as when a proxy or tunnel dies
    wait_for(lambda: cache.stats.connects == connects + 1)  # reopened (with since= the last event seen)
    assert_same(listed(shell), expected(outside), "after the stream was cut")
    outside.storage("untag", "localhost/d/net:cut", "localhost/d/net:cut")  # and the new stream tells of the next change
    caught_up(cache, outside)
    assert_same(listed(shell), expected(outside), "a change after the reconnect")


def test_a_killed_and_restarted_service(shell, outside):
    cache = cache_of(shell)
    listed(shell)
    outside.svc.kill()
    try:
        wait_for(lambda: not cache.status()["cached"])
        result = shell.run_cell("%images")
        assert not result.success  # the one-line error of a service that does not answer, not a stale table
        outside.storage("tag", "localhost/d/net:0", "localhost/d/net:restart", silent=True)
    finally:
        outside.svc.start()
    time.sleep(OUTSIDE_WAIT)
    assert_same(listed(shell), expected(outside), "after a restart")
    assert "restart" in set(listed(shell)["tag"])


def test_a_service_that_logs_no_events(outside, registries, tmp_path):
    svc = services.PodmanService(outside.svc.which, tmp_path / "none", registries.registries_conf)
    try:
        svc.stop()
        conf = svc.workdir / "containers.conf"
        conf.write_text(conf.read_text().replace('events_logger = "file"', 'events_logger = "none"'))
        svc.start()
        with podman_nb.PodmanClient(base_url=svc.base_url) as client:
            cache = client.listing("on")
            assert cache.list_attrs() == client.images.list_attrs()
            assert cache.status() == {"cached": False, "since": None, "why": 'the service logs no events '
                                      '(events_logger = "none" in its containers.conf)'}
            assert cache.stats.hits == 0 and not cache._threads
    finally:
        svc.close()


def test_auto_caches_only_where_listing_is_slow(outside):
    with podman_nb.PodmanClient(base_url=outside.svc.base_url) as client:
        cache = client.listing("auto")
        cache.list_attrs()
        slow = tuple(int(part) for part in outside.svc.version.split(".")[:2]) < (4, 5)  # containers/common #1372
        assert cache.status()["cached"] == slow, cache.status()
        if not slow:
            assert "4.5 and later list images quickly" in cache.status()["why"]


# -- resources --------------------------------------------------------------------------------
def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_no_leak_after_a_hundred_load_and_unload_cycles(shell, outside):
    shell.run_line_magic("unload_ext", "podman_nb")
    threads, fds = threading.active_count(), _fds()
    try:
        for _ in range(100):
            shell.run_line_magic("load_ext", "podman_nb")
            shell.run_line_magic("config", "PodmanMagics.list_cache = 'on'")
            listed(shell)
            assert cache_of(shell).status()["cached"]
            shell.run_line_magic("unload_ext", "podman_nb")
        assert threading.active_count() == threads, threading.enumerate()
        assert _fds() <= fds + 2, os.listdir("/proc/self/fd")
    finally:
        shell.run_line_magic("load_ext", "podman_nb")
        shell.run_line_magic("config", "PodmanMagics.list_cache = 'on'")


def test_closing_the_client_stops_the_watcher(outside):
    client = podman_nb.PodmanClient(base_url=outside.svc.base_url)
    cache = client.listing("on")
    cache.list_attrs()
    assert cache.status()["cached"] and len(cache._threads) == 2
    client.close()
    assert cache.closed and not any(thread.is_alive() for thread in cache._threads)


def test_each_connection_has_its_own_cache(shell, outside):
    first = podman_nb.PodmanClient(base_url=outside.svc.base_url)
    second = podman_nb.PodmanClient(base_url=outside.svc.base_url)
    try:
        assert first.listing("on") is first.listing("on") and first.listing("on") is not second.listing("on")
        first.listing("on").list_attrs()
        second.images.get("localhost/d/net:0").tag("localhost/d/net", "second")
        caught_up(first.listing("on"), outside)  # the second client's change reaches the first's cache as an outside one
        assert "localhost/d/net:second" in {t for row in first.listing("on").list_attrs() for t in row["RepoTags"] or []}
    finally:
        first.close()
        second.close()


# -- the differential test --------------------------------------------------------------------
def test_differential_cached_listing_equals_the_service_after_every_change(shell, outside):
    outside.import_images(IMAGES)
    outside.remote("push", "--tls-verify=false", "localhost/d/imported:0", f"{outside.registry}/d/pulled:1")
    saved = outside.svc.workdir / "saved.tar"
    outside.storage("save", "-o", saved, "localhost/d/imported:1")
    cache = cache_of(shell)
    second = podman_nb.PodmanClient(base_url=outside.svc.base_url)
    rng = random.Random(20)
    made = {"n": 0}

    def fresh_name():
        made["n"] += 1
        return f"localhost/d/new:{made['n']}"

    def any_tag():
        return rng.choice(sorted(t for row in outside.raw() for t in row.get("RepoTags") or []
                                 if t.startswith("localhost/d/")))

    containers = []

    def build(actor, name):
        body = f"FROM scratch\nCOPY hello.txt /\nLABEL step={name}\n"
        if actor == "magics":
            shell.run_cell_magic("image_build", f"-q -t {name} --context {outside.context}", body)
        elif actor == "second":
            second.images.build(fileobj=io.StringIO(body), path=str(outside.context), tag=name)
        else:
            (outside.context / "Containerfile").write_text(body)
            getattr(outside, actor)("build", "-q", "-t", name, outside.context)

    def create(actor, image):
        name = f"c{len(containers)}{rng.randrange(10 ** 6)}"
        if actor == "second":
            second.api.post("/containers/create", data=json.dumps({"image": image, "name": name, "command": ["x"]}),
                            headers={"Content-Type": "application/json"})
        else:
            getattr(outside, actor)("create", "--name", name, image, "x")
        containers.append(name)

    def remove_container(actor):
        if not containers:
            return False
        name = containers.pop(rng.randrange(len(containers)))
        if actor == "second":
            second.api.delete(f"/containers/{name}", params={"ignore": True})
        else:
            getattr(outside, actor)("rm", "--ignore", name)  # an image removed with -f took it along
        return True

    def change(kind, actor):
        """Make one change; False when it cannot be made in this state."""
        cli = actor in ("storage", "remote")
        if kind == "tag":
            source, target = any_tag(), fresh_name()
            if actor == "magics":
                shell.run_line_magic("image_tag", f"{source} {target}")
            elif actor == "second":
                second.images.get(source).tag(*target.rsplit(":", 1))
            else:
                getattr(outside, actor)("tag", source, target)
        elif kind in ("untag", "rmi"):
            name = any_tag()
            if actor == "magics":
                shell.run_line_magic("image_rm", f"-f {name}")
            elif actor == "second":
                if kind == "untag":
                    second.api.post(f"/images/{urllib.parse.quote(name, safe='')}/untag",
                                    params=dict(zip(("repo", "tag"), name.rsplit(":", 1))))
                else:
                    second.images.remove(name, force=True)
            else:
                getattr(outside, actor)(kind, *(["-f"] if kind == "rmi" else []), name)
        elif kind == "import":
            if actor == "magics":
                shell.run_line_magic("image_load", str(saved))
            elif actor == "second":
                second.api.post("/images/import", params={"reference": fresh_name()}, data=outside.tar.read_bytes(),
                                headers={"Content-Type": "application/x-tar"})
            else:
                getattr(outside, actor)("import", outside.tar, fresh_name())
        elif kind == "build":
            build(actor, fresh_name())
        elif kind == "pull":
            reference = f"{outside.registry}/d/pulled:1"
            if actor == "magics":
                shell.run_line_magic("image_pull", f"-q --tls-verify=false {reference}")
            elif actor == "second":
                second.images.pull(reference, tls_verify=False)
            else:
                getattr(outside, actor)("pull", "-q", "--tls-verify=false", reference)
        elif kind == "create":
            if actor == "magics":
                return False  # no magic creates containers
            create(actor, any_tag())
        elif kind == "rm-container":
            return actor != "magics" and remove_container(actor)
        return cli or True

    kinds = ["tag", "untag", "rmi", "import", "build", "pull", "create", "rm-container"]
    actors = ["storage", "remote", "second", "magics"]
    plan = [(k, a) for k in kinds for a in actors if not (a == "magics" and k in ("create", "rm-container"))]
    rng.shuffle(plan)
    plan = plan[:19] + [("create", "storage"), ("rm-container", "remote"), ("create", "second")]
    done, after = [], []
    listed(shell)
    try:
        for step, (kind, actor) in enumerate(plan):
            if not change(kind, actor):
                continue
            done.append(f"{kind} by {actor}")
            if actor != "magics":
                returned = time.time()
                caught_up(cache, outside)
                if cache.stats.last_event is not None:
                    after.append(cache.stats.last_event - returned)  # the lag: the event's arrival after the change
            got = listed(shell)
            assert_same(got, expected(outside), f"step {step}: {kind} by {actor}")
            if actor == "magics":  # the service's own event of the magic's change comes later and asks once more
                caught_up(cache, outside)
                got = listed(shell)
            hits = cache.stats.hits
            assert_same(listed(shell), got, f"step {step} again")
            assert cache.stats.hits == hits + 1, f"step {step}: {kind} by {actor}: not answered from the cache"
        for line in ("--all", "--wide --sort size", "--filter dangling=true"):
            listed(shell, line)
            assert_same(listed(shell, line), expected(outside, line), line)
    finally:
        second.close()
    assert len(done) >= 20, done
    lags, after = sorted(cache.stats.lags), sorted(after)
    reliability.note(f"listing cache on Podman {outside.svc.version}: {len(done)} changes at {IMAGES} images, %images "
                     f"equal to the service's listing after each; an outside change's event arrived at most "
                     f"{after[-1] * 1000:.0f} ms (median {after[len(after) // 2] * 1000:.0f} ms) after the change "
                     f"returned; events arrived {lags[len(lags) // 2] * 1000:.0f} ms (median) after their own time "
                     f"stamp, at most {lags[-1] * 1000:.0f} ms, over {len(lags)} events")
