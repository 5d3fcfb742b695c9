"""Named connections and ssh:// through a real sshd, with connections written by the real `podman system connection add`.

Podman 4.3 writes containers.conf, Podman 5.4 (the chroot) podman-connections.json: each test service's
connections are written by its own Podman. HOME and XDG_CONFIG_HOME are temp dirs; the library's `ssh`
is the system OpenSSH client behind a wrapper whose config keeps known_hosts in the sshd's work dir.
"""
import io
import json
import re
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

import podman_nb
import reliability
import sshd as sshd_module
from podman_nb import errors
from podman_nb.api import service as service_module
from podman_nb.domain import events
from test_images_manager import ThrottledProxy, pushed_behind_slow_proxy, slow_secure_registry  # noqa: F401 (a fixture)

IN_TIME = 10  # seconds: every failure to reach a service must be said within this


@pytest.fixture(scope="session")
def sshd(podman_service, tmp_path_factory):
    """An sshd whose sessions' `podman` talks to the test service (SetEnv CONTAINER_HOST)."""
    server = sshd_module.SSHServer(tmp_path_factory.mktemp("sshd"), {"CONTAINER_HOST": podman_service.base_url})
    yield server
    server.stop()


@pytest.fixture
def home(sshd, podman_service, monkeypatch):
    """A fresh HOME/XDG_CONFIG_HOME (inside the service's dir: Podman 5's chroot sees it), the ssh wrapper
    first on PATH, an empty known_hosts, no CONTAINER_* variables, a copy of the service's containers.conf."""
    path = podman_service.workdir / f"home-{uuid.uuid4().hex[:8]}"
    (path / ".config").mkdir(parents=True)
    shutil.copy(sshd.key, path / "id_client")
    conf = path / "containers.conf"
    shutil.copy(podman_service.env["CONTAINERS_CONF"], conf)
    for name in ("CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY", "PODMAN_CONNECTIONS_CONF",
                 "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path / ".config"))
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    monkeypatch.setenv("PATH", f"{sshd.bin}:{os.environ['PATH']}")
    sshd.known_hosts.write_text("")
    before = set(sshd_module.ssh_pids(sshd.port))
    yield path
    left = set(sshd_module.ssh_pids(sshd.port)) - before
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)
    assert not left, f"ssh processes left behind: {left}"


def podman_cli(podman_service, *args, check=True):
    """The service's own Podman CLI (4: host, 5: chroot) with this test's HOME and containers.conf."""
    cmd = podman_service._podman() + list(map(str, args))
    storage = {k: v for k, v in podman_service.env.items() if k != "CONTAINERS_CONF"}  # the test picks that one
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=check, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PODMAN_IGNORE_CGROUPSV1_WARNING="1", **storage))


