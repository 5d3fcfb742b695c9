"""Bad input never escapes as anything but a podman_nb error (or IPython's UsageError), and never reaches another endpoint.

Every request the client sends is recorded (a response hook on the client's requests Session, which also sees
redirects) and checked: its path has no dot segment, keeps the image name inside one segment, and stays
under /images/ (or /build, /version, /_ping; a build also lists build containers and removes one it abandoned;
%images' listing cache asks /info and opens /events).
"""
from __future__ import annotations

import io
import re
import os
import tarfile

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from IPython.core.error import UsageError

import reliability
import podman_nb
from podman_nb.errors import InvalidArgument, PodmanError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
FEW = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# Text that looks like references and paths, plus anything at all.
_PIECES = st.sampled_from(["..", ".", "/", ":", "@", "?", "#", "%", "%2F", "%2e%2e", "sha256:", "localhost",
                           "127.0.0.1:5000", "images", "json", "containers", "info", "a", "B", "-", "_",
                           "\x00", "\n", " ", "é", "\udcff", "latest", "x" * 130, "&", "=", "+", ";"])
REFS = st.one_of(st.lists(_PIECES, min_size=1, max_size=8).map("".join), st.text(max_size=40),
                 st.sampled_from(["../../containers/json", "x/../../../info?", "..", ".", "...", "./.",
                                  "../../info", "%2e%2e/%2e%2e/info", "a/b/../../../../version?x=1"]))
ALLOWED_ROOTS = ("images", "build", "version", "_ping", "distribution")


@pytest.fixture(scope="module")
def recorded(podman_service):
    """(client, sent) where ``sent`` lists (method, path_url, status) of every request and redirect."""
    client = podman_nb.PodmanClient(base_url=podman_service.base_url)
    sent = []
    client.api._session.hooks["response"].append(
        lambda r, *a, **k: sent.append((r.request.method, r.request.path_url, r.status_code)))
    client.api.version()
    yield client, sent
    client.close()


def check_paths(sent):
    """Every request went where the client meant: no dot segments, no redirects, under an allowed root."""
    for method, path_url, status in sent:
        path = path_url.split("?", 1)[0]
        segments = path.split("/")[1:]
        assert not {".", ".."} & set(segments), f"dot segment sent: {method} {path_url}"
        assert not 300 <= status < 400, f"redirected: {method} {path_url} -> {status}"
        if segments[:1] and segments[0].startswith("v"):
            segments = segments[1:]
        if segments[:1] == ["libpod"]:
            segments = segments[1:]
        if segments[:1] == ["containers"]:
            # a build's own bookkeeping: listing build containers, and removing one it abandoned
            assert (method, segments, path_url.split("?", 1)[-1]) == ("GET", ["containers", "json"],
                                                                       "all=true&external=true") or (
                method == "DELETE" and len(segments) == 2 and re.fullmatch(r"[0-9a-f]{64}", segments[1])), \
                f"unexpected containers request: {method} {path_url}"
            continue
        if segments in (["info"], ["events"]):  # the listing cache's: how the service logs events, its events
            assert method == "GET", f"unexpected request: {method} {path_url}"
            continue
        assert segments and segments[0] in ALLOWED_ROOTS, f"request left /images/: {method} {path_url}"
        if segments[0] == "images" and len(segments) > 2:
            # /images/NAME/OP: exactly one name segment, then a known operation
            assert len(segments) == 3, f"the name was split into segments: {method} {path_url}"
            assert segments[2] in ("json", "exists", "history", "get", "push", "tag"), path_url
    sent.clear()


def drop_built(client, base_image, result):
    """Remove an image a build made, unless the build gave back the session's base image itself."""
    if isinstance(result, tuple) and result[0].id not in (base_image.id, base_image.id.split(":")[-1]):
        outcome(lambda: client.images.remove(result[0].id, force=True))


def outcome(call):
    """Run ``call``; anything but a return or a PodmanError fails the test."""
    reliability.count("bad inputs tried")
    try:
        return call()
    except PodmanError as error:
        str(error), repr(error)  # both must work
        return error


