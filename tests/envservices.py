"""Offline pieces for environment images (issue 13): a Debian Python base image and a local package index.

- ``ensure_bookworm_python_root()``: debootstrap bookworm with python3, python3-venv, python3-pip (about a
  minute once; cached in /var/cache/podman_nb like the trixie chroot). Debian marks its python3 externally
  managed (PEP 668), which official python:3.X images do not: the cached tree has the EXTERNALLY-MANAGED
  marker removed so that root's ``pip install`` works as in an official image, and
  ``python_base_image(..., managed=True)`` puts it back for the PEP 668 test.
- ``PackageIndex``: wheels fetched once with ``pip download`` (PyPI is reachable here and in CI) into
  /var/cache/podman_nb/env-wheels, served as a PEP 503 simple index by python's http.server on a loopback
  port. It wants HTTP basic auth with a token, so a build only succeeds when the token really reached pip
  (through the build secret), and the tests can then look for the token everywhere else.

Plain Python (no pytest); tests/test_environment.py uses it. ``python tests/envservices.py serve DIR PORT TOKEN``
is the index server itself.
"""
from __future__ import annotations

import base64
import http.server
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import services  # noqa: E402

CACHE = Path(os.environ.get("PODMAN_NB_CACHE", "/var/cache/podman_nb"))
PYTHON_ROOT = CACHE / "bookworm-python-root"
PYTHON_TAR = CACHE / "bookworm-python.tar"
WHEELS = CACHE / "env-wheels"
PYTHON_BASE = "localhost/podman-nb/debian-python:3.11"
MANAGED_BASE = "localhost/podman-nb/debian-python-managed:3.11"
MARKER = "usr/lib/python3.11/EXTERNALLY-MANAGED"
# Small pure-Python wheels (py3-none-any) for the test project, the freeze venv and the bench.
WHEEL_PINS = ("six==1.16.0", "idna==3.7", "attrs==23.2.0", "packaging==24.0", "tomli==2.0.1",
              "iniconfig==2.0.0", "pyparsing==3.1.2", "flit_core==3.9.0",  # flit_core: pip install . of a project
              "uv==0.13.9")  # the installer of environment images (containerfile_steps.UV_VERSION; a binary wheel)
# A venv kernel that runs podman_nb (imported through PYTHONPATH) and the three pins its freeze test checks.
KERNEL_PACKAGES = ("ipykernel", "ipywidgets", "requests", "requests-unixsocket")
DATA_PACKAGES = ("numpy", "pandas")  # what a data-science project of the tutorials asks for (issue 28)
FREEZE_PINS = ("six==1.16.0", "idna==3.7", "attrs==23.2.0")


def ensure_bookworm_python_root(root: Path = PYTHON_ROOT) -> Path:
    """Debian bookworm minbase + python3 python3-venv python3-pip (+ python-is-python3), PEP 668 marker removed."""
    return services.debootstrap("bookworm", ["python3", "python3-venv", "python3-pip", "python-is-python3",
                                             "ca-certificates"], root, "usr/bin/python3",
                                finish=lambda tree: (tree / MARKER).unlink(missing_ok=True))  # as official images


def ensure_python_tar(tar: Path = PYTHON_TAR) -> Path:
    """The bookworm tree as one tarball (for ``podman import``), made once."""
    if tar.exists():
        return tar
    root = ensure_bookworm_python_root()
    partial = tar.with_name(tar.name + f".{os.getpid()}.part")
    services.run(["tar", "-C", str(root), "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*",
                  "-cf", str(partial), "."])
    partial.rename(tar)
    return tar


def python_base_image(service: "services.PodmanService", managed: bool = False) -> str:
    """Import the bookworm Python tree into ``service`` as PYTHON_BASE (and MANAGED_BASE with the marker back)."""
    tar = ensure_python_tar()
    inside = service.workdir / "debian-python.tar"  # the service's folder is visible to Podman 5's chroot CLI too
    if not inside.exists():
        os.link(tar, inside) if os.stat(tar).st_dev == os.stat(service.workdir).st_dev else shutil.copy(tar, inside)
    if service.cli("image", "exists", PYTHON_BASE, check=False).returncode != 0:
        service.import_image(inside, PYTHON_BASE, changes=('CMD ["python3"]',))
    if managed and service.cli("image", "exists", MANAGED_BASE, check=False).returncode != 0:
        context = service.workdir / "managed-context"
        context.mkdir(exist_ok=True)
        (context / "Containerfile").write_text(f"FROM {PYTHON_BASE}\nRUN touch /{MARKER}\n")
        service.cli("build", "-t", MANAGED_BASE, context)
    return MANAGED_BASE if managed else PYTHON_BASE