def add_connection(podman_service, name, uri, identity=None, default=False, socket_path=None):
    args = ["system", "connection", "add", *(["--identity", identity] if identity else []),
            *(["--default"] if default else []), *(["--socket-path", socket_path] if socket_path else []), name, uri]
    done = podman_cli(podman_service, *args, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def connections(home, sshd, podman_service):
    """remote (ssh with socket path, default), second (ssh, path given with --socket-path), local (unix).

    Podman 4.3 writes `second` without its path (it drops --socket-path): the library then asks the remote
    `podman info`. (Not `add` without any path: the sessions' CONTAINER_HOST makes the remote `podman info`
    answer with a unix:// URI, which Podman 4.3 glues to the host part.)"""
    key = str(home / "id_client")
    add_connection(podman_service, "remote", sshd.uri(podman_service.socket_path), key, default=True)
    add_connection(podman_service, "second", sshd.uri(), key, socket_path=podman_service.socket_path)
    add_connection(podman_service, "local", podman_service.base_url)
    return key


# --- configuration ---------------------------------------------------------------------------------
def test_listing_matches_podman_system_connection_list(connections, home, podman_service, sshd):
    listed = json.loads(podman_cli(podman_service, "system", "connection", "list", "--format", "json").stdout)
    ours = podman_nb.list_connections()
    assert [(c["Name"], c["URI"], c.get("Identity") or None, c["Default"]) for c in listed] == \
        [(c.name, c.uri, c.identity, c.default) for c in ours]
    assert [c.name for c in ours] == ["local", "remote", "second"]
    # each Podman wrote where it does: 4 in containers.conf, 5 in podman-connections.json
    written = home / ".config/containers/podman-connections.json"
    conf = (home / "containers.conf").read_text()
    if int(podman_service.version.split(".")[0]) >= 5:
        assert written.exists() and "service_destinations" not in conf
    else:
        assert not written.exists() and "service_destinations" in conf
    second = {c.name: c.uri for c in ours}["second"]
    assert second in (sshd.uri(), sshd.uri(podman_service.socket_path)), second


def test_default_connection_over_ssh_list_build_pull_push(connections, podman_service, base_image, registries):
    with podman_nb.PodmanClient() as client:
        assert client.connection == "remote" and client.base_url.startswith("ssh://")
        assert "remote" in repr(client)
        assert client.version()["Version"] == podman_service.version
        assert base_image.local in [tag for image in client.images.list() for tag in image.tags]
        pid = client.api.tunnel.pid
        assert sshd_module.alive(pid)
        # a streamed build with its log
        tag = f"localhost/podman-nb/ssh{uuid.uuid4().hex[:8]}:latest"
        lines = []
        image, log = client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nRUN echo over-ssh-$((6*7))\n"),
                                         tag=tag, progress=lines.append)
        assert "over-ssh-42" in "".join(str(line) for line in log)
        assert any(isinstance(e, events.LogLine) and "over-ssh-42" in e.text for e in lines)
        # a pull with progress, a push with progress
        pulled = []
        client.images.remove(tag)
        got = client.images.pull(base_image.plain, tls_verify=False, progress=pulled.append)
        assert got.id == base_image.id and pulled  # byte progress: test_pull_byte_progress_then_ssh_killed_mid_pull
        s = registries.secure
        pushed = []
        out = client.images.push(base_image.local, destination=f"{s.host}/podman-nb/ssh-push:v1",
                                 auth_config={"username": s.username, "password": s.password}, progress=pushed.append)
        assert "Writing manifest" in out and [e for e in pushed if isinstance(e, events.LayerProgress)]
        # registry data: the service has no endpoint for it, so this machine asks, and a failure says so
        assert client.images.get_registry_data(base_image.plain, tls_verify=False).id.startswith("sha256:")
        with pytest.raises(errors.ImageNotFound) as missing:
            client.images.get_registry_data(f"{registries.plain.host}/podman-nb/nope:1", tls_verify=False)
        assert "asked from this machine, not by the remote Podman service" in missing.value.hint, missing.value
        assert client.api.tunnel.pid == pid  # one forwarding process served it all
    assert not sshd_module.alive(pid)


def test_socket_path_asked_from_remote_podman(home, sshd, podman_service):
    with podman_nb.PodmanClient(base_url=sshd.uri(), identity=str(home / "id_client")) as client:
        assert client.ping()
        assert client.api.tunnel.remote_path == podman_service.socket_path


def test_container_connection_then_container_host(connections, sshd, podman_service, monkeypatch):
    monkeypatch.setenv("CONTAINER_CONNECTION", "local")
    with podman_nb.PodmanClient.from_env() as client:
        assert (client.connection, client.base_url) == ("local", podman_service.base_url)
    monkeypatch.delenv("CONTAINER_CONNECTION")
    monkeypatch.setenv("CONTAINER_HOST", sshd.uri(podman_service.socket_path))
    monkeypatch.setenv("CONTAINER_SSHKEY", connections)
    with podman_nb.PodmanClient() as client:  # CONTAINER_HOST wins over the default connection
        assert client.connection is None and client.base_url == sshd.uri(podman_service.socket_path)
        assert client.ping()
    with podman_nb.PodmanClient(connection="second") as client:  # an explicit name wins over both
        assert client.connection == "second" and client.ping()
        assert client.api.tunnel.remote_path == podman_service.socket_path