@SETTINGS
@given(ref=REFS)
def test_references_never_escape(recorded, ref):
    client, sent = recorded
    sent.clear()
    images = client.images
    outcome(lambda: images.get(ref))
    outcome(lambda: images.exists(ref))
    outcome(lambda: podman_nb.Image({"Id": ref}, client=client.api, collection=images).history())
    outcome(lambda: list(podman_nb.Image({"Id": ref}, client=client.api, collection=images).save()))
    outcome(lambda: images.pull(ref, policy="never"))
    outcome(lambda: images.push(ref, destination="127.0.0.1:1/never/pushed:x"))
    check_paths(sent)


def test_dot_names_are_refused(recorded):
    """"." and ".." were sent as dot segments; the service redirected them out of /images/ (fixed in quote_name)."""
    client, sent = recorded
    sent.clear()
    for name in (".", "..", "..."):
        for call in (lambda: client.images.get(name), lambda: client.images.exists(name),
                     lambda: client.images.remove(name)):
            assert isinstance(outcome(call), PodmanError)
    check_paths(sent)


@SETTINGS
@given(tag=st.one_of(st.text(max_size=20), st.sampled_from(["../x", "a:b", "@sha256:00", "", "x" * 200, ".."])))
def test_tags(recorded, base_image, tag):
    client, sent = recorded
    sent.clear()
    outcome(lambda: client.images.pull(base_image.local, tag=tag, policy="never"))
    outcome(lambda: client.images.push(base_image.local, tag=tag, destination="127.0.0.1:1/x:y"))
    check_paths(sent)


_JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                                  st.binary(max_size=5), st.just(object())),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                        max_leaves=6)


@SETTINGS
@given(filters=st.one_of(st.dictionaries(st.text(max_size=12), _JSONISH, max_size=4), st.none()))
def test_filters(recorded, filters):
    client, sent = recorded
    sent.clear()
    outcome(lambda: client.images.list(filters=filters))
    outcome(lambda: client.images.prune_candidates(filters=filters))
    check_paths(sent)


@pytest.mark.parametrize("filters", [1, "x", ["dangling=true"], b"{}", object()])
def test_filters_not_a_dict(recorded, filters):
    """filters=1 raised TypeError and filters="x" ValueError from dict(filters) (fixed: InvalidArgument)."""
    client, sent = recorded
    for call in (lambda: client.images.list(filters=filters), lambda: client.images.prune_candidates(filters=filters)):
        refused = outcome(call)
        assert isinstance(refused, InvalidArgument) and "filters" in str(refused), refused
    check_paths(sent)


@SETTINGS
@given(platform=st.one_of(st.text(max_size=20), st.lists(st.sampled_from(["linux", "amd64", "", "/", "..", "v8",
                                                                       "?", "&x=1", "é"]), max_size=5).map("/".join),
                          st.integers(), st.just(["linux"])))
def test_platforms(recorded, base_image, platform):
    client, sent = recorded
    sent.clear()
    outcome(lambda: client.images.pull(base_image.local, platform=platform, policy="never"))
    check_paths(sent)


_KV = st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(["", "=", "a=b", "\x00", "é", "-x"])),
                      st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=3)


@FEW
@given(buildargs=st.one_of(_KV, st.just("A=1"), st.just(["A"])), labels=st.one_of(_KV, st.just("x")))
def test_build_args_and_labels(recorded, base_image, buildargs, labels):
    client, sent = recorded
    sent.clear()
    result = outcome(lambda: client.images.build(
        fileobj=io.StringIO(f"FROM {base_image.local}\nARG A\nLABEL podman-nb-fuzz=1\n"),
        buildargs=buildargs, labels=labels, layers=False))
    drop_built(client, base_image, result)
    check_paths(sent)


