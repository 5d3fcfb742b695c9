"""Conda projects (environment.yml) against a real Podman service, offline: the conda channel of
tests/condachannel.py (python from pyenv, pip, pnb-data 1.0 and 2.0, built with py-rattler-build), served
on loopback behind a token, py-rattler and the pip packages from the token-guarded wheel index of
tests/envservices.py, the Debian Python base.

One project is built once for the module (the env's python on PATH, the pip: list, ipykernel through the
env's pip, the tokened channel URL); the alias and lock builds find py-rattler and the packages in the build's cache mount.
"""
from __future__ import annotations

import base64
import io
import json
import tarfile

import pytest

import condachannel
import podman_nb
from podman_nb import environment
from podman_nb.errors import BuildError, InvalidArgument
from podman_nb.kernel import containers
from test_environment import built, package_index, pip_index, python_base, run_in, unique  # noqa: F401 (fixtures)

PREFIX = "/srv/conda/envs/notebook"


@pytest.fixture(scope="module")
def channel_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("channels")
    condachannel.make_channel(root / "pnb")
    condachannel.ensure_rattler_wheel()
    server = condachannel.ChannelServer(root, tmp_path_factory.mktemp("channel-log"))
    yield server
    server.stop()


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def everything_in(image, log):
    """{place: bytes}: the saved archive and each (decompressed) part of it, the config, history and build log."""
    saved = b"".join(image.save())
    places = {"saved archive": saved}
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member).read()
                if data[:2] == b"\x1f\x8b":
                    import gzip
                    data = gzip.decompress(data)
                places[member.name] = data
    places.update(config=json.dumps(image.attrs).encode(), history=json.dumps(image.history()).encode(),
                  log=log.encode())
    return places


@pytest.fixture(scope="module")
def conda_image(tmp_path_factory, podman_service, python_base, package_index, channel_server):  # noqa: F811
    """A conda project built once with a tokened channel URL, a pip: list, runtime.txt and --kernel's ipykernel."""
    project = write(tmp_path_factory.mktemp("conda") / "p", {
        "environment.yml": f"name: demo\nchannels:\n  - {channel_server.url('pnb')}  # a token in the URL\n"
                           "dependencies:\n  - python=3.11\n  - pnb-data\n  - pip:\n    - six==1.16.0\n",
        "runtime.txt": "python-3.10\n",  # the file's python wins
        "requirements.txt": "attrs==23.2.0\n",  # a lower handler's file: not installed
        "analysis.ipynb": "{}\n"})
    pip = {"PIP_INDEX_URL": package_index.url, "PIP_TRUSTED_HOST": "127.0.0.1"}
    env = environment.from_folder(project, base=python_base, environ=pip, packages=("ipykernel",))
    tag = unique("conda")
    client = podman_nb.PodmanClient(base_url=podman_service.base_url)
    image, log = environment.build(client.images, env, tag=tag, network_mode="host")
    yield env, image, "".join(str(json.loads(line).get("stream", "")) for line in log)
    client.images.remove(tag, force=True)
    client.close()


def test_conda_project_runs_the_environments_python(podman_service, conda_image, channel_server):
    env, image, log = conda_image
    assert env.python == "3.11"
    assert any("requirements.txt is not installed: environment.yml describes" in w for w in env.warnings), env.warnings
    out = run_in(podman_service, image.tags[0], "command -v python; command -v python3; python -c 'import sys, six, ipykernel; "
                 "print(sys.executable, sys.prefix, six.__version__)'; cat $NB_PYTHON_PREFIX/share/pnb-data/VERSION; "
                 "python -c 'import attrs' 2>&1 | tail -1; find / -xdev -name 'rattler*' | wc -l; ls -A /tmp | wc -l")
    assert out.splitlines() == [f"{PREFIX}/bin/python", f"{PREFIX}/bin/python3",
                                f"{PREFIX}/bin/python {PREFIX} 1.16.0", "1.0",
                                "ModuleNotFoundError: No module named 'attrs'", "0", "0"]
    token = channel_server.token
    # the solve read the channel with the token (packages come from the build host's cache mount once fetched)
    assert any(line.startswith('127.0.0.1 "GET /pnb/noarch/repodata') and '" 200 ' in line
               for line in channel_server.requests())
    forms = [token.encode(), base64.b64encode(f"pnb:{token}".encode())]
    assert [where for where, blob in everything_in(image, log).items() if any(f in blob for f in forms)] == []


def test_a_container_kernels_python_is_the_environments(podman_service, conda_image):
    """The command a container kernel starts with (containers.init_command, then python3) finds the env's python."""
    _, image, _ = conda_image
    shell, *through = containers.init_command()[:4]
    out = podman_service.cli("run", "--rm", "--network=none", "--entrypoint", shell, image.tags[0], *through,
                             "python3", "-c", "import sys, ipykernel; print(sys.executable)").stdout
    assert out.strip() == f"{PREFIX}/bin/python3"


