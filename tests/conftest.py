"""Session fixtures that start real services: an isolated Podman service (3.x, 4.x, 5.x, newest), two registries, a base image.

PODMAN_NB_TEST_PODMAN selects the Podman: "4" (default, the host's 4.3.1), "3" (Debian bullseye chroot, 3.0.1),
"5" (Debian trixie chroot, 5.4.2), "sid" (Debian sid chroot: the newest), a comma-separated list of these, or "all".
A service that fails to start makes the tests error, never skip. The versions that ran end the terminal summary.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import services  # noqa: E402

# "all": the services the whole suite is green on; 3 and sid run the compatibility suite (scripts/test, README)
_ALIASES = {"all": ["4", "5"], "both": ["4", "5"]}
VERSIONS_RAN: dict = {}  # which -> Podman version that answered


def podman_versions():
    value = os.environ.get("PODMAN_NB_TEST_PODMAN", "4").strip().lower() or "4"
    chosen = _ALIASES.get(value) or [v.strip() for v in value.split(",") if v.strip()]
    wrong = [v for v in chosen if v not in services.PODMANS]
    if wrong or not chosen:
        raise pytest.UsageError(f"PODMAN_NB_TEST_PODMAN must be {', '.join(services.PODMANS)}, a comma-separated "
                                f"list of them, or all; not {value!r}")
    return chosen


@pytest.fixture(scope="session")
def registries(tmp_path_factory):
    """.secure (TLS + htpasswd: .username/.password/.ca_path) and .plain (HTTP, insecure=true) Registry objects."""
    regs = services.Registries(tmp_path_factory.mktemp("registries"))
    yield regs
    regs.stop()


@pytest.fixture(scope="session", params=podman_versions(), ids=lambda v: f"podman{v}")
def podman_service(request, registries, tmp_path_factory):
    """A running services.PodmanService; os.environ carries its CONTAINERS_* files while it lives."""
    service = services.PodmanService(request.param, tmp_path_factory.mktemp(f"podman{request.param}-"),
                                     registries.registries_conf, registries.ca_files)
    VERSIONS_RAN[request.param] = service.version
    saved = {k: os.environ.get(k) for k in service.env}
    os.environ.update(service.env)
    yield service
    service.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module", params=podman_versions(), ids=lambda v: f"podman{v}")
def podman_which(request):
    """Which Podman a test that starts services of its own runs them with (PODMAN_NB_TEST_PODMAN's choice)."""
    return request.param


@pytest.fixture(scope="session")
def podman_major(podman_service):
    """The service's major version (3, 4, 5, ...): tests assert where versions differ, they do not skip."""
    return int(podman_service.version.split(".")[0])


@pytest.fixture(scope="session")
def base_image(podman_service, registries):
    """services.BaseImage: .local (localhost/podman-nb/busybox:latest), .secure and .plain registry names, .id."""
    return services.build_base_image(podman_service, registries)


@pytest.fixture
def client(podman_service):
    """podman_nb.PodmanClient talking to the test service."""
    import podman_nb  # imported lazily: the library may not import yet while conftest must

    c = podman_nb.PodmanClient(base_url=podman_service.base_url)
    yield c
    close = getattr(c, "close", None)
    if close is not None:
        close()


def pytest_terminal_summary(terminalreporter):
    """The Podman versions that ran; one line of reliability figures (tests/reliability.py), when those suites ran."""
    import reliability

    if VERSIONS_RAN:
        terminalreporter.write_line("podman services: " + ", ".join(f"{which} = Podman {version}"
                                                                    for which, version in VERSIONS_RAN.items()))

    if not any(reliability.COUNTS.values()) and not reliability.NOTES:
        return
    terminalreporter.write_line(reliability.summary())
    for where, excerpt in reliability.LEAKS:
        terminalreporter.write_line(f"  leak: {where}: {excerpt}")
    for text in reliability.NOTES:
        terminalreporter.write_line(f"  note: {text}")
