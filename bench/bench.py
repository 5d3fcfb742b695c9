#!/usr/bin/env python3
"""podman_nb benchmarks: listing, pull, build, stream handling and start-up, as ratios in one run.

    scripts/bench [--quick] [--sizes 25,50,100,200] [--reps 5] [--out bench/RESULTS.md]

Starts its own isolated Podman 4 service, plain registry and (when nginx is installed) a
rate-limited nginx proxy in front of that registry, all under a temporary directory, and stops
them at the end. Every timing is the median of ``--reps`` repetitions, methods interleaved per
repetition; what is reported is the ratio to a baseline measured in the same run.

``run_benchmarks(env, options)`` is the entry the smoke test uses with its own fixture service.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import services  # noqa: E402  (tests/services.py)
import listing_cache  # noqa: E402  (bench/listing_cache.py)


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass
class Row:
    section: str
    name: str
    value: float            # seconds (median) unless unit says otherwise
    baseline: Optional[str] = None
    ratio: Optional[float] = None
    unit: str = "s"
    note: str = ""
    samples: List[float] = field(default_factory=list)


class Results:
    def __init__(self):
        self.rows: List[Row] = []
        self.notes: Dict[str, List[str]] = {}
        self.goals: List[tuple] = []  # (goal text, measured text, met: bool|None)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  [{row.section}] {row.name}: {fmt(row.value, row.unit)}"
              + (f"  x{row.ratio:.2f} vs {row.baseline}" if row.ratio is not None else "")
              + (f"  ({row.note})" if row.note else ""), flush=True)
        return row

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    def goal(self, text: str, measured: str, met: Optional[bool]) -> None:
        self.goals.append((text, measured, met))


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "count":
        return f"{int(value)}"
    return f"{value:,.0f} {unit}"


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def interleaved(methods: Dict[str, Callable[[], Any]], reps: int, before: Optional[Callable] = None,
                warmup: bool = True) -> Dict[str, List[float]]:
    """Time each method ``reps`` times, round-robin (drift hits all alike); ``before`` runs untimed."""
    if warmup:
        for fn in methods.values():
            if before:
                before()
            fn()
    times: Dict[str, List[float]] = {name: [] for name in methods}
    for _ in range(reps):
        for name, fn in methods.items():
            if before:
                before()
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


# ----------------------------------------------------------------------------------------------
# Environment: service, registry, proxy
# ----------------------------------------------------------------------------------------------
class Nginx:
    """nginx with its own config in front of a registry, limiting each connection's rate."""

    def __init__(self, workdir: Path, upstream: str, rate: str):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.port = services.free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.rate = rate
        conf = self.workdir / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {self.workdir}/body;
  proxy_temp_path {self.workdir}/proxy;
  fastcgi_temp_path {self.workdir}/fastcgi;
  uwsgi_temp_path {self.workdir}/uwsgi;
  scgi_temp_path {self.workdir}/scgi;
  server {{
    listen {self.host};
    client_max_body_size 0;
    location / {{
      proxy_pass http://{upstream};
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_http_version 1.1;
      limit_rate {rate};
      proxy_max_temp_file_size 0;  # workers cannot write temp files here; limit_rate needs buffering
    }}
  }}
}}
""")
        self._proc = services._Process("nginx", ["nginx", "-c", str(conf), "-p", str(self.workdir)],
                                       self.workdir / "nginx.out")
        self._proc.start()
        self._proc.wait_ready(self._probe, 20)
        services._cleanups.append(self)

    def _probe(self) -> bool:
        import urllib.request
        with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as r:
            return r.status == 200

    def stop(self) -> None:
        self._proc.stop()


@dataclass
class Env:
    service: Any                 # services.PodmanService
    registry_host: str           # plain HTTP registry, insecure in registries.conf
    base_image: Any              # services.BaseImage
    proxy_host: Optional[str] = None
    proxy_rate: Optional[str] = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pnb-bench-")))

    @property
    def base_url(self) -> str:
        return self.service.base_url

    def cli_cmd(self, *args: str) -> List[str]:
        return self.service._podman() + ["--remote", "--url", self.base_url, *map(str, args)]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.service.cli(*args, check=check, timeout=900)

    def cli_env(self) -> dict:
        return self.service._service_env()


def start_env(workdir: Path, proxy_rate: Optional[str]) -> Env:
    workdir.mkdir(parents=True, exist_ok=True)
    regs = services.Registries(workdir)
    proxy = None
    if proxy_rate and shutil.which("nginx"):
        proxy = Nginx(workdir / "nginx", regs.plain.host, proxy_rate)
        with open(regs.registries_conf, "a") as f:
            f.write(f'\n[[registry]]\nlocation = "{proxy.host}"\ninsecure = true\n')
    elif proxy_rate:
        print("nginx is not installed: the rate-limited pull is skipped", flush=True)
    service = services.PodmanService("4", workdir / "podman4", regs.registries_conf, regs.ca_files)
    base = services.build_base_image(service, regs)
    return Env(service, regs.plain.host, base, proxy.host if proxy else None,
               proxy_rate if proxy else None, workdir)


# ----------------------------------------------------------------------------------------------
# In-process IPython
# ----------------------------------------------------------------------------------------------
_SHELL = None


def ipython_shell(base_url: str):
    global _SHELL
    if _SHELL is None:
        from IPython.core.interactiveshell import InteractiveShell
        _SHELL = InteractiveShell.instance()
        with contextlib.redirect_stdout(io.StringIO()):
            _SHELL.run_line_magic("load_ext", "podman_nb")
    _SHELL.run_line_magic("config", f"PodmanMagics.base_url = {base_url!r}")
    return _SHELL


def run_magic(shell, line_or_cell: str, name: str, line: str, cell: Optional[str] = None):
    """Run a magic quietly and return its value; a failure raises (IPython would only print it)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if line_or_cell == "cell":
            return shell.run_cell_magic(name, line, cell)
        return shell.run_line_magic(name, line)


