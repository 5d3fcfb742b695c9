"""Secrets: after authenticated (and failed) pulls and pushes, the registry password appears nowhere a user or a
log could see it: reprs, exception text and args, log records at every level, widget state, notebook outputs,
IPython's history. Every place is scanned; every find counts as a leak and fails the test.

The prompt form (``--creds USER`` asking for the password) needs a terminal or a front end and is not covered
headless; ``--creds USER:$PW_VAR`` is.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import sqlite3

import pytest

import reliability
from podman_nb.errors import PodmanError

WRONG = "definitely-wrong-pw-123"


def secret_forms(registry):
    """The password and the encodings of it that would be as bad as the password itself."""
    pw, user = registry.password, registry.username
    forms = {pw, base64.b64encode(f"{user}:{pw}".encode()).decode(),
             base64.urlsafe_b64encode(json.dumps({"username": user, "password": pw}).encode()).decode(),
             base64.b64encode(json.dumps({"username": user, "password": pw}).encode()).decode()}
    return forms


class Scanner:
    def __init__(self, registry):
        self.forms = secret_forms(registry) | {WRONG}
        self.places = 0

    def scan(self, where, value, forms=None):
        """Look for any secret form in ``value`` (text, bytes, or anything with a repr)."""
        self.places += 1
        if isinstance(value, bytes):
            text = value.decode("utf-8", "replace")
        elif isinstance(value, str):
            text = value
        else:
            text = repr(value)
        for form in forms or self.forms:
            if form in text:
                at = text.index(form)
                reliability.leak(where, text[max(0, at - 60):at].replace("\n", " ") + "<SECRET>")

    def scan_error(self, where, error):
        seen = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            self.scan(f"{where}: str", str(error))
            self.scan(f"{where}: repr", repr(error))
            self.scan(f"{where}: args", error.args)
            for name, value in vars(error).items():
                if name != "response":
                    self.scan(f"{where}: .{name}", value)
            error = error.__cause__ or error.__context__


def assert_no_leaks(scanner, before):
    assert scanner.places > 0
    leaks = reliability.LEAKS[before:]
    assert not leaks, f"the password leaked: {leaks}"


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("", "urllib3", "urllib3.connectionpool", "requests", "podman_nb", "IPython", "traitlets"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


def scan_logs(scanner, caplog):
    for record in caplog.records:
        scanner.scan(f"log record {record.name}:{record.levelname}", record.getMessage())
        scanner.scan(f"log record args {record.name}", record.args)
    scanner.scan("log text", caplog.text)


# Python API -------------------------------------------------------------------------------------
def test_python_api_keeps_the_password(client, registries, base_image, everything_logged):
    reg = registries.secure
    scanner = Scanner(reg)
    before = len(reliability.LEAKS)
    good = {"username": reg.username, "password": reg.password}
    bad = {"username": reg.username, "password": WRONG}
    dest = reg.image("podman-nb/secrets-api:latest")
    results = []
    results.append(client.images.push(base_image.local, destination=dest, auth_config=good))
    results.append(client.images.pull(dest, auth_config=good))
    results.append(list(client.images.push(base_image.local, destination=dest, auth_config=good, stream=True,
                                           decode=True)))
    results.append(list(client.images.pull(dest, auth_config=good, stream=True, decode=True)))
    results.append(client.images.get_registry_data(dest, auth_config=good))
    events = []
    client.images.pull(dest, auth_config=good, progress=events.append)
    results.append(events)
    for call in (lambda: client.images.pull(dest, auth_config=bad),
                 lambda: client.images.pull(dest, auth_config=bad, tls_verify=True, policy="always"),
                 lambda: client.images.push(base_image.local, destination=dest, auth_config=bad),
                 lambda: client.images.get_registry_data(dest, auth_config=bad),
                 lambda: client.images.pull(dest),
                 lambda: client.images.pull(dest, auth_config={"username": reg.username}),
                 lambda: client.images.pull(dest, auth_config={"password": reg.password})):
        try:
            results.append(call())
        except PodmanError as error:
            scanner.scan_error("exception", error)
    for index, value in enumerate(results):
        scanner.scan(f"result {index}", value)
    for obj in (client, client.api, client.images, client.images.get(dest)):
        scanner.scan(f"repr {type(obj).__name__}", repr(obj))
        scanner.scan(f"str {type(obj).__name__}", str(obj))
    scan_logs(scanner, everything_logged)
    assert_no_leaks(scanner, before)


# Magics in-process, with widgets ----------------------------------------------------------------
@pytest.fixture
def shell(podman_service):
    with reliability.ipython_shell() as ip:
        yield from _shell_with_magics(ip, podman_service)


def _shell_with_magics(ip, podman_service):
    ip.run_line_magic("load_ext", "podman_nb")
    magics = ip.magics_manager.registry["PodmanMagics"]
    saved = (magics.base_url, magics.progress, magics.session.clients.get(None))
    magics.base_url = podman_service.base_url
    magics.session.clients.pop(None, None)
    yield ip
    magics.base_url, magics.progress = saved[0], saved[1]
    magics.session.clients.pop(None, None)
    if saved[2] is not None:
        magics.session.clients[None] = saved[2]


def test_magics_keep_the_password(shell, registries, base_image, everything_logged, monkeypatch):
    from podman_nb.notebook import progress_widgets as progress_module

    reg = registries.secure
    scanner = Scanner(reg)
    before = len(reliability.LEAKS)
    magics = shell.magics_manager.registry["PodmanMagics"]
    magics.progress = "widgets"
    finish = progress_module.WidgetsDisplay._finish

    widget_scans = []

    def scanned_finish(self, summary):
        widget_scans.append(self.kind)
        for widget in _all_widgets(self.widget):
            scanner.scan(f"widget state {type(widget).__name__}", json.dumps(widget.get_state(), default=repr))
        scanner.scan("widget summary", repr(summary))
        for method in ("_repr_html_", "_repr_markdown_", "_repr_pretty_"):
            if hasattr(summary, method) and method != "_repr_pretty_":
                scanner.scan(f"summary {method}", getattr(summary, method)())
        return finish(self, summary)
    monkeypatch.setattr(progress_module.WidgetsDisplay, "_finish", scanned_finish)
    dest = reg.image("podman-nb/secrets-magic:latest")
    shell.user_ns["PW_VAR"] = reg.password
    cells = [f"%image_push {base_image.local} {dest} --creds {reg.username}:$PW_VAR",
             f"%image_push {base_image.local} {dest} --creds {reg.username}:{reg.password}",
             f"img = %image_pull {dest} --creds {reg.username}:{reg.password}",
             f"%image_pull {dest} --creds {reg.username}:$PW_VAR",
             f"%image_pull {dest} --creds {reg.username}:{WRONG}",
             f"%image_push {base_image.local} {dest} --creds {reg.username}:{WRONG}",
             f"%image_registry_data {dest} --creds {reg.username}:{reg.password}",
             f"%image_pull {dest} --creds {reg.username}:{reg.password} --platform 'bad platform'"]
    run_cells_and_scan(shell, scanner, magics, cells, everything_logged)
    assert {"pull", "push"} <= set(widget_scans), f"widget displays scanned: {widget_scans}"
    assert_no_leaks(scanner, before)


def test_magic_usage_errors_keep_no_password(shell, registries, everything_logged):
    """Lines that fail before the magic runs (a UsageError) must not keep --creds USER:PASS in the history."""
    reg = registries.secure
    scanner = Scanner(reg)
    before = len(reliability.LEAKS)
    magics = shell.magics_manager.registry["PodmanMagics"]
    dest = reg.image("podman-nb/secrets-usage:latest")
    cells = [f"%image_pull {dest} --creds :{reg.password}",
             f"%image_pull --creds {reg.username}:{reg.password}",
             f"%image_pull {dest} --creds {reg.username}:{reg.password} --policy bogus",
             f"%image_push --creds={reg.username}:{reg.password}",
             # argparse takes abbreviations: --cred is --creds to it, so it must be to the scrubbing too
             f"%image_pull {dest} --cred {reg.username}:{reg.password} --policy bogus",
             f"%image_push --cr={reg.username}:{reg.password}"]
    run_cells_and_scan(shell, scanner, magics, cells, everything_logged)
    assert_no_leaks(scanner, before)


def run_cells_and_scan(shell, scanner, magics, cells, caplog):
    out, err = io.StringIO(), io.StringIO()
    for cell in cells:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = shell.run_cell(cell, store_history=True)
        scanner.scan(f"cell result {cell[:20]}", repr(result.result))
        if result.error_in_exec is not None:
            scanner.scan_error(f"cell error {cell[:20]}", result.error_in_exec)
        if result.error_before_exec is not None:
            scanner.scan_error(f"cell error {cell[:20]}", result.error_before_exec)
    shell.user_ns.pop("PW_VAR", None)  # the user's own variable holds it on purpose
    scanner.scan("stdout", out.getvalue())
    scanner.scan("stderr", err.getvalue())
    scanner.scan("magics repr", repr(magics))
    scan_history(scanner, shell)
    scan_logs(scanner, caplog)


def _all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _all_widgets(child)


def scan_history(scanner, shell):
    history = shell.history_manager
    scanner.scan("In", list(history.input_hist_raw) + list(history.input_hist_parsed))
    scanner.scan("Out", {k: repr(v) for k, v in history.output_hist.items()})
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or name in ("In", "Out"):
            scanner.scan(f"user_ns {name}", value if isinstance(value, str) else repr(value))
    history.writeout_cache()
    rows = history.db.execute("SELECT source, source_raw FROM history").fetchall()
    assert rows, "the history database holds none of the cells just run: it would be scanned for nothing"
    rows += history.db.execute("SELECT output FROM output_history").fetchall()
    scanner.scan("history database", rows)


# A real notebook through nbclient -------------------------------------------------------------
def test_executed_notebook_keeps_the_password(podman_service, registries, base_image, tmp_path, monkeypatch):
    import nbclient
    import nbformat
    reg = registries.secure
    scanner = Scanner(reg)
    before = len(reliability.LEAKS)
    dest = reg.image("podman-nb/secrets-nb:latest")
    ipython_dir = tmp_path / "ipython"
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))
    monkeypatch.setenv("PNB_TEST_PW", reg.password)
    monkeypatch.setenv("PODMAN_NB_PROGRESS", "widgets")
    cells = ["%load_ext podman_nb",
             f"%config PodmanMagics.base_url = {podman_service.base_url!r}",
             "import os\nPW = os.environ['PNB_TEST_PW']",
             f"%image_push {base_image.local} {dest} --creds {reg.username}:$PW",
             f"img = %image_pull {dest} --creds {reg.username}:$PW\nimg",
             f"%image_pull {dest} --creds {reg.username}:{WRONG}",
             f"%image_push {base_image.local} {dest} --creds {reg.username}:wrong$PW",
             "%config PodmanMagics.show_tracebacks = True",
             f"%image_pull {dest} --creds {reg.username}:{WRONG}",
             "%history -g -n"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = nbformat.writes(nb)
    # the wrong password is typed literally on purpose in cell sources: the whole file is scanned for the real one
    scanner.scan("notebook (cells, outputs, widget state)", text, forms=secret_forms(reg))
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scanner.scan("notebook output", json.dumps(output))
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors, "the failed logins should have failed their cells"
    for path in ipython_dir.rglob("*.sqlite"):
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT source, source_raw FROM history").fetchall()
        scanner.scan(f"kernel history {path.name}", rows)
    assert_no_leaks(scanner, before)
