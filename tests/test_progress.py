"""Unit tests for the progress aggregators and displays (no Podman service, no front end)."""

from __future__ import annotations

import io
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podman_nb.domain.events import (LAYER_DONE_STATES, Error, LayerProgress, LogLine, Result,
                                     Step, events)
from podman_nb.domain.progress_state import BuildProgress, PullProgress
from podman_nb.domain.references import short_id
from podman_nb.errors import InvalidArgument
from podman_nb.notebook import progress_display as nbprogress
from podman_nb.notebook.progress_display import (NullDisplay, Summary, TextDisplay, choose_mode, format_elapsed,
                                                  make_display)
from podman_nb.notebook.progress_widgets import WidgetsDisplay

IMAGE_ID = "sha256:" + "0123456789ab" + "cd" * 26


class FakeClock:
    def __init__(self, start=100.0):
        self.now = start

    def __call__(self):
        return self.now


def docker_pull_lines():
    """A Docker-compatible pull stream, shaped like /images/create output."""
    lines = [{"status": "Pulling from library/alpine", "id": "latest"}]
    for layer, total in (("aaa111", 3000), ("bbb222", 1000)):
        lines.append({"status": "Pulling fs layer", "progressDetail": {}, "id": layer})
    for layer, total in (("aaa111", 3000), ("bbb222", 1000)):
        for current in range(0, total + 1, 500):
            lines.append({"status": "Downloading", "id": layer,
                          "progressDetail": {"current": current, "total": total}})
        lines.append({"status": "Download complete", "progressDetail": {}, "id": layer})
        for current in range(0, total + 1, 1000):
            lines.append({"status": "Extracting", "id": layer,
                          "progressDetail": {"current": current, "total": total}})
        lines.append({"status": "Pull complete", "progressDetail": {}, "id": layer})
    lines.append({"status": "Digest: sha256:feed"})
    lines.append({"status": "Status: Downloaded newer image for alpine:latest"})
    lines.append({"id": IMAGE_ID[7:], "images": [IMAGE_ID[7:]]})
    return lines


LIBPOD_PULL = [
    {"stream": "Trying to pull docker.io/library/alpine:latest...\n"},
    {"stream": "Getting image source signatures\n"},
    {"stream": "Copying blob sha256:aaa111aaa111aaa111\n"},
    {"stream": "Copying blob sha256:bbb222bbb222bbb222\n"},
    {"stream": "Copying blob sha256:aaa111aaa111aaa111 done\n"},
    {"stream": "Copying blob sha256:bbb222bbb222bbb222 done\n"},
    {"stream": "Copying config sha256:cfg\n"},
    {"stream": "Writing manifest to image destination\n"},
    {"id": IMAGE_ID[7:], "images": [IMAGE_ID[7:]]},
]

BUILD_LINES = [
    {"stream": "STEP 1/3: FROM alpine\n"},
    {"stream": "STEP 2/3: RUN echo hi\n"},
    {"stream": "--> Using cache 1234\n"},
    {"stream": "STEP 3/3: COPY . /app\n"},
    {"stream": "COMMIT localhost/app:1\n"},
    {"stream": "--> 0123456789ab\n"},
    {"aux": {"ID": IMAGE_ID}},
]


# -- aggregators ------------------------------------------------------------------------------

def test_pull_progress_docker_stream_reaches_totals_monotonically():
    p = PullProgress()
    seen = []
    for event in events(docker_pull_lines()):
        p.apply(event)
        seen.append(p.bytes_done)
    assert seen == sorted(seen), "overall bytes never go backwards, even when Extracting restarts"
    assert p.bytes_total == 4000 and p.bytes_done == 4000
    assert p.layer_count == 2 and p.layers_done == 2
    assert p.layers["aaa111"].state == "Pull complete"
    assert p.result_id == IMAGE_ID[7:]
    assert p.last_status == "Status: Downloaded newer image for alpine:latest"


def test_pull_progress_libpod_text_stream():
    p = PullProgress()
    for event in events(LIBPOD_PULL):
        p.apply(event)
    assert p.layer_count == 2 and p.layers_done == 2
    assert p.bytes_total == 0 and p.bytes_done == 0  # libpod reports no bytes
    assert "Writing manifest to image destination" in p.status
    assert short_id(p.result_id) == "0123456789ab"