class DisplaySpy:
    """Wrap make_display in the magics module: keep each display, stamp each refresh and each event."""

    def __init__(self):
        import podman_nb.notebook.magics as magics
        self.magics = magics
        self.original = magics.make_display
        self.displays: List[Any] = []

    def __enter__(self):
        spy = self

        def make(*args, **kwargs):
            shown = spy.original(*args, **kwargs)
            shown.refresh_log = []  # (time, progress.lines or bytes_done)
            if hasattr(shown, "_refresh_now"):  # every widget refresh goes through it (the timer's too)
                refresh = shown._refresh_now

                def stamped():
                    refresh()
                    p = shown.progress
                    shown.refresh_log.append((time.perf_counter(), getattr(p, "lines", 0) or
                                              getattr(p, "bytes_done", 0)))
                shown._refresh_now = stamped
            spy.displays.append(shown)
            return shown

        self.magics.make_display = make
        return self

    def __exit__(self, *exc):
        self.magics.make_display = self.original
        return False


class ReadStamps:
    """Wrap APIClient.stream_bytes: the time each chunk came off the socket (``last``)."""

    def __init__(self):
        from podman_nb.api.client import APIClient
        self.cls = APIClient
        self.original = APIClient.stream_bytes
        self.last = 0.0
        self.chunks = 0

    def __enter__(self):
        stamps, original = self, self.original

        def stream_bytes(client, response, chunk_size=64 * 1024):
            for chunk in original(client, response, chunk_size):
                stamps.last = time.perf_counter()
                stamps.chunks += 1
                yield chunk
        self.cls.stream_bytes = stream_bytes
        return self

    def __exit__(self, *exc):
        self.cls.stream_bytes = self.original
        return False


# ----------------------------------------------------------------------------------------------
# Listing
# ----------------------------------------------------------------------------------------------
def _tiny_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"podman_nb bench\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def api_prefix(env: Env) -> str:
    status, _, body = env.service.request("GET", "/version")
    doc = json.loads(body)
    api = doc.get("Components", [{}])[0].get("Details", {}).get("APIVersion") or doc["Version"]
    return f"/v{api}/libpod"


def make_list_images(env: Env, start: int, stop: int) -> None:
    """Import distinct tiny images bench/list:START..STOP-1 through the API import endpoint."""
    tar = _tiny_tar()
    prefix = api_prefix(env)
    for i in range(start, stop):
        query = f"reference={quote(f'localhost/bench/list:{i}')}&changes={quote(f'LABEL n={i}')}"
        status, _, body = env.service.request("POST", f"{prefix}/images/import?{query}", body=tar,
                                              headers={"Content-Type": "application/x-tar"})
        if status >= 300:
            raise RuntimeError(f"import {i} failed: {status} {body[:300]!r}")


