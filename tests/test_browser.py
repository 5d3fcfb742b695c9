"""The progress widgets in a real browser: JupyterLab (loopback, token) + Debian's headless chromium via Selenium.

A small notebook pulls an image from the plain test registry and builds one with a few slow steps. A
MutationObserver in the page records every progress bar the widgets draw (and any "Error displaying widget"),
so short-lived widgets are seen too; at the end the summaries must be on the page. Screenshots go to
docs/screenshots/ (set PODMAN_NB_SCREENSHOTS to write them elsewhere). Everything stays offline: news,
update checks and the extension manager's PyPI lookups are turned off.
"""
import json
import re
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat  # the test and browser extras: one missing fails the run, never skips it
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("PODMAN_NB_SCREENSHOTS", ROOT / "docs" / "screenshots"))
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BUILT = "localhost/browser-test/slow:latest"
FAILING = "localhost/browser-test/failing:latest"

MATHS = "mjx-container, .MathJax, .katex, math"  # what typeset maths is (MathJax 2/3, KaTeX, MathML)
# Records, from the moment it is installed, what the widget views drew: progress bars (their largest
# width), the build's STEP labels, widget errors and the summaries left behind.
OBSERVER_JS = r"""
window.__pnb = {bars: 0, maxWidth: 0, fullBars: 0, steps: [], errors: [], summaries: [], maths: 0, silent: [],
                logChecks: 0, logAtBottom: 0};
const BUILT_NAME = '__BUILT__';
const rec = window.__pnb;
const seen = new WeakSet();
const look = () => {
  document.querySelectorAll('.widget-hprogress, .widget-vprogress').forEach(el => {
    if (!seen.has(el)) { seen.add(el); rec.bars += 1; }
    const bar = el.querySelector('.progress-bar');
    if (bar) {
      const w = parseFloat(bar.style.width || bar.style.height || '0');
      rec.maxWidth = Math.max(rec.maxWidth, w);
      if (w >= 100 && !el.__pnbFull) { el.__pnbFull = true; rec.fullBars += 1; }
    }
    const label = el.querySelector('.widget-label');
    if (label && /^STEP /.test(label.textContent) && !rec.steps.includes(label.textContent))
      rec.steps.push(label.textContent);
  });
  document.querySelectorAll('.jp-OutputArea-output').forEach(el => {
    const text = el.textContent || '';
    if (text.includes('Error displaying widget') && !rec.errors.includes(text)) rec.errors.push(text);
  });
  document.querySelectorAll('.podman-nb-summary').forEach(el => {
    const text = el.textContent.trim();
    if (!rec.summaries.includes(text)) rec.summaries.push(text);
  });
  // maths typeset in any output (MathJax 2/3, KaTeX, MathML); the Markdown cell's $x^2$ proves the typesetter runs
  const MATHS = '__MATHS__';
  const maths = [...document.querySelectorAll('.jp-OutputArea-output')].flatMap(el => [...el.querySelectorAll(MATHS)]);
  rec.maths = Math.max(rec.maths, maths.length);
  rec.markdownMaths = Math.max(rec.markdownMaths || 0,
    [...document.querySelectorAll('.jp-MarkdownCell')].flatMap(el => [...el.querySelectorAll(MATHS)]).length);
  // the running step's timer while the silent step (RUN sleep 2) is the one running
  document.querySelectorAll('.podman-nb-elapsed').forEach(el => {
    if (el.parentElement && el.parentElement.textContent.includes('RUN sleep 2') && !rec.silent.includes(el.textContent))
      rec.silent.push(el.textContent);
  });
  // the live log while the 300-line step sleeps: is its last line inside the visible part of its box?
  for (const el of document.querySelectorAll('.jp-OutputArea-output *')) {
    if (el.closest('.podman-nb-summary') || el.children.length > 1) continue;
    const text = el.textContent;
    if (!text.includes('line 300') || text.includes('RUN sleep 2')) continue;
    let box = el;
    while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
    if (!box || box.classList.contains('jp-OutputArea-output') || box.closest('.jp-WindowedPanel-viewport') === null) continue;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node, last = null;
    while ((node = walker.nextNode())) if (node.data.includes('line 300')) last = node;
    if (!last) continue;
    const range = document.createRange();
    const at = last.data.lastIndexOf('line 300');
    range.setStart(last, at); range.setEnd(last, at + 8);
    const line = range.getBoundingClientRect(), view = box.getBoundingClientRect();
    rec.logChecks += 1;
    if (line.top >= view.top - 1 && line.bottom <= view.bottom + 1) rec.logAtBottom += 1;
  }
};
new MutationObserver(look).observe(document.body,
  {subtree: true, childList: true, attributes: true, characterData: true, attributeFilter: ['style', 'class']});
setInterval(look, 100);
look();
""".replace("__MATHS__", MATHS)

