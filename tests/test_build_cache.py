"""A build cache shared through a registry between two hosts: Podman 4.3.1 builds with --cache-to, Podman 5.4.2
then builds the same project with --cache-from (and --cache-to): no RUN step runs again and the image has the same
layers; after a requirement changes only the steps after it run. Two services of this module's own (whatever
PODMAN_NB_TEST_PODMAN says), one registry: the base image goes through it, as a team's would.
A plain-HTTP registry that registries.conf does not list takes the cache only with --no-tls-verify.

The requirements come as a build argument, not a COPY: buildah 1.28 (Podman 4.3.1) and 1.39 (5.4.2) name a copied
file by different digests (``COPY file:3b5e39… in /srv/`` and ``COPY file:98c316…`` for the same file), so
between these two versions no step after a COPY is found in the other's cache; between hosts of one version it is.
"""
import uuid

import pytest
from IPython.testing.globalipapp import get_ipython

import services
from podman_nb.errors import BuildError
from podman_nb.notebook import arguments, magics

PROJECT = """FROM {base}
RUN echo before-the-requirements-{mark} | tr a-z A-Z
ARG REQUIREMENTS
RUN echo installing $REQUIREMENTS | tr a-z A-Z
RUN echo after-the-requirements-{mark} | tr a-z A-Z
"""


@pytest.fixture(scope="module")
def hosts(registries, tmp_path_factory):
    four = services.PodmanService("4", tmp_path_factory.mktemp("cache-four"), registries.registries_conf,
                                  registries.ca_files)
    five = services.PodmanService("5", tmp_path_factory.mktemp("cache-five"), registries.registries_conf,
                                  registries.ca_files)
    try:
        yield four, five, services.share_base_image(four, five, registries, uuid.uuid4().hex[:8])
    finally:
        four.close()
        five.close()


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = get_ipython() or InteractiveShell.instance()
    ip.run_line_magic("load_ext", "podman_nb")
    ip.run_line_magic("config", "PodmanMagics.progress = 'none'")
    yield ip
    ip.run_line_magic("config", "PodmanMagics.base_url = None")


def build_on(ip, service, line, containerfile):
    """%%image_build LINE on SERVICE: (its Image, its log text)."""
    ip.run_line_magic("config", f"PodmanMagics.base_url = {service.base_url!r}")
    image = ip.run_cell_magic("image_build", line, containerfile)
    return image, "\n".join(image.build_log.text)


def test_a_second_host_reuses_the_first_ones_layers(shell, hosts, registries):
    four, five, base = hosts
    mark = uuid.uuid4().hex[:12]
    cache = f"{registries.plain.host}/team/cache-{mark}"
    containerfile = PROJECT.format(base=base, mark=mark)
    line = f"-t localhost/team/env:{mark} --build-arg REQUIREMENTS=six==1.16.0"
    before, after = f"BEFORE-THE-REQUIREMENTS-{mark.upper()}", f"AFTER-THE-REQUIREMENTS-{mark.upper()}"
    first, log = build_on(shell, four, f"{line} --cache-to {cache}", containerfile)
    assert before in log and "INSTALLING SIX==1.16.0" in log and after in log, log
    second, log = build_on(shell, five, f"{line} --cache-from {cache} --cache-to {cache}", containerfile)
    assert "BEFORE" not in log and "INSTALLING" not in log and "AFTER" not in log, log  # no RUN step ran again
    assert log.count("Cache pulled from remote") == 4, log  # the three RUN steps and the ARG
    assert second.attrs["RootFS"]["Layers"] == first.attrs["RootFS"]["Layers"]

    line += ",idna==3.7"  # a changed requirement, on the second host: the steps from it on run, not those before
    _, log = build_on(shell, five, f"{line} --cache-from {cache} --cache-to {cache}", containerfile)
    assert "BEFORE" not in log and "INSTALLING SIX==1.16.0,IDNA==3.7" in log and after in log, log
    _, log = build_on(shell, four, f"{line} --cache-from {cache}", containerfile)
    assert "BEFORE" not in log and "INSTALLING" not in log and "AFTER" not in log, log  # and the first takes them


def test_image_env_cache_goes_both_ways():
    args = arguments.parse(magics.PodmanMagics.image_env, "%image_env", "proj -t x --cache reg.example/team/c")
    kwargs = arguments.build_kwargs(args)
    assert (kwargs["cache_to"], kwargs["cache_from"]) == ("reg.example/team/c", "reg.example/team/c")
    assert kwargs["tls_verify"] is None  # unsent: registries.conf decides
    args = arguments.parse(magics.PodmanMagics.image_env, "%image_env", "proj -t x --cache r.example/c --no-tls-verify")
    assert arguments.build_kwargs(args)["tls_verify"] is False
    args = arguments.parse(magics.PodmanMagics.image_build, "%%image_build", "--cache-from reg.example/a")
    assert (arguments.build_kwargs(args)["cache_from"], arguments.build_kwargs(args)["cache_to"]) == (
        "reg.example/a", None)


@pytest.fixture(scope="module")
def unlisted(tmp_path_factory):
    """A plain-HTTP registry that registries.conf does not mark insecure: only --no-tls-verify reaches it."""
    registry = services.Registry(tmp_path_factory.mktemp("unlisted-registry"), tls=False)
    yield registry
    registry.stop()


def test_no_tls_verify_reaches_a_plain_registry_that_registries_conf_does_not_list(shell, hosts, unlisted):
    four, five, base = hosts
    mark = uuid.uuid4().hex[:12]
    cache = f"{unlisted.host}/team/cache-{mark}"
    containerfile = f"FROM {base}\nRUN echo unlisted-{mark} | tr a-z A-Z\n"
    for service in (four, five):  # the cache push goes over TLS, which the plain registry cannot answer
        with pytest.raises(BuildError) as failed:
            build_on(shell, service, f"--cache-to {cache}", containerfile.replace("unlisted", "refused"))
        said = str(failed.value)  # one sentence naming the cache and why, then the hint
        assert said.startswith(f"The build could not push its cache to {cache}: pinging container registry "), said
        assert said.endswith("HTTPS client (hint: this registry speaks plain HTTP: use --no-tls-verify)"), said
    build_on(shell, four, f"--cache-to {cache} --no-tls-verify", containerfile)
    _, log = build_on(shell, five, f"--cache-from {cache} --no-tls-verify", containerfile)
    assert f"UNLISTED-{mark.upper()}" not in log and log.count("Cache pulled from remote") == 1, log
