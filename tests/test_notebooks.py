"""Run every tutorial notebook headless in a real kernel (nbclient) against the test service and registries,
and check what the cells showed: table rows, the built image's tags, the progress summaries.

The notebooks read PODMAN_NB_BASE_URL / PODMAN_NB_REGISTRY / PODMAN_NB_BASE_IMAGE (see their first cell);
the kernel gets them from here.
"""
import base64
import json
import os
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import nbclient  # the test extras: one missing fails the run, never skips it
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


_SETTINGS: dict = {}  # service address -> its tutorial settings (one package index per service)


def notebook_env(podman_service, registries, base_image) -> dict:
    """The kernel's environment: exactly what ``scripts/tutorials`` sets (envservices.tutorial_settings)."""
    import envservices

    env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
    env.update(podman_service.env)
    if podman_service.base_url not in _SETTINGS:
        _SETTINGS[podman_service.base_url] = envservices.tutorial_settings(
            podman_service, registries, base_image, podman_service.workdir / "tutorials")
    env.update(_SETTINGS[podman_service.base_url])
    env.pop("PODMAN_NB_PROGRESS", None)  # the notebooks run with their default (widgets under a kernel)
    return env


def run_notebook(name, env, tmp_path):
    """Execute notebooks/NAME; return the executed notebook (also saved under tmp_path for a look)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=env)
    finally:
        nbformat.write(nb, tmp_path / name.replace(".ipynb", ".executed.ipynb"))
    return nb


def cell(nb, tag):
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"one cell tagged {tag!r} expected"
    return found[0]


def text(c) -> str:
    """Everything a cell showed as text: streams, text/plain of results and displays, errors."""
    parts = []
    for out in c.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def result(c):
    found = [o for o in c.outputs if o.output_type == "execute_result"]
    assert found, f"no result in cell {c.source[:60]!r}: {text(c)}"
    return found[-1].data


def displays(c):
    return [o.data for o in c.outputs if o.output_type == "display_data"]


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.header, self.rows, self._row, self._cell, self._in_body = [], [], None, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self.rows if self._in_body else self.header).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def table(c) -> list:
    """The rows of the DataFrame a cell returned, as dicts of the displayed text (index under "")."""
    parser = _Table()
    shown = [o.data for o in c.outputs if o.output_type in ("execute_result", "display_data")
             and "text/html" in o.get("data", {})]
    assert shown, f"no table in cell {c.source[:60]!r}: {text(c)}"
    parser.feed(shown[-1]["text/html"])
    columns = [""] + parser.header[0][1:]
    return [dict(zip(columns, row)) for row in parser.rows]


def shown_as(shown: str, full: str) -> bool:
    """Whether a table shows ``full`` as ``shown``: whole, or shortened in the middle ("quay.io/a…/name")."""
    head, cut, tail = shown.partition("…")
    return shown == full or (bool(cut) and full.startswith(head) and full.endswith(tail))


def assert_clean_progress(c):
    """Progress left only its summary behind: no widget view, nothing saying a widget failed."""
    for data in displays(c):
        assert WIDGET_VIEW not in data, f"a widget view was left in the saved outputs: {c.source[:60]!r}"
    assert "Error displaying widget" not in text(c)


@pytest.fixture
def env(podman_service, registries, base_image):
    return notebook_env(podman_service, registries, base_image)


def test_quickstart(env, podman_service, podman_major, registries, base_image, tmp_path):
    nb = run_notebook("quickstart.ipynb", env, tmp_path)
    reg = registries.plain.host

    assert "registry: " + reg in text(cell(nb, "settings"))
    podman = text(cell(nb, "podman"))  # the facts once, as one sentence, and one on the listing cache
    assert re.fullmatch(rf"Podman {re.escape(podman_service.version)} at "
                        rf"{re.escape(podman_service.base_url)}\n%images (is cached|asks the service each time).*",
                        podman.strip()), podman

    images = table(cell(nb, "images"))
    assert any(r["repository"] == "localhost/podman-nb/busybox" and r["tag"] == "latest"
               and r["image_id"] == base_image.id[:12] for r in images), images

    build = cell(nb, "build")
    assert_clean_progress(build)
    summary = text(build)
    assert "Built localhost/quickstart/hello:latest" in summary
    assert re.search(r"steps: \d+  " if podman_major == 3 else r"steps: (\d+)/\1", summary), summary  # 3: no total
    assert result(build)["text/plain"] == "<Image: 'localhost/quickstart/hello:latest'>"
    built = text(cell(nb, "built"))
    assert "['localhost/quickstart/hello:latest']" in built
    # Podman 3 writes no "Successfully tagged" line: its log ends with the short image id
    assert ("the last: --> " if podman_major == 3 else "the last: Successfully tagged localhost/quickstart/hello:latest") in built

    pull = cell(nb, "pull")
    assert_clean_progress(pull)
    assert f"Pulled {reg}/podman-nb/busybox:latest" in text(pull)
    assert f"image: {base_image.id[:12]}" in text(pull)
    assert f"'{reg}/podman-nb/busybox:latest'" in result(pull)["text/plain"]

    push = cell(nb, "push")
    assert_clean_progress(push)
    assert f"Pushed {reg}/quickstart/hello:1.0" in text(push)
    with urllib.request.urlopen(f"http://{reg}/v2/quickstart/hello/tags/list", timeout=10) as response:
        assert "1.0" in json.load(response)["tags"]

    history = table(cell(nb, "history"))
    assert len(history) >= 3  # CMD, RUN, then the base image's layers
    assert "CMD" in history[0]["created_by"] and "hello from podman_nb" in history[1]["created_by"]

    rows = table(cell(nb, "rm"))
    # the build's untagged parent (its RUN layer) goes with the image: a <none> row, deleted
    assert all(r["removed"] == "deleted" for r in rows if r["repository"] == "<none>"), rows
    # each name, whole or shortened in the middle; tag and what happened are unique here
    named = sorted(((r["tag"], r["removed"]), r["repository"]) for r in rows if r["repository"] != "<none>")
    expected = sorted([(("1.0", "deleted"), f"{reg}/quickstart/hello"), (("latest", "deleted"), "localhost/quickstart/hello"),
                       (("latest", "untagged"), f"{reg}/podman-nb/busybox")])
    assert [key for key, _ in named] == [key for key, _ in expected], named
    assert all(shown_as(shown, full) for (_, shown), (_, full) in zip(named, expected)), (named, expected)
    pruned = text(cell(nb, "prune")).strip().splitlines()[0]  # the summary, then the table of what went
    assert re.fullmatch(r"Removed \d+ images?, freeing .*|nothing to prune: no dangling images .*", pruned), pruned
    after = table(cell(nb, "images-after"))
    assert not [r for r in after if "quickstart" in r["repository"]]
    assert any(r["repository"] == "localhost/podman-nb/busybox" for r in after)


def test_environment_setup(env, podman_major, tmp_path):
    nb = run_notebook("environment-setup.ipynb", env, tmp_path)

    build = cell(nb, "build")
    assert_clean_progress(build)
    first = text(build)
    assert "Built localhost/analysis-env:1.0" in first
    if podman_major == 3:  # Podman 3 does not say how many steps there are
        steps = re.search(r"steps: (\d+)  ", first)
        assert steps and int(steps.group(1)) >= 7, first
    else:
        steps = re.search(r"steps: (\d+)/(\d+)", first)
        assert steps and steps.group(1) == steps.group(2) and int(steps.group(2)) >= 7, first
    assert "['localhost/analysis-env:1.0']" in result(cell(nb, "built"))["text/plain"]

    labels = result(cell(nb, "labels"))["text/plain"]
    for pair in ("'team': 'data-science'", "'org.opencontainers.image.title': 'analysis-env'",
                 "'project.version': '1.0'"):
        assert pair in labels

    history = [r["created_by"] for r in table(cell(nb, "history"))]
    # shown without buildah's "/bin/sh -c #(nop) " prefix
    assert sum(line.startswith("COPY ") for line in history) >= 3, history  # 2 here, 1 in the base
    assert any("PROJECT_VERSION=1.0" in line and "/app/VERSION" in line for line in history), history
    # one LABEL each on 4, one for both on 5; Podman 3 sets build labels without a history entry
    assert any("LABEL" in line and '"team"="data-science"' in line for line in history) == (podman_major != 3), history

    log = text(cell(nb, "log"))
    assert re.search(r"\d+ lines saved to ", log)
    assert ("STEP " if podman_major == 3 else "Successfully tagged localhost/analysis-env:1.0") in log  # 3: no such line

    rebuild = cell(nb, "rebuild")
    assert_clean_progress(rebuild)
    again = text(rebuild)
    assert "Built localhost/analysis-env:1.0" in again
    hits = re.search(r"cache hits: (\d+)", again)
    assert hits and int(hits.group(1)) >= 5, f"the rebuild should reuse the cached layers:\n{again}"
    cache = text(cell(nb, "cache"))
    cached = re.search(r"(\d+) steps came from the cache; image ", cache)
    assert cached and int(cached.group(1)) == int(hits.group(1)), cache
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_exploring_images(env, tmp_path):
    nb = run_notebook("exploring-images.ipynb", env, tmp_path)
    for tag in ("build-small", "build-big", "build-app-v1", "build-app-v2"):
        assert not displays(cell(nb, tag)), "progress = 'none' shows nothing"

    images = table(cell(nb, "images"))
    names = {r["repository"] for r in images}
    assert {"localhost/explore/small", "localhost/explore/big", "localhost/explore/app"} <= names

    biggest = [r["repository"] for r in table(cell(nb, "biggest"))]
    ours = [name for name in biggest if name.startswith("localhost/explore/")]
    assert ours[:2] == ["localhost/explore/big", "localhost/explore/app"], biggest
    big_row = table(cell(nb, "biggest"))[biggest.index("localhost/explore/big")]
    assert 5.0 < float(big_row["size_mb"]) < 7.0, big_row

    layers = table(cell(nb, "layers"))
    assert "head -c 3000000" in layers[0]["created_by"] and layers[0]["size"] == "3 MB", layers[0]
    # largest first: the 3 MB blob, the busybox base (its bytes show on its last step, CMD), the 0.5 MB blob
    assert "head -c 500000" in layers[2]["created_by"], layers

    dangling = cell(nb, "dangling")
    count = re.search(r"dangling images: (\d+)", text(dangling))
    assert count and int(count.group(1)) >= 1
    rows = table(dangling)
    assert len(rows) == 1 and "version=1" in rows[0]["labels"], rows

    # the preview says, in %images' terms, why it names more images than the dangling ones
    dry = cell(nb, "dry-run")
    would = re.search(r"Would remove (\d+) images?, freeing [\d.]+ [kM]?B: (\d+) dangling(, (\d+) intermediate)?",
                      text(dry))
    assert would, text(dry)
    doomed = table(dry)
    assert len(doomed) == int(would.group(1)) == int(would.group(2)) + int(would.group(4) or 0), text(dry)
    assert sum(r["dangling"] == "True" for r in doomed) == int(would.group(2)), doomed
    if would.group(3):
        assert "%images -a" in text(dry)

    plot = cell(nb, "plot")
    assert any("image/png" in data for data in displays(plot)), text(plot)  # matplotlib: a test extra

    cleanup = text(cell(nb, "cleanup"))
    assert re.search(r"Removed [1-9]\d* images?, freeing ", cleanup), cleanup


def test_project_environment(env, podman_service, podman_major, tmp_path):
    """%image_env end to end, with the pip index (and its token) given as a user gives it: PIP_INDEX_URL."""
    from urllib.parse import urlsplit

    token = urlsplit(env["PIP_INDEX_URL"]).password  # the index and base image come from notebook_env
    index = urlsplit(env["PIP_INDEX_URL"])
    for name in ("numpy", "pandas"):  # a data-science project's own packages are there too (issue 28)
        request = urllib.request.Request(f"http://{index.hostname}:{index.port}{index.path}{name}/")
        basic = base64.b64encode(f"{index.username}:{token}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert f"{name}-" in answer.read().decode() and answer.status == 200
    if podman_major == 3:  # the pip index goes in as a build secret, which Podman 3 would silently drop
        with pytest.raises(nbclient.exceptions.CellExecutionError,
                           match="ignores build secrets .* build with Podman 4 or later"):
            run_notebook("project-environment.ipynb", env, tmp_path)
        return
    nb = run_notebook("project-environment.ipynb", env, tmp_path)
    assert "private index: yes" in text(cell(nb, "settings"))
    printed = text(cell(nb, "print"))
    assert "COPY requirements.txt /tmp/podman_nb-deps/" in printed and "--mount=type=secret,id=pipconf" in printed
    first = text(cell(nb, "build"))
    assert_clean_progress(cell(nb, "build"))
    assert "FROM localhost/podman-nb/debian-python:3.11" in first and "Built localhost/myproject:latest" in first
    assert "['localhost/myproject:latest']" in result(cell(nb, "built"))["text/plain"]
    history = [r["created_by"] for r in table(cell(nb, "history"))]
    # newest first: postBuild, the project's files; the dependency files (one COPY file:) came before
    assert "postBuild" in history[0] and "COPY dir:" in history[1], history
    assert any("COPY file:" in line for line in history[2:]), history
    rebuild = text(cell(nb, "rebuild"))
    hits = re.search(r"cache hits: (\d+)", rebuild)
    assert hits and int(hits.group(1)) >= 5, rebuild  # WORKDIR, check, apt, COPY requirements, pip
    again = text(cell(nb, "requirements"))
    hits = re.search(r"cache hits: (\d+)", again)
    assert hits and int(hits.group(1)) == 7, again  # ENV, WORKDIR, scripts, ENTRYPOINT, CMD, check, apt; pip and after run again
    assert podman_service.cli("image", "exists", "localhost/myproject:latest", check=False).returncode == 1
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    saved = (tmp_path / "project-environment.executed.ipynb").read_text()
    assert token and token not in saved and "Built localhost/myproject:latest" in saved
