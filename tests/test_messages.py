"""Failures as one sentence that says what is wrong and what to do, in a real Jupyter kernel (nbclient).

The six cases a new user met (issue 10), each against the real service, whose own wording differs
between Podman 4 and 5: a missing image, a Containerfile typo, a bad scp destination, COPY without a
build context, an unknown filter and an unknown option. The service's text stays on the exception
and in the full traceback.
"""
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o["output_type"] == "error"]


def _text(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def test_failures_read_as_one_sentence_with_a_hint(podman_service, base_image, tmp_path):
    (tmp_path / "requirements.txt").write_text("pandas\n")  # in the notebook's folder, not in any context
    missing = "localhost/messages/no-such-image:1"
    sources = {
        "setup": "%load_ext podman_nb\n"
                 f"%config PodmanMagics.base_url = {podman_service.base_url!r}\n"
                 "%config PodmanMagics.progress = 'none'",
        "missing": f"%image_inspect {missing}",
        # the one line is the cell's; the exception stays whole for %debug and %tb
        "last": "import sys\nprint(type(sys.last_value).__name__, hasattr(sys.last_value, '_render_traceback_'))",
        "tb": "%tb",
        "typo": f"%%image_build -t localhost/messages/typo:1\nFROM {base_image.local}\nRUN true\nRUNN echo hi\n",
        "scp": f"%image_scp {base_image.local} other::",
        "copy": f"%%image_build -t localhost/messages/copy:1\nFROM {base_image.local}\nCOPY requirements.txt /app/\n",
        "filter": "%images --filter colour=red",
        "option": "%images --bogus",
        "attributes": f"try:\n    %image_inspect {missing}\nexcept Exception as error:\n"
                      "    print(type(error).__name__, error.status_code, error.explanation)",
        "traceback": "%config PodmanMagics.show_tracebacks = True\n%images --filter colour=red",
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources.values()]
    cells = dict(zip(sources, nb.cells))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    failed = set()
    with client.setup_kernel():
        for index, (name, cell) in enumerate(cells.items()):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                failed.add(name)
    assert failed == {"missing", "typo", "scp", "copy", "filter", "option", "traceback"}, \
        {name: _text(cell) for name, cell in cells.items()}

    assert _text(cells["last"]).split() == ["ImageNotFound", "False"], _text(cells["last"])
    full = _errors(cells["tb"])
    assert len(full) == 1 and len(full[0]["traceback"]) > 1 and "image_inspect" in "".join(full[0]["traceback"]), full

    lines = {}
    for name in ("missing", "typo", "scp", "copy", "filter"):
        errors = _errors(cells[name])
        assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, errors
        line = errors[0]["traceback"][0]
        assert "\n" not in line.strip() and "Traceback" not in line, line
        lines[name] = line

    # a missing image says so once, and what to do
    assert lines["missing"].startswith(f"%image_inspect: Image not found: {missing} is not on this Podman service")
    assert lines["missing"].lower().count("not found") + lines["missing"].count("not known") == 1, lines["missing"]
    assert f"%image_pull {missing}" in lines["missing"]
    # the Containerfile typo: the instruction and its line, not a Go struct
    assert "unknown instruction RUNN at line 3" in lines["typo"] and "did you mean RUN?" in lines["typo"]
    assert "imagebuilder" not in lines["typo"] and "&" not in lines["typo"], lines["typo"]
    # scp: the destination form that was expected
    assert "'other::'" in lines["scp"] and "CONNECTION::[IMAGE]" in lines["scp"], lines["scp"]
    assert "strconv" not in lines["scp"] and "registry" not in lines["scp"], lines["scp"]
    # COPY without --context: why, and the fix
    assert "the build context is empty unless --context is given" in lines["copy"], lines["copy"]
    assert "requirements.txt is in the notebook's folder" in lines["copy"] and "--context ." in lines["copy"]
    assert "copier" not in lines["copy"]
    # an unknown filter lists the valid keys
    assert "unknown filter 'colour'" in lines["filter"], lines["filter"]
    for key in ("before", "dangling", "label", "reference", "since"):
        assert key in lines["filter"], lines["filter"]
    # an unknown option lists the magic's options and points to -h (IPython shows a UsageError on stderr)
    lines["option"] = _text(cells["option"]).strip()
    assert lines["option"].startswith("UsageError: %images:") and "\n" not in lines["option"], lines["option"]
    assert "unknown option --bogus" in lines["option"], lines["option"]
    for option in ("--all", "--filter", "--sort", "--wide", "%images -h"):
        assert option in lines["option"], lines["option"]

    # the service's own text stays available: the exception's attributes and the full traceback
    assert f"ImageNotFound 404 failed to find image {missing}" in _text(cells["attributes"])
    full = "\n".join(_errors(cells["traceback"])[0]["traceback"])
    assert 'image filter "colour"' in full and "most recent call last" in full, full
