"""The magics in an in-process IPython shell (terminal flavour: text progress) against the real test service."""
import re
import sqlite3
import uuid

import pandas as pd
import pytest
from IPython.core.history import HistoryManager
from IPython.testing.globalipapp import get_ipython

import podman_nb
from podman_nb.notebook import context as context_module
from podman_nb.notebook import tables

HEX12 = re.compile(r"^[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = get_ipython() or InteractiveShell.instance()  # None when another module started the test shell
    ip.run_line_magic("load_ext", "podman_nb")
    return ip


@pytest.fixture
def ip(shell, podman_service, base_image):
    shell.run_line_magic("config", f"PodmanMagics.base_url = {podman_service.base_url!r}")
    shell.run_line_magic("config", "PodmanMagics.progress = 'auto'")
    shell.run_line_magic("config", "PodmanMagics.show_tracebacks = False")
    return shell


def run(ip, code, ok=True):
    result = ip.run_cell(code, store_history=True)
    if ok:
        assert result.success, (code, result.error_before_exec, result.error_in_exec)
    else:
        assert not result.success, code
    return result


def unique(prefix="t"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# -- settings and help ------------------------------------------------------------------------
def test_config_lists_settings(ip, capsys):
    run(ip, "%config PodmanMagics")
    out = capsys.readouterr().out
    for name in ("base_url", "progress", "log_tail", "update_interval", "show_tracebacks"):
        assert f"PodmanMagics.{name}" in out


MAGICS = ["images", "image_pull", "image_push", "image_rm", "image_prune", "image_search", "image_history",
          "image_inspect", "image_tag", "image_save", "image_load", "image_registry_data", "image_scp", "podman"]


@pytest.mark.parametrize("name", MAGICS + ["image_build"])
def test_every_magic_has_help_with_example(ip, capsys, name):
    prefix = "%%" if name == "image_build" else "%"
    body = "\nFROM x" if name == "image_build" else ""
    run(ip, f"{prefix}{name} -h{body}")
    out = capsys.readouterr().out
    assert "Example" in out and "usage" in out.lower(), out
    run(ip, f"{prefix}{name} --help{body}")
    assert "Example" in capsys.readouterr().out
    magic = ip.find_cell_magic(name) if name == "image_build" else ip.find_line_magic(name)
    assert "Example" in magic.__doc__, magic.__doc__


def test_image_build_help_with_an_empty_cell(ip, capsys):
    """IPython refuses a cell magic with an empty body before calling it; -h must print the help all the same."""
    for flag in ("-h", "--help"):
        run(ip, f"%%image_build {flag}")
        out = capsys.readouterr().out
        assert out.startswith("Usage:\n\n  %%image_build [-h]") and "Example" in out, out
    run(ip, "%%image_build -t x\n   \n", ok=False)  # without -h an empty cell is still refused
    assert "empty" in "".join(capsys.readouterr())


def test_cell_magic_usage_line_says_two_percent_signs(ip):
    assert ip.find_cell_magic("image_build").__doc__.startswith("::\n\n  %%image_build [-h] "), \
        ip.find_cell_magic("image_build").__doc__[:60]
    assert ip.find_line_magic("images").__doc__.startswith("::\n\n  %images [-h] ")


def test_unload_takes_the_help_transformer_away(shell):
    def ours():
        return [t for t in shell.input_transformers_cleanup if t.__module__.startswith("podman_nb")]

    assert len(ours()) == 1
    shell.run_line_magic("load_ext", "podman_nb")  # loaded already: nothing added
    assert len(ours()) == 1
    shell.run_line_magic("unload_ext", "podman_nb")
    try:
        assert ours() == []
    finally:
        shell.run_line_magic("load_ext", "podman_nb")
    assert len(ours()) == 1


def test_question_mark_help(ip, capsys):
    run(ip, "%images?")
    out = capsys.readouterr().out
    assert "Example" in out and "--filter" in out


def test_bad_arguments_give_usage(ip, capsys):
    run(ip, "%images --no-such-option", ok=False)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "UsageError: %images: unknown option --no-such-option (" in text, text
    assert "--filter" in text and "%images -h" in text and text.count("\n") == 1, text  # the options, one line
    run(ip, "%images --filter novalue", ok=False)
    assert "KEY=VALUE" in "".join(capsys.readouterr())


def test_quoted_arguments_and_method_names(ip, base_image, capsys):
    """`--name "x"` means x for every option (IPython's split keeps the quotes), and each ImagesManager method's
    name answers as a magic: %image_remove is %image_rm (issue 28)."""
    quoted = run(ip, '%images --sort "size" --filter "reference=*busybox*"').result
    plain = run(ip, "%images --sort size --filter reference=*busybox*").result  # whatever else the service has
    assert base_image.local.rsplit(":", 1)[0] in list(quoted["repository"]), quoted
    assert list(quoted["repository"]) == list(plain["repository"]) and list(quoted["size"]) == list(plain["size"])
    result = run(ip, "%image_kernel --remove 'nope'", ok=False)
    assert str(result.error_in_exec).startswith("there is no podman_nb kernel named 'nope' ("), result.error_in_exec
    name = f"localhost/{unique()}/copy:1"
    run(ip, f"%image_tag {base_image.local} {name}")
    removed = run(ip, f'%image_remove "{name}"').result
    assert list(removed["removed"]) == ["untagged"], removed
    assert len(run(ip, "%image_list").result) == len(run(ip, "%images").result)
    assert run(ip, f"%image_get {base_image.local}").result["Id"] == run(ip, f"%image_inspect {base_image.local}").result["Id"]
    for method in ("list", "get", "remove", "prune", "pull", "push", "search", "load", "scp", "get_registry_data"):
        assert ip.find_line_magic(f"image_{method}") is not None, method
    capsys.readouterr()


# -- listings ---------------------------------------------------------------------------------
def test_images_dataframe(ip, podman_service, base_image, capsys):
    run(ip, "df = %images")
    df = ip.user_ns["df"]
    assert isinstance(df, pd.DataFrame)
    run(ip, "wide = %images --wide")
    wide = ip.user_ns["wide"]
    # what people scan, and dangling only when the listing has a dangling image (--wide says whether)
    expected = list(tables.IMAGE_COLUMNS) + (["dangling"] if wide["dangling"].any() else [])
    assert list(df.columns) == expected
    assert {"dangling", "digest", "labels", "shared_size", "virtual_size"} <= set(wide.columns)
    assert ("arch" in wide.columns) == ("os" in wide.columns) == podman_service.version.startswith("5")
    assert len(wide) == len(df) and wide["size"].dtype == "int64"
    if "dangling" in df.columns:
        assert df["dangling"].any()
    assert str(df["created"].dtype).startswith("datetime64") and df["created"].dt.tz is not None
    assert df["size"].dtype == "int64"
    assert all(HEX12.match(v) for v in df["image_id"])
    assert list(df["created"]) == sorted(df["created"], reverse=True)
    row = df[(df.repository == "localhost/podman-nb/busybox") & (df.tag == "latest")]
    assert len(row) == 1 and row.iloc[0]["image_id"] == base_image.id.replace("sha256:", "")[:12]
    assert row.iloc[0]["size"] > 1_000_000
    with pd.option_context("display.width", 400, "display.max_columns", None):
        text = repr(df)
    assert "MB" in text and str(row.iloc[0]["size"]) not in text
    assert "MB" in df._repr_html_()

    run(ip, "q = %images --quiet")
    assert list(ip.user_ns["q"].columns) == ["image_id"]
    run(ip, "full = %images --no-trunc --filter reference=localhost/podman-nb/busybox")
    full = ip.user_ns["full"]
    # one row per tag: other tests may have given the base image its registry names too
    assert (full.repository == "localhost/podman-nb/busybox").sum() == 1
    assert set(full["image_id"]) == {"sha256:" + base_image.id.replace("sha256:", "")}
    run(ip, "s = %images --sort size")
    assert list(ip.user_ns["s"]["size"]) == sorted(ip.user_ns["s"]["size"])
    run(ip, "d = %images --filter dangling=false --filter reference=*busybox*")
    assert "dangling" not in ip.user_ns["d"].columns
    run(ip, "a = %images --all")
    assert len(ip.user_ns["a"]) >= len(df)
    run(ip, "%images --sort nosuchcolumn", ok=False)
    assert "cannot sort" in capsys.readouterr().out


def test_untagged_image_is_one_row(ip, podman_service, base_image):
    label = unique("l")
    run(ip, f"%%image_build --quiet --label marker={label}\nFROM {base_image.local}\nRUN echo {label} > /x\n")
    image_id = ip.user_ns["_"].id
    run(ip, f"u = %images --filter label=marker={label}")
    u = ip.user_ns["u"]
    assert len(u) == 1 and u.iloc[0]["repository"] is None and u.iloc[0]["tag"] is None
    assert bool(u.iloc[0]["dangling"]) and "<none>" in repr(u)
    run(ip, "p = %image_prune --dry-run")
    assert image_id[:12] in set(ip.user_ns["p"]["image_id"])
    run(ip, f"%image_rm {image_id}")


def test_history_and_inspect(ip, base_image):
    run(ip, f"h = %image_history {base_image.local}")
    h = ip.user_ns["h"]
    assert isinstance(h, pd.DataFrame) and len(h) >= 1 and h["size"].dtype == "int64"
    run(ip, f"info = %image_inspect {base_image.local}")
    assert ip.user_ns["info"]["Id"].replace("sha256:", "") == base_image.id.replace("sha256:", "")
    assert repr(ip.user_ns["info"]).startswith(f"{base_image.local}: image {base_image.id.replace('sha256:', '')[:12]} (")


# -- pull / push / build (text progress) ------------------------------------------------------
def _assert_plain_text(out):
    assert "\r" not in out and "IntProgress(" not in out and "VBox(" not in out


def test_pull_text_progress(ip, podman_service, base_image, capsys):
    podman_service.remove_images(base_image.plain)
    run(ip, f"img = %image_pull {base_image.plain}")
    out = capsys.readouterr().out
    img = ip.user_ns["img"]
    assert isinstance(img, podman_nb.Image) and base_image.plain in img.tags
    _assert_plain_text(out)
    assert out.splitlines()[0].startswith("Pulling")
    assert f"Pulled {base_image.plain}" in out
    run(ip, f"img = %image_pull --quiet {base_image.plain}")
    assert capsys.readouterr().out == ""
    podman_service.remove_images(base_image.plain)
    run(ip, f"img = %image_pull --no-tls-verify {base_image.plain}")  # the libpod stream: layer states only
    out = capsys.readouterr().out
    _assert_plain_text(out)
    done, total = re.search(r"layers: (\d+)/(\d+)", out).groups()
    assert done == total and int(total) >= 1, out


def test_pull_missing_is_one_short_error(ip, registries, podman_major, capsys):
    result = run(ip, f"%image_pull {registries.plain.host}/nope/missing:1", ok=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    # the text display's lines and its summary, then the error: one line, no traceback
    assert not any("Traceback" in line for line in lines), lines
    assert lines[-1].startswith(f"%image_pull: {registries.plain.host}/nope/missing has no tag 1, or there is no "
                                "such repository (hint: "), lines  # the first mistakes (issue 24): said once
    assert "no such repository" not in "".join(lines[:-1]), lines
    # Podman 3's libpod pull streams the registry's answer as a progress line of its own, once, before the summary
    raw = [line for line in lines if "manifest unknown" in line]
    assert raw == ([] if podman_major != 3 else ["  manifest unknown: manifest unknown"]), lines
    assert isinstance(result.error_in_exec, podman_nb.errors.PodmanError)
    ip.run_line_magic("config", "PodmanMagics.show_tracebacks = True")
    run(ip, f"%image_pull {registries.plain.host}/nope/missing:1", ok=False)
    out = capsys.readouterr().out
    assert "Traceback" in out and "podman_nb" in out


def test_push_tag_rm_registry_data(ip, registries, base_image, capsys):
    target = f"{registries.plain.host}/magics/{unique()}:1"
    run(ip, f"t = %image_tag {base_image.local} {target}")
    assert target in ip.user_ns["t"].tags
    run(ip, f"%image_push {target}")
    out = capsys.readouterr().out
    _assert_plain_text(out)
    assert f"Pushed {target}" in out
    run(ip, f"gone = %image_rm {target}")
    gone = ip.user_ns["gone"]
    assert tuple(gone.columns) == tables.REMOVED_COLUMNS
    repository, tag = target.rsplit(":", 1)
    assert gone[["repository", "tag", "removed"]].values.tolist() == [[repository, tag, "untagged"]]
    assert HEX12.match(gone["image_id"][0])
    run(ip, f"%image_inspect {target}", ok=False)
    out = capsys.readouterr().out
    assert "Image not found" in out and "Traceback" not in out


def test_build_with_context_and_log(ip, tmp_path, base_image, capsys, monkeypatch):
    (tmp_path / "hello.txt").write_text("hi from context\n")
    monkeypatch.chdir(tmp_path)
    tag = f"localhost/magics/{unique('b')}:1"
    cell = (f"%%image_build -t {tag} --context . --build-arg WHO=world --label team=nb\n"
            f"FROM {base_image.local}\nARG WHO\nCOPY hello.txt /hello.txt\nRUN echo hello $WHO && cat /hello.txt\n")
    run(ip, cell)
    out = capsys.readouterr().out
    _assert_plain_text(out)
    assert "hello world" in out and "hi from context" in out and f"Built {tag}" in out
    assert isinstance(ip.user_ns["_"], podman_nb.Image) and tag in ip.user_ns["_"].tags
    run(ip, f"img = %image_inspect {tag}")
    assert ip.user_ns["img"]["Config"]["Labels"]["team"] == "nb"
    # the cell magic's return value, with the whole log kept
    run(ip, f"%%image_build -t {tag} --quiet --context .\nFROM {base_image.local}\nCOPY hello.txt /h\n")
    built = ip.user_ns["_"]
    assert isinstance(built, podman_nb.Image) and tag in built.tags
    assert any("COPY" in line for line in built.build_log.text)
    run(ip, f"%image_rm {tag}")


def test_build_without_context_and_failure(ip, base_image, podman_major, capsys):
    tag = f"localhost/magics/{unique('e')}:1"
    run(ip, f"%%image_build -t {tag}\nFROM {base_image.local}\nCOPY missing.txt /x\n", ok=False)
    out = capsys.readouterr().out
    # the summary is the one message: the failing step, then why (no second line repeating it)
    step = "STEP 2" if podman_major == 3 else "STEP 2/2"  # Podman 3 gives no total
    assert out.count("failed") == 1 and f"failed at {step}: COPY missing.txt /x" in out, out
    # the cause in the words of the one-line message (errors.rewritten), not the service's copier text
    assert ("(COPY cannot find missing.txt: the build context is empty unless --context is given "
            "(hint: add --context DIR, the folder that holds it))") in out and "Traceback" not in out, out
    if podman_major != 3:  # Podman 3 skips an unknown instruction
        run(ip, f"%%image_build -t {tag}\nFROM {base_image.local}\nRUNN echo typo\n", ok=False)
        out = capsys.readouterr().out
        summary = out[out.index("failed"):]
        assert out.count("failed") == 1 and "imagebuilder.Step" not in summary, out  # not the service's Go dump
        assert "unknown instruction RUNN at line 2 of the Containerfile (hint: did you mean RUN?)" in summary, out
    run(ip, f"%%image_build -t {tag}\nFROM {base_image.local}\nRUN echo about-to-fail; exit 3\n", ok=False)
    out = capsys.readouterr().out
    assert out.count("failed") == 1 and "  about-to-fail\n  (exit status 3)" in out and "Traceback" not in out, out
    run(ip, f"%%image_build -q -t {tag}\nFROM {base_image.local}\nRUN exit 3\n", ok=False)
    out = capsys.readouterr().out  # no display: the one-line error says it
    assert "Build failed" in out and "exit status 3" in out and "Traceback" not in out, out
    run(ip, "%%image_build -t x\n\n", ok=False)


def test_save_load(ip, tmp_path, base_image, capsys):
    path = tmp_path / "img.tar"
    run(ip, f"%image_save {base_image.local} {path} --named")
    assert path.stat().st_size > 100_000 and "Saved" in capsys.readouterr().out
    run(ip, f"loaded = %image_load {path}")
    loaded = ip.user_ns["loaded"]
    assert isinstance(loaded, podman_nb.Image) and base_image.local in loaded.tags


def test_podman_magic_and_switching(ip, podman_service, capsys):
    run(ip, "info = %podman")
    info = ip.user_ns["info"]
    assert info["podman"] == podman_service.version and info["base_url"] == podman_service.base_url
    assert capsys.readouterr().out == ""  # nothing printed: the value is the answer
    run(ip, "%podman")
    out = capsys.readouterr().out
    assert out.count(podman_service.version) == 1 and out.count(podman_service.base_url) == 1, out  # once
    run(ip, "%podman --url unix:///nonexistent/podman.sock", ok=False)
    out = capsys.readouterr().out
    assert "unavailable" in out.lower() and "Traceback" not in out and len(out.strip().splitlines()) == 1
    run(ip, "info = %podman")  # an address that does not answer is not kept
    assert ip.user_ns["info"]["base_url"] == podman_service.base_url
    run(ip, f"%podman --url {podman_service.base_url}")


def test_search_and_scp(ip, registries, podman_major, capsys):
    run(ip, f"found = %image_search {registries.plain.host}/podman-nb --limit 5")
    found = ip.user_ns["found"]
    assert isinstance(found, pd.DataFrame) and list(found.columns)[:3] == ["name", "description", "stars"]
    assert f"{registries.plain.host}/podman-nb/busybox" in set(found["name"]), found
    run(ip, f"tags = %image_search --list-tags {registries.plain.host}/podman-nb/busybox")
    assert "latest" in set(ip.user_ns["tags"]["tag"])
    run(ip, "%image_scp nosuch/image:1 nowhere::", ok=False)
    out = capsys.readouterr().out
    # one line naming the magic and what was asked (Podman 4 and 5 say only "exit status 125"), nothing copied;
    # Podman 3 has no scp endpoint, and nothing is sent
    said = ("%image_scp: Podman error: scp needs Podman 4 or later; this service runs Podman 3" if podman_major == 3
            else "%image_scp: Podman's image scp of 'nosuch/image:1' to 'nowhere::' stopped with exit status 125 and "
                 "said no more (hint: check that the image is on the service")
    assert out.startswith(said) and out.count("\n") == 1 and "Copied" not in out, out


# -- credentials ------------------------------------------------------------------------------
@pytest.fixture
def file_history(shell, tmp_path):
    saved = shell.history_manager
    manager = HistoryManager(shell=shell, parent=shell, hist_file=str(tmp_path / "history.sqlite"))
    shell.history_manager = manager
    yield manager
    manager.end_session()
    shell.history_manager = saved


def _history_texts(ip, manager):
    manager.writeout_cache()
    rows = sqlite3.connect(manager.hist_file).execute("SELECT source, source_raw FROM history").fetchall()
    texts = [str(v) for row in rows for v in row]
    assert any("--creds pnbuser:********" in text for text in texts), texts  # stored, masked
    texts += list(ip.user_ns["In"]) + list(ip.user_ns["_ih"])
    texts += [str(v) for k, v in ip.user_ns.items() if k.startswith("_i")]
    texts += [str(v) for entry in manager.db_input_cache for v in entry]
    return texts


def test_creds_never_kept(ip, registries, base_image, podman_service, file_history, capsys, monkeypatch):
    secure = registries.secure
    password = secure.password
    podman_service.remove_images(base_image.secure)
    run(ip, f"img = %image_pull {base_image.secure} --creds {secure.username}:{password}")
    assert base_image.secure in ip.user_ns["img"].tags
    out = capsys.readouterr()
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or password)
    podman_service.remove_images(base_image.secure)
    run(ip, f"img2 = %image_pull {base_image.secure} --creds {secure.username}")
    assert prompts == [f"Password for {secure.username}: "]
    assert base_image.secure in ip.user_ns["img2"].tags
    # wrong password: a short error without the password
    wrong = "wrong-" + password
    result = run(ip, f"%image_pull {base_image.secure} --creds {secure.username}:{wrong}", ok=False)
    err = capsys.readouterr().out
    assert "Traceback" not in err and wrong not in err and password not in err
    assert "authentication required" in err.lower() and "refused these credentials" in err, err
    assert wrong not in str(result.error_in_exec)
    outputs = out.out + out.err + err
    assert password not in outputs
    for text in _history_texts(ip, file_history):
        assert password not in text and wrong not in text, text


# -- interrupt --------------------------------------------------------------------------------
def test_interrupt_during_pull_closes_and_recovers(ip, podman_service, base_image, capsys, monkeypatch):
    podman_service.remove_images(base_image.plain)
    real = context_module.make_display
    shown = []

    def interrupting(*args, **kwargs):
        display = real(*args, **kwargs)
        update = display.update

        def update_then_interrupt(event):
            update(event)
            raise KeyboardInterrupt

        display.update = update_then_interrupt
        shown.append(display)
        return display

    monkeypatch.setattr(context_module, "make_display", interrupting)
    result = ip.run_cell(f"%image_pull {base_image.plain}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    out = capsys.readouterr().out
    assert "interrupted" in out
    assert shown[0].summary.interrupted
    monkeypatch.setattr(context_module, "make_display", real)
    run(ip, "df = %images")
    run(ip, f"img = %image_pull {base_image.plain}")


def test_registry_data(ip, base_image, capsys):
    result = ip.run_cell(f"rd = %image_registry_data {base_image.plain}")
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert result.success, out
    assert ip.user_ns["rd"]["digest"].startswith("sha256:") and ip.user_ns["rd"]["platforms"]
    # the result shape of the other magics: shown as one sentence, a dict as podman-py code expects
    assert repr(ip.user_ns["rd"]).startswith(f"{base_image.plain}: sha256:") and " for linux/" in repr(ip.user_ns["rd"])


# -- more options ------------------------------------------------------------------------------
def test_pull_all_tags_platform_and_tls_options(ip, podman_service, registries, base_image, capsys):
    repo = f"{registries.plain.host}/magics/{unique('all')}"
    for tag in ("1", "2"):
        run(ip, f"%image_tag {base_image.local} {repo}:{tag}")
        run(ip, f"%image_push --quiet --no-tls-verify {repo}:{tag}")
        run(ip, f"%image_rm {repo}:{tag}")
    capsys.readouterr()
    run(ip, f"one = %image_pull --platform linux/amd64 --quiet {repo}:1")
    assert isinstance(ip.user_ns["one"], podman_nb.Image)
    run(ip, f"%image_pull --platform not/a/plat/form {repo}:1", ok=False)
    out = capsys.readouterr().out
    assert "platform" in out and "Traceback" not in out
    run(ip, f"%image_rm {repo}:1")


def test_images_filters_before_since_label(ip, base_image):
    label = unique("f")
    run(ip, f"%%image_build -t localhost/magics/{label}:1 --label pick={label} --quiet\n"
            f"FROM {base_image.local}\nRUN echo {label} > /f\n")
    run(ip, f"lab = %images --wide --filter label=pick={label}")
    assert list(ip.user_ns["lab"]["tag"]) == ["1"] and ip.user_ns["lab"].iloc[0]["labels"]["pick"] == label
    run(ip, f"since = %images --filter since={base_image.local}")
    assert f"localhost/magics/{label}" in set(ip.user_ns["since"]["repository"])
    run(ip, f"before = %images --filter before=localhost/magics/{label}:1")
    assert f"localhost/magics/{label}" not in set(ip.user_ns["before"]["repository"])
    run(ip, f"%image_rm localhost/magics/{label}:1")


def test_build_options_and_prune(ip, base_image, capsys):
    label = unique("o")
    tag = f"localhost/magics/{label}:1"
    cell = (f"FROM {base_image.local} AS first\nRUN echo one > /one\n"
            f"FROM {base_image.local} AS second\nRUN echo two > /two\n")
    run(ip, f"%%image_build -t {tag} --target first --no-cache --squash --no-layers --platform linux/amd64 "
            f"--label prune={label}\n{cell}")
    built = ip.user_ns["_"]
    assert any("one" in line for line in built.build_log.text) and not any("echo two" in l for l in built.build_log.text)
    run(ip, f"%image_tag {tag} localhost/magics/{label}:2")
    run(ip, f"%image_rm {tag} localhost/magics/{label}:2")  # untagged now? no: removed
    # a dangling image to prune
    run(ip, f"%%image_build --quiet --label prune={label}\nFROM {base_image.local}\nRUN echo {label} > /p\n")
    image_id = ip.user_ns["_"].id
    capsys.readouterr()
    run(ip, f"dry = %image_prune --dry-run --filter label=prune={label}")
    out = capsys.readouterr().out
    dry = ip.user_ns["dry"]
    # the built image and, on Podman 4, its intermediate RUN image (pruned in a second round)
    assert image_id.replace("sha256:", "")[:12] in set(dry["image_id"]) and len(dry) in (1, 2)
    images = "1 image" if len(dry) == 1 else f"{len(dry)} images"
    assert out.startswith(f"Would remove {images}, freeing {tables.human_size(int(dry['size'].sum()))}: "
                          "1 dangling"), out
    assert ("intermediate" in out) == (len(dry) == 2), out
    run(ip, f"pruned = %image_prune --filter label=prune={label}")
    pruned = ip.user_ns["pruned"]
    assert list(pruned.columns) == list(dry.columns) == list(tables.IMAGE_COLUMNS) + ["dangling"]
    assert set(pruned["image_id"]) == set(dry["image_id"])
    assert f"Removed {images}" in capsys.readouterr().out
    run(ip, f"%image_inspect {image_id}", ok=False)


def test_push_with_creds(ip, registries, base_image, capsys):
    secure = registries.secure
    target = f"{secure.host}/magics/{unique('p')}:1"
    run(ip, f"%image_tag {base_image.local} {target}")
    run(ip, f"%image_push {target}", ok=False)
    out = capsys.readouterr().out
    assert "--creds" in out.splitlines()[-1]  # the hint
    run(ip, f"%image_push {target} --creds {secure.username}:{secure.password}")
    out = capsys.readouterr().out
    assert f"Pushed {target}" in out and secure.password not in out
    run(ip, f"%image_push {target} --creds {secure.username}:nope-{secure.password}", ok=False)
    out = capsys.readouterr().out
    assert secure.password not in out and "Traceback" not in out
    assert "check the user name and password" in out.splitlines()[-1]  # not "add --creds"
    run(ip, f"%image_rm {target}")


def test_pull_all_tags(ip, podman_service, registries, base_image):
    repo = f"{registries.plain.host}/magics/{unique('all')}"
    for tag in ("1", "2"):
        run(ip, f"%image_tag {base_image.local} {repo}:{tag}")
        run(ip, f"%image_push --quiet {repo}:{tag}")
        run(ip, f"%image_rm {repo}:{tag}")
    run(ip, f"imgs = %image_pull --all-tags --no-tls-verify {repo}")
    imgs = ip.user_ns["imgs"]
    assert isinstance(imgs, pd.DataFrame) and list(imgs.columns)[:6] == list(tables.IMAGE_COLUMNS)
    assert {f"{repo}:1", f"{repo}:2"} <= {f"{r}:{t}" for r, t in zip(imgs["repository"], imgs["tag"])}
    run(ip, f"%image_rm {repo}:1 {repo}:2")


# -- error presentation: one handler, chained to another extension's -------------------------------
OTHER_EXTENSION = '''
seen = []


def handler(shell, etype, value, tb, tb_offset=None):
    seen.append(value)
    print("other extension saw:", value)
    return ["other extension saw: " + str(value)]


def load_ipython_extension(ip):
    ip.set_custom_exc((KeyError,), handler)


def unload_ipython_extension(ip):
    ip.set_custom_exc((), None)
'''


def test_error_handler_keeps_another_extensions_and_restores_it(ip, tmp_path, monkeypatch, capsys):
    (tmp_path / "other_exc_extension.py").write_text(OTHER_EXTENSION)
    monkeypatch.syspath_prepend(str(tmp_path))
    ip.run_line_magic("unload_ext", "podman_nb")
    assert ip.custom_exceptions == ()  # ours is gone, IPython's default is back
    try:
        ip.run_line_magic("load_ext", "other_exc_extension")
        import other_exc_extension
        other_exc_extension.seen.clear()
        theirs = (ip.custom_exceptions, ip.CustomTB)
        ip.run_line_magic("load_ext", "podman_nb")
        ip.run_line_magic("config", f"PodmanMagics.base_url = {ip.config.PodmanMagics.base_url!r}")
        capsys.readouterr()
        run(ip, "raise KeyError('not ours')", ok=False)
        assert "other extension saw: 'not ours'" in capsys.readouterr().out
        run(ip, "%image_inspect localhost/podman-nb/no-such-image:1", ok=False)
        shown = capsys.readouterr().out
        assert shown.startswith("%image_inspect: Image not found:") and "Traceback" not in shown, shown
        run(ip, "raise ZeroDivisionError('neither')", ok=False)
        assert "Traceback" in capsys.readouterr().out  # IPython's own traceback for the rest
        assert [type(e) for e in other_exc_extension.seen] == [KeyError]
        ip.run_line_magic("unload_ext", "podman_nb")
        assert ip.custom_exceptions == theirs[0] and ip.CustomTB is theirs[1]
        run(ip, "raise KeyError('theirs again')", ok=False)
        assert "other extension saw: 'theirs again'" in capsys.readouterr().out
    finally:  # theirs does not chain: take ours out first, then theirs, then put ours back alone
        ip.run_line_magic("unload_ext", "podman_nb")
        ip.run_line_magic("unload_ext", "other_exc_extension")
        ip.run_line_magic("load_ext", "podman_nb")


def test_failed_magic_sets_sys_last_value_and_names_itself_once(ip, capsys):
    import sys
    run(ip, "%image_inspect localhost/podman-nb/no-such-image:2", ok=False)
    error = sys.last_value
    assert type(error).__name__ == "ImageNotFound" and not hasattr(error, "operation")
    assert capsys.readouterr().out.startswith("%image_inspect: ")
    run(ip, "from podman_nb.errors import PodmanError\nraise PodmanError('raised by hand')", ok=False)
    assert capsys.readouterr().out.strip() == "PodmanError: raised by hand"  # no stale magic name
def test_empty_results_say_why_in_one_line(ip, capsys):
    label = unique("none")
    run(ip, f"%images --filter label=nothing={label}")
    assert capsys.readouterr().out.strip().endswith(f"no images match --filter label=nothing={label}")
    run(ip, "found = %image_search busybox")  # the test services configure no search registries
    assert repr(ip.user_ns["found"]) == ("no search registries are configured: name one, e.g. "
                                         "`%image_search quay.io/busybox`")
    assert isinstance(ip.user_ns["found"], pd.DataFrame) and len(ip.user_ns["found"]) == 0
    run(ip, f"p = %image_prune --dry-run --filter label=nothing={label}")
    assert repr(ip.user_ns["p"]).startswith("nothing to prune")
    assert "Empty DataFrame" not in capsys.readouterr().out


def test_pull_all_tags_from_a_registry_registries_conf_does_not_mark_insecure(ip, podman_service, base_image,
                                                                              tmp_path, capsys):
    """--no-tls-verify with --all-tags: every Podman tested (3.0.1 to 5.8.6) still lists the tags over TLS, so
    the error's hint says to mark the registry insecure in registries.conf (not to use --no-tls-verify again);
    one tag at a time works."""
    import services

    unlisted = services.Registry(tmp_path / "unlisted", tls=False)
    repo = unlisted.image(f"magics/{unique('ins')}")
    try:
        run(ip, f"%image_tag {base_image.local} {repo}:1")
        run(ip, f"%image_push --quiet --no-tls-verify {repo}:1")
        run(ip, f"%image_rm {repo}:1")
        capsys.readouterr()
        run(ip, f"%image_pull --quiet --all-tags --no-tls-verify {repo}", ok=False)
        last = capsys.readouterr().out.strip().splitlines()[-1]
        assert "http response to https client" in last.lower()
        assert last.endswith("(hint: Podman ignores tls_verify=False when it lists the tags of an all-tags pull: "
                             "mark the registry insecure = true in registries.conf, or pull the tags one by one)"), last
        run(ip, f"one = %image_pull --quiet --no-tls-verify {repo}:1")
        assert f"{repo}:1" in ip.user_ns["one"].tags
    finally:
        unlisted.stop()
        podman_service.remove_images(f"{repo}:1")


def test_build_asks_for_the_password_before_its_display(ip, base_image, capsys, monkeypatch):
    """`--creds USER` with no password given: one sentence, said once, and no build display (none started)."""
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "")
    run(ip, f"%%image_build -t localhost/creds-first:1 --cache-from 127.0.0.1:1/cache --creds alice\n"
            f"FROM {base_image.local}\n", ok=False)
    out = capsys.readouterr()
    said = out.out + out.err
    assert said.count("no password given for alice") == 1, said
    assert "STEP" not in said and "image:" not in said, said
