"""An offline conda channel for the conda environment tests (issue 27 §2), built with py-rattler-build.

- ``ensure_packages()``: builds, once, into /var/cache/podman_nb/conda-channel/ (like the test chroots):
  ``python`` repackaged from one of pyenv's interpreters on this machine (its stdlib without tests, tkinter,
  idlelib, site-packages; debug info stripped; rattler-build rewrites its RUNPATHs to ``$ORIGIN/../lib`` and
  records the text files that hold the prefix), ``pip`` repackaged from the wheel that interpreter's ensurepip
  bundles (``noarch: python``), and a ``noarch: generic`` data package ``pnb-data`` in two versions, 1.0 and 2.0,
  so that a lock can be shown to hold the older one after the newer is published. The interpreter's shared
  libraries (libssl, libffi, ...) come from the image's Debian, as the bookworm Python base has them.
- ``make_channel(dest, versions)``: a channel folder holding those packages (``pnb-data`` in the versions
  named), indexed with ``rattler.index``; ``publish(dest, version)`` adds a version and re-indexes.
- ``ChannelServer(root, token)``: python's http.server over ``root`` on a loopback port, wanting HTTP basic auth
  ``pnb:TOKEN`` (tests/envservices.py's server), so a build only solves when the token really got through.

Plain Python (no pytest); ``python tests/condachannel.py prepare`` is what scripts/install-deps runs.
"""
from __future__ import annotations

import asyncio
import base64
import glob
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import envservices  # noqa: E402
import services  # noqa: E402

PACKAGES = envservices.CACHE / "conda-channel"
PYTHON_VERSION = "3.11"  # the local wheel index's binary wheels (ipykernel's) are for CPython 3.11
DATA = "pnb-data"
DATA_VERSIONS = ("1.0", "2.0")
RATTLER_VERSION = "0.28.0"  # the conda install step pip-installs it from the local index
_STDLIB_LEFT_OUT = ("site-packages/*", "test", "tests", "idle_test", "__pycache__", "config-*", "idlelib", "tkinter",
                    "turtledemo", "ensurepip", "_tkinter*", "lib2to3", "_test*", "_xxtestfuzz*")

_PYTHON_RECIPE = """\
package:
  name: python
  version: "{version}"
build:
  number: 0
  python:
    skip_pyc_compilation: ["**/*.py"]  # compiling the stdlib here takes minutes; Python writes them when used
  script:
    - mkdir -p $PREFIX/bin $PREFIX/lib
    - cp -a {home}/bin/python{short} $PREFIX/bin/
    - ln -s python{short} $PREFIX/bin/python3
    - ln -s python{short} $PREFIX/bin/python
    - cp -a {home}/lib/libpython{short}.so.1.0 {home}/lib/libpython{short}.so {home}/lib/libpython3.so $PREFIX/lib/
    - tar -C {home}/lib {excludes} -cf - python{short} | tar -C $PREFIX/lib -xf -
    - mkdir -p $PREFIX/lib/python{short}/site-packages
    - find $PREFIX -name '*.so*' -type f -exec strip --strip-debug {{}} +
    - strip --strip-debug $PREFIX/bin/python{short}
    - grep -rlI {home} $PREFIX/lib/python{short} | xargs -r sed -i "s|{home}|$PREFIX|g"
about:
  summary: CPython {version} repackaged from pyenv for podman_nb's tests
"""
_PIP_RECIPE = """\
package:
  name: pip
  version: "{version}"
source:
  path: {wheel}
  file_name: pip.whl
build:
  number: 0
  noarch: python
  script:
    - $PYTHON -m zipfile -e pip.whl $SP_DIR
    - rm -rf $SP_DIR/pip-*.dist-info/RECORD
  python:
    entry_points:
      - pip = pip._internal.cli.main:main
requirements:
  host:
    - python
  run:
    - python
about:
  summary: pip {version} repackaged from its wheel for podman_nb's tests
"""
_DATA_RECIPE = """\
package:
  name: {name}
  version: "{version}"
build:
  number: 0
  noarch: generic
  script:
    - mkdir -p $PREFIX/share/{name}
    - echo {version} > $PREFIX/share/{name}/VERSION
about:
  summary: a data file whose content is its version, for podman_nb's lock tests
"""


