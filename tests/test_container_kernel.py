"""Container kernels (issue 18) against the real Podman service: an image built by ``%image_env --kernel`` from the
offline Python base and the local index, started by jupyter_client's KernelManager as Jupyter would start it.

The notebook folder lives under the service's own folder, which Podman 5's chroot can see too.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import time
import urllib.parse
import uuid
from pathlib import Path

import pandas as pd
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

import envservices
import reliability
from podman_nb import kernels
from podman_nb.errors import InvalidArgument, PodmanError
from podman_nb.kernel.containers import LABEL
import sshd as sshd_module
from test_browser import browser, lab  # noqa: F401 (fixtures)
from test_connections import connections, home, sshd  # noqa: F401 (fixtures)
from test_environment import make_project, package_index, python_base  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def jupyter_data(tmp_path_factory):
    """A JUPYTER_DATA_DIR of this module's own: where the kernelspecs go."""
    folder = tmp_path_factory.mktemp("jupyter-data")
    saved = os.environ.get("JUPYTER_DATA_DIR")
    os.environ["JUPYTER_DATA_DIR"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("JUPYTER_DATA_DIR")
    else:
        os.environ["JUPYTER_DATA_DIR"] = saved


@pytest.fixture(scope="module")
def shell(podman_service):
    with reliability.ipython_shell() as ip:
        ip.run_line_magic("load_ext", "podman_nb")
        ip.run_line_magic("config", f"PodmanMagics.base_url = {podman_service.base_url!r}")
        ip.run_line_magic("config", "PodmanMagics.progress = 'none'")
        yield ip


@pytest.fixture(scope="module")
def kernel(podman_service, jupyter_data, shell, python_base, package_index):  # noqa: F811
    """The kernel name registered by ``%image_env PROJECT -t TAG --kernel NAME`` (the project pins six)."""
    envservices.ensure_wheels(kernel=True)  # ipykernel and what it needs, in the local index
    project = make_project(podman_service.workdir / f"kproject-{uuid.uuid4().hex[:6]}", requirements="six==1.16.0\n")
    (project / "apt.txt").unlink()
    (project / "postBuild").unlink()
    (project / "start").write_text('#!/bin/sh\nexport PNB_STARTED="$NB_USER"\nexec "$@"\n')  # runs before the kernel
    tag = f"localhost/podman-nb/kernel{uuid.uuid4().hex[:6]}:latest"
    name = f"pnb-{uuid.uuid4().hex[:6]}"
    os.environ.update(PIP_INDEX_URL=package_index.url, PIP_TRUSTED_HOST="127.0.0.1")
    try:
        result = shell.run_cell(f"%image_env {project} -t {tag} --base {python_base} --kernel {name} "
                                "--display-name 'Project (Podman)'")
    finally:
        os.environ.pop("PIP_INDEX_URL")
        os.environ.pop("PIP_TRUSTED_HOST")
    assert result.success, result.error_in_exec
    yield name
    try:
        kernels.remove(name)
    except PodmanError:
        pass
    podman_service.cli("rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def entrypoint_images(kernel, podman_service):
    """Two images made from the kernel's: one whose python3 is on PATH only through its entrypoint (as a conda
    environment's start script puts it there), one whose entrypoint fails before python3 runs."""
    from podman_nb.domain.containerfile_steps import ENTRYPOINT
    image = KernelSpecManager().get_kernel_spec(kernel).metadata["podman_nb"]["image"]
    mark = uuid.uuid4().hex[:6]
    hidden, failing = f"localhost/podman-nb/kernel-hidden{mark}:latest", f"localhost/podman-nb/kernel-failing{mark}:latest"
    # under the service's folder: Podman 5's CLI runs in its chroot, where only that folder is bound
    folder = podman_service.workdir / f"entrypoint-images-{mark}"
    folder.mkdir()
    (folder / "Hidden").write_text(
        f"FROM {image}\n"
        'RUN real="$(readlink -f "$(command -v python3)")" && mkdir -p /opt/env/bin && ln -s "$real" /opt/env/bin/python3'
        ' && for p in $(which -a python3); do rm -f "$p"; done && ! command -v python3'
        f" && printf '#!/bin/sh\\nexport PATH=/opt/env/bin:$PATH\\nexec \"$@\"\\n' > {ENTRYPOINT} && chmod +x {ENTRYPOINT}\n")
    (folder / "Failing").write_text(f"FROM {image}\nRUN printf '#!/bin/sh\\nexit 4\\n' > {ENTRYPOINT}\n")
    podman_service.cli("build", "-t", hidden, "-f", folder / "Hidden", folder)
    podman_service.cli("build", "-t", failing, "-f", folder / "Failing", folder)
    yield hidden, failing
    podman_service.cli("rmi", "-f", hidden, failing, check=False)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def folder(podman_service):
    """The notebook's folder (the kernel's cwd), with a module and a data file in it."""
    path = podman_service.workdir / f"nb-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    (path / "helper.py").write_text("ANSWER = 42\n")
    (path / "data.txt").write_text("from the host\n")
    return path


@pytest.fixture
def started(kernel, folder):
    """start() -> (manager, client) of a running kernel in ``folder``; everything shut down after."""
    made = []

    def start(name=kernel):
        manager = KernelManager(kernel_name=name)
        manager.start_kernel(cwd=str(folder))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        made.append((manager, client))
        return manager, client

    yield start
    for manager, client in made:
        client.stop_channels()
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)


def run(client, code, timeout=30):
    """(stdout text, error name or None) of one cell."""
    msg_id = client.execute(code)
    out, error = [], None
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            error = msg["content"]["ename"]
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out), error