# Context paths ----------------------------------------------------------------------------------
def test_context_paths(recorded, base_image, tmp_path):
    client, sent = recorded
    sent.clear()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"FROM {base_image.local}\nCOPY link /copied\nRUN cat /copied; true\n")
    os.symlink("/etc/passwd", ctx / "link")  # a symlink out of the context
    os.symlink("../../..", ctx / "up")  # a directory symlink climbing out
    open(os.path.join(os.fsencode(ctx), b"bad-\xff\xfe-name"), "wb").close()  # a non-UTF-8 name
    outside = tmp_path / "Outside.Containerfile"
    outside.write_text(f"FROM {base_image.local}\n")
    logs = []
    for kwargs in ({"path": ctx}, {"path": ctx, "dockerfile": "../Outside.Containerfile"},
                   {"path": ctx, "dockerfile": "../../../../../../etc/passwd"},
                   {"path": ctx, "dockerfile": "up/etc/passwd"}, {"path": ctx / "up"},
                   {"path": str(ctx) + "/../ctx/../ctx"}, {"path": ctx / "missing"},
                   {"path": ctx, "dockerfile": "\x00"}, {"path": os.fsencode(ctx)},
                   {"fileobj": io.StringIO(f"FROM {base_image.local}\n"), "dockerfile": "../../x"}):
        if kwargs.get("path") == ctx / "up":
            continue  # would tar the whole file system
        result = outcome(lambda: client.images.build(layers=False, **kwargs))
        if isinstance(result, tuple):
            logs.append(b"".join(result[1]).decode(errors="replace"))
            drop_built(client, base_image, result)
        elif isinstance(result, podman_nb.errors.BuildError):
            logs.append("\n".join(bytes(line).decode() for line in result.build_log))
    host_passwd = open("/etc/passwd").read().splitlines()[0]
    for text in logs:
        assert host_passwd not in text, "a symlink let the build read the host's /etc/passwd"
    check_paths(sent)