RUN_ALL_JS = r"""
const done = arguments[arguments.length - 1];
const app = window.jupyterapp;
const panel = app.shell.currentWidget;
panel.context.sessionContext.ready
  .then(() => app.commands.execute('notebook:run-all-cells'))
  .then(() => done('ok'), error => done('error: ' + error));
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [
        new_code_cell("import os\nBASE_URL = os.environ['PODMAN_NB_BASE_URL']\n"
                      "REGISTRY = os.environ['PODMAN_NB_REGISTRY']\nBASE = os.environ['PODMAN_NB_BASE_IMAGE']\n"
                      "%load_ext podman_nb\n%config PodmanMagics.base_url = BASE_URL\n"
                      "%config PodmanMagics.update_interval = 0.05"),
        new_code_cell("pulled = %image_pull {REGISTRY}/browser-test/layers:latest --no-tls-verify"),
        # a chatty step that then sleeps (the log must follow), a silent step (its timer must tick),
        # shell $(...) everywhere (never typeset as maths)
        new_code_cell(f"%%image_build -t {BUILT} --build-arg BASE={{BASE}}\n"
                      "ARG BASE\nFROM $BASE\nRUN sleep 1 && echo one > /one\n"
                      "RUN for i in $(seq 1 300); do echo \"line $i\"; done; sleep 3\n"
                      "RUN sleep 2\nRUN echo three $(seq 1 3) > /three\nCMD [\"cat\", \"/one\"]"),
        new_code_cell(f"%%image_build -t {FAILING} --build-arg BASE={{BASE}}\n"
                      "ARG BASE\nFROM $BASE\nRUN echo fine\n"
                      "RUN echo \"about to fail $(seq 1 3)\"; cat /does/not/exist\n"),
        new_markdown_cell("Maths here, and only here: $x^2$"),  # the typesetter runs (a positive control)
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def layered_image(podman_service, registries, base_image):
    """An image of three ~1 MB layers in the plain registry, absent from the service (so the pull copies bytes)."""
    ctx = podman_service.workdir / "browser-layers"
    ctx.mkdir(exist_ok=True)
    (ctx / "Containerfile").write_text(
        f"FROM {base_image.local}\n" + "".join(
            f"RUN head -c 1500000 /dev/urandom > /blob{i}\n" for i in range(3)))
    name = f"{registries.plain.host}/browser-test/layers:latest"
    podman_service.cli("build", "-t", name, "-f", ctx / "Containerfile", ctx)
    podman_service.cli("push", "--tls-verify=false", name)
    podman_service.cli("rmi", name)
    yield name
    podman_service.cli("rmi", "-f", name, BUILT, check=False)


def lab_settings(home: Path, port: int, token: str):
    """(environment, jupyter lab arguments) of a JupyterLab on 127.0.0.1:PORT with a token and its own
    config/settings/workspaces under HOME: offline (no news, no update check, no extension manager)."""
    (home / "config" / "labconfig").mkdir(parents=True)
    # no announcements/news toast, no extension manager (it asks PyPI)
    (home / "config" / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyterlab/apputils-extension:announcements": True,
        "@jupyterlab/extensionmanager-extension": True}}))
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {"JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    args = ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={home / 'settings'}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"]
    return env, args


def wait_for_lab(proc, url: str, token: str, log: Path, timeout: float = 60) -> None:
    """Until JupyterLab answers /api/status (its log's end when it exits or does not answer)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"jupyter lab not up after {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def lab(tmp_path, podman_service, registries, base_image):
    """JupyterLab on 127.0.0.1 with a token, its own config/settings/workspaces, kernels aimed at the test service."""
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(tool):
            pytest.fail(f"{tool} is missing: run scripts/install-deps (apt packages chromium chromium-driver)")
    home = tmp_path / "lab"
    (home / "work").mkdir(parents=True)
    _notebook(home / "work" / "progress.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    settings, args = lab_settings(home, port, token)
    env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
    env.update(podman_service.env)
    env.update(settings)
    env.update({"PODMAN_NB_BASE_URL": podman_service.base_url, "PODMAN_NB_REGISTRY": registries.plain.host,
                "PODMAN_NB_BASE_IMAGE": base_image.local})
    env.pop("PODMAN_NB_PROGRESS", None)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--ServerApp.root_dir={home / 'work'}",
           *args]
    log = open(home / "lab.log", "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_lab(proc, url, token, home / "lab.log")
        yield {"url": url, "token": token, "home": home}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def browser(tmp_path):
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_script_timeout(240)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def _wait(driver, js, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(js)
        if value:
            return value
        time.sleep(0.1)
    shot = Path(os.environ.get("PODMAN_NB_SCREENSHOTS", "/tmp")) / "jupyterlab-timeout.png"
    driver.save_screenshot(str(shot))
    state = driver.execute_script("return JSON.stringify(window.__pnb || null)")
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; page recorded {state}; screenshot {shot}")


def _open_and_run(browser, lab, name, cells):
    """Open the notebook ``name`` of ``cells`` cells in JupyterLab, wait for its kernel, run all its cells."""
    opened = "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget" \
             f" && document.querySelectorAll('.jp-Cell').length >= {cells})"
    browser.get(f"{lab['url']}/lab/tree/{name}?token={lab['token']}")
    try:
        _wait(browser, opened, 90, "the notebook to open")
    except AssertionError:  # on a loaded machine JupyterLab sometimes loses a stylesheet ("Error Loading
        browser.refresh()   # Theme") and never opens the notebook: one reload, then it must
        _wait(browser, opened, 90, "the notebook to open after a reload")
    _wait(browser, "return window.jupyterapp.shell.currentWidget.sessionContext.session"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
          90, "the kernel to be idle")
    browser.set_script_timeout(120)
    assert browser.execute_async_script(RUN_ALL_JS) == "ok"


def test_progress_widgets_render_in_jupyterlab(lab, browser, layered_image, registries, podman_major):
    browser.get(f"{lab['url']}/lab/tree/progress.ipynb?token={lab['token']}")
    _wait(browser, "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                   " && window.jupyterapp.shell.currentWidget.content"
                   " && document.querySelectorAll('.jp-Cell').length >= 4)", 90, "the notebook to open")
    _wait(browser, "return window.jupyterapp.shell.currentWidget.sessionContext.session"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
          90, "the kernel to be idle")
    browser.execute_script(OBSERVER_JS.replace("__BUILT__", BUILT))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_script_timeout(1)
    browser.execute_async_script(RUN_ALL_JS.replace("done('ok')", "window.__pnbDone = 'ok'")
                                 .replace("done('error: ' + error)", "window.__pnbDone = 'error: ' + error")
                                 + "\ndone('started');")
    # while the 300-line step sleeps: the live log shows its end
    _wait(browser, "return window.__pnb.logChecks >= 3", 120, "the 300-line step's log in the widget")
    browser.execute_script("const log = document.querySelector('.podman-nb-log');"
                           "if (log) log.scrollIntoView({block: 'end'});")
    time.sleep(0.3)
    live = SCREENSHOTS / "jupyterlab-build-progress.png"
    browser.save_screenshot(str(live))
    done = _wait(browser, "return window.__pnbDone", 180, "the cells to finish")
    assert done == "ok", done
    _wait(browser, "return window.__pnb.summaries.filter(s => /^. (Pulled|Built|Building) /.test(s)).length >= 3",
          30, "the three summaries")
    time.sleep(0.5)
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-done.png"))
    browser.execute_script("document.querySelectorAll('.jp-Cell')[3].scrollIntoView()")
    time.sleep(0.3)
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-build-failed.png"))
    browser.execute_script("document.querySelectorAll('.jp-Cell')[4].scrollIntoView()")
    _wait(browser, "return window.__pnb.markdownMaths >= 1", 30, "the Markdown cell's maths to be typeset")
    rec = browser.execute_script("return window.__pnb")
    page = browser.find_element("css selector", ".jp-Notebook").text
    outputs = browser.execute_script(
        "return [...document.querySelectorAll('.jp-Cell')].map(cell => [...cell.querySelectorAll("
        "'.jp-OutputArea-output')].map(o => ({text: o.textContent, visible: o.innerText, "
        "error: o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'})))")

    assert rec["errors"] == [], rec["errors"]
    assert "Error displaying widget" not in page
    assert "Traceback" not in page
    assert rec["bars"] >= 2, rec  # the pull's overall bar (and its layers) and the build's step bar
    assert rec["maxWidth"] >= 100 and rec["fullBars"] >= 1, rec
    if podman_major == 3:  # no total from Podman 3: the bar names the step, the summary counts them
        total = re.search(r"steps: (\d+) ", " ".join(rec["summaries"]))
        assert total and f"STEP {total.group(1)}" in rec["steps"], rec
    else:
        total = re.search(r"steps: (\d+)/\1", " ".join(rec["summaries"]))
        assert total, rec
        assert f"STEP {total.group(1)}/{total.group(1)}" in rec["steps"], rec  # the step bar got to the end
    pulled = [s for s in rec["summaries"] if "Pulled" in s]
    built = [s for s in rec["summaries"] if "Built" in s]
    assert pulled and layered_image in pulled[0], rec
    layers = re.search(r"layers: (\d+)/(\d+)", pulled[0])
    assert layers and int(layers.group(2)) >= 3, pulled[0]  # the three blob layers (and the base's)
    assert layers.group(1) == layers.group(2), f"a finished pull should count every layer done: {pulled[0]}"
    assert re.search(r"size: [\d.]+ MB", pulled[0]), pulled[0]  # --no-tls-verify: sizes all the same
    assert built and BUILT in built[0], rec
    # the live widgets are gone: the saved page holds the summaries only
    assert browser.execute_script("return document.querySelectorAll('.widget-hprogress, .widget-vprogress').length") == 0
    assert f"Pulled {layered_image}" in page and f"Built {BUILT}" in page
    assert live.stat().st_size > 10000

    # everything appears literally: no maths in any output (where the Markdown cell's is typeset), $(...) as typed
    assert rec["markdownMaths"] >= 1 and rec["maths"] == 0, rec
    assert "$(seq 1 3)" in " ".join(o["visible"] for o in outputs[2] + outputs[3])
    # the live log stuck to its bottom while the step slept after its 300 lines
    assert rec["logAtBottom"] == rec["logChecks"] >= 3, rec
    # the silent step's timer moved while that step ran (no event from the build meanwhile)
    assert len(rec["silent"]) >= 5 and all(t.startswith("running ") for t in rec["silent"]), rec["silent"]
    # after success the log stays in the page (collapsed), its last lines included
    built_text = " ".join(o["text"] for o in outputs[2])
    assert "line 300" in built_text and "line 300" not in " ".join(o["visible"] for o in outputs[2])
    # the failed build: its step and the line that says why, up front
    failed = [o for o in outputs[3] if "failed" in o["visible"]]
    assert failed and "RUN echo \"about to fail $(seq 1 3)\"; cat /does/not/exist" in failed[0]["visible"], outputs[3]
    assert "can't open '/does/not/exist'" in failed[0]["visible"], failed[0]
    # ... shown once: the summary is the cell's only output (no second red error line)
    assert len(outputs[3]) == 1, outputs[3]

TABLES_JS = r"""
const out = [];
document.querySelectorAll('table.podman-nb-table').forEach(table => {
  const area = table.closest('.jp-OutputArea-output');
  const cells = Array.from(table.querySelectorAll('td'));
  const heights = Array.from(table.querySelectorAll('tbody tr')).map(tr => tr.getBoundingClientRect().height);
  const headers = Array.from(table.querySelectorAll('thead th')).map(th => th.textContent.trim());
  const headerAligns = Array.from(table.querySelectorAll('thead th')).map(th => getComputedStyle(th).textAlign);
  out.push({headers, headerAligns, tableWidth: table.getBoundingClientRect().width, areaWidth: area.clientWidth,
            rowHeights: heights, lineHeight: parseFloat(getComputedStyle(cells[0]).fontSize) * 2,
            cells: cells.map(td => ({text: td.textContent, align: getComputedStyle(td).textAlign,
                                     wrap: getComputedStyle(td).whiteSpace}))});
});
return out;
"""


def test_tables_read_in_jupyterlab(lab, browser, podman_service, base_image):
    """%images, %image_history and a prune preview at 1280 px: one line per row, text left, sizes right."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    names = [f"registry.example.com:5000/data-science/project-{i}/environment:2026.11.{i}" for i in range(2)]
    for name in names:
        podman_service.cli("tag", base_image.local, name)
    # `$` in a step, a label and a file's name: every table shows them as typed, never as maths (issue 28)
    dollars = _dollar_image(podman_service, base_image)
    names.append(dollars)
    nb = new_notebook(cells=[
        new_code_cell("import os\n%load_ext podman_nb\n%config PodmanMagics.base_url = os.environ['PODMAN_NB_BASE_URL']"),
        new_code_cell("%images"),
        new_code_cell(f"%image_history {base_image.local}"),
        new_code_cell("%image_search busybox"),
        new_code_cell(f"%image_history {dollars}"),
        new_code_cell(f"%image_history {dollars} --no-trunc"),
        new_code_cell(f"%images --wide --filter reference={dollars}"),
        new_code_cell(f"%image_files {dollars} --layer 1"),
        new_markdown_cell("Maths here, and only here: $x^2$"),  # the typesetter runs (a positive control)
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab["home"] / "work" / "tables.ipynb")
    try:
        _open_and_run(browser, lab, "tables.ipynb", 4)
        _wait(browser, "return document.querySelectorAll('table.podman-nb-table').length >= 6", 60, "the tables")
        time.sleep(0.5)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.execute_script("document.querySelectorAll('.jp-Cell')[0].scrollIntoView()")
        browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-tables.png"))
        tables_seen = browser.execute_script(TABLES_JS)
        page = browser.find_element("css selector", ".jp-Notebook").text
        browser.execute_script("document.querySelectorAll('.jp-Cell')[8].scrollIntoView()")
        _wait(browser, f"return ({MATHS_JS}).markdown >= 1", 30, "the Markdown cell's maths to be typeset")
        maths = browser.execute_script(f"return {MATHS_JS}")
        history_table = browser.find_elements("css selector", ".jp-Cell")[4].find_element(
            "css selector", ".jp-OutputArea-output")
        browser.execute_script("arguments[0].scrollIntoView()", history_table)
        history_table.screenshot(str(SCREENSHOTS / "jupyterlab-history-dollars.png"))
        dollar_text = [cell.text for cell in browser.find_elements("css selector", ".jp-Cell")[4:8]]
    finally:
        podman_service.cli("rmi", *names, check=False)

    images, history = tables_seen[0], tables_seen[1]
    assert images["headers"][1:7] == ["repository", "tag", "image_id", "created", "size", "containers"]
    assert images["headers"][7:] in ([], ["dangling"]), images["headers"]  # dangling only when one is listed
    for table in (images, history):
        assert table["tableWidth"] <= table["areaWidth"], table  # no horizontal scrolling at 1280 px
        assert max(table["rowHeights"]) < table["lineHeight"] * 1.2, table  # every row one line
        assert all(cell["wrap"] == "nowrap" for cell in table["cells"]), table
    columns = len(images["headers"]) - 1
    for index, cell in enumerate(images["cells"]):
        column = images["headers"][1 + index % columns]
        expected = "right" if column in ("size", "containers") else "left"
        assert cell["align"] == expected, (column, cell)
        assert images["headerAligns"][1 + index % columns] == expected, (column, images["headerAligns"])
    texts = [cell["text"] for cell in images["cells"]]
    assert any(text.endswith(" ago") for text in texts) and any(text.endswith(" MB") for text in texts)
    assert "no search registries are configured" in page
    assert maths["markdown"] >= 1 and maths["outputs"] == 0, maths  # the Markdown cell's $x^2$ only
    assert "echo 'cost: $X and $HOME' > '/" in dollar_text[0], dollar_text[0]  # cut where the window ends
    assert "echo 'cost: $X and $HOME' > '/price $1 to $2.txt'" in dollar_text[1], dollar_text[1]
    assert "a=from $ 5 to $ 10" in dollar_text[2], dollar_text[2]  # first of the labels; $5 Podman 5 would expand
    assert "price $1 to $2.txt" in dollar_text[3], dollar_text[3]


# maths typeset (MathJax 2/3, KaTeX, MathML) in outputs, and in Markdown cells (which proves the typesetter runs)
MATHS_JS = """(() => { const M = '__MATHS__';
  const count = sel => [...document.querySelectorAll(sel)].flatMap(el => [...el.querySelectorAll(M)]).length;
  return {outputs: count('.jp-OutputArea-output'), markdown: count('.jp-MarkdownCell')}; })()""".replace(
    "__MATHS__", MATHS)


def _dollar_image(podman_service, base_image):
    """An image whose step, label and one file's name hold `$` (the shell leaves the quoted ones as typed)."""
    context = podman_service.workdir / "dollars"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(
        f"FROM {base_image.local}\nRUN echo 'cost: $X and $HOME' > '/price $1 to $2.txt'\n")
    name = "localhost/browser-test/dollars:latest"
    podman_service.cli("build", "-t", name, "--label", "a=from $ 5 to $ 10", "-f", context / "Containerfile", context)
    return name


EXPLORED = "localhost/browser-test/explore:latest"
TREE_JS = "const t = document.querySelector('.podman-nb-explore-tree'); return t ? t.textContent : '';"


@pytest.fixture
def explored_image(podman_service, base_image):
    """Two small layers with `$` in their paths and steps (a price file, then it removed and a $HOME folder)."""
    ctx = podman_service.workdir / "browser-explore"
    ctx.mkdir(exist_ok=True)
    (ctx / "Containerfile").write_text(
        f"FROM {base_image.local}\n"
        "RUN mkdir -p '/prices/$5 and $6' && head -c 300000 /dev/urandom > '/prices/$5 and $6/table.bin'"
        " && echo '$x^2$' > /prices/maths.txt\n"
        "RUN rm /prices/maths.txt && mkdir -p '/srv/$HOME'"
        " && head -c 20000 /dev/urandom > '/srv/$HOME/cost $7.bin'\n")
    podman_service.cli("build", "-t", EXPLORED, "-f", ctx / "Containerfile", ctx)
    yield EXPLORED
    podman_service.cli("rmi", "-f", EXPLORED, check=False)


def test_image_explore_clicks_through_in_jupyterlab(lab, browser, explored_image):
    """%image_explore: picking a layer changes the tree, the filter narrows it and keeps its focus, `$` stays `$`."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from selenium.webdriver.support.ui import Select

    nb = new_notebook(cells=[
        new_code_cell("import os\n%load_ext podman_nb\n%config PodmanMagics.base_url = os.environ['PODMAN_NB_BASE_URL']"),
        new_code_cell(f"%image_explore {explored_image}"),
        new_markdown_cell("Maths here, and only here: $x^2$"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab["home"] / "work" / "explore-widget.ipynb")
    _open_and_run(browser, lab, "explore-widget.ipynb", 3)
    browser.execute_script(OBSERVER_JS.replace("__BUILT__", explored_image))  # records any maths typeset, any time
    last = _wait(browser, TREE_JS, 60, "the explorer's tree")  # the last layer is picked first
    assert "cost $7.bin" in last and re.search(r"^- .* maths.txt$", last, re.M) and "table.bin" not in last, last
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    picker = Select(browser.find_element("css selector", ".podman-nb-explore select"))
    picker.select_by_index(1)  # the layer that wrote the prices
    picked = _wait(browser, TREE_JS.replace("return t ?", "return t && t.textContent.includes('table.bin') ?"),
                   30, "the tree of layer 1")
    assert "$5 and $6/" in picked and "maths.txt" in picked and "cost $7.bin" not in picked, picked
    explorer = browser.find_element("css selector", ".podman-nb-explore")
    browser.execute_script("arguments[0].scrollIntoView()", explorer)
    _wait(browser, "return window.__pnb.markdownMaths >= 1", 30, "the Markdown cell's maths to be typeset")
    time.sleep(0.5)
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-explore.png"))
    box = explorer.find_element("css selector", "input[type=text]")
    box.click()
    box.send_keys("MATHS")
    narrowed = _wait(browser, TREE_JS.replace("return t ?", "return t && !t.textContent.includes('table.bin') ?"),
                     30, "the filter to narrow the tree")
    assert "maths.txt" in narrowed and "prices/" in narrowed, narrowed
    assert browser.execute_script("return document.activeElement === arguments[0] && arguments[0].value", box) \
        == "MATHS"  # the box was not redrawn under the cursor
    browser.save_screenshot(str(Path(os.environ.get("PODMAN_NB_SCREENSHOTS", "/tmp")) / "jupyterlab-explore-filtered.png"))
    assert browser.execute_script("return window.__pnb.maths") == 0  # none in any output at any time
    shown = explorer.text
    assert "1: mkdir -p '/prices/$5 and $6'" in shown and "2: rm /prices/maths.txt" in shown, shown
