"""The client side of listing for scripts/bench's listing section: the same clients against a canned unix-socket
server answering instantly (what each client adds on top of the service), and the raw GET both listings measure
against (the floor)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List

import services  # noqa: E402  (tests/services.py; bench.py puts tests/ on sys.path)
from harness import Results, Row, interleaved, median
from magic_runner import ipython_shell, run_magic
from services_env import Env

FLOOR = "floor: raw GET + json.loads"


def raw_list(socket_path: str, prefix: str) -> List[Any]:
    """The floor: one raw GET of the image list over the unix socket with http.client, and json.loads."""
    conn = services.UnixHTTPConnection(socket_path)
    try:
        conn.request("GET", f"{prefix}/images/json")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def listing_methods(floor: Callable[[], Any], ours: Any, theirs: Any, shell: Any) -> Dict[str, Callable[[], Any]]:
    """The compared listings: the floor, ours (ImagesManager and %images) and podman-py's into the same frame."""
    from podman_nb.notebook.tables import images_frame
    return {FLOOR: floor,
            "ImagesManager.list()": lambda: ours.images.list(),
            "%images -> DataFrame": lambda: run_magic(shell, "line", "images", "--fresh"),
            "podman-py images.list() + images_frame": lambda: images_frame([i.attrs for i in theirs.images.list()])}


def add_against_floor(res: Results, section: str, times: Dict[str, List[float]], at: str, floor_name: str) -> float:
    """One row per method named '<method> @ <at>', each but the floor's as a ratio to it; returns the floor."""
    base = median(times[FLOOR])
    for name, samples in times.items():
        m = median(samples)
        is_floor = name == FLOOR
        res.add(Row(section, f"{name} @ {at}", m, None if is_floor else floor_name, None if is_floor else m / base,
                    samples=samples))
    return base


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

    _, _, version_doc = env.service.request("GET", "/version")
    canned = CannedService(env.workdir, json.dumps(rows).encode(), version_doc)
    try:
        ours = podman_nb.PodmanClient(base_url=canned.base_url)
        theirs = podman.PodmanClient(base_url=canned.base_url)
        shell = ipython_shell(canned.base_url)
        methods = listing_methods(lambda: raw_list(canned.path, prefix), ours, theirs, shell)
        times = interleaved(methods, max(reps, 20))
        add_against_floor(res, "listing-client", times, f"{len(rows)} images (canned server)", "canned floor")
        ours.close()
        theirs.close()
    finally:
        canned.stop()
        ipython_shell(env.base_url)
