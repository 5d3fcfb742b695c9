"""podman_nb.environment against a real Podman service, offline: a Debian Python base (tests/envservices.py),
a local package index that wants a token, apt from the host's Debian mirror.

Each environment file's effect is checked by running a command in the built image with the podman CLI;
cache reuse is read from the build log; the token is looked for in the saved image, its history and config.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

import envservices
from podman_nb import environment
from podman_nb.errors import BuildError, InvalidArgument


def unique(prefix="env"):
    return f"localhost/podman-nb/{prefix}{uuid.uuid4().hex[:8]}:latest"


@pytest.fixture(scope="session")
def package_index(tmp_path_factory):
    index = envservices.PackageIndex(tmp_path_factory.mktemp("index"))
    yield index
    index.stop()


@pytest.fixture(scope="session")
def python_base(podman_service):
    return envservices.python_base_image(podman_service)


@pytest.fixture
def pip_index(monkeypatch, package_index):
    """The host's pip settings point at the local index (with its token), as a user's would."""
    monkeypatch.setenv("PIP_INDEX_URL", package_index.url)
    monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")
    return package_index


@pytest.fixture
def built(client):
    """build(env, **kwargs) -> (image, log text), over the host network; removes what it tagged."""
    made = []

    def run(env, **kwargs):
        kwargs.setdefault("tag", unique())
        made.append(kwargs["tag"])
        image, log = environment.build(client.images, env, network_mode="host", **kwargs)
        return image, "".join(str(json.loads(line).get("stream", "")) for line in log)

    yield run
    for tag in made:
        try:
            client.images.remove(tag, force=True)
        except Exception:
            pass


def run_in(service, image, command):
    """stdout of ``sh -c command`` in a container of ``image`` (podman CLI, no network)."""
    return service.cli("run", "--rm", "--network=none", image, "sh", "-c", command).stdout.strip()


def cached_steps(log):
    """{step instruction: came from the cache} from a build log."""
    steps, current = {}, None
    for line in log.splitlines():
        if re.match(r"(\[\d+/\d+\] )?STEP ", line):  # "[2/2] STEP 3/9: ..." in a multi-stage build
            current = line.split(": ", 1)[1]
            steps[current] = False
        elif current and line.startswith("--> Using cache"):
            steps[current] = True
    return steps


def step(steps, start):
    found = [cached for text, cached in steps.items() if text.startswith(start)]
    assert len(found) == 1, (start, list(steps))
    return found[0]


def everything_in(image, log, service):
    """{place: bytes}: the saved archive and each (decompressed) part of it, the config, the history (the API's
    and ``podman image history``'s) and the build log: where a credential must not be."""
    import gzip
    import io
    import tarfile
    saved = b"".join(image.save())
    places = {"saved archive": saved}
    with tarfile.open(fileobj=io.BytesIO(saved)) as tar:
        for member in tar:
            if member.isfile():
                data = tar.extractfile(member).read()
                places[member.name] = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    cli = service.cli("image", "history", "--no-trunc", image.id).stdout.encode()
    places.update(config=json.dumps(image.attrs).encode(), history=json.dumps(image.history()).encode(),
                  cli_history=cli, log=log.encode())
    return places


def snapshot(folder):
    """Every path under ``folder`` with its mode, mtime and content hash."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if os.path.isfile(path) else ""
            seen[os.path.relpath(path, folder)] = (st.st_mode, st.st_mtime_ns, digest)
    return seen


def make_project(root: Path, requirements="six==1.16.0\nidna==3.7\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    (root / "runtime.txt").write_text("python-3.11\n")
    (root / "apt.txt").write_text("# a small package from the host's mirror\njq\n")
    (root / "postBuild").write_text("#!/bin/sh\nset -e\npython3 -c 'import six; print(six.__version__)' > /srv/postbuild.txt\n")
    (root / "analysis.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (root / "helpers.py").write_text("ANSWER = 42\n")
    (root / "data.csv").write_text("x\n1\n")
    (root / ".containerignore").write_text("data.csv\n")
    return root


# --- Containerfile and context, no service ---------------------------------------------------------

def test_layer_order_and_context(tmp_path):
    project = make_project(tmp_path / "p")
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '0'\n")
    env = environment.from_folder(project, environ={})
    lines = [line for line in env.containerfile.splitlines() if line[:1].isupper()]
    kinds = [line.split()[0] + (" apt" if "apt-get" in line else "") + (" pip" if "pip install --" in line else "")
             for line in env.containerfile.replace("\\\n", " ").splitlines() if line[:1].isupper()]
    assert kinds == ["FROM", "ENV", "WORKDIR", "RUN", "ENTRYPOINT", "CMD", "RUN", "RUN apt", "COPY",
                     "RUN pip", "COPY", "RUN pip", "RUN"], lines
    assert env.base == "docker.io/library/python:3.11-slim" and env.python == "3.11"
    assert "COPY requirements.txt /tmp/podman_nb-deps/" in env.containerfile
    assert "--mount=type=cache,target=/root/.cache/uv" in env.containerfile
    assert "type=secret" not in env.containerfile  # no pip settings on this host
    assert "postBuild" in lines[-1] and env.containerfile.splitlines()[-2].endswith("uv pip install --system "
                                                                                   "--index-strategy unsafe-best-match --compile-bytecode .")
    import tarfile
    body, secret_files = env.context()
    names = tarfile.open(fileobj=body).getnames()
    assert secret_files == {} and ".podman_nb.Containerfile" in names and "analysis.ipynb" in names
    assert "data.csv" not in names  # .containerignore honoured


def test_binder_folder_replaces_the_root_files(tmp_path):
    project = make_project(tmp_path / "p")
    (project / "binder").mkdir()
    (project / "binder" / "requirements.txt").write_text("attrs==23.2.0\n")
    env = environment.from_folder(project, environ={})
    assert "COPY binder/requirements.txt " in env.containerfile
    assert "apt-get" not in env.containerfile and "postBuild" not in env.containerfile
    assert any("binder/ holds the environment" in w and "apt.txt" in w for w in env.warnings)


@pytest.mark.parametrize("files, message", [
    (None, "does not exist"),
    ({"requirements.txt": "six==1.16.0\nnumpy=1.0\n"}, "requirements.txt line 2: 'numpy=1.0' is not a requirement"),
    ({"requirements.txt": "--frobnicate\n"}, "'--frobnicate' is not a pip requirements option"),
    ({"runtime.txt": "python-3.99\n"}, "runtime.txt asks for Python 3.99, which has no official python image"),
    ({"runtime.txt": "ruby-3\n"}, "runtime.txt must say python-3.X"),
    ({"environment.yml": "dependencies:\n  - numpy\n   - six\n", "requirements.txt": "six\n"},
     "environment.yml is not valid YAML at line 3: it is indented more than the list item before it"),
    ({"apt.txt": "jq; rm -rf /\n"}, "apt.txt line 1: 'jq;' is not a Debian package name"),
    ({"requirements.txt": "six\n", ".dockerignore": "*.txt\n"}, ".dockerignore leaves out requirements.txt"),
    ({"Pipfile": "[packages\n"}, "Pipfile is not valid TOML: "),
    ({"Pipfile.lock": "{\n  \"default\": {\n"}, "Pipfile.lock is not valid JSON: Expecting property name"),
    ({"Pipfile": '[packages]\nx = {git = "https://u:TOKEN@example.org/x.git"}\n'},
     "Pipfile: x comes from git, which podman_nb does not install: pin a released version"),
    ({"Pipfile": '[[source]]\nname = "corp"\nurl = "ftp://u:TOKEN@example.org/simple"\n'},
     "Pipfile: source corp's url is not an http(s) URL (spaces written as %20)"),
    ({"Pipfile": '[[source]]\nname = "corp"\nurl = "https://u:${CORP_KEY}@example.org/simple"\n'},
     "Pipfile: source corp's url uses ${CORP_KEY}, which the kernel's environment does not set"),
    ({"Pipfile": 'packages = ["six"]\n'}, "Pipfile: packages must be a table of NAME = ..., not list"),
    ({"Pipfile": '[packages]\nsix = "banana"\n'}, 'Pipfile: six: version must be "*" or like "==1.0"'),
    ({"Pipfile": '[requires]\npython_version = "banana"\n'}, "Pipfile: python_version must say 3.X (e.g. 3.11) or 3, not 'banana'"),
    ({"Pipfile.lock": '["six"]'}, "Pipfile.lock is not a Pipfile.lock: it holds a list, not a table"),
    ({"Pipfile.lock": '{"develop": {}}'}, "Pipfile.lock has no default table, which every Pipfile.lock has"),
    ({"environment.yml": "dependencies: numpy\n"}, "environment.yml line 1: dependencies: must be a list of packages"),
    ({"environment.yml": "dependencies:\n  - pip: six\n"}, "environment.yml line 2: pip: must be a list of requirements"),
    ({"environment.yml": "channels:\n  - https//u:TOKEN@example.org/c\n"},
     "environment.yml line 2: the channel is neither a channel name nor a URL"),
    ({"requirements.txt": "-r more.txt\n", "more.txt": "-c ../../constraints.txt\n"},
     "more.txt includes ../../constraints.txt, which is outside the project folder"),
])
def test_bad_folders_build_nothing(tmp_path, files, message):
    project = tmp_path / "p"
    if files is not None:
        project.mkdir()
        for name, text in files.items():
            (project / name).write_text(text)
    with pytest.raises(InvalidArgument) as caught:
        environment.from_folder(project, environ={})
    assert message in str(caught.value) and "TOKEN" not in str(caught.value)


def test_pip_settings_become_a_secret_only(tmp_path):
    project = make_project(tmp_path / "p")
    token = "tok-" + uuid.uuid4().hex
    env = environment.from_folder(project, environ={"PIP_INDEX_URL": f"https://u:{token}@pypi.example/simple",
                                                    "PIP_TRUSTED_HOST": "pypi.example"})
    kwargs = env.build_kwargs()
    secret = kwargs["secrets"][0].split("src=")[1]
    import tarfile
    tar = tarfile.open(fileobj=kwargs["fileobj"])
    assert token.encode() in tar.extractfile(secret).read()
    assert token not in env.containerfile + repr(env) + repr(vars(env).get("warnings"))
    assert "--mount=type=secret,id=pipconf,target=/etc/pip.conf" in env.containerfile  # pip installs uv
    assert "--mount=type=secret,id=uvconf,target=/etc/uv/uv.toml" in env.containerfile  # uv the packages
    assert [s.split(",")[0] for s in kwargs["secrets"]] == ["id=pipconf", "id=uvconf"]
    uv_secret = kwargs["secrets"][1].split("src=")[1]
    assert tar.extractfile(uv_secret).read().decode() == (f'index-url = "https://u:{token}@pypi.example/simple"\n'
                                                          'allow-insecure-host = ["pypi.example"]\n')
    assert not any(token in p.read_text() for p in project.iterdir() if p.is_file())


# --- real builds -------------------------------------------------------------------------------------

def test_project_files_take_effect_and_cache(tmp_path, podman_service, python_base, pip_index, built):
    project = make_project(tmp_path / "p")
    before = snapshot(project)
    env = environment.from_folder(project, base=python_base)
    image, log = built(env)
    tag = image.tags[0]
    out = run_in(podman_service, tag, "jq --version; python3 -c 'import sys, six, idna; "
                 "print(\"%d.%d\" % sys.version_info[:2], six.__version__, idna.__version__)'; "
                 "cat /srv/postbuild.txt; ls -A /srv/project")
    lines = out.splitlines()
    assert lines[0].startswith("jq-1.6")  # apt.txt
    assert lines[1] == "3.11 1.16.0 3.7"  # runtime.txt's Python, requirements.txt's pins
    assert lines[2] == "1.16.0"  # postBuild ran, after the requirements
    assert {"analysis.ipynb", "helpers.py", "requirements.txt"} <= set(lines[3:])
    assert not {"data.csv", ".podman_nb.Containerfile", ".containerignore"} & set(lines[3:])
    assert not any(name.startswith(".secret-") for name in lines[3:])
    assert snapshot(project) == before  # the folder is left exactly as found

    # a notebook edit reuses every dependency layer
    (project / "analysis.ipynb").write_text(json.dumps({"cells": [], "metadata": {"edited": 1},
                                                         "nbformat": 4, "nbformat_minor": 5}))
    _, log = built(environment.from_folder(project, base=python_base), tag=tag)
    steps = cached_steps(log)
    assert step(steps, "RUN set -e; apt-get update") and step(steps, "RUN --mount=type=cache")
    assert step(steps, "COPY requirements.txt") and not step(steps, "COPY . ")

    # a requirements edit reruns from the pip step, keeping apt
    (project / "requirements.txt").write_text("six==1.16.0\nidna==3.7\ntomli==2.0.1\n")
    image, log = built(environment.from_folder(project, base=python_base), tag=tag)
    steps = cached_steps(log)
    assert step(steps, "RUN set -e; apt-get update")
    assert not step(steps, "COPY requirements.txt") and not step(steps, "RUN --mount=type=cache")
    assert run_in(podman_service, tag, "python3 -c 'import tomli; print(tomli.__version__)'") == "2.0.1"


def test_token_reaches_no_layer_history_or_config(tmp_path, podman_service, python_base, pip_index, built):
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("attrs==23.2.0\n")
    before = snapshot(project)
    image, log = built(environment.from_folder(project, base=python_base))
    token = pip_index.token
    forms = [token.encode(), base64.b64encode(f"pnb:{token}".encode())]
    assert any("/simple/attrs/" in line and '" 200 ' in line for line in pip_index.requests())  # pip used it
    places = everything_in(image, log, podman_service)
    assert len(places["saved archive"]) > 1_000_000
    assert [where for where, blob in places.items() if any(form in blob for form in forms)] == []
    assert snapshot(project) == before


def test_apt_package_that_does_not_exist(tmp_path, client, python_base, built):
    project = tmp_path / "p"
    project.mkdir()
    (project / "apt.txt").write_text("jq\nno-such-package-pnb\n")
    tag = unique()
    with pytest.raises(BuildError) as caught:
        built(environment.from_folder(project, base=python_base), tag=tag)
    assert str(caught.value) == ("apt.txt names packages that the base image's apt sources do not have: "
                                 "no-such-package-pnb")
    assert not client.images.exists(tag)


def test_other_python_and_pep668_bases_fail_clearly(tmp_path, podman_service, client, python_base, built):
    project = tmp_path / "p"
    project.mkdir()
    (project / "runtime.txt").write_text("python-3.12\n")
    with pytest.raises(BuildError) as caught:
        built(environment.from_folder(project, base=python_base))
    assert str(caught.value) == "the environment asks for Python 3.12, the base image has Python 3.11"
    managed = envservices.python_base_image(podman_service, managed=True)
    (project / "runtime.txt").write_text("python-3.11\n")
    with pytest.raises(BuildError) as caught:
        built(environment.from_folder(project, base=managed))
    assert "externally managed (PEP 668" in str(caught.value) and "python:3.11-slim" in str(caught.value)


def test_freeze_a_venv(tmp_path, podman_service, python_base, pip_index, built):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    pins = ["six==1.16.0", "idna==3.7", "attrs==23.2.0"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--index-url", pip_index.url, *pins],
                   check=True, env=clean)
    local = tmp_path / "localpkg"
    local.mkdir()
    (local / "setup.py").write_text("from setuptools import setup\nsetup(name='localpkg', version='0.1', py_modules=[])\n")
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-build-isolation", "--no-index", "-e", str(local)],
                   check=True, env=clean)
    folder = tmp_path / "folderpkg"  # installed from a local folder, not editable: no index has it either
    (folder / "folderpkg").mkdir(parents=True)
    (folder / "folderpkg" / "__init__.py").write_text('"""A local package."""\n__version__ = "0.2"\n')
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "folderpkg"\ndynamic = ["version", "description"]\n')
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--index-url", pip_index.url, str(folder)],
                   check=True, env=clean)
    env = environment.from_interpreter(python=str(venv / "bin/python"), base=python_base)
    assert env.python == "3.11"  # Debian bookworm's python3, the venv's
    assert len(env.warnings) == 1 and "2 installed distribution(s) cannot be reproduced" in env.warnings[0]
    assert "localpkg 0.1 (editable " + str(local) in env.warnings[0], env.warnings
    assert "folderpkg 0.2 (local folder " + str(folder) in env.warnings[0], env.warnings
    # what pip freeze leaves out is said in the Containerfile, with the kernel's versions
    assert re.search(r"^# left to the base's own, as `pip freeze` does: pip \d", env.containerfile, re.M), env.containerfile
    image, _ = built(env)
    out = run_in(podman_service, image.tags[0], "python3 -c 'import six, idna, attrs; "
                 "print(six.__version__, idna.__version__, attrs.__version__)'")
    assert out == "1.16.0 3.7 23.2.0"


# --- %image_env ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shell():
    import reliability

    with reliability.ipython_shell() as ip:
        ip.run_line_magic("load_ext", "podman_nb")
        yield ip


def run_cell(shell, code, capsys):
    result = shell.run_cell(code)
    out = capsys.readouterr()
    return result, out.out + out.err


def test_magic_builds_and_shows(tmp_path, shell, capsys, client, podman_service, python_base, pip_index):
    shell.run_line_magic("config", f"PodmanMagics.base_url = {podman_service.base_url!r}")
    shell.run_line_magic("config", "PodmanMagics.progress = 'text'")
    project = make_project(tmp_path / "p")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    tag = unique()
    try:
        result, shown = run_cell(shell, f"%image_env {project} -t {tag} --base {python_base}", capsys)
        assert result.success, shown
        assert result.result.tags == [tag]
        assert f"FROM {python_base}" in shown and "COPY requirements.txt" in shown  # the Containerfile
        assert re.search(r"cache hits: \d+\s+left out: \.git\s+elapsed", shown), shown  # the summary says it
        assert re.search(r"^\s*image: [0-9a-f]{12}\s+steps: \d+/\d+\s+cache hits: \d+", shown, re.M), shown  # the summary
        assert pip_index.token not in shown and pip_index.token not in repr(result.result)
        history = "\n".join(line for _, _, line in shell.history_manager.get_range())
        assert pip_index.token not in history
        assert run_in(podman_service, tag, "jq --version").startswith("jq-")

        before = {image.id for image in client.images.list()}
        result, shown = run_cell(shell, f"%image_env {project} --print", capsys)
        assert result.success and result.result is None and "COPY . /srv/project/" in shown
        result, shown = run_cell(shell, f"%image_env {tmp_path / 'missing'} -t {unique()}", capsys)
        assert not result.success
        assert f"%image_env: the project folder {tmp_path / 'missing'} does not exist" in shown
        result, shown = run_cell(shell, "%image_env --freeze --print", capsys)
        assert result.success and "'pandas==" in shown and "FROM docker.io/library/python:" in shown
        assert {image.id for image in client.images.list()} == before  # none of these built anything
    finally:
        if client.images.exists(tag):
            client.images.remove(tag, force=True)


def test_pyproject_is_pip_installed(tmp_path, podman_service, python_base, pip_index, built):
    project = tmp_path / "p"
    (project / "mypkg").mkdir(parents=True)
    (project / "mypkg" / "__init__.py").write_text('"""A project\'s own package."""\n__version__ = "0.3"\n')
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "mypkg"\ndynamic = ["version", "description"]\ndependencies = ["six==1.16.0"]\n')
    image, _ = built(environment.from_folder(project, base=python_base))
    out = run_in(podman_service, image.tags[0], "cd / && python3 -c 'import mypkg, six; "
                 "print(mypkg.__version__, six.__version__, mypkg.__file__)'")
    assert out.startswith("0.3 1.16.0 /usr/local/lib/python3.11/")  # installed, not read from /srv/project


