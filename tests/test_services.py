"""Prove the test infrastructure: the Podman service version, the base image, both registries."""
import re
import ssl
import urllib.error
import urllib.request
import uuid

import pytest


def test_service_version_matches_param(podman_service, request):
    which = request.node.callspec.params["podman_service"]
    version = tuple(int(part) for part in re.findall(r"\d+", podman_service.version)[:3])
    if which == "sid":  # the newest Podman: any release from trixie's 5.4.2 on is let in
        assert version >= (5, 4, 2), podman_service.version
    else:
        assert version[0] == int(which), podman_service.version
    status, _, body = podman_service.request("GET", "/_ping")
    assert (status, body) == (200, b"OK")


def test_base_image_exists_and_runs(podman_service, base_image):
    assert base_image.local == "localhost/podman-nb/busybox:latest"
    status, _, _ = podman_service.request("GET", f"/v4.0.0/libpod/images/{base_image.local}/exists")
    assert status == 204
    name = f"pnb-run-{uuid.uuid4().hex[:8]}"  # no --rm: Podman 3's remote run --rm can lose the exit code
    out = podman_service.cli("run", "--name", name, base_image.local, "echo", "hello-from-busybox").stdout
    podman_service.cli("rm", name)
    assert "hello-from-busybox" in out


def test_secure_registry_refuses_anonymous_pull(podman_service, base_image):
    podman_service.remove_images(base_image.secure)
    proc = podman_service.cli("pull", base_image.secure, check=False)
    assert proc.returncode != 0
    assert "authentication required" in proc.stderr.lower(), proc.stderr


def test_secure_registry_accepts_credentials(podman_service, registries, base_image):
    s = registries.secure
    podman_service.cli("pull", "--creds", f"{s.username}:{s.password}", base_image.secure)
    podman_service.cli("rmi", base_image.secure)
    ctx = ssl.create_default_context(cafile=s.ca_path)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"https://{s.host}/v2/", context=ctx, timeout=5)
    assert err.value.code == 401


def test_plain_registry_serves_http(podman_service, registries, base_image):
    with urllib.request.urlopen(f"http://{registries.plain.host}/v2/_catalog", timeout=5) as r:
        assert b"podman-nb/busybox" in r.read()
    podman_service.cli("pull", base_image.plain)
    podman_service.cli("rmi", base_image.plain)


def test_restart_keeps_storage(podman_service, base_image):
    podman_service.kill()
    assert not podman_service.running()
    podman_service.start()
    status, _, _ = podman_service.request("GET", f"/v4.0.0/libpod/images/{base_image.local}/exists")
    assert status == 204
