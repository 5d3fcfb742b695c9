"""The tables in a real terminal: IPython in a 120-column tmux window, where pandas measures the width itself.

The point is the layout people see: the columns they scan (repository, tag, image id, created, size,
containers) all on screen, nothing hidden behind "...", no line wider than the window.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 120


class Terminal:
    """An IPython session in a detached tmux window of WIDTH columns."""

    def __init__(self, env: dict, cwd: Path, width: int = WIDTH):
        self.name = f"pnb-{uuid.uuid4().hex[:8]}"
        self.prompts = 0
        # its own tmux server (-L): a shared one carries its first client's environment (COLUMNS=80...)
        self.tmux = ["tmux", "-L", self.name, "-f", "/dev/null"]
        subprocess.run([*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", "60",
                        "-c", str(cwd), "env", "-u", "COLUMNS", "-u", "LINES", *[f"{k}={v}" for k, v in env.items()],
                        sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor",
                        "--no-confirm-exit", "--HistoryManager.enabled=False"], check=True)
        self._wait_prompt()

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-t", self.name, "-p", "-S", "-500"], check=True,
                              capture_output=True, text=True).stdout

    def _wait_prompt(self, timeout: float = 60) -> None:
        self.prompts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(r"^In \[\d+\]:", self.screen(), re.M)) >= self.prompts:
                return
            time.sleep(0.2)
        raise AssertionError(f"no IPython prompt after {timeout}s:\n{self.screen()}")

    def run(self, line: str) -> str:
        """Type ``line``; the screen text between its prompt and the next one."""
        before = self.screen()
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, "-l", line], check=True)
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, "Enter"], check=True)
        self._wait_prompt()
        after = self.screen()
        start = after.rindex(line[:40], 0, len(after) - 1) if line[:40] in after else len(before)
        return after[start:].split("\nIn [")[0]

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], check=False, capture_output=True)


def _terminal(podman_service, tmp_path, width: int):
    if not shutil.which("tmux"):
        pytest.fail("tmux is missing: run scripts/install-deps")
    env = {k: v for k, v in podman_service.env.items()}
    env.update({"PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT)), "TERM": "xterm", "HOME": str(tmp_path),
                "IPYTHONDIR": str(tmp_path / "ipython")})
    term = Terminal(env, tmp_path, width)
    term.run("%load_ext podman_nb")
    term.run(f"%config PodmanMagics.base_url = {podman_service.base_url!r}")
    return term


@pytest.fixture
def terminal(podman_service, tmp_path):
    term = _terminal(podman_service, tmp_path, WIDTH)
    yield term
    term.close()


def test_the_quickstarts_tables_fit_an_80_column_terminal(podman_service, base_image, tmp_path):
    """The classic window: %images, %image_history and %image_rm with the quickstart's names, every column on
    screen, one line per row (no "...", no "\\" blocks), podman's ages shortened if the window needs it."""
    port = base_image.plain.split("/")[0]
    names = [f"{port}/quickstart/hello:1.0", "localhost/quickstart/hello:latest", f"{port}/podman-nb/busybox:latest"]
    for name in names:
        podman_service.cli("tag", base_image.local, name)
    term = _terminal(podman_service, tmp_path, 80)
    try:
        for line, columns in (("%images", ("repository", "tag", "image_id", "created", "size", "containers")),
                              (f"%image_history {names[0]}", ("id", "created", "created_by", "size", "comment")),
                              ("%image_rm " + " ".join(names), ("repository", "tag", "image_id", "size", "removed"))):
            shown = term.run(line)
            lines = [text for text in shown.split("Out[", 1)[1].splitlines()[1:] if text.strip()]
            assert lines[0].split() == list(columns), shown
            assert "..." not in shown and "\\" not in shown and max(map(len, lines)) <= 80, shown
            assert all(re.match(r"\d+ ", text) for text in lines[1:]), shown  # one line per row
    finally:
        term.close()
        podman_service.cli("rmi", *names, check=False)