# --- failures, each said in time ---------------------------------------------------------------------
def _fails(make, *words):
    started = time.monotonic()
    with pytest.raises(errors.ServiceUnavailable) as info:
        with make() as client:
            client.images.list()
    took = time.monotonic() - started
    assert took < IN_TIME, f"took {took:.1f} s: {info.value}"
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info.value


def test_wrong_identity(home, sshd, podman_service):
    uri = sshd.uri(podman_service.socket_path)
    _fails(lambda: podman_nb.PodmanClient(base_url=uri, identity=str(sshd.wrong_key)), uri, "refused the authentication")


def test_changed_host_key_is_refused(home, sshd, podman_service):
    uri = sshd.uri(podman_service.socket_path)
    sshd.forge_host_key()
    _fails(lambda: podman_nb.PodmanClient(base_url=uri, identity=str(sshd.key)), uri, "host key has CHANGED")
    sshd.trust()
    with podman_nb.PodmanClient(base_url=uri, identity=str(sshd.key)) as client:
        assert client.ping()


def test_new_host_is_trusted_on_first_contact(home, sshd, podman_service):
    assert sshd.known_hosts.read_text() == ""
    with podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path), identity=str(sshd.key)) as client:
        assert client.ping()
    assert f"[127.0.0.1]:{sshd.port}" in sshd.known_hosts.read_text()


def test_nothing_listening(home, sshd):
    uri = f"ssh://root@127.0.0.1:{sshd_module.free_port()}/run/podman/podman.sock"
    _fails(lambda: podman_nb.PodmanClient(base_url=uri, identity=str(sshd.key)), uri, "connection refused")


def test_unknown_host(home, sshd):
    uri = "ssh://root@podman-nb-no-such-host.invalid/run/podman/podman.sock"
    _fails(lambda: podman_nb.PodmanClient(base_url=uri, identity=str(sshd.key)), uri, "host name is unknown")


def test_ssh_missing(home, sshd, podman_service, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    _fails(lambda: podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path)), "`ssh` is not installed")


def test_no_service_behind_ssh(home, sshd, tmp_path):
    uri = sshd.uri(f"{tmp_path}/none.sock")
    _fails(lambda: podman_nb.PodmanClient(base_url=uri, identity=str(sshd.key)), "no Podman service answers",
           f"{tmp_path}/none.sock")


def test_stale_connections_do_not_fall_through(connections, podman_service, sshd, tmp_path):
    add_connection(podman_service, "gone", f"unix://{tmp_path}/gone.sock")
    add_connection(podman_service, "deadport", f"ssh://root@127.0.0.1:{sshd_module.free_port()}/x.sock",
                   connections)
    _fails(lambda: podman_nb.PodmanClient(connection="gone"), "'gone'", f"unix://{tmp_path}/gone.sock", "stale")
    _fails(lambda: podman_nb.PodmanClient(connection="deadport"), "'deadport'", "connection refused")
    _fails(lambda: podman_nb.PodmanClient(connection="nosuch"), "'nosuch'", "local, remote, second")
    podman_cli(podman_service, "system", "connection", "default", "gone")
    _fails(lambda: podman_nb.PodmanClient(), "'gone'")  # the default names a dead socket: said, not skipped


