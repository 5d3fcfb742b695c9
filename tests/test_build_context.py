"""Tests for podman_nb.domain.build_context: ignore rules and the build tar, read back with tarfile."""

from __future__ import annotations

import gzip as gzip_module
import io
import os
import sys
import tarfile

import pytest

from podman_nb.domain.build_context import IgnoreRules, make_build_context
from podman_nb.errors import InvalidArgument


# --- IgnoreRules ---------------------------------------------------------------------------

def rules(*lines):
    return IgnoreRules(lines)


@pytest.mark.parametrize("pattern, path, excluded", [
    # Docker's documented examples (docs.docker.com, "dockerignore file")
    ("*/temp*", "somedir/temporary.txt", True),
    ("*/temp*", "somedir/temp", True),
    ("*/temp*", "temp", False),
    ("*/temp*", "a/b/temp", False),
    ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("*/*/temp*", "somedir/temporary.txt", False),
    ("temp?", "tempa", True),
    ("temp?", "tempb", True),
    ("temp?", "temp", False),
    ("temp?", "tempab", False),
    ("**/*.go", "main.go", True),
    ("**/*.go", "a/b/c/main.go", True),
    ("**/*.go", "a/b/c/main.gox", False),
    ("*.md", "README.md", True),
    ("*.md", "docs/guide.md", False),
    # "**" in the middle and at the end
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/x/y/c", False),
    ("a/**", "a/x/y", True),
    ("a/**", "b/x", False),
    # anchoring, "./", trailing "/", cleaning
    ("/abs", "abs", True),
    ("/abs", "sub/abs", False),
    ("./abs", "abs", True),
    ("dir/", "dir/file", True),
    ("dir//sub/../file", "dir/file", True),
    # a directory pattern excludes all its contents
    ("node_modules", "node_modules/x/y.js", True),
    ("node_modules", "src/node_modules", False),
    # character classes never match "/"; "!" and "^" negate
    ("file[0-9].txt", "file7.txt", True),
    ("file[0-9].txt", "filex.txt", False),
    ("file[!0-9]", "filex", True),
    ("file[^0-9]", "file1", False),
    ("x[+-0]y", "x/y", False),  # the range holds "/" but a class never matches it
    ("x[+-0]y", "x-y", True),
    # regex metacharacters are literal
    ("a+b(c).txt", "a+b(c).txt", True),
    ("a.txt", "abtxt", False),
    (r"lit\*", "lit*", True),
    (r"lit\*", "litx", False),
    # cases from moby/patternmatcher's own tests
    ("**/dir", "dir/file", True),
    ("abc/**", "abc", False),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("**/.foo", "bar.foo", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    (r"[\]a]", "]", True),
    (r"[x\-]", "-", True),
    (r"[x\-]", "z", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
])
def test_single_pattern(pattern, path, excluded):
    assert rules(pattern).excluded(path) is excluded


def test_comments_and_blank_lines():
    r = rules("# a comment", "", "   ", "#*.py", "*.txt  ")
    assert r.excluded("a.txt")
    assert not r.excluded("#*.py")  # a comment, not a pattern
    assert not r.excluded("x.py")
    assert [p.text for p in r.patterns] == ["*.txt"]


def test_exception_last_match_wins():
    r = rules("*.md", "!README.md")
    assert r.excluded("CHANGES.md")
    assert not r.excluded("README.md")
    r = rules("!README.md", "*.md")
    assert r.excluded("README.md")
    r = rules("*.md", "!README*.md", "README-secret.md")
    assert not r.excluded("README-public.md")
    assert r.excluded("README-secret.md")


def test_exception_reincludes_inside_excluded_directory():
    r = rules("docs", "!docs/keep.md")
    assert r.excluded("docs")
    assert r.excluded("docs/other.md")
    assert not r.excluded("docs/keep.md")
    assert r.may_include_below("docs")
    assert not r.may_include_below("other")


def test_exception_for_directory_reincludes_its_contents():
    r = rules("*", "!src", "src/*.tmp")
    assert r.excluded("README")
    assert not r.excluded("src/main.c")
    assert r.excluded("src/a.tmp")


def test_may_include_below():
    assert not rules("build").may_include_below("build")  # no exceptions at all
    assert rules("build", "!**/*.keep").may_include_below("build")
    assert rules("build", "!build/*/x").may_include_below("build")
    assert rules("build", "!build/*/x").may_include_below("build/a")
    assert not rules("build", "!build/*/x").may_include_below("build/a/x")  # x itself is not below
    assert not rules("build", "!*.md").may_include_below("build")  # *.md only matches at the root
    assert not rules("build", "!other/x").may_include_below("build")


def test_moby_multi_pattern_cases():
    assert not rules("**", "!util/docker/web").excluded("util/docker/web/foo")
    assert rules("**", "!util/docker/web", "util/docker/web/foo").excluded("util/docker/web/foo")
    assert not rules("**", "!dist/*.whl").excluded("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl")


@pytest.mark.parametrize("bad", ["[", "a[", "[^bc", "\\"])
def test_malformed_pattern(bad):
    with pytest.raises(InvalidArgument, match="bad pattern"):
        rules(bad)


def test_bad_patterns_are_invalid_arguments():
    with pytest.raises(InvalidArgument, match="line 2"):
        rules("ok", "file[0-9")
    with pytest.raises(InvalidArgument, match="'!'"):
        rules("!")


def test_from_file_bom_crlf_and_raw_bytes(tmp_path):
    ignore = tmp_path / ".dockerignore"
    ignore.write_bytes(b"\xef\xbb\xbf*.log\r\n!keep.log\r\nraw-\xff\n")
    r = IgnoreRules.from_file(ignore)
    assert r.excluded("a.log")
    assert not r.excluded("keep.log")
    assert r.excluded(os.fsdecode(b"raw-\xff"))


def test_from_file_missing_names_the_path(tmp_path):
    with pytest.raises(InvalidArgument, match="nope"):
        IgnoreRules.from_file(tmp_path / "nope")


# --- make_build_context --------------------------------------------------------------------

def members(body):
    """{name: content bytes or ('dir',) or ('sym', target)} of a (possibly gzipped) tar file object."""
    result = {}
    with tarfile.open(fileobj=body, mode="r:*", encoding="utf-8", errors="surrogateescape") as tar:
        for m in tar:
            if m.isdir():
                result[m.name] = ("dir",)
            elif m.issym():
                result[m.name] = ("sym", m.linkname)
            else:
                result[m.name] = tar.extractfile(m).read()
            assert m.uid == 0 and m.gid == 0 and m.uname == "" and m.gname == ""
    return result


def make_tree(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


@pytest.fixture
def context(tmp_path):
    return make_tree(tmp_path / "ctx", {
        "Containerfile": b"FROM scratch\nCOPY . /\n",
        "app.py": b"print('hi')\n",
        "sub/data.txt": b"data",
    })


def test_directory_context_defaults_to_containerfile(context):
    body, dockerfile, enc = make_build_context(path=context)
    assert dockerfile == "Containerfile" and enc is None
    assert body.tell() == 0
    got = members(body)
    assert got == {"Containerfile": b"FROM scratch\nCOPY . /\n", "app.py": b"print('hi')\n",
                   "sub": ("dir",), "sub/data.txt": b"data"}


def test_dockerfile_fallback_and_missing(tmp_path):
    make_tree(tmp_path, {"Dockerfile": b"FROM a\n"})
    assert make_build_context(path=tmp_path)[1] == "Dockerfile"
    (tmp_path / "Dockerfile").unlink()
    with pytest.raises(InvalidArgument, match=str(tmp_path)):
        make_build_context(path=tmp_path)
    with pytest.raises(InvalidArgument, match="Nope.containerfile"):
        make_build_context(path=tmp_path, dockerfile="Nope.containerfile")


def test_missing_context_and_no_arguments(tmp_path):
    with pytest.raises(InvalidArgument, match="build\\(\\) needs path .* or fileobj"):
        make_build_context()
    with pytest.raises(InvalidArgument, match="does not exist"):
        make_build_context(path=tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="not a directory"):
        make_build_context(path=tmp_path / "file")


def test_nested_dockerfile_inside_context(context):
    make_tree(context, {"build/Prod.containerfile": b"FROM prod\n"})
    body, dockerfile, _ = make_build_context(path=context, dockerfile="build/Prod.containerfile")
    assert dockerfile == "build/Prod.containerfile"
    assert members(body)[dockerfile] == b"FROM prod\n"
    _, dockerfile, _ = make_build_context(path=context, dockerfile=str(context / "build/Prod.containerfile"))
    assert dockerfile == "build/Prod.containerfile"


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_dockerfile_outside_context_is_copied_in(tmp_path, context, how):
    outside = tmp_path / "elsewhere" / "Containerfile.prod"
    make_tree(tmp_path, {"elsewhere/Containerfile.prod": b"FROM outside\n"})
    dockerfile = str(outside) if how == "absolute" else "../elsewhere/Containerfile.prod"
    body, name, _ = make_build_context(path=context, dockerfile=dockerfile)
    assert name.startswith(".containerfile.") and len(name) > len(".containerfile.") + 16
    got = members(body)
    assert got[name] == b"FROM outside\n"
    assert all(".." not in n.split("/") and not n.startswith("/") for n in got)
    assert "Containerfile" in got  # the context's own file is still there


def test_dockerfile_reached_through_symlink_is_copied(tmp_path, context):
    make_tree(tmp_path, {"secret/Containerfile": b"FROM linked\n"})
    os.symlink(tmp_path / "secret", context / "linked")
    body, name, _ = make_build_context(path=context, dockerfile="linked/Containerfile")
    got = members(body)
    assert name.startswith(".containerfile.")
    assert got[name] == b"FROM linked\n"
    assert got["linked"] == ("sym", str(tmp_path / "secret"))
    assert "linked/Containerfile" not in got


def test_symlinks_are_kept_not_followed(tmp_path, context):
    make_tree(tmp_path, {"private/key": b"SECRET"})
    os.symlink(tmp_path / "private", context / "outdir")
    os.symlink(tmp_path / "private" / "key", context / "outfile")
    os.symlink("app.py", context / "rel")
    os.symlink("missing-target", context / "dangling")
    got = members(make_build_context(path=context)[0])
    assert got["outdir"] == ("sym", str(tmp_path / "private"))
    assert got["outfile"] == ("sym", str(tmp_path / "private" / "key"))
    assert got["rel"] == ("sym", "app.py")
    assert got["dangling"] == ("sym", "missing-target")
    assert b"SECRET" not in [v for v in got.values() if isinstance(v, bytes)]
    assert not any(n.startswith("outdir/") for n in got)


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems reject non-UTF-8 names")
def test_non_utf8_file_name_round_trips(context):
    raw = os.fsencode(str(context)) + b"/caf\xe9-\xff.txt"
    with open(raw, "wb") as f:
        f.write(b"latin-1 name")
    body, _, _ = make_build_context(path=context)
    got = members(body)
    assert got[os.fsdecode(b"caf\xe9-\xff.txt")] == b"latin-1 name"
    body.seek(0)
    with tarfile.open(fileobj=body, mode="r", encoding="utf-8", errors="surrogateescape") as tar:
        names = [os.fsencode(m.name) for m in tar]
    assert b"caf\xe9-\xff.txt" in names
    assert "caf\u00e9-\u00ff.txt" not in got  # bytes kept as they are, not re-encoded


def test_utf8_names(context):
    make_tree(context, {"données/été.txt": b"x"})
    assert members(make_build_context(path=context)[0])["données/été.txt"] == b"x"


def test_ignore_file_applied_and_always_sent(context):
    make_tree(context, {
        ".dockerignore": b"# ignore everything but the app\n*\n!app.py\n",
        "notes.md": b"n",
    })
    got = members(make_build_context(path=context)[0])
    assert set(got) == {".dockerignore", "Containerfile", "app.py"}


def test_containerignore_wins_over_dockerignore(context):
    make_tree(context, {".containerignore": b"app.py\n", ".dockerignore": b"sub\n"})
    got = members(make_build_context(path=context)[0])
    assert "app.py" not in got
    assert "sub/data.txt" in got
    assert ".containerignore" in got


def test_excluded_containerfile_in_excluded_dir_still_sent(context):
    make_tree(context, {".containerignore": b"build\n", "build/Containerfile": b"FROM b\n",
                        "build/junk": b"j"})
    body, name, _ = make_build_context(path=context, dockerfile="build/Containerfile")
    got = members(body)
    assert name == "build/Containerfile"
    assert got["build/Containerfile"] == b"FROM b\n"
    assert "build/junk" not in got
    assert got["build"] == ("dir",)  # the parent is sent so the service keeps its mode


def test_exception_reincludes_file_in_excluded_tree(context):
    make_tree(context, {
        ".dockerignore": b"vendor\n!vendor/**/LICENSE\n*.md\n!README.md\n/top.txt\n",
        "vendor/a/LICENSE": b"L",
        "vendor/a/code.c": b"c",
        "vendor/b/code.c": b"c",
        "README.md": b"r", "CHANGES.md": b"c", "top.txt": b"t", "sub/top.txt": b"s",
    })
    got = members(make_build_context(path=context)[0])
    assert got["vendor/a/LICENSE"] == b"L"
    assert got["vendor"] == ("dir",) and got["vendor/a"] == ("dir",)
    assert "vendor/a/code.c" not in got and "vendor/b" not in got and "vendor/b/code.c" not in got
    assert "README.md" in got and "CHANGES.md" not in got
    assert "top.txt" not in got and got["sub/top.txt"] == b"s"


def test_excluded_directory_without_exceptions_is_not_walked(context, monkeypatch):
    make_tree(context, {".dockerignore": b"big\n", "big/x/y": b"z"})
    import podman_nb.domain.build_context as bc
    walked = []
    original = bc._add_tree
    monkeypatch.setattr(bc, "_add_tree", lambda tar, root, rel, *a: (walked.append(rel), original(tar, root, rel, *a)))
    make_build_context(path=context)
    assert "big" not in walked and "sub" in walked


@pytest.mark.parametrize("fileobj", [io.StringIO("FROM text\n"), io.BytesIO(b"FROM binary\n")],
                         ids=["text", "binary"])
def test_fileobj_only(fileobj):
    body, name, enc = make_build_context(fileobj=fileobj)
    assert name == "Containerfile" and enc is None
    expected = b"FROM text\n" if isinstance(fileobj, io.StringIO) else b"FROM binary\n"
    assert members(body) == {"Containerfile": expected}


def test_fileobj_from_open_text_file_non_ascii(tmp_path):
    (tmp_path / "cf").write_text("FROM x\nLABEL note=\"café\"\n", encoding="utf-8")
    with open(tmp_path / "cf", encoding="utf-8") as f:
        body, name, _ = make_build_context(fileobj=f)
    assert members(body)[name] == "FROM x\nLABEL note=\"café\"\n".encode("utf-8")


def test_fileobj_only_dockerfile_names(tmp_path):
    assert make_build_context(fileobj=io.BytesIO(b"x"), dockerfile="Dockerfile.dev")[1] == "Dockerfile.dev"
    for unsafe in ("../escape", "/abs/Containerfile"):
        body, name, _ = make_build_context(fileobj=io.BytesIO(b"x"), dockerfile=unsafe)
        assert name.startswith(".containerfile.")
        assert list(members(body)) == [name]


def test_fileobj_with_path_uses_context_and_generated_name(context):
    body, name, _ = make_build_context(path=context, fileobj=io.StringIO("FROM inline\n"))
    got = members(body)
    assert name.startswith(".containerfile.")
    assert got[name] == b"FROM inline\n"
    assert got["app.py"] == b"print('hi')\n"


def test_gzip(context):
    body, name, enc = make_build_context(path=context, gzip=True)
    assert enc == "gzip"
    head = body.read(2)
    body.seek(0)
    assert head == b"\x1f\x8b"
    assert members(body)["Containerfile"].startswith(b"FROM scratch")


def _tar_bytes(files, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "tar.gz"])
def test_custom_context_passes_through(compress):
    raw = _tar_bytes({"Dockerfile": b"FROM custom\n", "x": b"1"}, compress)
    fileobj = io.BytesIO(raw)
    body, name, enc = make_build_context(fileobj=fileobj, custom_context=True, dockerfile="Dockerfile",
                                         encoding="gzip" if compress else None)
    assert body is fileobj and name == "Dockerfile"
    assert enc == ("gzip" if compress else None)
    assert body.read() == raw


def test_custom_context_finds_dockerfile_and_rewinds():
    raw = _tar_bytes({"./Containerfile": b"FROM c\n"}, compress=True)
    fileobj = io.BytesIO(raw)
    body, name, _ = make_build_context(fileobj=fileobj, custom_context=True)
    assert name == "Containerfile" and body.tell() == 0 and body.read() == raw


def test_custom_context_errors():
    with pytest.raises(InvalidArgument, match="needs fileobj"):
        make_build_context(custom_context=True, dockerfile="Dockerfile")
    with pytest.raises(InvalidArgument, match="binary"):
        make_build_context(custom_context=True, fileobj=io.StringIO("x"), dockerfile="Dockerfile")
    with pytest.raises(InvalidArgument, match="dockerfile="):
        make_build_context(custom_context=True, fileobj=io.BytesIO(_tar_bytes({"other": b"x"})))
    with pytest.raises(InvalidArgument, match="dockerfile="):
        make_build_context(custom_context=True, fileobj=io.BytesIO(gzip_module.compress(b"not a tar")))


def _read_as(uid, context):
    """make_build_context(path=context) in a forked child that runs as ``uid`` (None: as we are): its outcome."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, read, say what happened, leave without cleanup
        try:
            os.close(read)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            try:
                make_build_context(path=context)
                said = "read it"
            except InvalidArgument as error:
                said = f"refused: {error}"
            os.write(write, said.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        said = handle.read()
    os.waitpid(pid, 0)
    return said


def test_unreadable_file_names_the_path():
    """A file its user cannot read is named in the error. Root reads anything, so (as in CI, where the
    tests run as root) the context is read by a child process that runs as nobody."""
    import shutil
    import tempfile

    shared = tempfile.mkdtemp(prefix="podman_nb-unreadable-")  # not under pytest's 0700 folders: nobody reaches it
    try:
        os.chmod(shared, 0o755)
        for name in ("Containerfile", "readable.txt", "secret.txt"):
            with open(os.path.join(shared, name), "w") as handle:
                handle.write("x")
            os.chmod(os.path.join(shared, name), 0o644)
        os.chmod(os.path.join(shared, "secret.txt"), 0)
        said = _read_as(65534 if os.geteuid() == 0 else None, shared)
        assert said.startswith("refused:") and "secret.txt" in said, said
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_unreadable_file_reported_even_as_root(context, monkeypatch):
    import builtins
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if str(file).endswith("data.txt"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(InvalidArgument, match="data.txt.*Permission denied"):
        make_build_context(path=context)


def test_large_context_spools_to_disk(context, monkeypatch):
    import podman_nb.domain.build_context as bc
    monkeypatch.setattr(bc, "SPOOL_MAX_BYTES", 1024)
    make_tree(context, {"big.bin": os.urandom(64 * 1024)})
    body, _, _ = make_build_context(path=context)
    assert body._rolled  # on disk, not in memory
    assert len(members(body)["big.bin"]) == 64 * 1024


def test_modes_and_mtimes_kept(context):
    os.chmod(context / "app.py", 0o751)
    os.utime(context / "app.py", (1_600_000_000, 1_600_000_000))
    with tarfile.open(fileobj=make_build_context(path=context)[0]) as tar:
        info = tar.getmember("app.py")
    assert info.mode == 0o751 and info.mtime == 1_600_000_000
