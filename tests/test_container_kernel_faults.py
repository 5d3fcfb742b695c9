"""Container kernels (issue 18) where they run and when they cannot start, against the real Podman service: a
named network (ports on 127.0.0.1 only), the recorded service whatever CONTAINER_HOST says, an unreachable
service and a notebook folder the service cannot see (one sentence in Jupyter's log, nothing left behind).

The kernel image and its fixtures are test_container_kernel's.
"""
from __future__ import annotations

import json
import os
import atexit
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from podman_nb import kernels
from test_container_kernel import containers, folder, jupyter_data, kernel, run, shell  # noqa: F401 (fixtures)
from test_environment import package_index, python_base  # noqa: F401 (fixtures)

PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def image_of(name):
    return KernelSpecManager().get_kernel_spec(name).metadata["podman_nb"]["image"]


def inspect(podman_service, container):
    status, _, body = podman_service.request("GET", f"/v3.0.0/libpod/containers/{container}/json")
    assert status == 200, body
    return json.loads(body)


def started_client(manager, timeout=60):
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=timeout)
    return client


def failed_start(name, folder, log, argv=None):  # noqa: F811
    """Start kernel ``name`` (its argv replaced by ``argv``) as Jupyter does, with the launcher's stderr in ``log``:
    (exit status, what it wrote). The launcher must end by itself: a hang fails the wait."""
    manager = KernelManager(kernel_name=name)
    if argv is not None:
        manager.kernel_spec.argv = argv
    try:
        with open(log, "w") as handle:
            manager.start_kernel(cwd=str(folder), stderr=handle, stdout=handle)
            code = manager.provisioner.process.wait(timeout=30)
    finally:
        manager.cleanup_resources()
    return code, log.read_text()


def assert_one_sentence(text, *says):
    """The launcher's output is one line that says each of ``says``, with no traceback."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    for words in says:
        assert words in lines[0], text


def test_network_kernel_publishes_on_loopback_only(shell, kernel, folder, podman_service, jupyter_data):  # noqa: F811
    """``--network NAME``: the kernel's container is on that network, its five ports published on 127.0.0.1 only."""
    network = f"pnb-net-{uuid.uuid4().hex[:6]}"
    name = f"{kernel}-net"
    podman_service.cli("network", "create", network)
    try:
        shell.run_line_magic("image_kernel", f"{image_of(kernel)} --name {name} --network {network}")
        assert KernelSpecManager().get_kernel_spec(name).metadata["podman_nb"]["network"] == network
        manager = KernelManager(kernel_name=name)
        manager.start_kernel(cwd=str(folder))
        client = started_client(manager)
        try:
            assert run(client, "import os; print(os.getcwd(), os.path.exists('/run/.containerenv'))") == \
                (f"{folder} True\n", None)
            (container,) = containers(podman_service, name)
            attrs = inspect(podman_service, container)
            assert list(attrs["NetworkSettings"]["Networks"]) == [network]
            info = manager.get_connection_info()
            bindings = attrs["HostConfig"]["PortBindings"]
            assert sorted(bindings) == sorted(f"{info[p]}/tcp" for p in PORTS)
            assert {(b["HostIp"], b["HostPort"]) for key, binds in bindings.items() for b in binds} == \
                {("127.0.0.1", str(info[p])) for p in PORTS}
        finally:
            client.stop_channels()
            manager.shutdown_kernel()
        assert containers(podman_service, name) == {}
    finally:
        kernels.remove(name)
        podman_service.cli("network", "rm", "-f", network, check=False)


def test_container_host_at_start_is_ignored(kernel, folder, podman_service, tmp_path):  # noqa: F811
    """The Jupyter server's CONTAINER_HOST and CONTAINER_CONNECTION name another, unreachable service: the kernel
    starts on the one its spec records."""
    env = dict(os.environ, CONTAINER_HOST=f"unix://{tmp_path}/elsewhere.sock", CONTAINER_CONNECTION="elsewhere")
    manager = KernelManager(kernel_name=kernel)
    manager.start_kernel(cwd=str(folder), env=env)
    client = started_client(manager)
    try:
        assert run(client, "print(open('data.txt').read().strip())") == ("from the host\n", None)
        assert list(containers(podman_service, kernel).values()) == ["running"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel()


def test_unreachable_service_says_so(kernel, folder, tmp_path, podman_service):  # noqa: F811
    """A kernel whose service is gone exits at once, nonzero, with one sentence in Jupyter's log (the launcher's
    stderr) naming the service and how to start one."""
    argv = list(KernelSpecManager().get_kernel_spec(kernel).argv)
    gone = f"unix://{tmp_path}/no-service.sock"
    argv[argv.index("--url") + 1] = gone
    code, text = failed_start(kernel, folder, tmp_path / "launcher.log", argv)
    assert code != 0
    assert_one_sentence(text, f"podman_nb kernel '{kernel}' ({image_of(kernel)}) cannot start: ",
                        f"No Podman service answered at {gone}", "start it with `podman system service")
    assert containers(podman_service, kernel) == {}


def test_unreachable_service_through_nbclient(kernel, folder, tmp_path, jupyter_data, capfd):  # noqa: F811
    """nbclient, as a notebook run sees it: the kernel dies before it is ready (nbclient says so at once, no hang)
    and the sentence is in the log it inherits (the Jupyter server's log, beside JupyterLab's "kernel died")."""
    import nbclient
    import nbformat
    spec = KernelSpecManager().get_kernel_spec(kernel)
    argv = list(spec.argv)
    argv[argv.index("--url") + 1] = f"unix://{tmp_path}/no-service.sock"
    name = f"{kernel}-gone"
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "kernel.json").write_text(json.dumps(dict(spec.to_dict(), argv=argv)))
    KernelSpecManager().install_kernel_spec(str(tmp_path / "spec"), name, user=True)
    try:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
        capfd.readouterr()
        client = nbclient.NotebookClient(nb, timeout=60, startup_timeout=60, kernel_name=name,
                                         resources={"metadata": {"path": str(folder)}})
        with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
            client.execute()
        atexit.unregister(client._cleanup_kernel)  # nbclient cleaned up already; its exit hook would assert
        assert "No Podman service answered at unix://" in capfd.readouterr().err
    finally:
        KernelSpecManager().remove_kernel_spec(name)