def test_apply_reports_visible_change_only():
    p = PullProgress()
    assert p.apply(LayerProgress("l1", "Downloading", 1, 10)) is True
    assert p.apply(LayerProgress("l1", "Downloading", 1, 10)) is False
    assert p.apply(LayerProgress("l1", "Downloading", 2, 10)) is True
    assert p.apply(Result("x")) is True
    assert p.apply(Result("x")) is False
    assert p.apply(Error("boom")) is True and p.error == "boom"


def test_layer_done_can_be_undone_and_redone():
    p = PullProgress()
    p.apply(LayerProgress("l1", "Download complete"))
    assert p.layers_done == 1
    p.apply(LayerProgress("l1", "Extracting", 0, 5))
    assert p.layers_done == 0
    p.apply(LayerProgress("l1", "Pull complete"))
    assert p.layers_done == 1 and p.bytes_done == 5


layer_events = st.lists(st.builds(
    LayerProgress,
    layer=st.sampled_from(["a", "b", "c"]),
    state=st.sampled_from(sorted(LAYER_DONE_STATES) + ["Downloading", "Extracting", "Waiting"]),
    current=st.one_of(st.none(), st.integers(0, 10_000)),
    total=st.one_of(st.none(), st.integers(1, 10_000)),
), max_size=60)


@settings(max_examples=200, deadline=None)
@given(layer_events)
def test_pull_counters_match_a_full_recount(evts):
    p = PullProgress()
    last = {}
    for event in evts:
        p.apply(event)
        last[event.layer] = event
    assert p.layers_done == sum(1 for e in last.values() if e.done)
    assert p.bytes_total == sum(l.total for l in p.layers.values() if l.total is not None)
    assert 0 <= p.bytes_done <= p.bytes_total
    assert p.bytes_done == sum(l.counted for l in p.layers.values())


def test_build_progress_steps_cache_hits_and_logs():
    b = BuildProgress(log_tail=3)
    for event in events(BUILD_LINES):
        b.apply(event)
    assert (b.step, b.steps_total, b.instruction) == (3, 3, "COPY . /app")
    assert b.cache_hits == 1
    full = BuildProgress(log_tail=100)
    for event in events(BUILD_LINES):
        full.apply(event)
    assert full.tail[0] == "STEP 1/3: FROM alpine"
    assert b.lines == full.lines == len(full.tail) == 6 and list(b.tail) == list(full.tail)[-3:]
    assert b.result_id == IMAGE_ID


def test_build_log_tail_bounded_lines_counted():
    b = BuildProgress()
    for i in range(1000):
        b.apply(LogLine(f"line {i}"))
    assert len(b.tail) == 200 and b.tail[0] == "line 800"
    assert b.lines == 1000


def test_build_logs_base_image_layers_once_per_state():
    b = BuildProgress()
    for current in range(10):
        b.apply(LayerProgress("abc", "Downloading", current, 10))
    b.apply(LayerProgress("abc", "Pull complete"))
    assert list(b.tail) == ["Downloading abc", "Pull complete abc"] and b.lines == 2


def test_elapsed_freezes_on_finish_and_first_error_is_kept():
    clock = FakeClock()
    p = PullProgress(clock=clock)
    clock.now += 2.5
    assert p.elapsed == 2.5
    p.apply(Error("denied"))
    p.finish()
    clock.now += 10
    assert p.elapsed == 2.5 and p.error == "denied" and not p.ok
    p.finish(interrupted=True)
    assert p.elapsed == 2.5


# -- widgets display --------------------------------------------------------------------------

