"""Rebuilds that reuse what they can, against a real Podman service and the offline wheel index of
tests/envservices.py: adding a requirement reruns uv's step for requirements.txt and keeps the kernel's
packages (ipykernel and the packages it brings, a step of their own before it) from the cache, and takes the
wheels it had from uv's cache mount (the index is plain http, which pip's cache never served); a package
the index does not have (or that a -c constraint rules out) fails the build with one sentence naming it, and
nothing is tagged.

Two builds of one project (ipykernel's wheels from the local index) and two failing builds.
"""
from __future__ import annotations

import re

import pytest

from podman_nb import environment
from podman_nb.errors import BuildError
from test_environment import built, cached_steps, package_index, pip_index, python_base, run_in, unique  # noqa: F401


def cached(steps, ending):
    """Whether the one step whose instruction ends with ``ending`` came from the cache."""
    found = [hit for text, hit in steps.items() if text.rstrip().endswith(ending)]
    assert len(found) == 1, (ending, list(steps))
    return found[0]


def test_added_requirement_keeps_the_kernel_packages(tmp_path, podman_service, python_base, pip_index, built):  # noqa: F811
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("six==1.16.0\n")
    env = environment.from_folder(project, base=python_base, packages=("ipykernel",))
    image, log = built(env)
    tag = image.tags[0]
    assert cached(cached_steps(log), " ipykernel") is False  # the first build installs it

    (project / "requirements.txt").write_text("six==1.16.0\nidna==3.7\n")
    seen = len(pip_index.requests())
    _, log = built(environment.from_folder(project, base=python_base, packages=("ipykernel",)), tag=tag)
    steps = cached_steps(log)
    assert cached(steps, " ipykernel") is True
    assert cached(steps, " -r requirements.txt") is False
    wheels = re.findall(r'"GET /simple/\S+/(\S+\.whl) HTTP/[\d.]+" 200', "\n".join(pip_index.requests()[seen:]))
    assert set(wheels) == {"idna-3.7-py3-none-any.whl"}  # six's wheel came from uv's cache mount (a plain-http index)
    out = run_in(podman_service, tag, "python3 -c 'import ipykernel, idna, six; print(idna.__version__)'")
    assert out == "3.7"


@pytest.mark.parametrize("requirements, constraints, missing", [
    ("six==1.16.0\nnosuchpkg-pnb==1.0\n", None, "nosuchpkg-pnb==1.0"),
    ("-c constraints.txt\nidna\n", "idna==3.6\n", "idna==3.6"),  # the index has 3.7 only: -c is applied
])
def test_missing_package_says_its_name(tmp_path, client, python_base, pip_index, built,  # noqa: F811
                                       requirements, constraints, missing):
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text(requirements)
    if constraints:
        (project / "constraints.txt").write_text(constraints)
    tag = unique()
    with pytest.raises(BuildError) as caught:
        built(environment.from_folder(project, base=python_base), tag=tag)
    assert str(caught.value) == (f"uv found no distribution for {missing} in the package index: check the "
                                 "name and version, and PIP_INDEX_URL / PIP_EXTRA_INDEX_URL")
    assert not client.images.exists(tag)
