"""The README's commands as a newcomer runs them: the checkout's own .venv, and a quickstart that leaves nothing.

- The tests, and the kernels they start, run in the checkout's environment, not the machine's Python.
- Two checkouts side by side each have their own; deleting one leaves the other working, and the machine's
  Python sees neither.
- `bash scripts/quickstart`: no warning and no line about a folder it deletes, one screen of output, and
  afterwards no process, mount or temporary folder of its own, and no chroot made for the host's Podman.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
FIND = "import importlib.util as u; s = u.find_spec('podman_nb'); print(s.origin if s else None)"


def _base_python() -> str:
    """The interpreter this environment was made from: the machine's Python."""
    return getattr(sys, "_base_executable", None) or os.path.join(sys.base_prefix, "bin", "python3")


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _own_env(**extra) -> dict:
    """This process's environment without what would point a child at this checkout by another way."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PODMAN_NB_VENV")}
    env.update(extra)
    return env


def test_the_tests_and_their_kernels_run_in_the_checkouts_environment(tmp_path):
    assert sys.prefix != sys.base_prefix, f"pytest runs in the machine's Python {sys.executable}"
    assert Path(sys.prefix).resolve() == (ROOT / os.environ.get("PODMAN_NB_VENV", ".venv")).resolve(), sys.prefix
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, podman_nb; print(sys.prefix); print(podman_nb.__file__)")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute(env=_own_env())
    prefix, module = nb.cells[0].outputs[0]["text"].split()
    assert prefix == sys.prefix and module == str(ROOT / "podman_nb" / "__init__.py"), (prefix, module)


def test_two_checkouts_side_by_side_one_deleted(tmp_path):
    """A second checkout's environment, made and then deleted with it, touches neither this one nor the machine's."""
    machine_before = _run([_base_python(), "-c", FIND], env=_own_env(), cwd=tmp_path).stdout
    other = tmp_path / "other-checkout"
    _run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(other)])
    # its own .venv, made by its own scripts/venv (the dependencies it shares with ours left out, for time)
    made = _run(["bash", str(other / "scripts/venv"), "--extras", ""], env=_own_env(PIP_NO_DEPS="1")).stdout
    assert "== making .venv with " in made, made
    theirs = _run([str(other / ".venv/bin/python"), "-c", FIND], env=_own_env(), cwd=tmp_path).stdout.strip()
    assert theirs == str(other / "podman_nb" / "__init__.py")
    shutil.rmtree(other)

    ours = _run([sys.executable, "-m", "IPython", "--quick", "--colors=NoColor", "-c",
                 "%load_ext podman_nb\nimport podman_nb; print(podman_nb.__file__); print(len(get_ipython()"
                 ".magics_manager.magics['line']))"], env=_own_env(), cwd=tmp_path).stdout.split()
    assert ours[-2] == str(ROOT / "podman_nb" / "__init__.py") and int(ours[-1]) > 20, ours
    assert _run([_base_python(), "-c", FIND], env=_own_env(), cwd=tmp_path).stdout == machine_before


def _processes_naming(text: str) -> list:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


def test_quickstart_prints_one_screen_and_leaves_nothing_behind(tmp_path):
    # its own TMPDIR, short: the service's socket path must stay within 107 bytes
    temp, chroots = Path(tempfile.mkdtemp(prefix="pnb-qs-", dir="/tmp")), tmp_path / "chroot-cache"
    env = dict(os.environ, TMPDIR=str(temp), PODMAN_NB_CHROOT_CACHE=str(chroots))
    env.pop("PODMAN_NB_PODMAN", None)
    try:
        done = subprocess.run(["bash", str(ROOT / "scripts/quickstart")], capture_output=True, text=True, env=env,
                              timeout=900, cwd=tmp_path)
        left = list(temp.iterdir())
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    lines = shown.splitlines()
    assert "12/12 code cells ran" in shown and "Built localhost/quickstart/hello:latest" in shown, shown
    assert len(lines) <= 24 and max(map(len, lines)) <= 80, shown  # one screen
    assert "warn" not in shown.lower() and "source " not in shown, shown  # nothing to ignore
    assert str(temp) not in shown, shown  # no folder that is gone by now
    # nothing left: no temporary folder, process or mount of its own, and no chroot for the host's Podman
    assert left == []
    assert _processes_naming(str(temp)) == []
    assert str(temp) not in Path("/proc/self/mounts").read_text()
    assert not chroots.exists(), list(chroots.iterdir())


def test_test_script_help_names_its_settings_and_installs_nothing(tmp_path):
    """`bash scripts/test --help` in a checkout with nothing installed: its own settings, no install, no pytest."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")  # no pyproject.toml, no .venv: an install would fail
    done = _run(["bash", str(tmp_path / "scripts/test"), "--help"], env=_own_env(PATH="/usr/bin:/bin"))
    for setting in ("PODMAN_NB_TEST_PODMAN", "PODMAN_NB_SKIP_INSTALL", "PODMAN_NB_VENV"):
        assert f"  {setting}=" in done.stdout, done.stdout
    assert "pytest [options]" not in done.stdout and done.stderr == "", done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scripts"]