def test_widgets_throttled_under_a_flood_of_events():
    display = make_display("pull", "docker.io/library/alpine:latest", mode="widgets",
                           update_interval=0.05)
    assert isinstance(display, WidgetsDisplay)
    start = time.monotonic()
    total = 20_000
    for i in range(100_000):
        layer = i % 5
        display.update(LayerProgress(f"layer{layer}", "Downloading", (i // 5) + 1, total))
    display.update(Result(IMAGE_ID))
    summary = display.close()
    elapsed = time.monotonic() - start
    assert display.updates <= elapsed / display.update_interval + 2
    assert display.bar.max == 5 * total and display.bar.value == display.bar.max
    assert len(display.layer_box.children) == 5
    assert summary.ok and summary.image_id == "0123456789ab"
    assert display.widget.comm is None  # closed: a saved notebook keeps only the summary


def test_widgets_refresh_at_most_once_per_interval_with_fake_clock():
    clock = FakeClock()
    display = WidgetsDisplay("build", "app", update_interval=0.25, show=False, clock=clock)
    display.update(Step(1, 4, "FROM alpine"))
    assert display.updates == 1  # the first change shows at once
    for i in range(1000):  # 10 seconds of events, 0.01 s apart
        clock.now += 0.01
        display.update(LogLine(f"line {i}"))
    assert 39 <= display.updates <= 41
    display.update(Step(4, 4, "COPY . /"))
    display.close()
    assert display.bar.value == display.bar.max == 4
    assert display.bar.description == "STEP 4/4"


def test_widgets_show_a_step_that_arrives_just_before_a_quiet_spell():
    """A long silent RUN step must not leave the previous step on screen until the next event."""
    display = WidgetsDisplay("build", "img", show=False, update_interval=0.2)
    display.update(Step(1, 2, "FROM base"))
    display.update(Step(2, 2, "RUN sleep 600"))  # inside the interval: not shown yet
    assert display.bar.description == "STEP 1/2"
    deadline = time.monotonic() + 5
    while display.bar.description != "STEP 2/2" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert display.bar.description == "STEP 2/2" and display.updates == 2
    display.close()


def test_build_log_memory_is_bounded_while_every_line_is_kept():
    import tracemalloc

    from podman_nb.domain.buildlog import BuildLog

    log, b = BuildLog(), BuildProgress(log_tail=50)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(100_000):
        line = {"stream": f"compiling module number {i} of a rather long build\n"}
        found = list(events([line]))
        log.add(line, found)
        for event in found:
            b.apply(event)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 3 * 1024 * 1024  # ~11 MB of JSON and text, spooled to disk past the first megabyte each
    assert len(log) == len(log.text) == b.lines == 100_000
    assert log.text[0].endswith("number 0 of a rather long build")
    assert log.text[-1] == "compiling module number 99999 of a rather long build" and len(b.tail) == 50
    assert json.loads(next(log)) == {"stream": "compiling module number 0 of a rather long build\n"}


def test_widgets_build_log_tail_is_bounded_and_escaped():
    display = WidgetsDisplay("build", "app", update_interval=0, log_tail=5, show=False)
    display.update(Step(1, 2, "RUN <x>"))
    for i in range(50):
        display.update(LogLine(f"<b>line {i}</b>"))
    html = display.log_html.value
    assert "&lt;b&gt;line 49&lt;/b&gt;" in html and "line 44" not in html
    assert "RUN &lt;x&gt;" in display.label.value
    summary = display.close(error="step 2 failed")
    assert not summary.ok and display.bar.bar_style == "danger"
    assert "line 49" in summary._repr_html_()  # the failed build's last lines survive


def test_widgets_layer_rows_show_state_without_bytes():
    display = WidgetsDisplay("pull", "alpine", update_interval=0, show=False)
    for event in events(LIBPOD_PULL[:4]):
        display.update(event)
    rows = display._rows
    assert set(rows) == {"aaa111aaa111", "bbb222bbb222"}
    _, bar, text = rows["aaa111aaa111"]
    assert ">Copying blob<" in text.value and bar.layout.visibility == "hidden"
    display.close()
    assert display.bar.value == display.bar.max


def test_widgets_interrupted_close():
    display = WidgetsDisplay("push", "quay.io/me/app:1", show=False)
    display.update(LayerProgress("l1", "Pushing", 5, 10))
    summary = display.close(interrupted=True)
    assert summary.interrupted and display.bar.bar_style == "warning"
    assert "interrupted" in repr(summary) and "interrupted" in summary._repr_html_()
    assert display.close() is summary


# -- text and none displays -------------------------------------------------------------------

def test_text_mode_prints_one_line_per_layer_state_change(capsys):
    display = make_display("pull", "docker.io/library/alpine:latest", mode="text")
    assert isinstance(display, TextDisplay)
    for event in events(docker_pull_lines()):
        display.update(event)
    display.close()
    out = capsys.readouterr().out
    assert "\r" not in out and "IntProgress(" not in out and "VBox(" not in out
    lines = out.splitlines()
    assert lines[0] == "Pulling docker.io/library/alpine:latest"
    aaa = [line for line in lines if "aaa111" in line]
    assert aaa == ["  aaa111: Pulling fs layer", "  aaa111: Downloading (3 kB)",
                   "  aaa111: Download complete (3 kB)", "  aaa111: Extracting (3 kB)",
                   "  aaa111: Pull complete (3 kB)"]
    assert "Digest: sha256:feed" in lines
    assert lines[-2] == "Pulled docker.io/library/alpine:latest"
    assert "image: 0123456789ab" in lines[-1] and "layers: 2/2" in lines[-1]


def test_text_mode_build_prints_steps_and_log():
    out = io.StringIO()
    display = TextDisplay("build", "localhost/app:1", stream=out)
    for event in events(BUILD_LINES):
        display.update(event)
    display.update(Error("boom"))
    display.close()
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["Building localhost/app:1", "STEP 1/3: FROM alpine",
                         "STEP 2/3: RUN echo hi", "--> Using cache 1234"]
    assert lines[-3:-1] == ["Building localhost/app:1 failed at STEP 3/3: COPY . /app", "  (boom)"]
    assert "cache hits: 1" in lines[-1] and "steps" not in lines[-1]
    assert display.updates == len(lines) - 2  # the three-line summary is one print


def test_none_mode_shows_nothing_but_returns_summary(capsys):
    display = make_display("build", "app", mode="none")
    assert isinstance(display, NullDisplay)
    for event in events(BUILD_LINES):
        display.update(event)
    summary = display.close()
    assert capsys.readouterr().out == ""
    assert summary.ok and summary.steps_total == 3 and display.updates == 0


def test_context_manager_marks_interrupts_and_errors():
    with pytest.raises(KeyboardInterrupt):
        with make_display("pull", "a", mode="none") as display:
            raise KeyboardInterrupt
    assert display.summary.interrupted
    with pytest.raises(RuntimeError):
        with make_display("pull", "a", mode="none") as display:
            raise RuntimeError("no space left")
    assert display.summary.error == "no space left"


# -- summary, modes ---------------------------------------------------------------------------

def test_summary_text_and_html_escape_the_title():
    p = PullProgress()
    for event in events(docker_pull_lines()):
        p.apply(event)
    p.finish()
    summary = Summary("pull", "<b>alpine</b>", p)
    assert repr(summary).startswith("Pulled <b>alpine</b>\nimage: 0123456789ab")
    assert "size: 4 kB" in repr(summary)
    html = summary._repr_html_()
    assert "&lt;b&gt;alpine&lt;/b&gt;" in html and "<b>alpine</b>" not in html
    assert "0123456789ab" in html and "2/2" in html


def test_format_elapsed():
    assert format_elapsed(4.21) == "4.2s"
    assert format_elapsed(65) == "1m 05s"
    assert format_elapsed(3720) == "1h 02m"
    assert [format_elapsed(s, ticking=True) for s in (4.21, 65.24, 3720)] == ["4.2s", "1m 05.2s", "1h 02m"]


def test_auto_mode(monkeypatch):
    monkeypatch.delenv(nbprogress.ENV_MODE, raising=False)
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert choose_mode("auto") == "text"

    class ZMQInteractiveShell:
        pass

    class ColabShell(ZMQInteractiveShell):
        pass

    class TerminalInteractiveShell:
        pass

    monkeypatch.setattr(IPython, "get_ipython", lambda: ColabShell())
    assert choose_mode("auto") == "widgets"
    monkeypatch.setattr(IPython, "get_ipython", lambda: TerminalInteractiveShell())
    assert choose_mode("auto") == "text"
    monkeypatch.setenv(nbprogress.ENV_MODE, "none")
    assert choose_mode("auto") == "none"
    assert choose_mode("text") == "text"


def test_invalid_kind_and_mode():
    with pytest.raises(InvalidArgument, match="kind"):
        make_display("tag", "x", mode="none")
    with pytest.raises(InvalidArgument, match="mode"):
        make_display("pull", "x", mode="fancy")


def test_executed_notebook_keeps_the_summary_not_the_widget():
    """Run a real kernel (nbclient): the saved outputs hold the summary, no widget view."""
    import pathlib

    import nbclient
    import nbformat

    root = pathlib.Path(__file__).resolve().parents[1]
    source = "\n".join([
        "import sys; sys.path.insert(0, %r)" % str(root),
        "from podman_nb.domain.events import LayerProgress, Result",
        "from podman_nb.notebook.progress_display import make_display, choose_mode",
        "print(choose_mode())",
        "d = make_display('pull', 'docker.io/library/alpine:latest', update_interval=0.01)",
        "for i in range(3000):",
        "    d.update(LayerProgress(f'l{i % 3}', 'Downloading', i // 3 + 1, 1000))",
        "d.update(Result('sha256:' + 'ab' * 32))",
        "_ = d.close()",
    ])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    # ipykernel is a test dependency: a missing kernel or a crash in the cell fails the test
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert outputs[0]["text"] == "widgets\n"
    shown = [o for o in outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1
    assert "application/vnd.jupyter.widget-view+json" not in shown[0]["data"]
    assert "Pulled docker.io/library/alpine:latest" in shown[0]["data"]["text/plain"]
    assert "abababababab" in shown[0]["data"]["text/html"]


def test_text_build_display_prints_new_lines_without_rereading_the_whole_log(monkeypatch):
    """Reading a spooled log on every event would make a long build quadratic: the display keeps a tail."""
    from podman_nb.domain.linelog import LineLog

    out = io.StringIO()
    display = TextDisplay("build", "img", stream=out)

    def no_full_read(self):
        raise AssertionError("a whole log was read for one event")
    monkeypatch.setattr(LineLog, "__iter__", no_full_read)
    display.update(Step(1, 1, "RUN make"))
    for i in range(500):
        display.update(LogLine(f"line {i}"))
    monkeypatch.undo()
    display.close()
    lines = out.getvalue().splitlines()
    assert lines[1:4] == ["STEP 1/1: RUN make", "line 0", "line 1"] and "line 499" in lines


# -- issue 9: what a data scientist sees ------------------------------------------------------

def _outside_code(markup):
    """The text of ``markup`` outside <code>/<pre> (what MathJax or KaTeX could typeset)."""
    from html.parser import HTMLParser

    class Outside(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth, self.text = 0, []

        def handle_starttag(self, tag, attrs):
            self.depth += tag in ("code", "pre")

        def handle_endtag(self, tag):
            self.depth -= tag in ("code", "pre")

        def handle_data(self, data):
            if not self.depth:
                self.text.append(data)

    parser = Outside()
    parser.feed(markup)
    return "".join(parser.text)


def _failed_build(display):
    for event in (Step(1, 2, "FROM base"), Step(2, 2, 'RUN for i in $(seq 1 3); do echo "line $i"; done; cat /x'),
                  LogLine("line 1"), LogLine("line 2"), LogLine("cat: can't open '/x': No such file")):
        display.update(event)
    return display.close(error='building at STEP "RUN for i in $(seq 1 3); do echo \\"line $i\\"; done; cat /x": '
                               "while running runtime: exit status 1")


def test_failed_build_summary_names_the_step_and_its_last_lines():
    summary = _failed_build(make_display("build", "localhost/$(x):1", mode="none"))
    text = repr(summary).splitlines()
    assert text[0] == 'Building localhost/$(x):1 failed at STEP 2/2: RUN for i in $(seq 1 3); do echo "line $i"; done; cat /x'
    assert text[1:5] == ["  line 1", "  line 2", "  cat: can't open '/x': No such file", "  (exit status 1)"]
    assert "steps" not in text[-1]  # "steps: 1/2" read as if a step had passed
    markup = summary._repr_html_()
    assert "cat: can&#x27;t open" in markup.split("<details")[0]  # the cause is up front, not collapsed
    assert "<details" in markup and "build log (5 lines)" in markup  # the whole log one click away
    assert "$" not in _outside_code(markup) and "$(seq 1 3)" in html_unescape(markup)


def html_unescape(markup):
    import html

    return html.unescape(markup)


def test_successful_build_summary_keeps_the_log_collapsed():
    display = make_display("build", "app", mode="none", log_tail=3)
    for event in events(BUILD_LINES):
        display.update(event)
    markup = display.close()._repr_html_()
    assert '<details class="podman-nb-log"><summary>build log (last 3 of 6 lines)</summary>' in markup
    assert "--&gt; 0123456789ab" in markup and "STEP 2/3" not in markup


def test_widgets_show_only_literal_text():
    display = WidgetsDisplay("build", "localhost/a$b:1", update_interval=0, show=False)
    display.update(Step(1, 1, "RUN echo $(seq 1 3) $HOME"))
    display.update(LogLine("$x and $y"))
    for widget in (display.title_html, display.label, display.log_html):
        assert "$" not in _outside_code(widget.value), widget.value
    pull = WidgetsDisplay("pull", "r/$x", update_interval=0, show=False)
    pull.update(LayerProgress("$(layer)", "Copying $blob"))
    pull.update(LogLine("$status$"))
    layer_name, _, layer_text = pull._rows["$(layer)"][0].children
    for widget in (pull.title_html, pull.label, pull.status, layer_name, layer_text):
        assert "$" not in _outside_code(widget.value) and type(widget).__name__ == "HTML", widget
    display.close()
    pull.close()


def test_widgets_silent_step_ticks_and_its_bar_is_not_full():
    display = WidgetsDisplay("build", "img", update_interval=0.05, show=False)
    display.update(Step(1, 2, "FROM base"))
    display.update(Step(2, 2, "RUN sleep 600"))
    seen = set()
    deadline = time.monotonic() + 3
    while len(seen) < 4 and time.monotonic() < deadline:
        seen.add(display.label.value)
        time.sleep(0.02)
    assert len(seen) >= 4, seen  # the elapsed time moved with no event arriving
    assert "running" in display.label.value
    assert display.bar.description == "STEP 2/2" and display.bar.value == 1 < display.bar.max
    display.close()
    assert display.bar.value == display.bar.max and "running" not in display.label.value


def test_pull_without_bytes_shows_manifest_sizes_and_counts_present_layers():
    from podman_nb.domain.events import LayerSizes

    display = WidgetsDisplay("pull", "alpine", update_interval=0, show=False)
    display.update(LayerSizes((("aaa111aaa111", 3_000_000), ("bbb222bbb222", 1_500_000))))
    for event in events(LIBPOD_PULL[:4]):
        display.update(event)
    display.update(LayerProgress("aaa111aaa111", "Skipped blob"))
    assert display.bar.layout.display == "none" and display.busy.layout.display is None  # indeterminate
    assert "1/2 layers (1 already present) \u00b7 4.5 MB" in display.label.value
    assert "1.5 MB" in display._rows["bbb222bbb222"][2].value
    display.update(LayerProgress("cfg333cfg333", "Pulling fs layer"))  # a config blob: not a layer
    assert display.progress.layer_count == 2
    summary = display.close()
    assert "layers: 2/2 (1 already present)" in repr(summary) and "size: 4.5 MB" in repr(summary)


def test_failure_reason_drops_the_step_podman_repeats():
    from podman_nb.domain.progress_state import step_reason as failure_reason

    step = 'RUN echo "about to fail $(seq 1 3)"; cat /x'
    assert failure_reason(f'building at STEP "{step}": while running runtime: exit status 1\n', step) == "exit status 1"
    assert failure_reason('building at STEP "RUNN ": Build error: Unknown instruction: "RUNN"', "RUNN echo") == \
        'Build error: Unknown instruction: "RUNN"'
    assert failure_reason("no such image") == "no such image"


def test_build_steps_without_a_total_podman3():
    """Podman 3 writes "STEP 1: FROM ..." with no total: the display names the step and leaves the bar empty."""
    stream = [{"stream": "STEP 1: FROM localhost/base\n"}, {"stream": "STEP 2: RUN make\n"}, {"stream": "made\n"}]
    steps = [e for e in events(stream) if isinstance(e, Step)]
    assert [(s.number, s.total, s.instruction) for s in steps] == [(1, None, "FROM localhost/base"), (2, None, "RUN make")]
    display = WidgetsDisplay("build", "img", show=False, update_interval=0)
    for event in events(stream):
        display.update(event)
    assert display.bar.description == "STEP 2" and display.bar.value == 0
    assert list(display.progress.tail) == ["STEP 1: FROM localhost/base", "STEP 2: RUN make", "made"]
    summary = display.close()
    assert ("steps", "2") in summary.facts()
