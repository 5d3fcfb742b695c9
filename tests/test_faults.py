"""Faults: nothing hangs, nothing is lost. The service or a registry dies mid-stream, streams go silent, the user
interrupts. Every operation runs in a worker thread joined with a watchdog: a hang fails the test, never the suite.

Kill/restart tests use a Podman service and a registry of this module's own (the session's are shared). The
registry sits behind a throttling TCP proxy so that pulls and pushes of a ~90 MB image last several seconds,
and "the registry going away" is the proxy and the registry stopping together.
"""
from __future__ import annotations

import ctypes
import gc
import io
import os
import socket
import threading
import time
import weakref

import pytest

import podman_nb
import reliability
import services
from gates import gate, waits_on
from podman_nb.domain.events import Step
from podman_nb.errors import APIError, PodmanError, ServiceUnavailable, StreamTimeout

WATCHDOG = 60  # seconds any single operation may take before the test calls it a hang
ERROR_WITHIN = 15  # seconds from the fault to the error


# Helpers ----------------------------------------------------------------------------------------
class Worker:
    """Runs ``fn`` in a daemon thread; ``finish()`` joins with a watchdog and returns (result, error)."""

    def __init__(self, fn):
        self.result = self.error = None
        self.done_at = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.result = fn()
        except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt included on purpose
            self.error = error
        finally:
            self.done_at = time.monotonic()

    def finish(self, timeout=WATCHDOG):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the operation hung for more than {timeout} s"
        return self.result, self.error

    def interrupt(self):
        """Raise KeyboardInterrupt inside the worker (delivered at its next Python bytecode)."""
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread.ident),
                                                   ctypes.py_object(KeyboardInterrupt))


def cf(text):
    return io.StringIO(text)


def conns_to(socket_path):
    """How many of this process's sockets are connected to the unix socket at ``socket_path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=int(fd))
        except OSError:
            continue
        try:
            if sock.family == socket.AF_UNIX and sock.getpeername() == socket_path:
                count += 1
        except OSError:
            pass
        finally:
            sock.detach()
    return count


class InterruptingFile(io.RawIOBase):
    """A file whose read() raises KeyboardInterrupt once ``after`` bytes were read (an interrupt mid-upload)."""

    def __init__(self, path, after):
        self._file, self._after, self.read_bytes = open(path, "rb"), after, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.read_bytes >= self._after:
            raise KeyboardInterrupt
        n = self._file.readinto(buffer)
        self.read_bytes += n
        return n

    def close(self):
        self._file.close()
        super().close()


def wait_for(predicate, timeout=WATCHDOG, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Proxy:
    """A TCP proxy to ``target_port`` limiting each connection to ``rate`` bytes/s; stop() drops everything."""

    def __init__(self, target_port, rate=4_000_000):
        self.target_port, self.rate = target_port, rate
        self.port = services.free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._socks, self._lock, self._listener = [], threading.Lock(), None
        self.start()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() thread; close() alone would not
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Own:
    """This module's service, registry (behind a proxy), client and big image."""


@pytest.fixture(scope="module")
def own(podman_service, registries, tmp_path_factory):
    o = Own()
    # No ca_files: Podman 5 services share one chroot tree, and closing a service removes the CA copies it made
    # there, which would take the session service's trust of the secure registry with it. This module's
    # registry is plain HTTP (tls_verify=False), so this service needs no CA.
    o.service = services.PodmanService(podman_service.which, tmp_path_factory.mktemp("faults-podman"),
                                       registries.registries_conf, {})
    o.base = services.build_base_image(o.service).local
    o.registry = services.Registry(tmp_path_factory.mktemp("faults-registry"), tls=False)
    o.proxy = Proxy(o.registry.port)
    o.client = podman_nb.PodmanClient(base_url=o.service.base_url)
    o.big = "localhost/podman-nb/faults-big:latest"
    o.client.images.build(fileobj=cf(f"FROM {o.base}\n" + "".join(
        f"RUN head -c 30000000 /dev/urandom > /layer{i}\n" for i in range(3))), tag=o.big, layers=True)
    o.remote = f"{o.proxy.host}/faults/big:latest"
    o.proxy.rate = 1e9
    o.client.images.push(o.big, destination=o.remote, tls_verify=False)
    o.proxy.rate = 4_000_000
    yield o
    o.client.close()
    o.proxy.stop()
    o.registry.stop()
    o.service.close()


def ensure_up(o):
    if not o.service.running():
        o.service.start()
    o.registry.start()
    if o.proxy._listener is None:
        o.proxy.start()