def containers(podman_service, name):
    """The kernel's containers (id -> state), through the API."""
    status, _, body = podman_service.request(
        "GET", "/v3.0.0/libpod/containers/json?all=true&filters="
        + urllib.parse.quote(json.dumps({"label": [f"{LABEL}={name}"]})))
    assert status == 200, body
    return {c["Id"]: c["State"] for c in json.loads(body)}


def gone_within(podman_service, name, seconds=60):
    deadline = time.monotonic() + seconds
    while containers(podman_service, name) and time.monotonic() < deadline:
        time.sleep(0.2)
    return containers(podman_service, name)


# --- the kernel's behaviour -----------------------------------------------------------------------

def test_registered_where_jupyter_looks(kernel, jupyter_data):
    spec = KernelSpecManager().get_kernel_spec(kernel)
    assert spec.resource_dir.startswith(str(jupyter_data / "kernels"))
    assert spec.display_name == "Project (Podman)" and spec.interrupt_mode == "signal"
    assert os.path.isabs(spec.argv[0]) and spec.argv[1:3] == ["-m", "podman_nb.kernel"]
    assert spec.argv[-2:] == ["-f", "{connection_file}"]


def test_runs_in_the_image_in_the_notebook_folder(started, folder, podman_service, kernel):
    _, client = started()
    out, error = run(client, "import os, six, helper\n"
                             "print(os.path.exists('/run/.containerenv'), six.__version__, os.getcwd(), helper.ANSWER,\n"
                             "      os.environ.get('PNB_STARTED'))\n"
                             "print(open('data.txt').read().strip())\n"
                             "open('written.txt', 'w').write('from the kernel')")
    assert error is None, out
    lines = out.splitlines()
    assert lines == [f"True 1.16.0 {folder} 42 {pwd.getpwuid(os.getuid()).pw_name}", "from the host"]  # start ran
    assert (folder / "written.txt").read_text() == "from the kernel"
    assert (folder / "written.txt").stat().st_uid == os.getuid()
    assert list(containers(podman_service, kernel).values()) == ["running"]