def test_freeze_from_a_venv_kernel(tmp_path, monkeypatch, podman_service, client, python_base, pip_index):
    """%image_env --freeze in a real kernel running in a small venv: the image imports what the kernel has."""
    import nbclient
    import nbformat
    envservices.ensure_wheels(kernel=True)
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--index-url", pip_index.url,
                    *envservices.KERNEL_PACKAGES, *envservices.FREEZE_PINS], check=True, env=clean)
    spec = tmp_path / "jupyter" / "kernels" / "pnb-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin/python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "podman_nb venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # where this process finds the kernelspec
    tag = unique("frozen")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys; print(sys.prefix)"),
        nbformat.v4.new_code_cell(f"%load_ext podman_nb\n%config PodmanMagics.base_url = {podman_service.base_url!r}"),
        nbformat.v4.new_code_cell(f"%image_env --freeze -t {tag} --base {python_base}")])
    env = {k: v for k, v in clean.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
    env.update(JUPYTER_PATH=str(tmp_path / "jupyter"), PYTHONPATH=str(Path(environment.__file__).parents[1]),
               PIP_INDEX_URL=pip_index.url, PIP_TRUSTED_HOST="127.0.0.1")
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="pnb-venv").execute(env=env)
        assert nb.cells[0].outputs[0].text.strip() == str(venv)  # the kernel ran in the venv
        shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in nb.cells[2].outputs)
        assert f"'{tag}'" in shown and "'six==1.16.0'" in shown and "'ipykernel==" in shown, shown
        assert pip_index.token not in shown
        check = ("import importlib.metadata as m; "
                 "print(*[m.version(n) for n in ('six', 'idna', 'attrs', 'ipykernel', 'pyzmq')])")
        inside = run_in(podman_service, tag, f'python3 -c "{check}"')
        in_venv = subprocess.run([str(venv / "bin/python"), "-c", check], capture_output=True, text=True,
                                 check=True).stdout.strip()
        assert inside == in_venv and inside.startswith("1.16.0 3.7 23.2.0 "), (inside, in_venv)
        assert run_in(podman_service, tag, "python3 -c 'import six, idna, attrs, ipykernel, zmq; print(1)'") == "1"
    finally:
        if client.images.exists(tag):
            client.images.remove(tag, force=True)


def test_freeze_lists_what_is_installed_not_the_working_folder(tmp_path, monkeypatch):
    """A project's own metadata in the working folder (what `pip install -e .` leaves there) is not installed."""
    info = tmp_path / "folderonly-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: folderonly\nVersion: 1.0\n")
    monkeypatch.chdir(tmp_path)
    frozen = environment.from_interpreter(base="docker.io/library/python:3.11-slim")
    assert "folderonly" not in frozen.containerfile + "".join(frozen.warnings), frozen.containerfile
    assert "distributions pinned" in frozen.containerfile.splitlines()[0]