def build_containers(o):
    """Containers the service still has for builds (buildah's 'external' ones)."""
    import json
    status, _, body = o.service.request("GET", "/v4.0.0/libpod/containers/json?all=true&external=true")
    return {c["Id"] for c in json.loads(body or b"[]")}


def fresh_big(o, name):
    """A new image of 3 x 30 MB random layers (a push of it cannot skip blobs the registry already has)."""
    tag = f"localhost/podman-nb/faults-{name}:latest"
    o.client.images.build(fileobj=cf(f"FROM {o.base}\nLABEL fresh={name}-{time.time()}\n" + "".join(
        f"RUN head -c 30000000 /dev/urandom > /layer{i}\n" for i in range(3))), tag=tag, layers=False)
    return tag


def drop_pulled(o):
    """Remove every local copy of the registry image so that a pull must download all its layers."""
    for name in (o.remote, o.big):
        if o.client.images.exists(name):
            o.client.images.remove(o.client.images.get(name).id, force=True)


def local_big(o):
    """A local name of the big image, whichever copy the earlier tests left (pulling it if none is left)."""
    for name in (o.remote, o.big):
        if o.client.images.exists(name):
            return name
    o.client.images.pull(o.remote, tls_verify=False)
    return o.remote


def first_event(holder):
    """A progress callable that sets ``holder`` (an Event) once the first event arrives."""
    def progress(_event):
        holder.set()
    return progress


def fault(kind):
    reliability.count("faults injected")


# No service ------------------------------------------------------------------------------------
def test_nonexistent_socket_fails_fast_with_hint():
    client = podman_nb.PodmanClient(base_url="unix:///nonexistent.sock")
    fault("no service")
    worker = Worker(client.images.list)
    _, error = worker.finish(10)
    assert isinstance(error, ServiceUnavailable), repr(error)
    assert "/nonexistent.sock" in str(error) and "podman system service" in str(error)
    assert error.tried == ["unix:///nonexistent.sock"]


def test_discovery_with_nothing_answering_and_no_podman(monkeypatch, tmp_path):
    import podman_nb.api.service as service_module

    monkeypatch.setattr(service_module, "_private", None)
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/none.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    # the system socket moved aside: whether this machine runs a system service does not matter
    monkeypatch.setattr(service_module, "ROOTFUL_URL", f"unix://{tmp_path}/run/podman/podman.sock")
    fault("no service")
    started = time.monotonic()
    worker = Worker(podman_nb.PodmanClient)
    _, error = worker.finish(15)
    assert isinstance(error, ServiceUnavailable), repr(error)
    text = str(error)
    for url in (f"unix://{tmp_path}/none.sock", f"unix://{tmp_path}/xdg/podman/podman.sock",
                f"unix://{tmp_path}/run/podman/podman.sock"):
        assert url in text and url in error.tried, (url, text)
    assert "not installed" in text and "podman system service" in text
    assert time.monotonic() - started < 10


def test_tcp_nothing_listening():
    client = podman_nb.PodmanClient(base_url=f"tcp://127.0.0.1:{services.free_port()}", timeout=3)
    fault("no service")
    _, error = Worker(client.images.list).finish(15)
    assert isinstance(error, ServiceUnavailable) and "127.0.0.1" in str(error), repr(error)


def test_socket_that_never_answers(tmp_path):
    """Something accepts connections but never answers: a timeout error, not a hang."""
    path = str(tmp_path / "mute.sock")
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(path)
    mute.listen(8)
    try:
        client = podman_nb.PodmanClient(base_url="unix://" + path, timeout=2)
        fault("mute service")
        started = time.monotonic()
        _, error = Worker(client.images.list).finish(20)
        assert isinstance(error, PodmanError), repr(error)
        assert time.monotonic() - started < 10
    finally:
        mute.close()


# The service killed mid-stream -----------------------------------------------------------------
def _kill_mid(o, start_call, then_call, started=None, delay=1.0):
    """Start ``start_call`` in a worker, kill the service once it is streaming, check the error, restart, retry."""
    started = started or threading.Event()
    worker = Worker(lambda: start_call(started))
    assert started.wait(WATCHDOG), "the operation never started streaming"
    time.sleep(delay)
    assert worker.thread.is_alive(), "the operation finished before the fault could be injected"
    fault("service killed")
    killed_at = time.monotonic()
    o.service.kill()
    _, error = worker.finish()
    assert isinstance(error, (ServiceUnavailable, APIError)), repr(error)
    assert worker.done_at - killed_at < ERROR_WITHIN, f"error came {worker.done_at - killed_at:.1f} s after the kill"
    o.service.start()
    result, error = Worker(then_call).finish()
    assert error is None, f"after restart the same call failed: {error!r}"
    return result


