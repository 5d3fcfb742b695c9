"""``bash scripts/tutorials`` as a newcomer runs it (issue 28): the command starts its own services and JupyterLab
(as root here), and a tutorial that needs the offline Python base and the package index runs with Run All in headless
Chromium. The other tutorials run with the same settings in tests/test_notebooks.py (envservices.tutorial_settings).
"""
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from test_browser import (RUN_ALL_JS, SCREENSHOTS, _free_port, _wait, browser, lab_settings,  # noqa: F401 (fixture)
                          wait_for_lab)

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = "project-environment.ipynb"
# every code cell's outputs of the open notebook: [(execution count, [output types], text)]
CELLS_JS = r"""
const cells = window.jupyterapp.shell.currentWidget.content.model.cells, out = [];
for (let i = 0; i < cells.length; i++) {
  const cell = cells.get(i);
  if (cell.type !== 'code') continue;
  const types = [];
  for (let j = 0; j < cell.outputs.length; j++) types.push(cell.outputs.get(j).type);
  out.push([cell.executionCount, types]);
}
return out;
"""


def test_a_tutorial_runs_all_from_the_command(tmp_path, browser, podman_which):  # noqa: F811
    notebooks = tmp_path / "notebooks"  # a copy: JupyterLab saves what it runs
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns("*.executed.ipynb"))
    port, token = _free_port(), secrets.token_hex(16)
    settings, args = lab_settings(tmp_path / "lab", port, token)
    env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
    env.update(settings, PODMAN_NB_SKIP_INSTALL="1", PODMAN_NB_PODMAN=podman_which, PODMAN_NB_NOTEBOOKS=str(notebooks))
    log_path = tmp_path / "tutorials.log"
    with open(log_path, "wb") as log:
        command = subprocess.Popen(["bash", str(ROOT / "scripts" / "tutorials"), *args], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_lab(command, url, token, log_path, timeout=300)  # the services first, then JupyterLab
        browser.get(f"{url}/lab/tree/{TUTORIAL}?token={token}")
        _wait(browser, "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                       " && document.querySelectorAll('.jp-Cell').length > 5)", 90, "the tutorial to open")
        _wait(browser, "const s = window.jupyterapp.shell.currentWidget.sessionContext.session;"
                       " return s && s.kernel && s.kernel.status === 'idle'", 90, "the kernel to be idle")
        browser.set_script_timeout(600)
        assert browser.execute_async_script(RUN_ALL_JS) == "ok"
        # Run All's promise ends with the run; a failed cell leaves the ones after it unrun: nothing is queued
        _wait(browser, "return ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
              60, "no cell to be running or queued")
        cells = browser.execute_script(CELLS_JS)
        last = browser.find_elements("css selector", ".jp-CodeCell")[-1]
        browser.execute_script("arguments[0].scrollIntoView({block: 'end'})", last)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-tutorial-last-cell.png"))
        page = browser.find_element("css selector", ".jp-Notebook").text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGTERM)  # JupyterLab, then the script's trap stops the services
        command.wait(120)
    said = log_path.read_text(errors="replace")
    assert all(count is not None for count, _ in cells), (cells, page[-2000:], said[-2000:])  # every code cell ran
    assert not [types for _, types in cells if "error" in types], (cells, said[-3000:])
    assert "Built localhost/myproject:latest" in page and "Traceback" not in page, page[-3000:]
    assert "Running as root is not recommended" not in said
