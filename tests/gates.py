"""A gate a build's RUN step waits on: the test opens it when the build may end, so a build lasts exactly as long
as the test needs (no sleep that a loaded machine can outrun)."""
import contextlib
import http.server
import threading


@contextlib.contextmanager
def gate():
    """An HTTP server on the host that answers 404 until ``open()`` is called, then 200: a RUN step (in the host
    network, Podman's REST default) waits on it with wget, so a build lasts exactly as long as the test needs."""
    opened = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200 if opened.is_set() else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", opened.set
    finally:
        opened.set()  # a failed test still lets the build end
        server.shutdown()
        server.server_close()


def waits_on(url):
    """A shell command (busybox's) that waits until the gate at ``url`` is open, 5 minutes at most."""
    return (f"i=0 && until wget -Y off -q -O /dev/null {url}; "
            "do i=$((i+1)); [ $i -lt 1500 ] || exit 1; sleep 0.2; done")