def bench_listing(env: Env, res: Results, sizes: List[int], reps: int, profile: bool) -> None:
    import podman
    import podman_nb
    from podman_nb.notebook.tables import images_frame

    prefix = api_prefix(env)
    ours = podman_nb.PodmanClient(base_url=env.base_url)
    theirs = podman.PodmanClient(base_url=env.base_url)
    shell = ipython_shell(env.base_url)
    cli = env.cli_cmd("images", "--format", "json")
    cli_env = env.cli_env()

    def floor():
        conn = services.UnixHTTPConnection(env.service.socket_path)
        try:
            conn.request("GET", f"{prefix}/images/json")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def run_cli():
        out = subprocess.run(cli, capture_output=True, env=cli_env, check=True).stdout
        return json.loads(out)

    methods = {
        "floor: raw GET + json.loads": floor,
        "ImagesManager.list()": lambda: ours.images.list(),
        "%images -> DataFrame": lambda: run_magic(shell, "line", "images", "--fresh"),  # uncached: see listing_cache
        "podman-py images.list() + images_frame": lambda: images_frame([i.attrs for i in theirs.images.list()]),
        "podman --url images --format json": run_cli,
    }
    existing = len(floor())
    made = 0
    curve = []
    for size in sizes:
        want = size - existing
        if want > made:
            make_list_images(env, made, want)
            made = want
        count = len(floor())
        frame = run_magic(shell, "line", "images", "--fresh")
        assert len(frame) == count, (len(frame), count)
        times = interleaved(methods, reps)
        base = median(times["floor: raw GET + json.loads"])
        curve.append((count, base))
        for name, samples in times.items():
            m = median(samples)
            res.add(Row("listing", f"{name} @ {count} images", m,
                        None if name.startswith("floor") else "floor", None if name.startswith("floor") else m / base,
                        samples=samples))
        rows = floor()
        t = interleaved({"frame": lambda: images_frame(rows)}, reps)["frame"]
        res.add(Row("listing", f"images_frame() alone @ {count} images", median(t), "floor", median(t) / base,
                    note="no service: DataFrame work only"))
    client_side_only(env, res, floor(), prefix, reps)
    if len(curve) >= 2:
        (n0, t0), (n1, t1) = curve[0], curve[-1]
        import math
        exponent = math.log(t1 / t0) / math.log(n1 / n0) if t0 > 0 and n1 != n0 else float("nan")
        res.note("listing", "Podman's own listing (the floor) by size: "
                 + ", ".join(f"{n}: {fmt(t, 's')}" for n, t in curve)
                 + f"; growth exponent between {n0} and {n1} images: {exponent:.2f} (1 = linear, 2 = quadratic).")
    for name in ("%images -> DataFrame",):
        worst = max(r.ratio for r in res.rows if r.section == "listing" and r.name.startswith(name))
        res.goal("%images within 1.3x of the floor at every size", f"worst x{worst:.2f}", worst <= 1.3)
    slower = []
    for size_row in [r for r in res.rows if r.section == "listing" and r.name.startswith("%images")]:
        at = size_row.name.split("@")[1]
        others = [r for r in res.rows if r.section == "listing" and r.name.endswith(at)
                  and (r.name.startswith("podman-py") or r.name.startswith("podman --url"))]
        slower += [f"{o.name.split(' @')[0]}{at}" for o in others if o.value <= size_row.value]
    res.goal("%images faster than podman-py and the CLI at every size",
             "yes" if not slower else "not faster than: " + "; ".join(slower), not slower)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        run_magic(shell, "line", "images", "--fresh")
        prof.disable()
        res.note("listing-profile", profile_text(prof, 14))
    ours.close()
    theirs.close()