def pyenv_python(version: str = PYTHON_VERSION) -> Path:
    """The newest of pyenv's Python ``version`` interpreters on this machine (built with a shared libpython)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(f"{root}/versions/{version}.*"), key=lambda p: [int(x) for x in p.split("-")[-1]
                                                                            .rsplit("/", 1)[-1].split(".")])
    found = [p for p in found if os.path.exists(f"{p}/lib/libpython{version}.so.1.0")]
    if not found:
        raise services.ServiceError(f"no pyenv Python {version} with a shared libpython under {root}/versions")
    return Path(found[-1])


def _build(recipe_text: str, work: Path, output: Path) -> None:
    from rattler_build import Stage0Recipe  # the [test] extra

    work.mkdir(parents=True, exist_ok=True)
    (work / "recipe.yaml").write_text(recipe_text)
    Stage0Recipe.from_file(work / "recipe.yaml").run_build(output_dir=str(output), channels=[output.as_uri()],
                                                           no_build_id=True, package_format="conda:3")


def ensure_packages(directory: Path = PACKAGES) -> Path:
    """The channel's package files, built once into DIR (noarch/ and linux-64/ as rattler-build lays them out)."""
    done = directory / ".done"
    if done.exists():
        return directory
    start = time.monotonic()
    partial = directory.with_name(directory.name + f".{os.getpid()}.part")
    shutil.rmtree(partial, ignore_errors=True)
    output, work = partial / "channel", partial / "work"
    home = pyenv_python()
    short = PYTHON_VERSION
    version = home.name
    excludes = " ".join(f"--exclude='{pattern}'" for pattern in _STDLIB_LEFT_OUT)
    _build(_PYTHON_RECIPE.format(version=version, home=home, short=short, excludes=excludes), work / "python", output)
    _index(output)  # the pip build's host environment takes python from here
    wheel = next(iter(sorted((home / "lib" / f"python{short}" / "ensurepip" / "_bundled").glob("pip-*.whl"))))
    _build(_PIP_RECIPE.format(version=wheel.name.split("-")[1], wheel=wheel), work / "pip", output)
    for data_version in DATA_VERSIONS:
        _build(_DATA_RECIPE.format(name=DATA, version=data_version), work / f"data-{data_version}", output)
    directory.mkdir(parents=True, exist_ok=True)
    for subdir in ("linux-64", "noarch"):
        shutil.rmtree(directory / subdir, ignore_errors=True)
        (directory / subdir).mkdir()
        for package in (output / subdir).glob("*.conda"):
            shutil.copy(package, directory / subdir / package.name)
    shutil.rmtree(partial, ignore_errors=True)
    done.write_text(f"built in {time.monotonic() - start:.0f} s\n")
    return directory


def ensure_rattler_wheel(directory: Path = envservices.WHEELS) -> Path:
    """py-rattler's wheel (abi3, for the base image's Python) in the local index's DIR/simple/py-rattler/."""
    folder = directory / "simple" / "py-rattler"
    if not list(folder.glob(f"py_rattler-{RATTLER_VERSION}-*.whl")):
        env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_NO_INDEX")}
        services.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--python-version",
                      "3.11", "-d", str(folder), f"py-rattler=={RATTLER_VERSION}"], env=env)
    return folder


def _index(channel: Path) -> None:
    from rattler.index import index_fs  # the [test] extra

    for subdir in ("linux-64", "noarch"):
        (channel / subdir).mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(channel, force=True))