def test_folder_the_service_cannot_see(kernel, folder, tmp_path, podman_service):  # noqa: F811
    """The notebook's folder exists where Jupyter runs but not where the service runs (as with podman machine and a
    folder outside the home directory): the launcher runs in a mount namespace of its own where the folder is a
    tmpfs. One sentence says which folder and what podman machine shares; no container is left."""
    hidden = podman_service.workdir / f"hidden-{uuid.uuid4().hex[:6]}"
    hidden.mkdir()
    notebook = hidden / "nb"
    argv = list(KernelSpecManager().get_kernel_spec(kernel).argv)
    script = f"mount -t tmpfs tmpfs {shlex.quote(str(hidden))} && mkdir {shlex.quote(str(notebook))} && " \
             f"cd {shlex.quote(str(notebook))} && exec \"$@\""
    wrapped = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]
    code, text = failed_start(kernel, hidden, tmp_path / "launcher.log", wrapped)
    assert code != 0
    assert_one_sentence(text, f"the Podman service cannot see the notebook's folder {notebook}",
                        "on podman machine only folders under your home directory are shared with the VM")
    assert not notebook.exists()
    assert containers(podman_service, kernel) == {}


@pytest.fixture
def rootless(podman_service, kernel):  # noqa: F811
    """A user of its own and its rootless `podman system service` (the host's Podman, runc, its own runtime dir and
    storage) with the kernel's image loaded: (user id, base_url, a folder of the user's); everything removed after."""
    if podman_service.which != "4":
        pytest.skip("the rootless service is the host's Podman (4.3.1); the suite on Podman 4 runs this test")
    user = f"pnbrl{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", user], check=True)
    base = Path(tempfile.mkdtemp(prefix="pnb-rootless-"))
    service = None
    try:
        uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
        first = 300000 + (uid % 1000) * 65536
        subprocess.run(["usermod", "--add-subuids", f"{first}-{first + 65535}",
                        "--add-subgids", f"{first}-{first + 65535}", user], check=True)
        base.chmod(0o755)
        for sub in ("run", "graph", "runroot", "nb"):
            (base / sub).mkdir()
        (base / "run").chmod(0o700)
        conf = Path(podman_service.env["CONTAINERS_CONF"]).read_text().split("tmp_dir")[0]
        (base / "containers.conf").write_text(conf)
        (base / "storage.conf").write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{base}/graph"\n'
                                           f'runroot = "{base}/runroot"\n')
        subprocess.run(["chown", "-R", f"{uid}:{gid}", str(base)], check=True)
        env = {"PATH": os.environ["PATH"], "HOME": pwd.getpwnam(user).pw_dir, "XDG_RUNTIME_DIR": str(base / "run"),
               "CONTAINERS_CONF": str(base / "containers.conf"), "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"),
               "PODMAN_IGNORE_CGROUPSV1_WARNING": "1"}
        as_user = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups"]
        url = f"unix://{base}/run/podman.sock"
        log = open(base / "service.log", "w")
        service = subprocess.Popen(as_user + ["podman", "system", "service", "--time=0", url], env=env, cwd=base,
                                   stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while not (base / "run/podman.sock").exists():
            assert service.poll() is None and time.monotonic() < deadline, (base / "service.log").read_text()
            time.sleep(0.1)
        image = image_of(kernel)
        podman_service.cli("save", "-o", base / "image.tar", image)
        os.chmod(base / "image.tar", 0o644)
        subprocess.run(as_user + ["podman", "--remote", "--url", url, "load", "-i", str(base / "image.tar")],
                       env=env, check=True, capture_output=True)
        (base / "image.tar").unlink()
        yield uid, url, base / "nb"
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
            pause = base / "run/libpod/tmp/pause.pid"  # the user namespace's pause process that the service made
            if pause.exists():
                os.kill(int(pause.read_text()), signal.SIGKILL)
        subprocess.run(["userdel", "--remove", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_rootless_kernel_writes_files_as_the_user(rootless, kernel, jupyter_data):  # noqa: F811
    """Rootless, the kernel runs with the user's ownership (keep-id): inside it is the user's uid, and a file it
    writes in the notebook folder belongs to the user. The launcher runs as that user (the test's Python is
    readable to it through CAP_DAC_READ_SEARCH only, as it lives under root's home here)."""
    uid, url, notebook = rootless
    name = f"{kernel}-rootless"
    kernels.install(image_of(kernel), name, base_url=url)
    try:
        manager = KernelManager(kernel_name=name)
        manager.kernel_spec.argv = [
            "setpriv", f"--reuid={uid}", f"--regid={pwd.getpwuid(uid).pw_gid}", "--init-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *manager.kernel_spec.argv]
        manager.start_kernel(cwd=str(notebook))
        client = started_client(manager)
        try:
            assert run(client, "import os; open('mine.txt', 'w').write('x'); print(os.getuid())") == (f"{uid}\n", None)
        finally:
            client.stop_channels()
            manager.shutdown_kernel()
        assert (notebook / "mine.txt").stat().st_uid == uid
    finally:
        kernels.remove(name)