def test_listings_fit_120_columns_with_the_scanned_columns(terminal, podman_service, base_image):
    long_names = [f"registry.example.com:5000/data-science/project-{i}/environment:2026.11.{i}" for i in range(3)]
    for name in long_names:
        podman_service.cli("tag", base_image.local, name)
    try:
        shown = terminal.run("%images")
        lines = [line for line in shown.splitlines()[1:] if line.strip()]
        header = next(line for line in lines if "repository" in line)
        for column in ("repository", "tag", "image_id", "created", "size", "containers"):
            assert column in header, shown
        assert "..." not in shown, shown
        assert max(len(line) for line in lines) <= WIDTH, shown
        for name in long_names:
            # a name too long for the window keeps its registry and its last components
            repository, tag = name.rsplit(":", 1)
            row = next(line for line in lines if repository[-22:] in line)
            assert re.search(rf"registry\.ex\S*…\S*{re.escape(repository[-22:])}\s+{re.escape(tag)}\s+[0-9a-f]{{12}}\s+"
                             r"(\d+|an?|about an?|less than a) \w+ ago\s+\d[\d.]* [kMG]?B\s+\d+", row), row
        # the history: ids, ages, the command cut to one line, sizes, within the window
        shown = terminal.run(f"%image_history {base_image.local}")
        lines = [line for line in shown.splitlines()[1:] if line.strip()]
        assert "created_by" in lines[1] and "..." not in shown, shown
        assert max(len(line) for line in lines) <= WIDTH, shown
        # a search of a registry: name, description, stars, official, automated, within the window
        shown = terminal.run(f"%image_search {base_image.plain.rsplit(':', 1)[0]} --no-tls-verify")
        lines = [line for line in shown.splitlines()[1:] if line.strip()]
        header = next(line for line in lines if "name" in line)
        assert header.split() == ["name", "description", "stars", "official", "automated"], shown
        assert any(base_image.plain.rsplit(":", 1)[0] in line for line in lines), shown
        assert "..." not in shown and max(len(line) for line in lines) <= WIDTH, shown
    finally:
        podman_service.cli("rmi", *long_names, check=False)


def test_ctrl_c_during_a_build_ends_with_the_summary_and_one_line(terminal, podman_service, base_image):
    """Ctrl-C in a terminal IPython while a build runs: the interrupted summary, then ``KeyboardInterrupt``
    alone (none of the urllib3/socket frames it came through), the build stopped on the service."""
    def containers():
        status, _, body = podman_service.request("GET", "/v4.0.0/libpod/containers/json?all=true&external=true")
        assert status == 200, body
        return {c["Id"] for c in json.loads(body) or []}
    before = containers()
    marker = uuid.uuid4().hex[:12]
    line = (f"get_ipython().run_cell_magic('image_build', '-t localhost/terminal/interrupted:1', "
            f"'FROM {base_image.local}\\nRUN echo {marker}-started; sleep 60\\n')")
    start = len(terminal.screen())
    subprocess.run([*terminal.tmux, "send-keys", "-t", terminal.name, "-l", line], check=True)
    subprocess.run([*terminal.tmux, "send-keys", "-t", terminal.name, "Enter"], check=True)
    deadline = time.monotonic() + 60
    while f"{marker}-started\n" not in terminal.screen()[start:] and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    subprocess.run([*terminal.tmux, "send-keys", "-t", terminal.name, "C-c"], check=True)
    terminal._wait_prompt()
    shown = terminal.screen()
    shown = shown[shown.index(f"{marker}-started\n"):].split("\nIn [")[0]
    lines = [text for text in shown.splitlines() if text.strip()]
    assert "interrupted at STEP 2/2" in shown, shown
    assert lines[-1] == "KeyboardInterrupt" and "Traceback" not in shown and "urllib3" not in shown, shown
    assert len(lines) <= 5, shown  # the step's line, the summary (headline, facts), the one line
    deadline = time.monotonic() + 15
    while containers() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not containers() - before, "the interrupted build's container is still on the service"


def test_layers_plot_draws_text_bars_in_a_terminal(terminal, podman_service, base_image):
    """%image_layers --plot in terminal IPython: bars of text, never a Figure's repr (issue 28)."""
    shown = terminal.run(f"%image_layers {base_image.local} --plot")
    assert "Figure" not in shown, shown
    top = re.search(r"^layer sizes \(█ kept, ░ wasted; the longest bar is ([\d.]+ MB)\)$", shown, re.M)
    assert top, shown
    assert re.search(rf"^    0 █{{40}}\s+{re.escape(top.group(1))}$", shown, re.M), shown  # busybox's one layer