def test_loopback_only_and_no_key_anywhere(started, podman_service, kernel):
    manager, client = started()
    info = manager.get_connection_info()
    key = info["key"].decode() if isinstance(info["key"], bytes) else info["key"]
    assert info["ip"] == "127.0.0.1" and len(key) > 20
    ports = [info[p] for p in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":
                address, port = local.split(":")
                listening.setdefault(int(port, 16), set()).add(address)
    assert {port: listening.get(port) for port in ports} == {port: {"0100007F"} for port in ports}
    (container,) = containers(podman_service, kernel)
    status, _, inspect = podman_service.request("GET", f"/v3.0.0/libpod/containers/{container}/json")
    assert status == 200
    attrs = json.loads(inspect)
    assert attrs["HostConfig"]["NetworkMode"] == "host" and not attrs["HostConfig"].get("PortBindings")
    status, _, logs = podman_service.request(
        "GET", f"/v3.0.0/libpod/containers/{container}/logs?stdout=true&stderr=true")
    assert status == 200
    assert key not in inspect.decode() and key not in logs.decode(errors="replace")
    out, error = run(client, "import glob\n"
                             "seen = [p for p in glob.glob('/proc/[0-9]*/cmdline') + glob.glob('/proc/[0-9]*/environ')\n"
                             f"        if {key!r}.encode() in open(p, 'rb').read()]\n"
                             "print(seen, len(glob.glob('/proc/[0-9]*/cmdline')))")
    assert error is None and out.startswith("[] "), out


def test_interrupt_keeps_state(started):
    manager, client = started()
    assert run(client, "x = 41") == ("", None)
    msg_id = client.execute("import time\nprint('looping', flush=True)\nfor _ in range(600): time.sleep(0.1)")
    msg = client.get_iopub_msg(timeout=60)  # interrupt once the loop runs: earlier, an idle kernel would ignore it
    while not (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"):
        msg = client.get_iopub_msg(timeout=60)
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=15)
    while reply["parent_header"]["msg_id"] != msg_id:  # the replies of earlier cells come first
        reply = client.get_shell_msg(timeout=15)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert run(client, "print(x + 1)") == ("42\n", None)


def test_restart_is_a_fresh_container(started, podman_service, kernel):
    manager, client = started()
    run(client, "x = 1")
    (before,) = containers(podman_service, kernel)
    manager.restart_kernel()
    client.wait_for_ready(timeout=60)
    assert run(client, "x")[1] == "NameError"
    after = containers(podman_service, kernel)
    assert list(after.values()) == ["running"] and before not in after


@pytest.mark.parametrize("how", ["graceful", "now", "sigkill"])
def test_nothing_left_after_shutdown(started, podman_service, kernel, how):
    manager, client = started()
    assert len(containers(podman_service, kernel)) == 1
    if how == "sigkill":
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    else:
        manager.shutdown_kernel(now=how == "now")
    assert gone_within(podman_service, kernel) == {}


def test_launcher_never_imports_requests(kernel, folder, podman_service, tmp_path):
    """The launcher talks to the service with unixhttp alone (issue 31): over a kernel's whole life (create, attach,
    start, a cell, an interrupt, removal) its Python imports neither requests nor urllib3, whose import was a
    fifth of a second of every start. ``-X importtime`` writes every import to its stderr as it happens."""
    manager = KernelManager(kernel_name=kernel)
    argv = list(manager.kernel_spec.argv)
    manager.kernel_spec.argv = argv[:1] + ["-X", "importtime"] + argv[1:]
    log = tmp_path / "launcher.log"
    with open(log, "w") as handle:
        manager.start_kernel(cwd=str(folder), stderr=handle)
        client = manager.client()
        try:
            client.start_channels()
            client.wait_for_ready(timeout=60)
            assert run(client, "print(1 + 1)") == ("2\n", None)
            manager.interrupt_kernel()  # the launcher's kill call
            assert run(client, "print(3)") == ("3\n", None)
        finally:
            client.stop_channels()
            manager.shutdown_kernel()
    imported = {line.rsplit("|", 1)[1].strip() for line in log.read_text().splitlines()
                if line.startswith("import time:") and "|" in line}
    assert "podman_nb.api.unixhttp" in imported  # the log is the launcher's, and it used unixhttp
    assert sorted(name for name in imported if name.split(".")[0] in ("requests", "urllib3")) == []
    assert gone_within(podman_service, kernel) == {}


def test_container_removed_from_outside_is_noticed(started, podman_service, kernel):
    manager, _ = started()
    (container,) = containers(podman_service, kernel)
    status, _, body = podman_service.request("DELETE", f"/v3.0.0/libpod/containers/{container}?force=true")
    assert status == 200, body
    deadline = time.monotonic() + 60
    while manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not manager.is_alive()


def test_orphans_are_removed_at_the_next_start(started, podman_service, kernel, folder):
    """A container whose launcher is gone (here: made to look so) goes when the kernel next starts."""
    status, _, body = podman_service.request(
        "POST", "/v3.0.0/libpod/containers/create", body=json.dumps({
            "image": "localhost/podman-nb/debian-python:3.11", "command": ["sleep", "600"],
            "labels": {LABEL: kernel, "io.podman_nb.launcher": f"{os.uname().nodename}:999999:0"}}),
        headers={"Content-Type": "application/json"})
    assert status == 201, body
    orphan = json.loads(body)["Id"]
    started()
    deadline = time.monotonic() + 60  # the launcher removes them beside the kernel's start
    while orphan in containers(podman_service, kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert orphan not in containers(podman_service, kernel)


# --- the Python API and the magics ----------------------------------------------------------------

@pytest.mark.parametrize("requirements", [True, False])
def test_kernel_adds_ipykernel_beside_apt_packages(tmp_path, requirements):
    """``--kernel``'s ipykernel goes in a step of its own before requirements.txt's, whatever apt.txt lists."""
    from podman_nb import environment
    project = make_project(tmp_path / "p")
    if not requirements:
        (project / "requirements.txt").unlink()
    steps = environment.from_folder(project, environ={}, packages=("ipykernel",)).containerfile.replace("\\\n", " ")
    pips = [line.split("pip install", 1)[1].split() for line in steps.splitlines() if "pip install --system" in line]
    assert pips[0][-1:] == ["ipykernel"] and all("jq" not in words for words in pips), steps
    assert ["-r" in words for words in pips] == [False, True][:1 + requirements]


def test_probe_finds_python3_where_the_kernel_does(entrypoint_images, started, shell, jupyter_data):
    """An image whose python3 is on PATH only through its entrypoint (its start script) registers, and its kernel
    starts: the probe runs python3 as the kernel does, through /bin/sh and the entrypoint."""
    name = f"hidden-{uuid.uuid4().hex[:6]}"
    result = shell.run_cell(f"%image_kernel {entrypoint_images[0]} --name {name}")
    assert result.success, result.error_in_exec
    try:
        manager, client = started(name)
        assert run(client, "import sys; print(sys.executable)") == ("/opt/env/bin/python3\n", None)
        manager.shutdown_kernel(now=True)
    finally:
        kernels.remove(name)


def test_list_and_remove(shell, kernel, started, podman_service, capfd):
    started()
    # ready: ipykernel has bound its ports, and kept its warning about unencrypted TCP to itself on 127.0.0.1
    assert "Kernel is running over TCP" not in capfd.readouterr().err
    frame = shell.run_line_magic("image_kernel", "--list")
    row = frame[frame["name"] == kernel].iloc[0]
    assert list(frame.columns) == ["name", "display_name", "image", "image_id", "service", "running"]
    assert row["display_name"] == "Project (Podman)" and row["running"] == 1
    assert row["service"] == podman_service.base_url and len(row["image_id"]) == 12
    with pd.option_context("display.width", 80):  # a kernel's text/plain, as %images fits it (issue 28)
        lines = repr(frame).splitlines()
    assert lines[0].split() == ["name", "display_name", "image", "image_id", "running"], lines
    assert max(map(len, lines)) <= 80 and not any("..." in line for line in lines), lines
    assert "white-space: nowrap" in frame._repr_html_()  # one line per row in JupyterLab
    # re-registering the same name updates it and keeps working
    again = shell.run_line_magic("image_kernel", f"{row['image']} --name {kernel} --display-name 'Project (Podman)'")
    assert again.iloc[0]["name"] == kernel
    other = f"{kernel}-b"
    shell.run_line_magic("image_kernel", f"{row['image']} --name {other} --env A=1")
    assert other in KernelSpecManager().find_kernel_specs()
    shell.run_line_magic("image_kernel", f"--remove {other}")
    assert other not in KernelSpecManager().find_kernel_specs()
    assert "Removed the kernel" in capfd.readouterr().out


def test_remove_refuses_a_running_kernel(kernel, started, podman_service, python_base, jupyter_data, shell,  # noqa: F811
                                         folder):
    """A kernel a notebook runs is not removed (Jupyter would restart it from the spec it keeps, issue 28): the
    error names its container and folder and how to stop it; once it is shut down, it goes with its containers."""
    image = KernelSpecManager().get_kernel_spec(kernel).metadata["podman_nb"]["image"]
    other = f"{kernel}-c"
    kernels.install(image, other, base_url=podman_service.base_url)
    manager, client = started(other)
    running = containers(podman_service, other)
    assert list(running.values()) == ["running"]
    result = shell.run_cell(f"%image_kernel --remove {other}")
    assert isinstance(result.error_in_exec, InvalidArgument)
    said = str(result.error_in_exec)
    assert said.startswith(f"the kernel {other!r} is running (container {next(iter(running))[:12]} in {folder}): "
                           "shut it down first (JupyterLab: Kernel > Shut Down Kernel"), said
    assert containers(podman_service, other) == running and other in KernelSpecManager().find_kernel_specs()
    client.stop_channels()
    manager.shutdown_kernel()
    deadline = time.monotonic() + 30
    while containers(podman_service, other) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kernels.remove(other)["running"] == 0
    assert containers(podman_service, other) == {} and other not in KernelSpecManager().find_kernel_specs()
    with pytest.raises(InvalidArgument, match="no podman_nb kernel named"):
        kernels.remove(other)


@pytest.mark.parametrize("case", ["no-ipykernel", "failing-start", "no-image", "bad-name", "unseen-folder", "gpu", "bad-env", "no-network"])
def test_bad_input_writes_nothing(case, podman_service, python_base, jupyter_data, kernel, shell, capsys,  # noqa: F811
                                  entrypoint_images):
    image = KernelSpecManager().get_kernel_spec(kernel).metadata["podman_nb"]["image"]
    name = f"bad-{uuid.uuid4().hex[:6]}"
    line, expected = {
        "no-ipykernel": (f"{python_base} --name {name}", "has no ipykernel for its python3"),
        "failing-start": (f"{entrypoint_images[1]} --name {name}", f"a kernel cannot start in the image "
                          f"{entrypoint_images[1]}: its start script or python3 exited 4 before ipykernel"),
        "no-image": (f"localhost/podman-nb/missing:1 --name {name}",
                     "Image not found: localhost/podman-nb/missing:1 is not on this Podman service (hint: %images"),
        "bad-name": (f"{image} --name 'no spaces'", "is not a kernel name Jupyter accepts"),
        "unseen-folder": (f"{image} --name {name} --mount /nonexistent-pnb/data",
                          "the Podman service cannot see the --mount folder /nonexistent-pnb/data: "),
        "gpu": (f"{image} --name {name} --gpu", "nvidia-ctk cdi generate"),
        "bad-env": (f"{image} --name {name} --env 1A=2", "--env '1A=2': expected KEY=VALUE"),
        "no-network": (f"{image} --name {name} --network pnb-nosuchnet",
                       "there is no Podman network pnb-nosuchnet on this service (hint: make it with"),
    }[case]
    before = sorted(KernelSpecManager().find_kernel_specs())
    capsys.readouterr()
    result = shell.run_cell(f"%image_kernel {line}")
    shown = capsys.readouterr()
    assert not result.success
    assert expected in shown.out + shown.err, shown
    assert "Traceback" not in shown.out + shown.err
    assert sorted(KernelSpecManager().find_kernel_specs()) == before


def test_env_bad_kernel_name_builds_nothing(shell, capsys, tmp_path, podman_service):
    result = shell.run_cell(f"%image_env {tmp_path} -t localhost/podman-nb/never:1 --kernel 'a b'")
    shown = capsys.readouterr()
    assert not result.success and "is not a kernel name Jupyter accepts" in shown.out + shown.err
    assert podman_service.cli("image", "exists", "localhost/podman-nb/never:1", check=False).returncode == 1


def test_notebook_end_to_end_through_nbclient(kernel, folder):
    import nbclient
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, helper\nprint(os.getcwd(), helper.ANSWER, os.path.exists('/run/.containerenv'))"),
        nbformat.v4.new_code_cell("with open('result.txt', 'w') as f:\n    f.write(open('data.txt').read().upper())")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name=kernel, resources={"metadata": {"path": str(folder)}}).execute()
    assert nb.cells[0].outputs[0].text == f"{folder} 42 True\n"
    assert (folder / "result.txt").read_text() == "FROM THE HOST\n"


def test_ssh_connection_kernel(kernel, folder, podman_service, connections, sshd):  # noqa: F811
    """A kernel registered against an ssh:// connection: the API over ssh, the five ports forwarded by ssh
    to ports the kernel bound on the remote's loopback, nothing (no container, no ssh) left after."""
    image = KernelSpecManager().get_kernel_spec(kernel).metadata["podman_nb"]["image"]
    name = f"{kernel}-ssh"
    row = kernels.install(image, name, connection="remote")
    assert row["service"] == "remote"
    manager = KernelManager(kernel_name=name)
    manager.start_kernel(cwd=str(folder))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        assert run(client, "import os, helper; print(os.getcwd(), helper.ANSWER)") == (f"{folder} 42\n", None)
        assert len(containers(podman_service, name)) == 1
        info = manager.get_connection_info()
        ports = sorted(info[p] for p in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"))
        forwards = [sorted(int(word.split(b":")[1]) for word in words if word.startswith(b"127.0.0.1:"))
                    for words in (Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
                                  for p in sshd_module.ssh_pids(sshd.port))]
        assert ports in forwards  # one ssh forwards the connection file's five ports
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
    assert gone_within(podman_service, name) == {}
    kernels.remove(name)


def test_tutorial_notebook(podman_service, registries, base_image, tmp_path):
    """notebooks/container-kernel.ipynb end to end in a real kernel (its own kernel in it through jupyter_client),
    with what ``scripts/tutorials`` sets."""
    from test_notebooks import cell, notebook_env, run_notebook, text
    env = notebook_env(podman_service, registries, base_image)
    nb = run_notebook("container-kernel.ipynb", env, tmp_path)
    assert "Kernel 'myproject' (My project (Podman)) is registered" in text(cell(nb, "build"))
    listed = text(cell(nb, "list"))
    assert "myproject" in listed and "My project (Podman)" in listed
    shown = [line for line in text(cell(nb, "use")).splitlines() if line]  # one output or several
    assert shown == ["True 1.16.0 42", "['x', '1', '2']", "written on the host: True"]
    assert "Removed the kernel myproject (0 container(s) removed)." in text(cell(nb, "cleanup"))
    assert not (Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "myproject").exists()
    token = urllib.parse.urlsplit(env["PIP_INDEX_URL"]).password
    assert token and token not in (tmp_path / "container-kernel.executed.ipynb").read_text()


def test_kernel_in_jupyterlab(kernel, lab, browser, podman_service):  # noqa: F811
    """JupyterLab's launcher shows the kernel; a notebook on it runs a cell in the container (screenshots in
    docs/screenshots/). The notebook's folder is reached through a link under the server's root, to a folder
    the service (Podman 5's chroot too) can see."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from test_browser import RUN_ALL_JS, SCREENSHOTS, _wait
    target = podman_service.workdir / f"lab-nb-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    (lab["home"] / "work" / "project").symlink_to(target)
    nb = new_notebook(cells=[new_code_cell("import os, six\nprint('in container:', os.path.exists('/run/.containerenv'),"
                                           " 'six', six.__version__, 'cwd', os.getcwd())")])
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Project (Podman)", "language": "python"}
    nbformat.write(nb, target / "in-container.ipynb")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(f"{lab['url']}/lab?token={lab['token']}")
    _wait(browser, "return [...document.querySelectorAll('.jp-LauncherCard')]"
                   ".some(c => c.textContent.includes('Project (Podman)'))", 90, "the kernel in the launcher")
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-kernel-launcher.png"))
    browser.get(f"{lab['url']}/lab/tree/project/in-container.ipynb?token={lab['token']}")
    _wait(browser, "return !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                   " && window.jupyterapp.shell.currentWidget.sessionContext"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle')",
          120, "the container kernel to be idle")
    assert browser.execute_async_script(RUN_ALL_JS) == "ok"
    shown = _wait(browser, "const o = document.querySelector('.jp-OutputArea-output');"
                           " return o && o.textContent.includes('in container') && o.textContent", 60, "the output")
    time.sleep(0.5)
    browser.save_screenshot(str(SCREENSHOTS / "jupyterlab-kernel-notebook.png"))
    assert shown.strip() == f"in container: True six 1.16.0 cwd {target}"
    status = browser.execute_script("return document.querySelector('.jp-Toolbar-kernelName').textContent")
    assert "Project (Podman)" in status
    assert list(containers(podman_service, kernel).values()) == ["running"]