def make_channel(dest: Path, versions=DATA_VERSIONS[:1]) -> Path:
    """A channel folder ``dest`` with python, pip and pnb-data in ``versions``, indexed."""
    packages = ensure_packages()
    for subdir in ("linux-64", "noarch"):
        (dest / subdir).mkdir(parents=True, exist_ok=True)
        for package in (packages / subdir).glob("*.conda"):
            if not package.name.startswith(f"{DATA}-") or any(package.name.startswith(f"{DATA}-{v}-")
                                                                for v in versions):
                shutil.copy(package, dest / subdir / package.name)
    _index(dest)
    return dest


def publish(dest: Path, version: str) -> None:
    """Add pnb-data ``version`` to the channel ``dest`` and re-index it."""
    for package in (ensure_packages() / "noarch").glob(f"{DATA}-{version}-*.conda"):
        shutil.copy(package, dest / "noarch" / package.name)
    _index(dest)


def write_pixi_lock(server: "ChannelServer", name: str, specs: list, path: Path) -> list:
    """A pixi.lock at ``path`` for ``specs`` solved now against the served channel ``name`` (py-rattler on this
    machine, with the server's credentials as a header; ``LockFile.to_path`` writes pixi's format); the
    records as ``NAME-VERSION-BUILD`` (their conda-meta file names), sorted."""
    from rattler import Channel, Gateway, LockChannel, LockFile, LockPlatform, solve
    from rattler.networking import AddHeadersMiddleware, Client

    auth = {"Authorization": "Basic " + base64.b64encode(f"pnb:{server.token}".encode()).decode()}
    client = Client([AddHeadersMiddleware(lambda host, path: auth)])
    cache = path.parent / ".repodata-cache"
    gateway = Gateway(cache_dir=str(cache), client=client)
    records = asyncio.run(solve([Channel(server.plain_url(name))], specs, gateway=gateway,
                                platforms=["linux-64", "noarch"], virtual_packages=[]))
    shutil.rmtree(cache, ignore_errors=True)
    lock = LockFile([LockPlatform("linux-64")])
    lock.set_channels("default", [LockChannel(server.plain_url(name))])
    for record in records:
        lock.add_conda_package("default", LockPlatform("linux-64"), record)
    lock.to_path(str(path))
    return sorted(f"{r.name.normalized}-{r.version}-{r.build}" for r in records)


class ChannelServer:
    """Channels under ``root`` over http on loopback, behind basic auth ``pnb:TOKEN``: ``.url(name)`` with the
    token (``http://pnb:TOKEN@127.0.0.1:PORT/NAME``), ``.plain_url(name)``, ``.alias`` (the server's root with
    the token), ``.requests()`` (log lines)."""

    def __init__(self, root: Path, workdir: Path, token: str = "pnb-conda-token-5d1e8b"):
        self.root, self.token = Path(root), token
        self.port = services.free_port()
        self.log_path = Path(workdir) / "channel.log"
        self._proc = services._Process("conda channel", [sys.executable, envservices.__file__, "serve",
                                                         str(self.root), str(self.port), token], self.log_path)
        self._proc.start()
        services._cleanups.append(self)
        auth = "Basic " + base64.b64encode(f"pnb:{token}".encode()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", headers={"Authorization": auth})
        self._proc.wait_ready(lambda: urllib.request.urlopen(request, timeout=2).status == 200, 30)

    def plain_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def url(self, name: str) -> str:
        return f"http://pnb:{self.token}@127.0.0.1:{self.port}/{name}"

    @property
    def alias(self) -> str:
        return f"http://pnb:{self.token}@127.0.0.1:{self.port}/"

    def requests(self) -> list:
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        self._proc.stop()


if __name__ == "__main__":
    if sys.argv[1:] == ["prepare"]:
        print(ensure_packages(), ensure_rattler_wheel())
    else:
        sys.exit(f"usage: {sys.argv[0]} prepare")