def test_from_env_uses_docker_host_only_when_it_is_podman(connections, podman_service, registries, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", podman_service.base_url)
    with podman_nb.PodmanClient.from_env() as client:
        assert (client.base_url, client.connection) == (podman_service.base_url, None)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://{registries.plain.host}")  # answers, but is not Podman
    with podman_nb.PodmanClient.from_env() as client:
        assert client.connection == "remote"  # so the default connection, as without DOCKER_HOST
    monkeypatch.setenv("CONTAINER_CONNECTION", "local")  # the CLI's own variables win over DOCKER_HOST
    with podman_nb.PodmanClient.from_env() as client:
        assert client.connection == "local"


def test_docker_engine_is_said_to_be_not_podman():
    """What a Docker Engine answers to GET /version (its shape, from a loopback stand-in: no dockerd here)."""
    import http.server

    class Docker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = json.dumps({"Platform": {"Name": "Docker Engine - Community"}, "Version": "27.1.1",
                               "ApiVersion": "1.46", "Components": [{"Name": "Engine", "Version": "27.1.1"},
                                                                    {"Name": "containerd", "Version": "1.7.19"}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Docker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(errors.ServiceUnavailable) as info:
            podman_nb.PodmanClient(base_url=f"tcp://127.0.0.1:{server.server_address[1]}").version()
        assert "is not Podman (it says Engine 27.1.1); podman_nb needs Podman's API" in str(info.value), info.value
    finally:
        server.shutdown()
        server.server_close()


def test_not_podman(registries):
    with pytest.raises(errors.ServiceUnavailable) as info:
        podman_nb.PodmanClient(base_url=f"tcp://{registries.plain.host}").version()
    assert "not a Podman service" in str(info.value) and registries.plain.host in str(info.value)


# --- the forwarding process ----------------------------------------------------------------------------
def test_pull_byte_progress_then_ssh_killed_mid_pull(home, sshd, podman_service, base_image, registries,
                                                      slow_secure_registry):  # noqa: F811
    """A slow pull through ssh shows byte progress; killing ssh in the middle of the next is a clear error,
    and the call after that reconnects."""
    with podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path), identity=str(sshd.key)) as client:
        slow, auth = pushed_behind_slow_proxy(client, base_image, registries, slow_secure_registry, 60, "ssh-large")
        got = []
        image = client.images.pull(slow, auth_config=auth, progress=got.append)
        with_bytes = [e for e in got if isinstance(e, events.LayerProgress) and e.current and e.total]
        assert with_bytes and max(e.total for e in with_bytes) >= 60 * 1024 * 1024 * 0.9
        client.images.remove(image.id, force=True)

        first = client.api.tunnel.pid

        def kill_on_first_event(event, done=[]):
            # a byte count the service sent through ssh: the layer is still downloading, the stream open
            if not done and isinstance(event, events.LayerProgress) and event.current:
                done.append(event)
                os.kill(first, signal.SIGKILL)

        started = time.monotonic()
        with pytest.raises(errors.ServiceUnavailable) as info:
            client.images.pull(slow, auth_config=auth, progress=kill_on_first_event)
        assert time.monotonic() - started < IN_TIME
        assert "broke" in str(info.value) and sshd.uri(podman_service.socket_path) in str(info.value)
        assert client.ping()  # reconnects
        assert client.api.tunnel.pid != first and sshd_module.alive(client.api.tunnel.pid)
        os.kill(client.api.tunnel.pid, signal.SIGKILL)  # and between two calls, the next one not waiting for it
        assert client.images.list()
        second = client.api.tunnel.pid
    assert not sshd_module.alive(second)
    with podman_nb.PodmanClient(base_url=podman_service.base_url) as local:
        try:
            local.images.remove(slow, force=True)
        except errors.ImageNotFound:
            pass


def test_interrupted_stream_and_close_leave_no_ssh(home, sshd, podman_service, base_image):
    client = podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path), identity=str(sshd.key))
    stream = client.images.pull(base_image.plain, tls_verify=False, stream=True, decode=True)
    next(iter(stream))
    pid = client.api.tunnel.pid
    stream.close()
    assert sshd_module.alive(pid)
    client.close()
    assert not sshd_module.alive(pid)
    assert client.ping()  # a closed client may be used again: it starts a new forwarding
    client.close()


def test_stream_timeout_over_ssh(home, sshd, podman_service, base_image):
    with podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path), identity=str(sshd.key),
                                stream_timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(errors.StreamTimeout):
            client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nRUN sleep 6\n"),
                                tag=f"localhost/podman-nb/sleepy{uuid.uuid4().hex[:6]}")
        assert time.monotonic() - started < 6


