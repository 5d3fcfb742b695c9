"""Solve and install a conda environment with py-rattler: the script the conda handler's build step runs.

It runs under the base image's Python (>= 3.10, py-rattler's wheel is abi3 for those), with py-rattler
pip-installed into the build's cache mount (on PYTHONPATH), and imports nothing of podman_nb. It reads:

- its argument, a JSON request: ``prefix`` (none: install nothing), ``channels`` (URLs, no credentials in them)
  and either ``specs`` (to solve) or ``lock`` (a conda-lock.yml or pixi.lock to install as it is), and
  ``write_lock``: a file to write the solved records to, in conda-lock's format (``%image_env --lock``);
- ``/run/secrets/condaauth`` when mounted (a build secret, never stored): ``{"URL prefix": "Basic ..."}``,
  sent as an Authorization header to the URLs under each prefix, so the credentials land in no
  ``conda-meta/*.json``, layer or history.

Every failure ends the step with one line ``podman_nb: SENTENCE`` that podman_nb shows. The repodata
cache is fresh for each run (a plain http server sends no Cache-Control: a kept one can miss a new
package) and removed at the end (it would land in the image's layer); the package cache is ``PODMAN_NB_CONDA_PKGS``
when set (the build's cache mount). The interpreter sometimes crashes at exit after the work is done: flush, then
``os._exit``.
"""

import asyncio
import json
import os
import shutil
import sys
import tempfile
from urllib.parse import urlsplit

MARK = "podman_nb: "
AUTH_FILE = os.environ.get("PODMAN_NB_CONDA_AUTH", "/run/secrets/condaauth")
PLATFORMS = ["linux-64", "noarch"]


def fail(sentence):
    sys.stdout.flush()
    sys.stderr.write(MARK + sentence + "\n")
    sys.stderr.flush()
    os._exit(1)


def client(auth):
    from rattler.networking import AddHeadersMiddleware, Client

    def headers(host, path):  # the port is not given: the host name and the path prefix choose
        for prefix, value in auth.items():
            where = urlsplit(prefix)
            if host == where.hostname and (path + "/").startswith(where.path.rstrip("/") + "/"):
                return {"Authorization": value}
        return None

    return Client([AddHeadersMiddleware(headers)])


async def missing(gateway, channels, specs):
    """The names in ``specs`` that no channel has, in their order."""
    from rattler import MatchSpec

    names = [MatchSpec(spec).name.normalized for spec in specs]
    found = await gateway.query(channels, PLATFORMS, names, recursive=False)
    have = {record.name.normalized for per_channel in found for record in per_channel}
    return [name for name in names if name not in have]


async def solve(request, http, cache):
    import rattler
    from rattler import Channel, Gateway, MatchSpec, VirtualPackage

    channels = [Channel(url) for url in request["channels"]]
    try:
        specs = [MatchSpec(spec) for spec in request["specs"]]
    except Exception as exc:  # rattler's own exception types differ between releases
        fail(f"{request['file']} asks for a package conda cannot read: {exc}")
    gateway = Gateway(cache_dir=os.path.join(cache, "repodata"), client=http)
    searched = ", ".join(request["channels"])
    try:
        optional = request.get("optional") or []  # ipykernel for --kernel: from the channels when they have it
        absent = await missing(gateway, channels, optional)
        specs += [MatchSpec(name) for name in optional if name not in absent]
        absent = await missing(gateway, channels, request["specs"])
    except Exception as exc:
        fail(f"the channels of {request['file']} could not be read ({searched}): {first_line(exc)}")
    if absent:
        fail(f"no channel has {', '.join(absent)} that {request['file']} asks for (channels searched: {searched})")
    try:
        return await rattler.solve(channels, specs, gateway=gateway, platforms=PLATFORMS,
                                   virtual_packages=VirtualPackage.detect())
    except Exception as exc:
        fail(f"the packages {request['file']} asks for cannot be installed together from {searched}: "
             f"{first_line(exc)}")


def first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def locked(request):
    from rattler import LockFile

    env = LockFile.from_path(request["lock"]).default_environment()
    records = env.conda_repodata_records().get("linux-64", []) if env is not None else []  # {platform: records}
    if not records:
        fail(f"{request['file']} lists no packages for linux-64 in its default environment")
    return records


async def main(argument):
    import rattler

    request = json.loads(argument)
    auth = {}
    if os.path.exists(AUTH_FILE):
        with open(AUTH_FILE, encoding="utf-8") as file:
            auth = json.load(file)
    http = client(auth)
    cache = tempfile.mkdtemp(prefix="podman_nb-conda-")
    pkgs = os.environ.get("PODMAN_NB_CONDA_PKGS") or os.path.join(cache, "pkgs")  # the build's: a cache mount
    records = locked(request) if request.get("lock") else await solve(request, http, cache)
    for record in sorted(records, key=lambda r: r.name.normalized):
        print(f"  {record.name.normalized} {record.version} {record.build} ({record.channel})", flush=True)
    if request.get("write_lock"):
        write_lock(records, request)
    try:
        if request.get("prefix"):  # none: only the lock is wanted (%image_env --lock's solve)
            await rattler.install(records, request["prefix"], cache_dir=pkgs, client=http, show_progress=False)
    except Exception as exc:
        fail(f"installing the conda environment of {request['file']} failed: {first_line(exc)}")
    shutil.rmtree(cache, ignore_errors=True)  # the repodata: not into the image's layer
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # before asyncio's and the interpreter's teardown, where it sometimes crashes


def write_lock(records, request):
    """conda-lock's unified format (version 1) for ``records``, versions quoted (rattler reads only those)."""
    lines = ["# generated by podman_nb's %image_env --lock: conda-lock's unified format, linux-64", "version: 1",
             "metadata:", "  content_hash: {}", "  channels:"]
    lines += [f"  - url: {json.dumps(url)}\n    used_env_vars: []" for url in request["channels"]]
    lines += ["  platforms:", "  - linux-64", "  sources:", f"  - {json.dumps(request['file'])}", "package:"]
    for r in sorted(records, key=lambda r: r.name.normalized):
        lines += [f"- name: {json.dumps(r.name.normalized)}", f"  version: {json.dumps(str(r.version))}",
                  "  manager: conda", "  platform: linux-64", "  dependencies:"]
        lines[-1] += " {}" if not r.depends else ""
        for dep in r.depends:
            name, _, spec = dep.partition(" ")
            lines.append(f"    {json.dumps(name)}: {json.dumps(spec.strip() or '*')}")
        lines += [f"  url: {json.dumps(r.url)}", "  hash:", f"    md5: {json.dumps(r.md5.hex())}",
                  f"    sha256: {json.dumps(r.sha256.hex())}", "  category: main", "  optional: false"]
    with open(request["write_lock"], "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except Exception as error:  # anything unforeseen still ends with one sentence
        fail(f"the conda installer failed: {type(error).__name__}: {first_line(error)}")
