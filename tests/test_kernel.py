"""The magics in a real Jupyter kernel (ipykernel via nbclient), executing one generated notebook.

One kernel runs every cell: listings, a widget-mode pull and build (their summaries must replace the
widgets in the saved notebook), credentials, a text-mode pull, an interrupted build, and a failing
cell whose error must be one short line while nbclient still sees the cell fail.
"""
import json
import re
import threading
import time
import uuid

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbclient.util import run_sync

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _outputs(cell):
    return cell.get("outputs", [])


def _texts(cell, mime="text/plain"):
    texts = []
    for output in _outputs(cell):
        if output["output_type"] == "stream":
            texts.append(output["text"])
        elif mime in output.get("data", {}):
            texts.append(output["data"][mime])
    return "".join(texts)


def _containers(podman_service):
    """Every container on the service, build (buildah working) containers included."""
    status, _, body = podman_service.request("GET", "/v4.0.0/libpod/containers/json?all=true&external=true")
    assert status == 200, body
    return sorted(c["Id"] for c in json.loads(body) or [])


def _interrupt_when_building(client, podman_service, before, stop):
    """Interrupt the kernel once, inside the build's RUN step (its build container exists by then).

    One interrupt, not two: a second one that arrives after the cell has ended hits ipykernel itself
    (its reply can be lost); a second Ctrl-C during the clean-up is tested in test_build.py.
    """
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        if set(_containers(podman_service)) - set(before):
            time.sleep(0.5)
            # the kernel manager is async: run its interrupt_kernel() to completion in this thread
            run_sync(client.km.interrupt_kernel)()
            return
        time.sleep(0.1)