def ensure_wheels(directory: Path = WHEELS, kernel: bool = False, data: bool = False) -> Path:
    """WHEEL_PINS downloaded once into DIR/simple/NAME/ (a PEP 503 layout http.server can list); with
    ``kernel`` also KERNEL_PACKAGES, with ``data`` DATA_PACKAGES, and all they depend on (binary wheels for
    CPython 3.11 on x86_64)."""
    simple = directory / "simple"
    kind = "data" if data else "kernel" if kernel else ""
    done = directory / (f".{kind}-done" if kind else ".done-uv")
    if done.exists():
        return directory
    download = directory / (f"download-{kind}" if kind else "download")
    download.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_NO_INDEX")}
    wanted = DATA_PACKAGES if data else (*KERNEL_PACKAGES, *FREEZE_PINS)
    how = ["--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--platform", "any",
           *wanted] if kind else ["--no-deps", *WHEEL_PINS]
    services.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--python-version", "3.11",
                  "-d", str(download), *how], env=env)
    for wheel in download.glob("*.whl"):
        name = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        (simple / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, simple / name / wheel.name)
    done.touch()
    return directory


class _Handler(http.server.SimpleHTTPRequestHandler):
    token = ""

    def do_GET(self):  # noqa: N802 (http.server's name)
        sent = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"pnb:{self.token}".encode()).decode()
        if sent != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="podman-nb index"')
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format, *args):  # one line per request in the log, as usual
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


class PackageIndex:
    """The local index: .url (with the token, as PIP_INDEX_URL), .plain_url, .token, .requests() (log lines)."""

    def __init__(self, workdir: Path, token: str = "pnb-index-token-7f3a9c"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.root = ensure_wheels()
        self.port = services.free_port()
        self.plain_url = f"http://127.0.0.1:{self.port}/simple/"
        self.url = f"http://pnb:{token}@127.0.0.1:{self.port}/simple/"
        self.log_path = self.workdir / "index.log"
        self._proc = services._Process("package index", [sys.executable, os.path.abspath(__file__), "serve",
                                                         str(self.root), str(self.port), token], self.log_path)
        self._proc.start()
        services._cleanups.append(self)
        request = urllib.request.Request(self.plain_url + "six/", headers={
            "Authorization": "Basic " + base64.b64encode(f"pnb:{token}".encode()).decode()})
        self._proc.wait_ready(lambda: urllib.request.urlopen(request, timeout=2).status == 200, 30)

    def requests(self) -> list:
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        self._proc.stop()


def tutorial_settings(service: "services.PodmanService", registries: "services.Registries", base_image: Any,
                      workdir: Path) -> Dict[str, str]:
    """Every setting the seven tutorials read, as ``scripts/tutorials`` gives them to JupyterLab and
    tests/test_notebooks.py to nbclient: the service, the plain registry and the busybox base; the offline Python
    base; a served package index with numpy, pandas and py-rattler (its token in PIP_INDEX_URL); the offline conda
    channel as conda-forge under CONDA_CHANNEL_ALIAS (its token in it); a folder the service sees
    for the example projects; a Jupyter data dir of its own for the container kernel's spec."""
    import condachannel  # it imports this module

    ensure_wheels(kernel=True)
    ensure_wheels(data=True)
    condachannel.ensure_rattler_wheel()
    index = PackageIndex(Path(workdir) / "index")
    condachannel.make_channel(Path(workdir) / "conda" / "conda-forge")  # conda-environment.ipynb's conda-forge
    channels = condachannel.ChannelServer(Path(workdir) / "conda", Path(workdir))
    return {"CONDA_CHANNEL_ALIAS": channels.alias, "PODMAN_NB_BASE_URL": service.base_url, "PODMAN_NB_REGISTRY": registries.plain.host,
            "PODMAN_NB_BASE_IMAGE": base_image.local, "PODMAN_NB_PYTHON_BASE": python_base_image(service),
            "PIP_INDEX_URL": index.url, "PIP_TRUSTED_HOST": "127.0.0.1", "PODMAN_NB_SCRATCH": str(service.workdir),
            "JUPYTER_DATA_DIR": str(Path(workdir) / "jupyter-data")}


def _serve(directory: str, port: int, token: str) -> None:
    handler = type("Handler", (_Handler,), {"token": token})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             lambda *a: handler(*a, directory=directory))
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 2 and sys.argv[1] == "prepare":  # what scripts/install-deps runs
        print(ensure_python_tar(), ensure_wheels(), ensure_wheels(kernel=True), ensure_wheels(data=True))
    else:
        sys.exit(f"usage: {sys.argv[0]} serve DIR PORT TOKEN | prepare")