def test_service_killed_during_pull(own):
    ensure_up(own)
    c = own.client
    drop_pulled(own)
    _kill_mid(own, lambda started: c.images.pull(own.remote, tls_verify=False, progress=first_event(started)),
              lambda: c.images.pull(own.remote, tls_verify=False))


@pytest.mark.parametrize("next_call", ["build", "prune"])
def test_service_killed_during_build(own, next_call):
    """The killed build's container cannot be removed while the service is down: the client's next build (or
    prune) removes it, and leaves another client's build that is running then alone."""
    ensure_up(own)
    c = own.client
    before = build_containers(own)
    in_run = threading.Event()
    worker = Worker(lambda: c.images.build(fileobj=cf(f"FROM {own.base}\nRUN echo started; sleep 30\n"),
                                           layers=False, nocache=True, progress=step_two(in_run)))
    assert in_run.wait(WATCHDOG), "the build never reached its RUN step"
    fault("service killed")
    own.service.kill()
    _, error = worker.finish()
    assert isinstance(error, (ServiceUnavailable, APIError)), repr(error)
    own.service.start()
    left = build_containers(own) - before
    assert len(left) == 1, left  # what the kill left: no client could remove it then
    another = podman_nb.PodmanClient(base_url=own.service.base_url)
    with gate() as (url, release):
        other = Worker(lambda: another.images.build(fileobj=cf(f"FROM {own.base}\nRUN {waits_on(url)}\n"),
                                                    layers=False, nocache=True))
        assert wait_for(lambda: build_containers(own) - before - left), "the other client's build never began"
        (others,) = build_containers(own) - before - left
        if next_call == "build":
            c.images.build(fileobj=cf(f"FROM {own.base}\nRUN echo again\n"), layers=False)
        else:
            c.images.prune()
        assert build_containers(own) - before == {others}  # the killed build's went, the running one's stays
        release()
        _, error = other.finish()
    another.close()
    assert error is None, repr(error)
    assert build_containers(own) == before


def test_killed_builds_keep_no_client_alive_and_go_once(own):
    """What a killed build leaves is kept for its client's next call without keeping the client alive (a closed
    client is collected; its container is then no one's to remove), and two threads' next calls on one client
    remove that client's container once, both calls working."""
    ensure_up(own)
    before = build_containers(own)
    dropped, kept = (podman_nb.PodmanClient(base_url=own.service.base_url) for _ in range(2))
    workers, made = [], []
    for client in (dropped, kept):  # one after the other: each build is alone at its second step
        in_run = threading.Event()
        workers.append(Worker(lambda client=client, in_run=in_run: client.images.build(
            fileobj=cf(f"FROM {own.base}\nRUN echo started; sleep 30\n"), layers=False, nocache=True,
            progress=step_two(in_run))))
        assert in_run.wait(WATCHDOG), "the build never reached its RUN step"
        (new,) = build_containers(own) - before - set(made)
        made.append(new)
    fault("service killed")
    own.service.kill()
    assert [type(worker.finish()[1]) for worker in workers] == [ServiceUnavailable] * 2
    own.service.start()
    dropped_api = weakref.ref(dropped.api)
    dropped.close()
    del dropped, workers, client
    gc.collect()
    assert dropped_api() is None, gc.get_referrers(dropped_api())
    start = threading.Barrier(2)
    pruners = [Worker(lambda: (start.wait(), kept.images.prune())) for _ in range(2)]
    assert [pruner.finish()[1] for pruner in pruners] == [None, None]
    assert build_containers(own) - before == {made[0]}  # the kept client's went; the dropped one's is no one's
    own.service.request("DELETE", f"{services.LIBPOD}/containers/{made[0]}?force=true")
    kept.close()
    assert build_containers(own) == before


def step_two(holder):
    """A progress callable that sets ``holder`` (an Event) once the build's second step (its RUN) begins."""
    def progress(event):
        if isinstance(event, Step) and event.number >= 2:
            holder.set()
    return progress


def test_service_killed_during_push(own):
    ensure_up(own)
    c = own.client
    dest = f"{own.proxy.host}/faults/pushed-kill:latest"
    big = fresh_big(own, "kill")
    _kill_mid(own, lambda started: c.images.push(big, destination=dest, tls_verify=False,
                                                 progress=first_event(started)),
              lambda: c.images.push(big, destination=dest, tls_verify=False))