def test_notebook_in_a_kernel(podman_service, podman_major, registries, base_image, tmp_path):
    secure = registries.secure
    tag = f"localhost/kernel/{uuid.uuid4().hex[:8]}:1"
    marker = uuid.uuid4().hex
    (tmp_path / "beside.txt").write_text(f"{marker}\n")
    podman_service.remove_images(base_image.plain, base_image.secure)
    sources = {
        "setup": "%load_ext podman_nb\n"
                 f"%config PodmanMagics.base_url = {podman_service.base_url!r}\n"
                 "%config PodmanMagics.update_interval = 0.05\n"
                 "import podman_nb.notebook.context as _m\n"
                 "_shown = []\n"
                 "_real_make_display = _m.make_display\n"
                 "def _keep(*a, **k):\n"
                 "    _shown.append(_real_make_display(*a, **k))\n"
                 "    return _shown[-1]\n"
                 "_m.make_display = _keep\n",
        "config": "%config PodmanMagics",
        "images": "df = %images\ndf",
        "pull": f"img = %image_pull {base_image.plain} --no-tls-verify\nimg",  # as every tutorial pulls
        "pull_state": "d = _shown[-1]\n"
                      "print(type(d).__name__, d.bar.value == d.bar.max > 0, d.bar.bar_style,\n"
                      "      all(bar.value == bar.max for _, bar, _ in d._rows.values()), len(d._rows))",
        "build": f"%%image_build -t {tag} --context .\nFROM {base_image.local}\nCOPY beside.txt /beside.txt\n"
                 "RUN cat /beside.txt\n",
        "build_state": "b = _\nd = _shown[-1]\n"
                       "print(type(b).__name__, d.bar.value == d.bar.max > 0, "
                       "any('%s' in line for line in b.build_log.text))" % marker,
        "creds": f"sec = %image_pull {base_image.secure} --creds {secure.username}:{secure.password}\n"
                 "sec.tags",
        "text": "%config PodmanMagics.progress = 'text'\n"
                f"again = %image_pull {base_image.plain}\n"
                "%config PodmanMagics.progress = 'auto'",
        "interrupt": f"%%image_build -t localhost/kernel/slow:{marker[:8]}\nFROM {base_image.local}\n"
                     f"RUN echo {marker} && sleep 120\n",  # the interrupt stops it: long enough for a loaded machine
        "after": "df2 = %images\nprint('still usable', len(df2))\nprint('interrupted' in repr(_shown[-1].summary))",
        "wrong": f"%image_pull {base_image.secure} --creds {secure.username}:wrong-{secure.password}",
        "error": "%image_inspect localhost/kernel/no-such-image:1",
        # failed builds (issue 9): nothing left on the service, the cause up front, shown once
        "fail_run": f"%%image_build -t localhost/kernel/fail:{marker[:8]}\nFROM {base_image.local}\n"
                    "RUN echo about-to-fail && cat /does/not/exist\n",
        "fail_last": "import sys\nlast = sys.last_value\n"
                     "print(type(last).__name__, any('about-to-fail' in line for line in last.build_log.text),\n"
                     "      any(\"can't open '/does/not/exist'\" in line for line in last.build_log.text))",
        "fail_copy": f"%%image_build\nFROM {base_image.local}\nCOPY missing.txt /missing.txt\n",
        "fail_typo": f"%%image_build\nFROM {base_image.local}\nRUNN echo typo\n",
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources.values()]
    cells = dict(zip(sources, nb.cells))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    failures = {}
    containers_before = _containers(podman_service)
    with client.setup_kernel():
        for index, (name, cell) in enumerate(zip(sources, nb.cells)):
            stop = threading.Event()
            if name == "interrupt":
                threading.Thread(target=_interrupt_when_building, daemon=True,
                                 args=(client, podman_service, containers_before, stop)).start()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failures[name] = error
            finally:
                stop.set()
        client.set_widgets_metadata()

    typo = set() if podman_major == 3 else {"fail_typo"}  # Podman 3 skips an unknown instruction: no failure
    assert set(failures) == {"interrupt", "wrong", "error", "fail_run", "fail_copy"} | typo, (
        {k: str(v)[-500:] for k, v in failures.items()}, _outputs(cells["interrupt"]))
    # nothing left behind on the service by failed or interrupted builds (podman build's --force-rm)
    assert _containers(podman_service) == containers_before
    # an interrupt ends with the summary and one line, not the urllib3/socket frames it came through
    errors = [o for o in _outputs(cells["interrupt"]) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["traceback"] == ["KeyboardInterrupt"], errors
    # a failed build: its summary names the step and the line that says why
    failed = _texts(cells["fail_run"])
    step = "STEP 2" if podman_major == 3 else "STEP 2/2"  # Podman 3 gives no total
    assert f"failed at {step}: RUN echo about-to-fail && cat /does/not/exist" in failed, _outputs(cells["fail_run"])
    assert "about-to-fail" in failed and "can't open '/does/not/exist'" in failed
    # shown once: the summary, no second (red) error line; the cell failed all the same (nbclient raised)
    for name in ["fail_run", "fail_copy", *typo]:
        outputs = _outputs(cells[name])
        assert [o["output_type"] for o in outputs] == ["display_data"], outputs
        assert "failed" in outputs[0]["data"]["text/plain"] and "podman-nb-summary" in outputs[0]["data"]["text/html"]
    # the summary says the cause as the one-line message would: what is wrong and what to do
    assert "COPY missing.txt /missing.txt" in _texts(cells["fail_copy"])
    assert "COPY cannot find missing.txt: the build context is empty unless --context is given" in _texts(
        cells["fail_copy"]), _outputs(cells["fail_copy"])
    if typo:
        assert "unknown instruction RUNN at line 2 of the Containerfile (hint: did you mean RUN?)" in _texts(
            cells["fail_typo"]), _outputs(cells["fail_typo"])
    else:  # Podman 3 skips the unknown instruction: the build succeeds, and says so
        assert "Built image" in _texts(cells["fail_typo"]), _outputs(cells["fail_typo"])
    # the failure is sys.last_value (IPython's convention, %debug and %tb), its build_log every line
    assert _texts(cells["fail_last"]).split() == ["BuildError", "True", "True"], _outputs(cells["fail_last"])

    # settings and listings
    config = _texts(cells["config"])
    for name in ("base_url", "progress", "log_tail", "update_interval", "show_tracebacks"):
        assert f"PodmanMagics.{name}" in config
    html = _texts(cells["images"], "text/html")
    assert "<table" in html and "MB" in html and "localhost/podman-nb/busybox" in html

    # widget-mode pull and build: the summary replaced the widget; the widgets ended full
    for name, verb in (("pull", "Pulled"), ("build", "Built")):
        cell = cells[name]
        summaries = [o for o in _outputs(cell) if "podman-nb-summary" in o.get("data", {}).get("text/html", "")]
        assert len(summaries) == 1, _outputs(cell)
        assert summaries[0]["data"]["text/plain"].startswith(verb)
    layers = re.search(r"layers: (\d+)/(\d+)", _texts(cells["pull"]))
    assert layers and layers.group(1) == layers.group(2), _texts(cells["pull"])
    assert re.search(r"size: [\d.]+ [kMG]?B", _texts(cells["pull"])), _texts(cells["pull"])  # --no-tls-verify too
    assert "PullWidgets True success True" in _texts(cells["pull_state"])
    assert "Image True True" in _texts(cells["build_state"])
    assert base_image.plain in _texts(cells["pull"])
    for cell in nb.cells:
        for output in _outputs(cell):
            assert WIDGET_MIME not in output.get("data", {}), (cell.source, output)

    # text mode in the kernel: plain lines
    text = _texts(cells["text"])
    assert text.startswith("Pulling") and f"Pulled {base_image.plain}" in text
    assert "\r" not in text and "IntProgress(" not in text

    # interrupted build: the display says so, the cell failed, the kernel goes on
    interrupted = _outputs(cells["interrupt"])
    assert any("interrupted" in o.get("data", {}).get("text/plain", "") for o in interrupted), interrupted
    assert any(o["output_type"] == "error" and o["ename"] == "KeyboardInterrupt" for o in interrupted)
    assert "still usable" in _texts(cells["after"]) and "True" in _texts(cells["after"])

    # failures: one short error output; the execute reply said error (nbclient raised)
    for name, ename in (("error", "ImageNotFound"), ("wrong", "APIError")):
        errors = [o for o in _outputs(cells[name]) if o["output_type"] == "error"]
        assert len(errors) == 1, _outputs(cells[name])
        assert errors[0]["ename"] == ename
        assert len(errors[0]["traceback"]) == 1 and "Traceback" not in errors[0]["traceback"][0]
        assert "\n" not in errors[0]["traceback"][0].strip()
    assert "Image not found" in [o for o in _outputs(cells["error"]) if o["output_type"] == "error"][0]["traceback"][0]

    # the password is nowhere in the saved notebook: outputs, widget state, error text
    # (the cell sources hold it: the user typed it there; --creds USER asks for it instead)
    saved = json.dumps([cell.get("outputs", []) for cell in nb.cells]) + json.dumps(nb.metadata)
    assert "application/vnd.jupyter.widget-state+json" in saved  # the widget state was saved and checked
    assert secure.password not in saved
    assert base_image.secure in _texts(cells["creds"])
