"""PodmanClient and service discovery: explicit base_url, CONTAINER_HOST, the private auto-started service."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import podman_nb
from podman_nb import errors
from podman_nb.api import service

ROOT_SOCKET = "unix:///run/podman/podman.sock"


@pytest.fixture
def no_service_around(monkeypatch, tmp_path):
    """No CONTAINER_HOST, an empty XDG_RUNTIME_DIR, no answer at /run/podman/podman.sock, no private service yet."""
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.delenv("CONTAINER_CONNECTION", raising=False)
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    if service.answers(ROOT_SOCKET):
        real = service.answers
        monkeypatch.setattr(service, "answers", lambda url, timeout=2.0: url != ROOT_SOCKET and real(url, timeout))
    monkeypatch.setattr(service, "_private", None)
    return runtime


def test_explicit_base_url(podman_service):
    path = podman_service.base_url[len("unix://"):]
    for url in (podman_service.base_url, path, "http+unix://" + path):
        with podman_nb.PodmanClient(base_url=url) as client:
            assert client.base_url == podman_service.base_url
            assert client.ping()
            assert client.version()["Version"] == podman_service.version
            assert podman_service.base_url in repr(client)


def test_bad_base_urls():
    for url in ("", "ftp://x", "tcp://hostonly", "ssh:///run/podman.sock", "npipe:////./pipe/podman-machine-default"):
        with pytest.raises(errors.InvalidArgument):
            podman_nb.PodmanClient(base_url=url)


def test_container_host(podman_service, no_service_around, monkeypatch):
    monkeypatch.setenv("CONTAINER_HOST", podman_service.base_url)
    with podman_nb.PodmanClient() as client:
        assert client.base_url == podman_service.base_url
        assert client.ping()
    with podman_nb.PodmanClient.from_env() as client:
        assert client.base_url == podman_service.base_url


def test_xdg_runtime_dir_socket(podman_service, no_service_around):
    (no_service_around / "podman").mkdir()
    os.symlink(podman_service.socket_path, no_service_around / "podman" / "podman.sock")
    with podman_nb.PodmanClient() as client:
        assert client.base_url == f"unix://{no_service_around}/podman/podman.sock"
        assert client.ping()


def test_not_installed_names_every_address(no_service_around, monkeypatch, tmp_path):
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(errors.ServiceUnavailable) as info:
        podman_nb.PodmanClient()
    message = str(info.value)
    expected = [f"unix://{tmp_path}/nothing.sock", f"unix://{no_service_around}/podman/podman.sock", ROOT_SOCKET]
    assert info.value.tried == expected
    for url in expected:
        assert url in message
    assert "podman is not installed" in message


def test_private_service_starts_with_test_env_and_stops_at_exit(podman_service, base_image, registries,
                                                                   no_service_around, tmp_path):
    """A child Python with no service around starts one (host podman, the test CONTAINERS_* files) and stops it."""
    storage = tmp_path / "storage.conf"  # its own storage: the host podman must not share a Podman 5 graph
    storage.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{tmp_path}/graph"\nrunroot = "{tmp_path}/run"\n')
    env = dict(os.environ, CONTAINERS_STORAGE_CONF=str(storage))
    assert env["CONTAINERS_REGISTRIES_CONF"] == podman_service.env["CONTAINERS_REGISTRIES_CONF"]
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {os.getcwd()!r})
        import podman_nb
        from podman_nb.api import service
        client = podman_nb.PodmanClient()
        # pulling from the plain registry without tls_verify needs the test registries.conf (insecure=true)
        image = client.images.pull({base_image.plain!r})
        print(json.dumps({{"url": client.base_url, "pid": service._private.process.pid,
                          "dir": service._private.directory, "tags": image.tags}}))
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    finally:  # the storage's overlay mount outlives the service
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(tmp_path))]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["url"].startswith("unix://") and report["url"].endswith("/podman.sock")
    assert base_image.plain in report["tags"]
    assert "started one" in done.stderr  # said once, as a warning
    assert not os.path.exists(f"/proc/{report['pid']}") or \
        open(f"/proc/{report['pid']}/stat").read().split()[2] == "Z"
    assert not os.path.exists(report["dir"])


def test_stopped_service_raises_service_unavailable(podman_service, client):
    assert client.ping()
    podman_service.stop()
    try:
        with pytest.raises(errors.ServiceUnavailable) as info:
            client.images.list()
        assert podman_service.base_url in str(info.value)
    finally:
        podman_service.start()
    assert client.images.list() is not None


def test_api_error_never_shows_credentials(client, base_image, registries):
    s = registries.secure
    secret = "very-secret-pw-123"
    for call in (lambda: client.images.pull(base_image.secure, auth_config={"username": s.username,
                                                                           "password": secret}),
                 lambda: client.images.get_registry_data(base_image.secure,
                                                         auth_config={"username": s.username, "password": secret})):
        with pytest.raises(errors.APIError) as info:
            call()
        for text in (str(info.value), repr(info.value), str(info.value.explanation), str(info.value.args)):
            assert secret not in text