# The registry going away mid-stream -----------------------------------------------------------
def _registry_away(o, call):
    started = threading.Event()
    worker = Worker(lambda: call(started))
    assert started.wait(WATCHDOG)
    time.sleep(1.0)
    assert worker.thread.is_alive(), "the transfer finished before the registry could be stopped"
    fault("registry stopped")
    stopped_at = time.monotonic()
    o.proxy.stop()
    o.registry.stop()
    _, error = worker.finish()
    try:
        assert isinstance(error, APIError), repr(error)
        assert worker.done_at - stopped_at < WATCHDOG
    finally:
        ensure_up(o)
    return error


def names_registry(o, error, what):
    """The error must name the registry."""
    assert o.proxy.host in str(error), f"the {what} error does not name the registry: {str(error)[:200]!r}"


def test_registry_away_during_pull(own):
    ensure_up(own)
    c = own.client
    drop_pulled(own)
    error = _registry_away(own, lambda started: c.images.pull(own.remote, tls_verify=False,
                                                              progress=first_event(started)))
    assert Worker(lambda: c.images.pull(own.remote, tls_verify=False)).finish()[1] is None
    names_registry(own, error, "pull")


def test_registry_away_during_push(own):
    ensure_up(own)
    c = own.client
    dest = f"{own.proxy.host}/faults/pushed-away:latest"
    big = fresh_big(own, "away")
    error = _registry_away(own, lambda started: c.images.push(big, destination=dest, tls_verify=False,
                                                              progress=first_event(started)))
    assert Worker(lambda: c.images.push(big, destination=dest, tls_verify=False)).finish()[1] is None
    names_registry(own, error, "push")


# Timeouts -------------------------------------------------------------------------------------
def test_stream_timeout_spares_a_chatty_build_and_cuts_a_silent_one(own):
    ensure_up(own)
    client = podman_nb.PodmanClient(base_url=own.service.base_url, stream_timeout=2)
    try:
        chatty = f"FROM {own.base}\nRUN for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done\n"
        result, error = Worker(lambda: client.images.build(fileobj=cf(chatty), layers=False, nocache=True)).finish()
        assert error is None, f"a build printing every second was cut: {error!r}"
        fault("silent stream")
        started = time.monotonic()
        silent = f"FROM {own.base}\nRUN sleep 10\n"
        _, error = Worker(lambda: client.images.build(fileobj=cf(silent), layers=False, nocache=True)).finish()
        took = time.monotonic() - started
        assert isinstance(error, StreamTimeout), repr(error)
        assert took < 8, f"StreamTimeout came after {took:.1f} s"
        assert client.images.list() is not None  # the client still works
    finally:
        client.close()


# Interrupts ------------------------------------------------------------------------------------
def _interrupting(started_first=None):
    def progress(_event):
        raise KeyboardInterrupt
    return progress


def _after_interrupt_works(o, conns_before=None):
    if conns_before is not None:  # the interrupted stream's connection is closed, not left to the pool
        assert wait_for(lambda: conns_to(o.service.socket_path) <= conns_before, timeout=5), \
            f"{conns_to(o.service.socket_path)} connections open to the service after the interrupt, {conns_before} before"
    result, error = Worker(lambda: o.client.images.list()).finish()
    assert error is None, f"the next call failed after an interrupt: {error!r}"


def test_interrupt_from_progress_during_pull(own):
    ensure_up(own)
    c = own.client
    drop_pulled(own)
    fault("interrupt")
    before = conns_to(own.service.socket_path)
    _, error = Worker(lambda: c.images.pull(own.remote, tls_verify=False, progress=_interrupting())).finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    _after_interrupt_works(own, before)
    if wait_for(lambda: c.images.exists(own.remote), timeout=12, interval=1):
        reliability.note(f"podman {own.service.version}: an interrupted pull went on in the service and the image "
                         "arrived anyway (Podman does not cancel a pull when its client disconnects)")
    assert Worker(lambda: c.images.pull(own.remote, tls_verify=False)).finish()[1] is None


def test_interrupt_from_progress_during_push(own):
    ensure_up(own)
    c = own.client
    dest = f"{own.proxy.host}/faults/pushed-interrupt:latest"
    big = fresh_big(own, "interrupt")
    fault("interrupt")
    before = conns_to(own.service.socket_path)
    _, error = Worker(lambda: c.images.push(big, destination=dest, tls_verify=False,
                                            progress=_interrupting())).finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    _after_interrupt_works(own, before)