def build_project(podman_service, project, environ, tag=None):
    client = podman_nb.PodmanClient(base_url=podman_service.base_url)
    try:
        return environment.build(client.images, environment.from_folder(project, base=python_base_name(), environ=environ),
                                 tag=tag or unique("conda"), network_mode="host")[0]
    finally:
        client.close()


def python_base_name():
    import envservices
    return envservices.PYTHON_BASE


def test_named_channel_through_the_alias(tmp_path, podman_service, python_base, pip_index, channel_server):  # noqa: F811
    project = write(tmp_path / "p", {"environment.yml": "channels: [pnb]\ndependencies:\n  - pnb-data\n"})
    environ = {"CONDA_CHANNEL_ALIAS": channel_server.alias, "PIP_INDEX_URL": pip_index.url,
               "PIP_TRUSTED_HOST": "127.0.0.1"}
    image = build_project(podman_service, project, environ)
    try:
        assert run_in(podman_service, image.tags[0], "cat $NB_PYTHON_PREFIX/share/pnb-data/VERSION") == "1.0"
    finally:
        podman_service.cli("rmi", "-f", image.tags[0])


def test_a_lock_holds_the_older_package_after_a_newer_is_published(tmp_path, podman_service, python_base, pip_index,
                                                                    channel_server):  # noqa: F811
    channel = condachannel.make_channel(channel_server.root / "lockable")
    project = write(tmp_path / "p", {"environment.yml": "channels: [pnb]\ndependencies:\n  - pnb-data\n"})
    environ = {"CONDA_CHANNEL_ALIAS": channel_server.alias, "PIP_INDEX_URL": pip_index.url,
               "PIP_TRUSTED_HOST": "127.0.0.1"}
    condachannel.write_lock(channel_server, "lockable", ["python", "pnb-data"], project / "conda-lock.yml")
    assert '"pnb-data"' in (project / "conda-lock.yml").read_text()
    (project / "environment.yml").write_text("channels: [lockable]\ndependencies:\n  - pnb-data\n")
    condachannel.publish(channel, "2.0")
    image = build_project(podman_service, project, environ)
    try:
        assert run_in(podman_service, image.tags[0], "cat $NB_PYTHON_PREFIX/share/pnb-data/VERSION") == "1.0"
    finally:
        podman_service.cli("rmi", "-f", image.tags[0])


def test_a_package_no_channel_has(tmp_path, podman_service, python_base, pip_index, channel_server):  # noqa: F811
    project = write(tmp_path / "p", {"environment.yml": f"channels:\n  - {channel_server.url('pnb')}\n"
                                                        "dependencies:\n  - no-such-package-pnb\n"})
    before = podman_service.cli("ps", "-a", "--external", "-q").stdout.split()
    tag = unique("conda")
    with pytest.raises(BuildError) as caught:
        build_project(podman_service, project, {"PIP_INDEX_URL": pip_index.url, "PIP_TRUSTED_HOST": "127.0.0.1"}, tag)
    assert str(caught.value) == ("no channel has no-such-package-pnb that environment.yml asks for "
                                 f"(channels searched: {channel_server.plain_url('pnb')})")
    assert podman_service.cli("image", "exists", tag, check=False).returncode == 1
    assert podman_service.cli("ps", "-a", "--external", "-q").stdout.split() == before


def test_invalid_yaml_names_its_line(tmp_path):
    project = write(tmp_path / "p", {"environment.yml": "channels:\n  - pnb\ndependencies:\n  - python\n"
                                                        "  - pip:\n    - six\n   - idna\n"})
    with pytest.raises(InvalidArgument) as caught:
        environment.from_folder(project, environ={})
    assert str(caught.value) == ("environment.yml is not valid YAML at line 7: it is indented more than the list "
                                 "item before it")


def test_a_tokened_alias_in_condarc_stays_out_of_the_image(tmp_path):
    """A .condarc whose channel_alias carries a token is not copied into the image (COPY . would), nor is the
    token in the Containerfile; the warning names the files left out (no service needed: nothing is built)."""
    from podman_nb.domain.environments import from_folder

    (tmp_path / "environment.yml").write_text("channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n")
    (tmp_path / ".condarc").write_text("channel_alias: https://u:SECRETTOKEN@mirror.example/\n")
    env = from_folder(tmp_path, environ={})
    assert env._rules.excluded(".condarc") and env._rules.excluded("environment.yml")  # what the context leaves out
    assert "SECRETTOKEN" not in env.containerfile and "SECRETTOKEN" not in " ".join(env.warnings)
    assert "environment.yml and .condarc may hold the channels' credentials, so they are left out of the image." \
        in env.warnings, env.warnings