def test_large_sparse_file_in_context(recorded, base_image, tmp_path):
    """A 300 MB sparse file is sent (or refused) without another exception or a memory blow-up."""
    client, sent = recorded
    sent.clear()
    ctx = tmp_path / "sparse"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"FROM {base_image.local}\nRUN true\n")
    with open(ctx / "big.sparse", "wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    result = outcome(lambda: client.images.build(path=ctx, layers=False))
    drop_built(client, base_image, result)
    check_paths(sent)


# Tarballs for load ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_tar(recorded, base_image):
    client, _ = recorded
    return b"".join(client.images.get(base_image.local).save(named=True))


def _tar_with(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_corrupt_tarballs(recorded, saved_tar, tmp_path):
    client, sent = recorded
    sent.clear()
    cases = [b"", b"\x00" * 1024, b"not a tar at all", saved_tar[: len(saved_tar) // 2], saved_tar[:513],
             saved_tar[:-2048], saved_tar[:100] + b"\xff" * 400 + saved_tar[500:],
             b"\x1f\x8b\x08\x00garbage-gzip",
             _tar_with([("manifest.json", b"[{]"), ("x", b"1")]),
             _tar_with([("manifest.json", b'[{"Config":"../../../etc/passwd","Layers":["../../x"]}]')]),
             _tar_with([("../../escape", b"x")])]
    for data in cases:
        outcome(lambda: list(client.images.load(data=data)))
        path = tmp_path / "case.tar"
        path.write_bytes(data)
        outcome(lambda: list(client.images.load(file_path=path)))
    outcome(lambda: list(client.images.load(file_path=tmp_path / "missing.tar")))
    outcome(lambda: list(client.images.load(file_path=tmp_path)))  # a directory
    outcome(lambda: list(client.images.load()))
    check_paths(sent)


@FEW
@given(cut=st.integers(min_value=0, max_value=10_000_000), flip=st.integers(min_value=0, max_value=255))
def test_truncated_tarballs_fuzzed(recorded, saved_tar, cut, flip):
    client, sent = recorded
    sent.clear()
    cut %= max(len(saved_tar), 1)
    data = bytearray(saved_tar[:cut])
    if data:
        data[cut // 2] ^= flip
    outcome(lambda: list(client.images.load(data=bytes(data))))
    check_paths(sent)


# Magic argument lines ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shell(recorded, podman_service):
    with reliability.ipython_shell() as ip:
        yield from _shell_with_magics(ip, podman_service, recorded)


def _shell_with_magics(ip, podman_service, recorded):
    ip.run_line_magic("load_ext", "podman_nb")
    magics = ip.magics_manager.registry["PodmanMagics"]
    saved = (magics.base_url, magics.progress, magics.session.clients.get(None))
    magics.base_url = podman_service.base_url
    magics.progress = "none"
    client, sent = recorded
    sent.clear()
    magics.session.clients[None] = client  # share the recording client
    yield ip
    magics.base_url, magics.progress = saved[0], saved[1]
    magics.session.clients.pop(None, None)
    if saved[2] is not None:
        magics.session.clients[None] = saved[2]


_TOKENS = st.sampled_from(["-h", "--help", "-a", "--all", "-q", "--no-trunc", "--sort", "size", "created", "-f",
                           "--filter", "dangling=true", "label=a=b", "=", "reference=*", "--platform", "linux/amd64",
                           "../..", "..", "x/../../../info?", "--creds", "u:p", ":", "--tls-verify",
                           "--no-tls-verify", "--policy", "never", "bogus", "--all-tags", "'", '"', "\\", "-",
                           "--", "--format", "oci", "-t", "--label", "--build-arg", "A=1", "--context",
                           "/nonexistent", "--target", "--no-cache", "--pull", "--named", "é", "\x00", "$x",
                           "{x}", "localhost/podman-nb/busybox:latest", "--url", "unix:///nonexistent.sock"])
_LINES = st.one_of(st.lists(_TOKENS, max_size=6).map(" ".join), st.text(max_size=30))
_SAFE_MAGICS = ["images", "image_inspect", "image_history", "image_pull", "image_tag", "image_load", "image_push"]


def _splits(line):
    import shlex
    try:
        shlex.split(line, posix=True)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("line", ["'", 'x "y', "--filter 'a=b"])
def test_magic_unbalanced_quotes(shell, line):
    """An unbalanced quote raised shlex's ValueError("No closing quotation") (fixed: UsageError)."""
    reliability.count("bad inputs tried")
    with pytest.raises(UsageError, match="cannot read the arguments: No closing quotation"):
        shell.run_line_magic("images", line)


def _run_magic(ip, name, line, cell=None):
    reliability.count("bad inputs tried")
    try:
        if cell is None:
            ip.run_line_magic(name, line)
        else:
            ip.run_cell_magic(name, line, cell)
    except (UsageError, PodmanError, SystemExit):
        pass  # the clear refusals a bad line may get; anything else fails the test


@SETTINGS
@given(name=st.sampled_from(_SAFE_MAGICS), line=_LINES)
def test_magic_lines(shell, recorded, name, line):
    magics = shell.magics_manager.registry["PodmanMagics"]
    client, sent = recorded
    sent.clear()
    assume(_splits(line))  # unbalanced quotes: see test_magic_unbalanced_quotes
    if "--url" in line or (name == "image_pull" and "never" not in line):
        line += " --policy never" if name == "image_pull" else ""
        line = line.replace("--url", "")
    if name == "image_push":
        line += " 127.0.0.1:1/never/pushed:x"
    if "--creds" in line.split() and not any(":" in t for t in line.split()):
        line = line.replace("--creds", "")  # a lone user would prompt for the password
    _run_magic(shell, name, line)
    magics.session.clients[None] = client
    check_paths(sent)


@FEW
@given(line=_LINES, cell=st.one_of(st.just(""), st.just("FROM localhost/podman-nb/busybox:latest\n"),
                                   st.text(max_size=30)))
def test_build_magic_lines(shell, recorded, line, cell):
    client, sent = recorded
    sent.clear()
    assume(_splits(line))
    if "--creds" in line or "--url" in line:
        line = line.replace("--creds", "").replace("--url", "")
    _run_magic(shell, "image_build", line.replace("--context", "") + " --no-layers", cell)
    check_paths(sent)