def test_interrupt_during_build_leaves_no_build_container(own):
    ensure_up(own)
    c = own.client
    before = build_containers(own)

    def progress(event):
        if "marker-started" in repr(event):
            raise KeyboardInterrupt
    fault("interrupt")
    conns_before = conns_to(own.service.socket_path)
    interrupted_at = time.monotonic()
    _, error = Worker(lambda: c.images.build(
        fileobj=cf(f"FROM {own.base}\nRUN echo marker-started; sleep 30\n"), layers=False, nocache=True,
        progress=progress)).finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    _after_interrupt_works(own, conns_before)
    stopped = wait_for(lambda: not build_containers(own) - before, timeout=15, interval=0.5)
    assert stopped, (f"the build went on after the client disconnected: build containers "
                     f"{build_containers(own) - before} still there {time.monotonic() - interrupted_at:.0f} s later")


def test_interrupted_build_stops_only_its_own_container(own):
    """Two builds from one base at once (as from two kernels): interrupting one removes its container and
    leaves the other's, which goes on to build its image."""
    ensure_up(own)
    c = own.client
    before = build_containers(own)
    other_started, ours_started = threading.Event(), threading.Event()

    def ours_progress(event):
        if "ours-started" in repr(event):
            ours_started.set()
        if other_started.is_set():
            raise KeyboardInterrupt

    def other_progress(event):
        if "other-started" in repr(event):
            other_started.set()
    fault("interrupt")
    ours = Worker(lambda: c.images.build(  # a line every 0.5 s: the interrupt comes with the first one after
        fileobj=cf(f"FROM {own.base}\nRUN echo ours-started; while true; do echo tick; sleep 0.5; done\n"),
        layers=False, nocache=True, progress=ours_progress))
    assert wait_for(ours_started.is_set, timeout=30), "the first build never began its RUN step"
    ours_containers = build_containers(own) - before
    tag = f"localhost/faults/concurrent:{int(time.time() * 1000)}"
    other = Worker(lambda: c.images.build(
        fileobj=cf(f"FROM {own.base}\nRUN echo other-started; sleep 4; echo other-done\n"), tag=tag,
        layers=False, nocache=True, progress=other_progress))
    _, error = ours.finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    assert wait_for(lambda: not build_containers(own) & ours_containers, timeout=15, interval=0.5), (
        "the interrupted build's container is still there")
    built, other_error = other.finish()
    assert other_error is None, f"the other build was stopped with the interrupted one: {other_error!r}"
    image, log = built
    assert tag in image.tags and any("other-done" in line for line in log.text)
    c.images.remove(tag)


def test_async_interrupt_during_save_and_load(own, tmp_path):
    ensure_up(own)
    c = own.client
    image = c.images.get(local_big(own))
    fault("interrupt")
    got = []

    def save():
        for chunk in image.save(chunk_size=64 * 1024):
            got.append(len(chunk))
            time.sleep(0.01)
    before = conns_to(own.service.socket_path)
    worker = Worker(save)
    assert wait_for(lambda: got, timeout=30)
    worker.interrupt()
    _, error = worker.finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    del error, worker  # the traceback holds the save() generator, and so the connection, until it goes
    _after_interrupt_works(own, before)

    path = tmp_path / "big.tar"
    with open(path, "wb") as handle:
        for chunk in image.save():
            handle.write(chunk)
    fault("interrupt")
    before = conns_to(own.service.socket_path)
    upload = InterruptingFile(path, after=path.stat().st_size // 2)
    _, error = Worker(lambda: list(c.images.load(data=upload))).finish()
    assert isinstance(error, KeyboardInterrupt), repr(error)
    assert upload.read_bytes < path.stat().st_size
    upload.close()
    _after_interrupt_works(own, before)
    assert Worker(lambda: list(c.images.load(file_path=path))).finish()[1] is None


# Concurrency -----------------------------------------------------------------------------------
def test_two_threads_pull_and_build_through_one_client(own):
    ensure_up(own)
    c = own.client
    drop_pulled(own)
    pull = Worker(lambda: c.images.pull(own.remote, tls_verify=False))
    build = Worker(lambda: c.images.build(
        fileobj=cf(f"FROM {own.base}\nRUN for i in 1 2 3; do echo $i; sleep 1; done\n"), layers=False, nocache=True))
    pulled, pull_error = pull.finish()
    built, build_error = build.finish()
    assert pull_error is None and build_error is None, (pull_error, build_error)
    assert pulled.id and built[0].id