def test_forwarding_stops_at_exit(home, sshd, podman_service):
    script = textwrap.dedent(f"""
        import podman_nb
        client = podman_nb.PodmanClient(base_url={sshd.uri(podman_service.socket_path)!r}, identity={str(sshd.key)!r})
        client.ping()
        print(client.api.tunnel.pid, client.api.tunnel.directory)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(podman_nb.__file__))))
    assert done.returncode == 0, done.stderr
    pid, directory = done.stdout.split()
    assert not sshd_module.alive(int(pid)) and not os.path.exists(directory)


def test_threads_share_one_forwarding(home, sshd, podman_service):
    with podman_nb.PodmanClient(base_url=sshd.uri(podman_service.socket_path), identity=str(sshd.key)) as client:
        results = []
        threads = [threading.Thread(target=lambda: results.append(len(client.images.list()))) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 6 and len(sshd_module.ssh_pids(sshd.port)) == 1


def test_default_connection_is_not_used_when_service_module_finds_container_host(connections, podman_service,
                                                                                 monkeypatch):
    monkeypatch.setenv("CONTAINER_HOST", podman_service.base_url)
    assert service_module.find_service().url == podman_service.base_url
    assert service_module.find_service().name is None


# --- the magics in a real kernel ----------------------------------------------------------------------
@pytest.fixture
def other_service(podman_service, registries, tmp_path_factory):
    """The other Podman (5.4 beside 4.3, 4.3 beside the rest), for a second named connection."""
    import services
    which = "5" if podman_service.which == "4" else "4"
    other = services.PodmanService(which, tmp_path_factory.mktemp(f"other-podman{which}-"),
                                   registries.registries_conf, registries.ca_files)
    yield other
    other.close()


def test_magics_in_a_kernel_over_connections(connections, podman_service, other_service, base_image, sshd, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    add_connection(podman_service, "other", other_service.base_url)
    sources = {
        "load": "%load_ext podman_nb\n%config PodmanMagics.progress = 'text'\n"
                "_m = get_ipython().magics_manager.registry['PodmanMagics']",
        "where": "%podman",
        "connections": "c = %podman connections\nprint(c[['name', 'default', 'answers', 'version']].to_string())",
        "columns": "print(list(c.columns))\nprint(c.set_index('name').loc['other', 'uri'])",
        "one_call": f"%image_pull --connection other --no-tls-verify {base_image.plain}\n"
                    "print('notebook still on', _m.client.connection)",
        "all": "df = %images --all-connections\nprint(sorted(set(df.connection)), list(df.columns[:2]))\n"
               "print(sorted(set(df[df.connection == 'remote'].repository.dropna())))",
        "pair": "df2 = %images --connection remote,other\nprint(sorted(set(df2.connection)))",
        "switch": "%podman --connection other",
        "config": "%config PodmanMagics.connection = 'remote'\nwhere = %podman\n"
                  "print('pid', _m.client.api.tunnel.pid)\nwhere",  # the answer is the value, shown at the end
        "dead": "df3 = %images --all-connections\nprint(sorted(set(df3.connection)))\nprint(df3.attrs['notes'])",
        "stale": "%podman --connection other",
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources.values()]
    cells = dict(zip(sources, nb.cells))
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    failures = {}
    with client.setup_kernel():
        for index, (name, cell) in enumerate(zip(sources, nb.cells)):
            if name == "dead":
                other_service.stop()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failures[name] = error
    texts = {name: "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                           for o in cell.get("outputs", [])) for name, cell in cells.items()}
    assert set(failures) == {"stale"}, {k: str(v)[-800:] for k, v in failures.items()}
    # Podman 4.3's `connection add` may drop the socket path: then it comes from the remote `podman info`
    assert re.search(f"Podman {podman_service.version} at {sshd.uri()}\\S* \\(connection 'remote'\\)", texts["where"])
    rows = {words[1]: words[2:] for words in (line.split() for line in texts["connections"].splitlines()[1:])}
    assert rows["remote"][:3] == ["True", "True", podman_service.version], texts["connections"]
    assert rows["other"][:3] == ["False", "True", other_service.version], texts["connections"]
    assert texts["columns"].splitlines() == [str(["name", "uri", "identity", "default", "answers", "version"]),
                                             other_service.base_url], texts["columns"]
    assert "['local', 'other', 'remote', 'second'] ['connection', 'repository']" in texts["all"], texts["all"]
    assert "podman-nb/busybox" in texts["all"]
    assert "['other', 'remote']" in texts["pair"]
    assert f"Pulled {base_image.plain}" in texts["one_call"] and "notebook still on remote" in texts["one_call"]
    assert f"Podman {other_service.version} at {other_service.base_url} (connection 'other')" in texts["switch"]
    assert re.search(f"Podman {podman_service.version} at {sshd.uri()}\\S* \\(connection 'remote'\\)", texts["config"])
    assert "['local', 'remote', 'second']" in texts["dead"] and "connection 'other' did not answer" in texts["dead"]
    stale = [o for o in cells["stale"]["outputs"] if o["output_type"] == "error"]
    assert len(stale) == 1 and "'other'" in stale[0]["traceback"][0] and other_service.base_url in stale[0]["traceback"][0]
    pid = int(texts["config"].split("pid ")[1].split()[0])
    assert not sshd_module.alive(pid)  # the kernel exited: its ssh forwarding went with it


def test_machine_connection_skips_the_host_key_check(home, sshd, podman_service, monkeypatch):
    """A connection as `podman machine init` writes it (IsMachine): its regenerated host key is not checked,
    as podman does not check it; the same address without IsMachine is refused."""
    sshd.forge_host_key()
    conf = home / "machine-connections.json"
    entry = {"URI": sshd.uri(podman_service.socket_path), "Identity": str(sshd.key)}
    conf.write_text(json.dumps({"Connection": {"Default": "podman-machine-default", "Connections": {
        "podman-machine-default": dict(entry, IsMachine=True), "plain": entry}}, "Farm": {}}))
    monkeypatch.setenv("PODMAN_CONNECTIONS_CONF", str(conf))
    with podman_nb.PodmanClient() as client:
        assert client.connection == "podman-machine-default" and client.ping()
    _fails(lambda: podman_nb.PodmanClient(connection="plain"), "'plain'", "host key has CHANGED")


# --- scp between two services ---------------------------------------------------------------------
@pytest.fixture
def ssh_agent(sshd, tmp_path):
    """An ssh-agent holding the sshd's key: Podman 4.3's scp ignores the connection's identity and
    authenticates only through SSH_AUTH_SOCK (Podman 5.4 reads the identity)."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    subprocess.run(["ssh-add", str(sshd.key)], env=dict(os.environ, SSH_AUTH_SOCK=str(sock)), check=True,
                   capture_output=True)
    yield str(sock)
    agent.terminate()
    agent.wait(10)


