"""A newcomer's first three mistakes, each against the real service in a real Jupyter kernel (nbclient): a
typo in a pulled name, an unknown Containerfile instruction (RUNN) and a project folder that does not exist.

Each is one sentence that says what is wrong and what to do, shown once (not by the display and again by
the error), and ``str(sys.last_value)`` is that same sentence without the magic's name.
"""
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def _outputs(cell):
    """Every text the cell showed: streams, displays and error lines, in order."""
    shown = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            shown.append(output["text"])
        elif output["output_type"] == "error":
            shown.extend(output["traceback"])
        else:
            shown.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(shown)


def _run(cells, path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells.values()]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path)}})
    failed = set()
    with client.setup_kernel():
        for index, (name, cell) in enumerate(zip(cells, nb.cells)):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                failed.add(name)
    return dict(zip(cells, nb.cells)), failed


_LAST = "import sys\nprint(str(sys.last_value))"


def test_first_mistakes_are_one_sentence_shown_once(podman_service, base_image, tmp_path):
    typo = base_image.plain.replace("busybox", "busyboxx")
    sources = {
        "setup": "%load_ext podman_nb\n"
                 f"%config PodmanMagics.base_url = {podman_service.base_url!r}\n"
                 "%config PodmanMagics.progress = 'text'",
        "pull": f"%image_pull {typo}",
        "pull_last": _LAST,
        "runn": f"%%image_build -t localhost/mistakes/runn:1\nFROM {base_image.local}\nRUNN echo hi\n",
        "runn_last": _LAST,
        "folder": "%image_env /no/such/folder",
        "folder_last": _LAST,
    }
    cells, failed = _run(sources, tmp_path)
    assert failed == {"pull", "runn", "folder"}, {name: _outputs(cell) for name, cell in cells.items()}
    shown = {name: _outputs(cells[name]) for name in ("pull", "runn", "folder")}
    last = {name: _outputs(cells[name + "_last"]).strip() for name in ("pull", "runn", "folder")}

    # the pull typo: no such repository or tag, how to look; the service's text neither twice nor once
    repository = typo.rsplit(":", 1)[0]
    assert f"{repository} has no tag latest, or there is no such repository" in shown["pull"], shown["pull"]
    assert "%image_search" in shown["pull"] and "/v2/podman-nb/busyboxx/tags/list" in shown["pull"], shown["pull"]
    assert "manifest unknown" not in shown["pull"] and "initializing source" not in shown["pull"], shown["pull"]
    assert shown["pull"].count("no such repository") == 1, shown["pull"]
    # RUNN: only our sentence, none of Podman's own log line or its Go struct dump
    assert shown["runn"].count("unknown instruction RUNN at line 2 of the Containerfile") == 1, shown["runn"]
    assert "did you mean RUN?" in shown["runn"], shown["runn"]
    for leak in ("level=error", "imagebuilder", "&", "UNHANDLED"):
        assert leak not in shown["runn"] and leak not in last["runn"], (leak, shown["runn"], last["runn"])
    # the missing folder: before the missing tag, no class name, a hint
    assert shown["folder"].strip() == ("%image_env: the project folder /no/such/folder does not exist "
                                       "(hint: give the folder that holds requirements.txt or pyproject.toml, "
                                       "or leave it out for the notebook's folder)"), shown["folder"]

    # str(sys.last_value) is the same sentence, without the magic's name
    for name, magic in (("pull", "%image_pull: "), ("runn", "%%image_build: "), ("folder", "%image_env: ")):
        line = [text for text in shown[name].splitlines() if last[name] in text]
        assert line and "\n" not in last[name] and len(last[name]) > 40, (shown[name], last[name])
        assert magic + last[name] in shown[name] or last[name] in shown[name], (shown[name], last[name])
