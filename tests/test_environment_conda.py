"""Conda projects (environment.yml) against a real Podman service, offline: the conda channel of
tests/condachannel.py (python from pyenv, pip, pnb-data 1.0 and 2.0, built with py-rattler-build), served
on loopback behind a token, py-rattler and the pip packages from the token-guarded wheel index of
tests/envservices.py, the Debian Python base.

One project is built once for the module (the env's python on PATH, the pip: list, ipykernel through the
env's pip, the tokened channel URL); the alias and lock builds find py-rattler and the packages in the build's cache mount.
"""
from __future__ import annotations

import base64
import json

import pytest

import condachannel
import podman_nb
from podman_nb import environment
from podman_nb.errors import BuildError, InvalidArgument
from podman_nb.kernel import containers
from test_environment import (built, everything_in, package_index, pip_index, python_base, run_cell, run_in,  # noqa: F401
                              shell, unique)

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


@pytest.fixture(scope="module")
def conda_image(tmp_path_factory, podman_service, python_base, package_index, channel_server):  # noqa: F811
    """A conda project built once with a tokened channel URL, a pip: list, runtime.txt and --kernel's ipykernel."""
    project = write(tmp_path_factory.mktemp("conda") / "p", {
        "environment.yml": f"name: demo\nchannels:\n  - {channel_server.url('pnb')}  # a token in the URL\n"
                           "dependencies:\n  - python=3.11\n  - pnb-data\n  - pip:\n    - six==1.16.0\n"
                           "variables:\n  GREETING: 'hello world $HOME \"q\"'\n",  # ENV as written
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
                 "python -c 'import attrs' 2>&1 | tail -1; find / -xdev -name 'rattler*' | wc -l; ls -A /tmp | wc -l; echo \"$GREETING\"")
    assert out.splitlines() == [f"{PREFIX}/bin/python", f"{PREFIX}/bin/python3",
                                f"{PREFIX}/bin/python {PREFIX} 1.16.0", "1.0",
                                "ModuleNotFoundError: No module named 'attrs'", "0", "0", 'hello world $HOME "q"']
    token = channel_server.token
    # the solve read the channel with the token (packages come from the build host's cache mount once fetched)
    assert any(line.startswith('127.0.0.1 "GET /pnb/noarch/repodata') and '" 200 ' in line
               for line in channel_server.requests())
    forms = [token.encode(), base64.b64encode(f"pnb:{token}".encode())]
    assert [where for where, blob in everything_in(image, log, podman_service).items() if any(f in blob for f in forms)] == []


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


def test_lock_writes_the_solve_and_later_builds_keep_it(tmp_path, monkeypatch, capsys, shell, podman_service,
                                                       python_base, pip_index, channel_server):  # noqa: F811
    """%image_env --lock solves with the build's solve step (the tokened alias), writes conda-lock.yml without the
    token, leaves no container or image of its own, and builds from it; after pnb-data 2.0 is published a
    rebuild from scratch keeps 1.0."""
    channel = condachannel.make_channel(channel_server.root / "lockable")
    project = write(tmp_path / "p", {"environment.yml": "channels: [lockable]\ndependencies:\n  - pnb-data\n"})
    monkeypatch.setenv("CONDA_CHANNEL_ALIAS", channel_server.alias)
    shell.run_line_magic("config", f"PodmanMagics.base_url = {podman_service.base_url!r}")
    shell.run_line_magic("config", "PodmanMagics.progress = 'text'")
    before = podman_service.cli("ps", "-a", "--external", "-q").stdout.split()
    images_before = set(podman_service.cli("images", "-a", "-q", "--no-trunc").stdout.split())
    tags = [unique("conda"), unique("conda")]
    try:
        result, shown = run_cell(shell, f"%image_env {project} --lock -t {tags[0]} --base {python_base}", capsys)
        assert result.success, shown
        lock = (project / "conda-lock.yml").read_text()
        assert f"Wrote {project / 'conda-lock.yml'}" in shown
        assert "- name: \"pnb-data\"\n  version: \"1.0\"\n" in lock, lock
        assert f'url: "{channel_server.plain_url("lockable")}/noarch/pnb-data-1.0-' in lock, lock
        assert channel_server.token not in lock and "pnb:" not in lock
        assert podman_service.cli("ps", "-a", "--external", "-q").stdout.split() == before
        made = set(podman_service.cli("images", "-a", "-q", "--no-trunc").stdout.split()) - images_before
        assert [i for i in made if "write_lock" in podman_service.cli("history", "--no-trunc", i).stdout] == []
        assert run_in(podman_service, tags[0], "cat $NB_PYTHON_PREFIX/share/pnb-data/VERSION") == "1.0"
        condachannel.publish(channel, "2.0")
        result, shown = run_cell(shell, f"%image_env {project} -t {tags[1]} --base {python_base} --no-cache",
                                 capsys)  # no cached solve: the lock alone keeps 1.0
        assert result.success, shown
        assert run_in(podman_service, tags[1], "cat $NB_PYTHON_PREFIX/share/pnb-data/VERSION") == "1.0"
        assert "conda-lock.yml is installed as it is: environment.yml is not solved again." in shown
    finally:
        podman_service.cli("rmi", "-f", *tags, check=False)


def test_a_pixi_lock_installs_exactly_what_it_lists(tmp_path, podman_service, python_base, pip_index,
                                                    channel_server):  # noqa: F811
    channel = condachannel.make_channel(channel_server.root / "pixi")
    project = write(tmp_path / "p", {"environment.yml": f"channels: ['{channel_server.url('pixi')}']\n"
                                                        "dependencies:\n  - pnb-data\n"})
    listed = condachannel.write_pixi_lock(channel_server, "pixi", ["python", "pnb-data"], project / "pixi.lock")
    condachannel.publish(channel, "2.0")
    image = build_project(podman_service, project, {"PIP_INDEX_URL": pip_index.url, "PIP_TRUSTED_HOST": "127.0.0.1"})
    try:
        installed = run_in(podman_service, image.tags[0], "cd $NB_PYTHON_PREFIX/conda-meta && ls *.json")
        assert sorted(name[:-len(".json")] for name in installed.split()) == listed
        assert any(name.startswith("pnb-data-1.0-") for name in listed), listed
    finally:
        podman_service.cli("rmi", "-f", image.tags[0])


@pytest.mark.parametrize("files, sentence", [
    ({"requirements.txt": "six\n"}, "{root} has no environment.yml: only a conda project's environment can be locked"),
    ({"environment.yml": "dependencies: [python]\n", "Dockerfile": "FROM scratch\n"},
     "Dockerfile is built as it is, so there is no conda environment to lock")])
def test_only_a_conda_project_is_locked(tmp_path, files, sentence):
    project = write(tmp_path / "p", files)
    with pytest.raises(InvalidArgument) as caught:
        environment.from_folder(project, environ={}, write_lock=True)
    assert str(caught.value) == sentence.format(root=project)
    assert sorted(p.name for p in project.iterdir()) == sorted(files)


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


def test_a_file_with_a_token_stays_out_of_the_image(tmp_path):
    """A .condarc or environment.yml with credentials in a URL is not copied into the image (COPY . would), nor is
    the token in the Containerfile, and the warning names it; a file without any is copied as usual, even when the
    kernel's CONDA_CHANNEL_ALIAS carries a token (no service needed: nothing is built)."""
    (tmp_path / "environment.yml").write_text("channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n")
    (tmp_path / ".condarc").write_text("channel_alias: https://u:SECRETTOKEN@mirror.example/\n")
    env = environment.from_folder(tmp_path, environ={})
    assert env._rules.excluded(".condarc") and not env._rules.excluded("environment.yml")  # the context's rules
    assert "SECRETTOKEN" not in env.containerfile and "SECRETTOKEN" not in " ".join(env.warnings)
    assert ".condarc holds credentials in a URL, so it is left out of the image." in env.warnings, env.warnings

    (tmp_path / ".condarc").unlink()
    env = environment.from_folder(tmp_path, environ={"CONDA_CHANNEL_ALIAS": "https://u:SECRETTOKEN@mirror.example/"})
    assert not env._rules.excluded("environment.yml") and "SECRETTOKEN" not in env.containerfile
    assert not [w for w in env.warnings if "credentials" in w], env.warnings

    (tmp_path / "environment.yml").write_text("channels:\n  - https://SECRETTOKEN@mirror.example/pnb\n"
                                              "dependencies:\n  - python=3.11\n")
    env = environment.from_folder(tmp_path, environ={})
    assert env._rules.excluded("environment.yml") and "SECRETTOKEN" not in env.containerfile
    assert "environment.yml holds credentials in a URL, so it is left out of the image." in env.warnings, env.warnings


def test_a_top_level_condarc_does_not_count_beside_binder(tmp_path):
    """With binder/ holding environment.yml, only binder/'s .condarc gives the alias (no service: nothing is built)."""
    write(tmp_path / "binder", {"environment.yml": "channels: [pnb]\ndependencies:\n  - python=3.11\n"})
    write(tmp_path, {".condarc": "channel_alias: https://top.example/\n"})
    env = environment.from_folder(tmp_path, environ={})
    assert "https://conda.anaconda.org/pnb" in env.containerfile and "top.example" not in env.containerfile
    assert "binder/ holds the environment, so .condarc at the top is not used (as in repo2docker)." in env.warnings
    write(tmp_path / "binder", {".condarc": "channel_alias: https://binder.example/\n"})
    assert "https://binder.example/pnb" in environment.from_folder(tmp_path, environ={}).containerfile


def test_conda_tutorial_notebook(podman_service, registries, base_image, tmp_path):
    """notebooks/conda-environment.ipynb end to end with what ``scripts/tutorials`` sets: --lock, --kernel, the
    kernel's python is the environment's; no token of the channel or the index in the saved notebook."""
    from urllib.parse import urlsplit

    from test_notebooks import cell, notebook_env, run_notebook, text
    env = notebook_env(podman_service, registries, base_image)
    nb = run_notebook("conda-environment.ipynb", env, tmp_path)
    assert "Kernel 'sales' (Sales (conda, Podman)) is registered" in text(cell(nb, "build"))
    assert "'python': '3.11." in text(cell(nb, "lock")) and "'pip':" in text(cell(nb, "lock"))
    assert "conda-lock.yml is installed as it is: environment.yml is not solved again." in text(cell(nb, "print"))
    assert [line for line in text(cell(nb, "use")).splitlines() if line] == [
        f"{PREFIX}/bin/python3", "{'north': 150, 'south': 80}"]
    assert "Removed the kernel sales (0 container(s) removed)." in text(cell(nb, "cleanup"))
    saved = (tmp_path / "conda-environment.executed.ipynb").read_text()
    tokens = [urlsplit(env[name]).password for name in ("PIP_INDEX_URL", "CONDA_CHANNEL_ALIAS")]
    assert all(tokens) and [t for t in tokens if t in saved] == []
