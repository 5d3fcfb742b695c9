"""A full disk: a Podman service of this module's own (the one PODMAN_NB_TEST_PODMAN selects) keeps its storage on a
300 MB loop-mounted ext4 image made here. Builds and pulls fill it, through the Python API and through the magics;
each failure is the one sentence that names the storage and how to free it, leaves no partial image, no container
and no build context file, and once space is freed the same pull and build succeed with the same client (no
%reload_ext).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import podman_nb
import reliability
import services
from podman_nb.errors import APIError, BuildError

BLOB_MB = 60  # each filler image: one layer of incompressible bytes


@pytest.fixture(scope="module")
def small(tmp_path_factory, registries, podman_which):
    """(service, pulled): the service on the small filesystem, and a ~120 MB image in the plain registry."""
    top = tmp_path_factory.mktemp("full-disk")
    image, mount = top / "disk.img", top / "svc"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "300M", image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    subprocess.run(["mount", "-o", "loop", image, mount], check=True)
    # the image to pull is made by a service of the host's Podman on the ordinary disk (a chroot's CLI sees no
    # folder of ours but the service's own)
    big = registries.plain.image("pnb-full-disk-big")
    maker = services.PodmanService("4", top / "maker", registries.registries_conf, registries.ca_files)
    try:
        maker.cli("build", "-t", big, context(top / "big-ctx", 120))
        maker.cli("push", "--tls-verify=false", big, big)
    finally:
        maker.close()
        shutil.rmtree(top / "maker", ignore_errors=True)
    service = None
    try:
        service = services.PodmanService(podman_which, mount, registries.registries_conf, registries.ca_files)
        yield service, big
    finally:
        if service is not None:
            service.close()
        subprocess.run(["umount", "-l", mount], capture_output=True)


def context(folder, megabytes):
    """A build context whose Containerfile copies a new file of random bytes (no two builds share a layer)."""
    folder.mkdir(exist_ok=True)
    with open(folder / "blob", "wb") as f:
        f.write(os.urandom(megabytes << 20))
    (folder / "Containerfile").write_text("FROM scratch\nCOPY blob /blob\n")
    return folder


def graph_root(service):
    return str(service.workdir / "graph")


def the_sentence(service):
    return (f"The Podman storage at {graph_root(service)} is out of space (hint: free some with %image_prune "
            "(dangling images) or %image_prune --all (every unused image; %image_prune --all --dry-run lists what "
            "would go), and see what takes the space with `podman system df`)")


def deleted_temp_files():
    """This process's open, unlinked files in the temporary folder over 1 MB: a build context (each holds a blob of
    BLOB_MB) left open; the build logs' own small spill files (domain/linelog.py) live as long as their log."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (target.startswith(tempfile.gettempdir()) and target.endswith("(deleted)")
                and os.fstat(int(fd)).st_size > 1 << 20):
            found.append(target)
    return found


def nothing_left(service, client, expected_tags):
    """No partial image (every image is one we made whole), no container, no build context still open."""
    assert service.cli("ps", "-a", "--external", "-q").stdout.strip() == ""
    listed = sorted(tag for image in client.images.list(all=True) for tag in image.tags or ["<none>"])
    assert listed == sorted(expected_tags)
    assert deleted_temp_files() == []


def fill(build, folder):
    """Build filler images until the disk is full: (tags built, the error)."""
    built = []
    for i in range(10):
        tag = f"localhost/filler{i}"
        try:
            build(context(folder, BLOB_MB), tag)
        except (BuildError, APIError) as error:
            return built, error
        built.append(tag + ":latest")
    pytest.fail(f"{len(built)} builds of {BLOB_MB} MB did not fill 300 MB")


def test_a_full_disk_through_the_python_api(small, tmp_path):
    service, big = small
    client = podman_nb.PodmanClient(base_url=service.base_url)
    try:
        built, error = fill(lambda ctx, tag: client.images.build(path=str(ctx), tag=tag), tmp_path / "ctx")
        assert built, "the first build already failed"
        assert isinstance(error, BuildError) and str(error) == the_sentence(service)
        nothing_left(service, client, built)
        with pytest.raises(APIError) as pulled:
            client.images.pull(big, tls_verify=False)
        assert str(pulled.value) == the_sentence(service)
        nothing_left(service, client, built)
        for tag in built:  # free the space: the same client pulls and builds again
            client.images.remove(tag)
        client.images.build(path=str(tmp_path / "ctx"), tag="localhost/after")
        client.images.pull(big, tls_verify=False)
        nothing_left(service, client, ["localhost/after:latest", big + ":latest"])
    finally:
        for name in ("localhost/after", big):
            service.cli("rmi", "-f", name, check=False)
        client.close()


def test_a_full_disk_through_the_magics(small, tmp_path, capsys):
    service, big = small
    with reliability.ipython_shell() as ip:
        ip.run_line_magic("load_ext", "podman_nb")
        ip.run_line_magic("config", f"PodmanMagics.base_url = {service.base_url!r}")
        ip.run_line_magic("config", "PodmanMagics.show_tracebacks = False")
        ip.run_line_magic("config", "PodmanMagics.progress = 'text'")

        def build(ctx, tag):
            result = ip.run_cell(f"%%image_build -t {tag} --context {ctx}\nFROM scratch\nCOPY blob /blob\n")
            if not result.success:
                raise result.error_in_exec

        built, error = fill(build, tmp_path / "ctx")
        assert built and isinstance(error, BuildError)
        client = ip.magics_manager.registry["PodmanMagics"].client
        nothing_left(service, client, built)
        pull = ip.run_cell(f"%image_pull --no-tls-verify {big}")
        assert not pull.success
        assert str(pull.error_in_exec) == the_sentence(service)
        said = re.sub(r"\x1b\[[0-9;]*m", "", "".join(capsys.readouterr()))
        lines = [line for line in said.splitlines() if line.startswith("%image_pull")]
        assert lines == [f"%image_pull: {the_sentence(service)}"], said[-1500:]
        nothing_left(service, client, built)
        assert ip.run_cell("%image_prune --all").success
        build(tmp_path / "ctx", "localhost/after")
        assert ip.run_cell(f"%image_pull --no-tls-verify {big}").success
        nothing_left(service, client, ["localhost/after:latest", big + ":latest"])