def test_scp_to_another_service_through_a_named_connection(podman_service, registries, sshd, ssh_agent,
                                                          tmp_path_factory, monkeypatch):
    """The source service (the other Podman) copies an image to the test service through its own named
    connection 'dest' (written by its own `podman system connection add`), over the loopback sshd."""
    import services

    which = "5" if podman_service.which == "4" else "4"
    workdir = tmp_path_factory.mktemp(f"scp-source{which}-")
    (workdir / "home" / ".config").mkdir(parents=True)
    shutil.copy(sshd.key, workdir / "id_client")  # inside the source's folder: Podman 5's chroot sees it
    for name in ("CONTAINER_HOST", "CONTAINER_CONNECTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(workdir / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(workdir / "home" / ".config"))
    monkeypatch.setenv("SSH_AUTH_SOCK", ssh_agent)
    source = services.PodmanService(which, workdir, registries.registries_conf, registries.ca_files)
    try:
        base = services.build_base_image(source)
        name = f"localhost/podman-nb/scp{uuid.uuid4().hex[:8]}:1"
        source.cli("tag", base.local, name)
        monkeypatch.setenv("CONTAINERS_CONF", source.env["CONTAINERS_CONF"])
        sshd.known_hosts.write_text("")
        add_connection(source, "dest", sshd.uri(podman_service.socket_path), str(workdir / "id_client"))
        source.stop()
        source.start()  # Podman 4 reads containers.conf once, at start
        with podman_nb.PodmanClient(base_url=source.base_url) as client:
            client.images.scp(name, "dest::")
        with podman_nb.PodmanClient(base_url=podman_service.base_url) as client:
            arrived = client.images.get(name)
            assert arrived.id == base.id
            client.images.remove(arrived.id, force=True)
        with reliability.ipython_shell() as shell:  # cleared after: test_magics makes its own singleton
            shell.run_line_magic("load_ext", "podman_nb")
            shell.run_line_magic("config", f"PodmanMagics.base_url = {source.base_url!r}")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                answer = shell.run_line_magic("image_scp", f"{name} dest::")
            assert answer is None and out.getvalue().startswith(f"Copied {name} to dest::"), out.getvalue()
        with podman_nb.PodmanClient(base_url=podman_service.base_url) as client:
            assert client.images.get(name).id == base.id
            client.images.remove(base.id, force=True)
    finally:
        source.close()



def test_dial_stdio_when_the_server_refuses_socket_forwarding(home, podman_service, base_image, tmp_path):
    """An sshd with AllowStreamLocalForwarding no: each HTTP connection goes through its own
    `ssh HOST podman system dial-stdio`; listing and a streamed pull work, close() leaves no ssh."""
    server = sshd_module.SSHServer(tmp_path / "sshd-noforward", {"CONTAINER_HOST": podman_service.base_url},
                                   forwarding=False)
    try:
        os.environ["PATH"] = f"{server.bin}:{os.environ['PATH']}"  # monkeypatched by `home`: restored after
        with podman_nb.PodmanClient(base_url=server.uri(podman_service.socket_path), identity=str(server.key)) as client:
            assert client.version()["Version"] == podman_service.version
            assert client.api.tunnel.relay is not None and client.api.tunnel.process is None
            assert base_image.local in [t for image in client.images.list() for t in image.tags]
            lines = list(client.images.pull(base_image.plain, tls_verify=False, stream=True, decode=True))
            assert lines
            assert sshd_module.ssh_pids(server.port)  # the relay's ssh, one per pooled connection
        assert not sshd_module.ssh_pids(server.port)
    finally:
        server.stop()


def test_forwarding_survives_interrupts_and_dies_with_the_process_group(home, sshd, podman_service):
    """As Jupyter treats a kernel: SIGINT to its process group (a cell interrupt) keeps the forwarding;
    SIGKILL to the group (a kernel that would not stop) takes the ssh process along, no atexit needed."""
    script = textwrap.dedent(f"""
        import signal, sys
        import podman_nb
        signal.signal(signal.SIGINT, lambda *_: print("interrupted", flush=True))
        client = podman_nb.PodmanClient(base_url={sshd.uri(podman_service.socket_path)!r}, identity={str(sshd.key)!r})
        client.ping()
        print(client.api.tunnel.pid, flush=True)
        sys.stdin.readline()
        client.ping()
        print(client.api.tunnel.pid, flush=True)
        signal.pause()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             start_new_session=True,
                             env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(podman_nb.__file__))))
    try:
        first = int(child.stdout.readline())
        os.killpg(child.pid, signal.SIGINT)
        assert child.stdout.readline().strip() == "interrupted"
        child.stdin.write("go\n")
        child.stdin.flush()
        assert int(child.stdout.readline()) == first and sshd_module.alive(first)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
        deadline = time.monotonic() + 5
        while sshd_module.alive(first) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sshd_module.alive(first)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