class CannedService:
    """A unix-socket HTTP server answering every GET with one canned body: client cost without Podman's."""

    def __init__(self, workdir: Path, body: bytes, version_doc: bytes):
        import http.server
        import socketserver
        import threading
        self.path = str(workdir / "canned.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                data = version_doc if self.path.endswith("/version") else body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def address_string(self):
                return "canned"

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(self.path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = "unix://" + self.path

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def client_side_only(env: Env, res: Results, rows: list, prefix: str, reps: int) -> None:
    """The same list, served instantly by a canned server: what each client adds on top of the service."""
    import podman
    import podman_nb
    from podman_nb.notebook.tables import images_frame

    _, _, version_doc = env.service.request("GET", "/version")
    canned = CannedService(env.workdir, json.dumps(rows).encode(), version_doc)
    try:
        ours = podman_nb.PodmanClient(base_url=canned.base_url)
        theirs = podman.PodmanClient(base_url=canned.base_url)
        shell = ipython_shell(canned.base_url)

        def floor():
            conn = services.UnixHTTPConnection(canned.path)
            try:
                conn.request("GET", f"{prefix}/images/json")
                return json.loads(conn.getresponse().read())
            finally:
                conn.close()

        methods = {"floor: raw GET + json.loads": floor,
                   "ImagesManager.list()": lambda: ours.images.list(),
                   "%images -> DataFrame": lambda: run_magic(shell, "line", "images", "--fresh"),  # uncached: see listing_cache
                   "podman-py images.list() + images_frame":
                       lambda: images_frame([i.attrs for i in theirs.images.list()])}
        times = interleaved(methods, max(reps, 20))
        base = median(times["floor: raw GET + json.loads"])
        for name, samples in times.items():
            m = median(samples)
            res.add(Row("listing-client", f"{name} @ {len(rows)} images (canned server)", m,
                        None if name.startswith("floor") else "canned floor",
                        None if name.startswith("floor") else m / base, samples=samples))
        ours.close()
        theirs.close()
    finally:
        canned.stop()
        ipython_shell(env.base_url)


def profile_text(prof: cProfile.Profile, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    keep = [line for line in lines if "function calls" in line or "ncalls" in line or "{" in line or ".py" in line]
    return "```\n" + "\n".join(keep[: limit + 3]) + "\n```"


# ----------------------------------------------------------------------------------------------
# Pull
# ----------------------------------------------------------------------------------------------
def make_big_image(env: Env, layers: int, mb: int) -> str:
    ctx = env.workdir / "big-context"
    ctx.mkdir(exist_ok=True)
    steps = "".join(f"RUN dd if=/dev/urandom of=/l{n} bs=1M count={mb} 2>/dev/null\n" for n in range(layers))
    (ctx / "Containerfile").write_text(f"FROM {env.base_image.local}\n{steps}")
    local = "localhost/bench/big:latest"
    env.cli("build", "--layers=true", "-t", local, "-f", ctx / "Containerfile", ctx)
    remote = f"{env.registry_host}/bench/big:latest"
    env.cli("push", "--tls-verify=false", local, remote)
    return "bench/big:latest"


def clear_for_pull(env: Env, names: List[str]) -> None:
    """Remove the pulled image and every image sharing its layers (the base too): all layers pull."""
    for name in names:
        env.cli("rmi", "-f", name, check=False)
    env.cli("rmi", "-f", "localhost/bench/big:latest", env.base_image.local, check=False)
    env.cli("image", "prune", "-f", check=False)  # the big build's dangling intermediate images


def bench_pull(env: Env, res: Results, reps: int, layers: int, mb: int) -> None:
    repo = make_big_image(env, layers, mb)
    ref = f"{env.registry_host}/{repo}"
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    cli = env.cli_cmd("pull", "--tls-verify=false", "-q", ref)
    cli_env = env.cli_env()
    names = [ref] + ([f"{env.proxy_host}/{repo}"] if env.proxy_host else [])
    spy = DisplaySpy()

    def ours():
        with spy:
            run_magic(shell, "line", "image_pull", ref)

    def cli_pull():
        subprocess.run(cli, capture_output=True, env=cli_env, check=True)

    times = interleaved({"%image_pull (widgets display)": ours, "podman --url pull": cli_pull}, reps,
                        before=lambda: clear_for_pull(env, names), warmup=False)
    base = median(times["podman --url pull"])
    res.add(Row("pull", f"podman --url pull ({layers}x{mb} MB + base)", base, samples=times["podman --url pull"]))
    m = median(times["%image_pull (widgets display)"])
    last = spy.displays[-1]
    res.add(Row("pull", f"%image_pull, widgets display ({layers}x{mb} MB + base)", m, "CLI", m / base,
                note=f"{last.updates} display updates, {last.progress.events} events, "
                     f"{last.progress.layer_count} layers", samples=times["%image_pull (widgets display)"]))
    res.goal("pull within 1.05x of podman pull", f"x{m / base:.3f}", m / base <= 1.05)
    if env.proxy_host:
        pref = f"{env.proxy_host}/{repo}"
        pcli = env.cli_cmd("pull", "--tls-verify=false", "-q", pref)
        spy2 = DisplaySpy()

        def ours_proxy():
            with spy2:
                run_magic(shell, "line", "image_pull", pref)

        preps = max(1, min(reps, 2))
        times = interleaved({"ours": ours_proxy,
                             "cli": lambda: subprocess.run(pcli, capture_output=True, env=cli_env, check=True)},
                            preps, before=lambda: clear_for_pull(env, names), warmup=False)
        pbase = median(times["cli"])
        res.add(Row("pull", f"podman --url pull via nginx limit_rate {env.proxy_rate}/connection", pbase))
        pm = median(times["ours"])
        shown = spy2.displays[-1]
        bytes_updates = len({b for _, b in shown.refresh_log})
        res.add(Row("pull", f"%image_pull via nginx limit_rate {env.proxy_rate}/connection", pm, "CLI", pm / pbase,
                    note=f"{shown.updates} display updates ({bytes_updates} distinct byte counts), "
                         f"{shown.progress.events} events, {fmt(shown.progress.bytes_total / 1e6, 'MB')} total "
                         f"bytes reported"))
        res.note("pull", f"Through the rate-limited proxy the display refreshed {shown.updates} times in "
                 f"{fmt(pm, 's')} (update_interval 0.25 s allows at most {int(pm / 0.25) + 2}); "
                 f"byte progress: {'yes' if shown.progress.bytes_total else 'NO'}.")
    clear_for_pull(env, names)
    restore_base(env)


def restore_base(env: Env) -> None:
    """Put the base image back (same id: its config is unchanged) for whatever runs next."""
    env.cli("pull", "--tls-verify=false", env.base_image.plain)
    env.cli("tag", env.base_image.plain, env.base_image.local)
    env.cli("rmi", env.base_image.plain, check=False)


# ----------------------------------------------------------------------------------------------
# ssh://
# ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def ssh_connection(env: Env):
    """A loopback sshd (tests/sshd.py) and a connection 'bench-ssh' to the service through it, in a
    connections file of our own; yields the connection name."""
    import sshd
    server = sshd.SSHServer(env.workdir / "sshd", {"CONTAINER_HOST": env.base_url})
    conf = env.workdir / "bench-connections.json"
    conf.write_text(json.dumps({"Connection": {"Connections": {"bench-ssh": {
        "URI": server.uri(env.service.socket_path), "Identity": str(server.key)}}}}))
    saved = {k: os.environ.get(k) for k in ("PODMAN_CONNECTIONS_CONF", "PATH")}
    os.environ["PODMAN_CONNECTIONS_CONF"] = str(conf)
    os.environ["PATH"] = f"{server.bin}:{os.environ['PATH']}"
    try:
        yield "bench-ssh"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def both_orders(methods: Dict[str, Callable[[], Any]], reps: int, **kwargs: Any) -> Dict[str, List[float]]:
    """interleaved() once in each order, samples merged: here whichever ran first in a round was slower
    (x0.6 or x1.04 for the same %images depending on the order)."""
    first = interleaved(methods, reps, **kwargs)
    second = interleaved(dict(reversed(list(methods.items()))), reps, **kwargs)
    return {name: first[name] + second[name] for name in methods}


def bench_ssh(env: Env, res: Results, reps: int, layers: int, mb: int) -> None:
    """%images and a pull through ssh:// beside the same through the unix socket (same service), each
    median over both orders."""
    import podman_nb
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    repo = make_big_image(env, layers, mb)
    ref = f"{env.registry_host}/{repo}"
    with ssh_connection(env) as name:
        t0 = time.perf_counter()
        with podman_nb.PodmanClient(connection=name) as client:
            client.images.list()
        first = time.perf_counter() - t0
        listing = both_orders({"unix": lambda: run_magic(shell, "line", "images", "--fresh"),
                               "ssh": lambda: run_magic(shell, "line", "images", f"--fresh --connection {name}")},
                              max(reps, 3))
        unix, over = median(listing["unix"]), median(listing["ssh"])
        res.add(Row("ssh", "%images over the unix socket", unix, samples=listing["unix"]))
        res.add(Row("ssh", "%images over ssh:// (forwarding running)", over, "unix socket", over / unix,
                    samples=listing["ssh"]))
        res.add(Row("ssh", "first call over ssh:// (starts ssh, then lists)", first,
                    note="a new client: ssh connects, authenticates and forwards the socket"))
        pulls = both_orders({"unix": lambda: run_magic(shell, "line", "image_pull", ref),
                             "ssh": lambda: run_magic(shell, "line", "image_pull", f"--connection {name} {ref}")},
                            reps, before=lambda: clear_for_pull(env, [ref]), warmup=False)
        unix, over = median(pulls["unix"]), median(pulls["ssh"])
        size = f"{layers}x{mb} MB + base"
        res.add(Row("ssh", f"%image_pull over the unix socket ({size})", unix, samples=pulls["unix"]))
        res.add(Row("ssh", f"%image_pull over ssh:// ({size})", over, "unix socket", over / unix,
                    samples=pulls["ssh"], note="the layers go registry -> service; ssh carries the progress"))
        res.goal("pull over ssh:// within 1.1x of the unix socket", f"x{over / unix:.3f}", over / unix <= 1.1)
        magics = shell.magics_manager.registry["PodmanMagics"]
        magics._reconnect(None)  # close the ssh client before its sshd stops
    clear_for_pull(env, [ref])
    restore_base(env)


# ----------------------------------------------------------------------------------------------
# Build
# ----------------------------------------------------------------------------------------------
def build_file(env: Env, steps: int) -> str:
    lines = [f"FROM {env.base_image.local}"]
    for n in range(1, steps):
        if n % 3 == 0:
            lines.append(f"ENV STEP{n}={n}")
        else:
            lines.append(f"RUN echo step {n} first line && echo step {n} second line")
    return "\n".join(lines) + "\n"


def bench_build(env: Env, res: Results, reps: int, steps: int) -> None:
    containerfile = build_file(env, steps)
    ctx = env.workdir / "build-context"
    ctx.mkdir(exist_ok=True)
    (ctx / "Containerfile").write_text(containerfile)
    shell = ipython_shell(env.base_url)
    run_magic(shell, "line", "config", "PodmanMagics.progress = 'widgets'")
    cli = env.cli_cmd("build", "--no-cache", "-t", "localhost/bench/b20:cli", "-f", str(ctx / "Containerfile"),
                      str(ctx))
    cli_env = env.cli_env()
    spy = DisplaySpy()
    delays: List[float] = []
    lines_seen = [0]

    def ours():
        stamps = ReadStamps()
        read_at: List[float] = []  # per log line index: when its bytes came off the socket
        with spy, stamps:
            import podman_nb.notebook.magics as magics
            shown_box = []
            original_make = magics.make_display

            def make(*a, **k):
                shown = original_make(*a, **k)
                update = shown.update

                def stamped(event):
                    before = shown.progress.lines
                    update(event)
                    read_at.extend([stamps.last] * (shown.progress.lines - before))
                shown.update = stamped
                shown_box.append(shown)
                return shown
            magics.make_display = make
            try:
                run_magic(shell, "cell", "image_build", "-t localhost/bench/b20:ours --no-cache", containerfile)
            finally:
                magics.make_display = original_make
        shown = shown_box[-1]
        lines_seen[0] = shown.progress.lines
        refreshes = shown.refresh_log
        for index, t_read in enumerate(read_at):
            shown_at = next((t for t, n in refreshes if n > index), None)
            if shown_at is not None:
                delays.append(shown_at - t_read)

    def cli_build():
        subprocess.run(cli, capture_output=True, env=cli_env, check=True)

    times = interleaved({"%%image_build (widgets display)": ours, "podman --url build": cli_build}, reps,
                        warmup=True)
    base = median(times["podman --url build"])
    res.add(Row("build", f"podman --url build --no-cache ({steps} steps)", base, samples=times["podman --url build"]))
    m = median(times["%%image_build (widgets display)"])
    shown = spy.displays[-1]
    res.add(Row("build", f"%%image_build --no-cache, widgets display ({steps} steps)", m, "CLI", m / base,
                note=f"{shown.updates} display updates, {lines_seen[0]} log lines",
                samples=times["%%image_build (widgets display)"]))
    res.goal("build within 1.05x of podman build", f"x{m / base:.3f}", m / base <= 1.05)
    if delays:
        delays.sort()
        p50 = delays[len(delays) // 2]
        p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        worst = delays[-1]
        over = sum(1 for d in delays if d > 0.2)
        res.add(Row("build", "log line delay, socket read -> display refresh: median", p50, note=f"{len(delays)} lines"))
        res.add(Row("build", "log line delay: 95th percentile", p95))
        res.add(Row("build", "log line delay: worst", worst, note=f"{over} of {len(delays)} lines over 0.2 s"))
        res.goal("log line shown within 0.2 s of its socket read", f"p50 {fmt(p50, 's')}, p95 {fmt(p95, 's')}, "
                 f"worst {fmt(worst, 's')} ({over}/{len(delays)} over)", worst <= 0.2)
    env.cli("rmi", "-f", "localhost/bench/b20:ours", "localhost/bench/b20:cli", check=False)


# ----------------------------------------------------------------------------------------------
# Stream handling alone (synthetic)
# ----------------------------------------------------------------------------------------------
def synthetic_build(lines: int) -> bytes:
    out = io.BytesIO()
    step_every = max(1, lines // 20)
    for n in range(lines):
        if n % step_every == 0:
            text = f"STEP {n // step_every + 1}/20: RUN make -j8 target{n}\n"
        else:
            text = f"cc -O2 -c src/module_{n:06d}.c -o obj/module_{n:06d}.o  # compiler output line\n"
        out.write(json.dumps({"stream": text}).encode() + b"\n")
    out.write(json.dumps({"stream": "a" * 64 + "\n"}).encode() + b"\n")
    return out.getvalue()


def synthetic_pull(layers: int, updates_per_layer: int) -> bytes:
    out = io.BytesIO()
    ids = [f"{n:012x}" for n in range(1, layers + 1)]
    w = lambda d: out.write(json.dumps(d).encode() + b"\r\n")  # noqa: E731
    w({"status": "Pulling from bench/big", "id": "latest"})
    for i in ids:
        w({"status": "Pulling fs layer", "progressDetail": {}, "id": i})
    total = 4 * 1024 * 1024
    for u in range(1, updates_per_layer + 1):
        for i in ids:
            cur = total * u // updates_per_layer
            w({"status": "Downloading", "progressDetail": {"current": cur, "total": total},
               "progress": "[=====>   ] x", "id": i})
    for i in ids:
        w({"status": "Download complete", "progressDetail": {}, "id": i})
        w({"status": "Extracting", "progressDetail": {"current": total, "total": total}, "id": i})
        w({"status": "Pull complete", "progressDetail": {}, "id": i})
    w({"status": "Digest: sha256:" + "0" * 64})
    w({"status": "Status: Downloaded newer image for bench/big:latest"})
    return out.getvalue()


def chunked(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def bench_streams(res: Results, build_lines: int, pull_layers: int, pull_updates: int, reps: int,
                  profile: bool) -> None:
    from podman_nb.api.stream import json_stream
    from podman_nb.domain.events import event_from_line
    from podman_nb.notebook.progress import WidgetsDisplay

    def run(kind: str, data: bytes, log_tail: int = 200):
        shown = WidgetsDisplay(kind, "synthetic", show=False, update_interval=0.25, log_tail=log_tail)
        n = 0
        for line in json_stream(chunked(data)):
            for event in event_from_line(line):
                shown.update(event)
                n += 1
        shown.close()
        return n, shown

    for kind, data, label in (("build", synthetic_build(build_lines), f"build log, {build_lines:,} lines"),
                              ("pull", synthetic_pull(pull_layers, pull_updates),
                               f"pull, {pull_layers} layers x {pull_updates} byte updates")):
        run(kind, data[: data.rfind(b"\n", 0, 256 * 1024) + 1])  # warm up imports and widgets (whole lines)
        times, counts = [], None
        for _ in range(reps):
            gc.collect()
            t0 = time.perf_counter()
            counts = run(kind, data)
            times.append(time.perf_counter() - t0)
        n, shown = counts
        m = median(times)
        res.add(Row("stream", f"{label}: json_stream + events + widgets display", m,
                    note=f"{n:,} events, {n / m:,.0f} events/s, {len(data) / m / 1e6:,.0f} MB/s, "
                         f"{shown.updates} display updates", samples=times))
        gc.collect()
        tracemalloc.start()
        base_mem = tracemalloc.get_traced_memory()[0]
        n, shown = run(kind, data)
        peak = tracemalloc.get_traced_memory()[1] - base_mem
        kept = tracemalloc.get_traced_memory()[0] - base_mem
        tracemalloc.stop()
        res.add(Row("stream", f"{label}: peak memory growth (tracemalloc)", peak / 1e6, unit="MB",
                    note=f"{kept / 1e6:.1f} MB still held by the closed display; stream is "
                         f"{len(data) / 1e6:.1f} MB"))
        if kind == "build":
            per_line = kept / max(1, build_lines)
            res.note("stream", f"Build log memory stays bounded: BuildProgress keeps the tail ({shown.progress.tail.maxlen} "
                     f"lines) in memory and every line in a LineLog spooled to disk past 1 MB; the closed display "
                     f"holds {kept / 1e6:.1f} MB for {build_lines:,} lines ({per_line:.0f} bytes per line).")
            del shown
            # the same stream with the whole path through ImagesManager._build_lines (manager log too)
            from podman_nb.domain.build_containers import BuildContainers
            from podman_nb.domain.buildlog import BuildLog
            from podman_nb.domain.manager import ImagesManager

            class FakeClient:
                base_url = "synthetic"

                def stream_json(self, response):
                    return json_stream(chunked(data))

            manager = ImagesManager(FakeClient())
            gc.collect()
            tracemalloc.start()
            base_mem = tracemalloc.get_traced_memory()[0]
            shown = WidgetsDisplay("build", "synthetic", show=False)
            t0 = time.perf_counter()
            no_containers = BuildContainers(dict, lambda reference: None)  # a synthetic stream: no service to ask
            for _line, _found in manager._build_lines(None, shown.update, BuildLog(), no_containers):
                pass
            elapsed = time.perf_counter() - t0
            shown.close()
            peak = tracemalloc.get_traced_memory()[1] - base_mem
            tracemalloc.stop()
            res.add(Row("stream", f"{label}: through ImagesManager._build_lines + display, peak memory",
                        peak / 1e6, unit="MB", note=f"{elapsed:.2f} s under tracemalloc; the manager keeps every "
                                                     f"line for BuildError in its own LineLog"))
            del shown, manager
        if profile and kind == "build":
            prof = cProfile.Profile()
            prof.enable()
            run(kind, data)
            prof.disable()
            res.note("stream-profile", profile_text(prof, 14))


# ----------------------------------------------------------------------------------------------
# Start-up
# ----------------------------------------------------------------------------------------------
LOAD_EXT = ("import time; t0 = time.perf_counter(); "
            "from IPython.core.interactiveshell import InteractiveShell; s = InteractiveShell.instance(); "
            "t1 = time.perf_counter(); s.run_line_magic('load_ext', 'podman_nb'); "
            "print(time.perf_counter() - t1)")


def bench_startup(res: Results, reps: int) -> None:
    def wall(code: str) -> List[float]:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=str(ROOT))
            times.append(time.perf_counter() - t0)
        return times

    cases = {"python -c pass": "pass", "python -c 'import podman'": "import podman",
             "python -c 'import podman_nb'": "import podman_nb",
             "python -c '<IPython shell> + %load_ext podman_nb'": LOAD_EXT,
             "python -c '<IPython shell>' (no extension)": LOAD_EXT.replace(
                 "s.run_line_magic('load_ext', 'podman_nb'); ", "")}
    walls = {name: [] for name in cases}
    for _ in range(reps):  # interleaved
        for name, code in cases.items():
            walls[name] += wall(code)[:1]
    bare = median(walls["python -c pass"])
    podman_t = median(walls["python -c 'import podman'"]) - bare
    for name, samples in walls.items():
        res.add(Row("startup", name, median(samples), samples=samples))
    ours = median(walls["python -c 'import podman_nb'"]) - bare
    res.add(Row("startup", "import podman_nb minus bare interpreter", ours, "import podman (minus bare)",
                ours / podman_t if podman_t > 0 else None))
    load = []
    for _ in range(reps):
        out = subprocess.run([sys.executable, "-c", LOAD_EXT], check=True, capture_output=True, text=True,
                             cwd=str(ROOT)).stdout
        load.append(float(out.strip().splitlines()[-1]))
    res.add(Row("startup", "%load_ext podman_nb alone (in a fresh shell)", median(load),
                "import podman (minus bare)", median(load) / podman_t if podman_t > 0 else None, samples=load))
    # what import podman_nb / %load_ext pull in (self time, -X importtime)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", LOAD_EXT], capture_output=True, text=True,
                          cwd=str(ROOT))
    top = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            parts = [p.strip() for p in line[len("import time:"):].split("|")]
            top.append((int(parts[1]), parts[2]))
    heavy = [(us, name) for us, name in top if not name.startswith(" ")]
    heavy.sort(reverse=True)
    res.note("startup", "Heaviest top-level imports of a fresh `%load_ext podman_nb` (cumulative, -X importtime): "
             + ", ".join(f"{name.strip()} {us / 1000:.0f} ms" for us, name in heavy[:8]) + ".")


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def machine_info(env: Optional[Env]) -> List[str]:
    import podman
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    podman_version = env.service.version if env else "?"
    import IPython
    import pandas
    return [f"- nproc: {os.cpu_count()} ({cpu})",
            f"- Python {platform.python_version()} ({platform.platform()})",
            f"- Podman service {podman_version}; podman CLI `{subprocess.run(['podman', '--version'], capture_output=True, text=True).stdout.strip()}`",
            f"- podman-py {podman.__version__}; IPython {IPython.__version__}; pandas {pandas.__version__}",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"]


def write_report(res: Results, path: Path, env: Optional[Env], options: argparse.Namespace, wall: float) -> None:
    out = ["# podman_nb benchmark results", "",
           f"Generated by `scripts/bench {' '.join(options.argv)}` in {wall:.0f} s. All rows come from this one run; "
           f"times are medians of {options.reps} repetitions (methods interleaved), ratios are against the "
           "baseline named in the row, measured in the same run.", "", "## Machine", ""]
    out += machine_info(env)
    out += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for text, measured, met in res.goals:
        out.append(f"| {text} | {measured} | {'yes' if met else ('no' if met is not None else '?')} |")
    titles = {"listing": "Listing", "listing-client": "Listing: client side only (canned server, no Podman)",
              "listing-cache": listing_cache.TITLE, "pull": "Pull", "build": "Build", "stream": "Stream handling (synthetic)",
              "environment": "Environment images (%image_env)", "explore": "Image explorer (%image_layers)",
              "kernels": "Container kernels (%image_kernel)",
              "startup": "Start-up", "ssh": "ssh:// (loopback sshd) beside the unix socket"}
    for section, title in titles.items():
        rows = [r for r in res.rows if r.section == section]
        if not rows:
            continue
        out += ["", f"## {title}", "", "| what | median | ratio | vs | notes |", "|---|---:|---:|---|---|"]
        for r in rows:
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
            out.append(f"| {r.name} | {fmt(r.value, r.unit)} | {ratio} | {r.baseline or ''} | {r.note} |")
        for text in res.notes.get(section, []):
            out += ["", text]
    for section in ("listing-profile", "stream-profile"):
        if res.notes.get(section):
            out += ["", f"### Profile: {section.split('-')[0]}", ""] + res.notes[section]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")
    print(f"wrote {path}", flush=True)


def run_benchmarks(env: Env, options: argparse.Namespace) -> Results:
    res = Results()
    only = set(options.only.split(",")) if options.only else {"listing", "build", "pull", "stream", "startup", "ssh",
                                                               "environment", "explore", "listing_cache"}
    if "listing" in only:
        print("listing ...", flush=True)
        bench_listing(env, res, options.sizes, options.reps, options.profile)
    if "listing_cache" in only:
        print("listing cache ...", flush=True)
        listing_cache.bench_listing_cache(env, res, options.sizes, options.reps, sys.modules[__name__])
    if "build" in only:
        print("build ...", flush=True)
        bench_build(env, res, options.build_reps, options.build_steps)
    if "environment" in only:
        print("environment ...", flush=True)
        from environment import bench_environment, repo2docker_note
        bench_environment(env, res, options.reps, Row, interleaved, median, ipython_shell, run_magic)
        for text in repo2docker_note():
            res.note("environment", text)
    if "explore" in only:
        print("explore ...", flush=True)
        from explore import bench_explore
        bench_explore(env, res, options.reps, Row, interleaved, median, options.profile, options.quick)
    if "kernels" in only:  # not in the default set: its own run (bench/RESULTS-kernels.md)
        from kernels import bench_kernels
        bench_kernels(env, res, options.reps, Row, interleaved, median)
    if "pull" in only:
        print("pull ...", flush=True)
        bench_pull(env, res, options.pull_reps, options.pull_layers, options.pull_mb)
    if "ssh" in only:
        print("ssh ...", flush=True)
        bench_ssh(env, res, options.pull_reps, options.pull_layers, options.pull_mb)
    if "stream" in only:
        print("stream ...", flush=True)
        bench_streams(res, options.stream_lines, options.stream_layers, options.stream_updates,
                      options.stream_reps, options.profile)
    if "startup" in only:
        print("startup ...", flush=True)
        bench_startup(res, options.startup_reps)
    return res


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and one or two repetitions (smoke test)")
    p.add_argument("--sizes", help="listing sizes, comma-separated (default 25,50,100,200)")
    p.add_argument("--reps", type=int, help="repetitions for listing (default 5)")
    p.add_argument("--pull-reps", type=int)
    p.add_argument("--build-reps", type=int)
    p.add_argument("--startup-reps", type=int)
    p.add_argument("--pull-mb", type=int, help="MB per layer of the pulled image (default 50)")
    p.add_argument("--proxy-rate", help="nginx limit_rate per connection (default 10m; 'off' skips)")
    p.add_argument("--only", help="comma-separated sections: listing,listing_cache,build,pull,ssh,stream,startup,"
                                  "environment,explore (kernels: its own run)")
    p.add_argument("--no-profile", dest="profile", action="store_false")
    p.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    p.add_argument("--workdir", help="where services keep their state (default: a temp dir, removed)")
    o = p.parse_args(argv)
    o.argv = list(argv if argv is not None else sys.argv[1:])
    q = o.quick
    o.sizes = [int(s) for s in (o.sizes or ("3,6" if q else "25,50,100,200")).split(",")]
    o.reps = o.reps or (1 if q else 5)
    o.pull_reps = o.pull_reps or (1 if q else 3)
    o.build_reps = o.build_reps or (1 if q else 3)
    o.startup_reps = o.startup_reps or (1 if q else 7)
    o.stream_reps = 1 if q else 3
    o.pull_layers = 4
    o.pull_mb = o.pull_mb or (1 if q else 50)
    o.build_steps = 4 if q else 20
    o.stream_lines = 2000 if q else 200_000
    o.stream_layers = 5 if q else 50
    o.stream_updates = 10 if q else 200
    if o.proxy_rate is None:
        o.proxy_rate = "10m"
    if o.proxy_rate == "off":
        o.proxy_rate = None
    return o


def main(argv: Optional[List[str]] = None) -> int:
    options = parse_args(argv)
    os.environ.pop("CONTAINER_HOST", None)
    os.environ.pop("CONTAINER_CONNECTION", None)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the services are stopped (finally/atexit)
    started = time.perf_counter()
    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="pnb-bench-"))
    print(f"starting services under {workdir} ...", flush=True)
    env = start_env(workdir, options.proxy_rate)
    try:
        res = run_benchmarks(env, options)
        write_report(res, Path(options.out), env, options, time.perf_counter() - started)
    finally:
        services._stop_all()
        if not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
