"""repo2docker's layouts against a real Podman service, offline (the Debian Python base and the token-guarded
wheel index of tests/envservices.py): Pipfile with and without a lock, binder/ precedence and ignore rules,
a Dockerfile built as it is, ``start`` before every command (a container kernel's too), runtime.txt
``python-3``, the default ignores, and R/Julia/Nix refused before anything is built.

The builds share the base and its first steps, so the file adds four short builds to the suite.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

import envservices
from podman_nb import environment
from podman_nb.errors import InvalidArgument
from podman_nb.kernel import containers
from test_environment import built, everything_in, package_index, pip_index, python_base, run_in  # noqa: F401

START = '#!/bin/sh\necho started >> /tmp/start.log\nexport STARTED="yes, $NB_USER"\nexec "$@"\n'


def wheel_hash(name):
    folder = envservices.ensure_wheels() / "simple" / name
    return "sha256:" + hashlib.sha256(next(folder.glob("*.whl")).read_bytes()).hexdigest()


def lock(default, develop):
    entry = lambda name, version: {"version": f"=={version}", "hashes": [wheel_hash(name)]}  # noqa: E731
    return json.dumps({"_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}],
                                 "requires": {}},
                       "default": {n: entry(n, v) for n, v in default.items()},
                       "develop": {n: entry(n, v) for n, v in develop.items()}})


def test_pipfile_lock_in_binder(tmp_path, podman_service, python_base, pip_index, built):  # noqa: F811
    project = tmp_path / "p"
    binder = project / "binder"
    binder.mkdir(parents=True)
    (project / "Pipfile").write_text('[packages]\ntomli = "==2.0.1"\n')  # the top level does not count
    (project / ".containerignore").write_text("binder\n")  # nor does its ignore file
    (project / "data.csv").write_text("x\n")
    (binder / "Pipfile").write_text('[packages]\nattrs = "*"\n')  # the lock wins over its Pipfile
    (binder / "Pipfile.lock").write_text("\ufeff" + lock({"six": "1.16.0"}, {"idna": "3.7"}))  # a BOM, as Windows writes
    (binder / "requirements.txt").write_text("attrs==23.2.0\n")  # a lower handler's file: not installed
    (binder / ".containerignore").write_text("data.csv\n")
    (binder / "runtime.txt").write_text("python-3\n")  # any 3.X: the base's
    (binder / "start").write_text(START)
    env = environment.from_folder(project, base=python_base)
    assert env.python is None and "the environment asks for Python" not in env.containerfile
    assert any("binder/requirements.txt is not installed: Pipfile describes" in w for w in env.warnings), env.warnings
    assert any("Pipfile, .containerignore at the top is not used" in w for w in env.warnings), env.warnings
    image, _ = built(env)
    out = run_in(podman_service, image.tags[0], "python3 -c 'import six, idna; print(six.__version__, idna.__version__)'; "
                 "python3 -c 'import attrs' 2>&1 | tail -1; python3 -c 'import tomli' 2>&1 | tail -1; "
                 "ls -A $REPO_DIR; ls -A $REPO_DIR/binder | sort | tr '\\n' ' '; echo; echo \"$STARTED $NB_UID $PATH\"")
    lines = out.splitlines()
    assert lines[0] == "1.16.0 3.7"  # the lock's default and develop packages
    assert "No module named 'attrs'" in lines[1] and "No module named 'tomli'" in lines[2]
    assert "data.csv" not in lines[3:-2] and "binder" in lines[3:-2]  # binder/'s ignore rules, not the top's
    assert lines[-2].split() == [".containerignore", "Pipfile", "Pipfile.lock", "requirements.txt", "runtime.txt", "start"]
    assert lines[-1].startswith("yes, root 0 /root/.local/bin:/srv/project/.local/bin:")  # start ran, then the command
    assert any("/simple/six/" in line and '" 200 ' in line for line in pip_index.requests())  # PyPI source: the mirror


def test_pipfile_without_lock_and_default_ignores(tmp_path, monkeypatch, podman_service, python_base, pip_index,
                                                  built):  # noqa: F811
    """packages, dev-packages, a local path with a space, and a private [[source]] whose token comes from the
    kernel's environment (${VAR}, as pipenv reads it): used by the installer, in no layer, history or log."""
    project = tmp_path / "p"
    for folder in (".git", "pkg/__pycache__", ".ipynb_checkpoints", "node_modules/x", ".venv", "my lib/mypkg"):
        (project / folder).mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / ".containerignore").write_text("!.git\n")  # brings one back
    (project / "my lib" / "mypkg" / "__init__.py").write_text('"""A local package."""\n__version__ = "0.1"\n')
    (project / "my lib" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "mypkg"\ndynamic = ["version", "description"]\n')
    corp = envservices.PackageIndex(tmp_path / "corp", token="corp&tok-5e1d")
    monkeypatch.setenv("CORP_INDEX_TOKEN", corp.token)
    (project / "Pipfile").write_text(
        '\ufeff[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'
        f'[[source]]\nname = "corp"\nurl = "http://pnb:${{CORP_INDEX_TOKEN}}@127.0.0.1:{corp.port}/simple/"\n\n'
        '[packages]\nsix = "==1.16.0"\nmypkg = {path = "./my lib", editable = true}\n\n'
        '[dev-packages]\nidna = {version = "==3.7"}\n')
    try:
        env = environment.from_folder(project, base=python_base)
        assert env.left_out == [".ipynb_checkpoints", ".venv", "__pycache__", "node_modules"], env.left_out
        image, log = built(env)
        out = run_in(podman_service, image.tags[0], "cd $REPO_DIR && find . | sort | tr '\\n' '|'; echo; python3 -c "
                     "'import six, idna, mypkg; print(six.__version__, idna.__version__, mypkg.__file__)'")
        assert any("/simple/idna/" in line and '" 200 ' in line for line in corp.requests())  # the source was used
        places = everything_in(image, log, podman_service)
    finally:
        corp.stop()
    lines = out.splitlines()
    assert lines[1] == "1.16.0 3.7 /srv/project/my lib/mypkg/__init__.py"  # packages, dev-packages, the local path
    assert lines[0].split("|")[:-1] == [".", "./.git", "./.git/HEAD", "./Pipfile", "./my lib", "./my lib/mypkg",
                                        "./my lib/mypkg/__init__.py", "./my lib/pyproject.toml", "./pkg"]
    forms = [corp.token.encode(), base64.b64encode(f"pnb:{corp.token}".encode())]
    places["Containerfile"] = env.containerfile.encode()
    assert [where for where, blob in places.items() if any(form in blob for form in forms)] == []


def test_dockerfile_is_built_as_it_is(tmp_path, podman_service, python_base, built):  # noqa: F811
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("no-such-package-pnb\n")
    (project / "apt.txt").write_text("no-such-package-pnb\n")
    (project / "hello.txt").write_text("hello\n")
    (project / "Dockerfile").write_text(f"FROM --platform=linux/amd64 {python_base} AS first\nFROM first\n"
                                        "COPY hello.txt /hello.txt\n")
    env = environment.from_folder(project, base="docker.io/library/python:3.12-slim")
    assert env.containerfile == (project / "Dockerfile").read_text() and env.base == python_base
    assert env.warnings == ["Dockerfile is built as it is: --base docker.io/library/python:3.12-slim is not used.",
                            "Dockerfile is built as it is, so requirements.txt, apt.txt is left alone (as in repo2docker)."]
    image, _ = built(env)
    assert run_in(podman_service, image.tags[0], "cat /hello.txt; ls /srv 2>&1 | wc -l") == "hello\n0"


def test_start_runs_before_a_kernel(tmp_path, podman_service, python_base, built):  # noqa: F811
    """The command a container kernel starts with (containers.init_command) goes through the project's start."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "start").write_text(START)
    image, _ = built(environment.from_folder(project, base=python_base))
    shell, *through = containers.init_command()[:4]  # the kernel's init (python3 -c INIT) follows them
    assert through[-1] == "/usr/local/bin/podman_nb-entrypoint"
    out = podman_service.cli("run", "--rm", "--network=none", "--entrypoint", shell, image.tags[0], *through,
                             "python3", "-c", "import os; print(os.environ['STARTED'], os.environ['REPO_DIR'])").stdout
    assert out.strip() == "yes, root /srv/project"
    # an image without the entrypoint (a plain base) still starts the command
    out = podman_service.cli("run", "--rm", "--network=none", "--entrypoint", shell, python_base, *through,
                             "python3", "-c", "print('plain')").stdout
    assert out.strip() == "plain"


def test_runtime_python_3_is_the_newest_without_a_base(tmp_path):
    project = tmp_path / "p\nRUN false"  # a folder's name stays in the Containerfile's first comment
    project.mkdir()
    (project / "runtime.txt").write_text("python-3\n")
    env = environment.from_folder(project, environ={})
    assert env.python == environment.SUPPORTED_PYTHONS[-1] and env.base.endswith(f":{env.python}-slim")
    assert "\nRUN false" not in env.containerfile
    (project / "runtime.txt").write_text("python-3.10.4\n")
    assert environment.from_folder(project, environ={}).python == "3.10"


@pytest.mark.parametrize("name, text, kind", [
    ("install.R", "install.packages('x')\n", "R environments"), ("DESCRIPTION", "Package: x\n", "R environments"),
    ("runtime.txt", "r-4.3-2024-01-01\n", "R environments"), ("Project.toml", "[deps]\n", "Julia environments"),
    ("REQUIRE", "julia 1\n", "Julia environments"), ("default.nix", "{}\n", "Nix environments"),
])
def test_r_julia_nix_are_refused(tmp_path, client, name, text, kind):
    project = tmp_path / "p"
    (project / "binder").mkdir(parents=True)
    (project / "binder" / "requirements.txt").write_text("six\n")
    (project / "binder" / name).write_text(text)
    before = {image.id for image in client.images.list()}
    with pytest.raises(InvalidArgument) as caught:
        environment.from_folder(project, environ={})
    assert str(caught.value).startswith(f"{project} holds binder/{name}: {kind} (")
    assert str(caught.value).count(". ") == 0 and "so nothing was built" in str(caught.value)
    assert {image.id for image in client.images.list()} == before


def test_uv_keeps_pips_requirements(tmp_path, podman_service, python_base, pip_index, built):  # noqa: F811
    """uv installs what pip would: -r and -c files, markers, and `-e ./lib` of the project itself (after its files)."""
    project = tmp_path / "p"
    (project / "lib" / "mypkg").mkdir(parents=True)
    (project / "lib" / "mypkg" / "__init__.py").write_text('"""A project\'s own package."""\n__version__ = "0.3"\n')
    (project / "lib" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "mypkg"\ndynamic = ["version", "description"]\n')
    (project / "more dir").mkdir()  # -r followed to any depth, a name with a space, a BOM (Windows editors)
    (project / "requirements.txt").write_text('\ufeff-r "more dir/more.txt"\n-e ./lib\nidna\n'
                                              'tomli==2.0.1 ; python_version < "3.0"\n')
    (project / "more dir" / "more.txt").write_text('-c ../constraints.txt\nattrs==23.2.0 ; python_version >= "3.8"\n')
    (project / "constraints.txt").write_text("idna==3.7\n")
    env = environment.from_folder(project, base=python_base)
    assert "uv pip install --system" in env.containerfile and "-m pip install --disable-pip-version-check -r" \
        not in env.containerfile
    image, _ = built(env)
    out = run_in(podman_service, image.tags[0], "cd / && python3 -c 'import attrs, idna, mypkg; "
                 "print(attrs.__version__, idna.__version__, mypkg.__file__)'; python3 -c 'import tomli' 2>&1 | tail -1; "
                 "find /root/.cache /etc/uv -type f 2>/dev/null | wc -l; find / -xdev -name uv -type f | wc -l")
    lines = out.splitlines()
    assert lines[0] == "23.2.0 3.7 /srv/project/lib/mypkg/__init__.py"  # -r, -c, -e (the copied project, editable)
    assert "No module named 'tomli'" in lines[1]  # its marker is false
    assert lines[2:] == ["0", "0"]  # uv, its cache and its settings: not in the image


def test_nested_requirements_are_copied_beside_it(tmp_path, podman_service, python_base, pip_index, built):  # noqa: F811
    """-r and -c are followed to any depth, out of binder/ but inside the project, into the install step's folder."""
    project = tmp_path / "p"
    (project / "binder").mkdir(parents=True)
    (project / "shared reqs").mkdir()
    (project / "binder" / "requirements.txt").write_text('-r "../shared reqs/base.txt"\n')
    (project / "shared reqs" / "base.txt").write_text("-c constraints.txt\nidna\n")
    (project / "shared reqs" / "constraints.txt").write_text("idna==3.7\n")
    env = environment.from_folder(project, base=python_base)
    copied = env.containerfile.index('COPY ["shared reqs/base.txt", "shared reqs/constraints.txt"')
    assert copied < env.containerfile.index("COPY . ")  # before the project: a notebook edit keeps the install
    image, _ = built(env)
    assert run_in(podman_service, image.tags[0], "python3 -c 'import idna; print(idna.__version__)'") == "3.7"
