"""A service that restarts between two cells: the next magic works without %reload_ext; a socket-activated service
(tests/activator.py) is started by the magic that finds it down; a service that comes back as another Podman is
told, and the version-dependent paths (api/features.py) follow the new one.

These tests start services of their own (the session's are shared) of the Podman PODMAN_NB_TEST_PODMAN selects;
the one that changes versions runs 5.4.2 and 4.3.1 whatever it says.
"""
from __future__ import annotations

import contextlib

import pytest

import reliability
import services
from activator import Activator


@pytest.fixture(scope="module")
def shell():
    with reliability.ipython_shell() as ip:
        ip.run_line_magic("load_ext", "podman_nb")
        ip.run_line_magic("config", "PodmanMagics.progress = 'none'")
        ip.run_line_magic("config", "PodmanMagics.show_tracebacks = False")
        yield ip


def cell(ip, code):
    """Run one cell; it must succeed. Returns its value (the cell's last expression)."""
    result = ip.run_cell(code, store_history=False)
    assert result.success, (code, result.error_before_exec, result.error_in_exec)
    return result.result


def point_at(ip, url):
    ip.run_line_magic("config", f"PodmanMagics.base_url = {url!r}")


def labelled_image(service, name):
    """localhost/NAME with the labels pnb.a=1 and pnb.b=1, built by the service's own CLI (FROM the busybox base)."""
    services.build_base_image(service)
    ctx = service.workdir / f"ctx-{name}"
    ctx.mkdir(exist_ok=True)
    (ctx / "Containerfile").write_text(f"FROM {services.LOCAL_BASE_IMAGE}\nLABEL pnb.a=1 pnb.b=1\n")
    service.cli("build", "-t", f"localhost/{name}", "-f", ctx / "Containerfile", ctx)


def test_the_next_magic_after_a_restart_between_cells(shell, tmp_path, podman_which):
    service = services.PodmanService(podman_which, tmp_path / "svc")
    try:
        services.build_base_image(service)
        point_at(shell, service.base_url)
        before = cell(shell, "%images")
        service.kill()  # as a crash would; then started again on the same socket and storage
        service.start()
        after = cell(shell, "%images")
        assert list(after["repository"]) == list(before["repository"])
        service.stop()
        service.start()
        assert services.LOCAL_BASE_IMAGE.rsplit(":", 1)[0] in list(cell(shell, "%images")["repository"])
    finally:
        service.close()


def test_a_socket_activated_service_is_started_by_the_magic_that_finds_it_down(shell, tmp_path, podman_which):
    service = services.PodmanService(podman_which, tmp_path / "svc")  # its config and storage; the activator runs it
    services.build_base_image(service)
    service.stop()
    activator = Activator(service.socket_path, service._podman() + ["system", "service", "--time=1"],
                          service._service_env(), tmp_path / "activated.log")
    try:
        assert not activator.service_running()
        point_at(shell, service.base_url)
        listed = cell(shell, "%images")
        assert services.LOCAL_BASE_IMAGE.rsplit(":", 1)[0] in list(listed["repository"])
        assert activator.starts == 1
        # the service exits (as after --time idle; the listing cache's events stream, on by default on 4.3.1, keeps
        # it from going idle), the socket stays; the next magic waits for a new one
        activator.child.terminate()
        assert wait_until(lambda: not activator.service_running(), 30), "the activated service did not exit"
        assert len(cell(shell, "%images")) == len(listed)
        assert activator.starts == 2
    finally:
        activator.stop()
        service.close()


def wait_until(predicate, timeout):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_service_that_comes_back_as_another_podman(shell, tmp_path):
    """5.4.2 on a socket, then 4.3.1 on that socket (a downgrade), then 5.4.2 again (an upgrade), between cells.
    Podman 4 matches nothing given two label filters (Features.list_ands_label_filters): a client that kept 5's
    answers would send both and list nothing."""
    five = services.PodmanService("5", tmp_path / "five")
    four = None
    try:
        labelled_image(five, "pnb-labelled-five")
        four = services.PodmanService("4", tmp_path / "four")
        labelled_image(four, "pnb-labelled-four")
        four.stop()
        four.socket_path, four.base_url = five.socket_path, five.base_url  # the same socket, in turn
        point_at(shell, five.base_url)
        listing = "%images --filter label=pnb.a=1 --filter label=pnb.b=1"
        seen = []
        for service, name in ((five, "five"), (four, "four"), (five, "five")):
            if service is four:
                five.stop()
            elif seen:
                four.stop()
            service.start()
            assert list(cell(shell, listing)["repository"]) == [f"localhost/pnb-labelled-{name}"]
            magics = shell.magics_manager.registry["PodmanMagics"]
            seen.append(magics.client.api.features.version)
        assert seen == [five.version, "4.3.1", five.version]
    finally:
        for s in (four, five):
            if s is not None:
                with contextlib.suppress(Exception):
                    s.close()
