"""Code written for podman-py catches our errors as it catches podman-py's.

For every ImagesManager and Image method, each error podman-py 5.8 documents under ``Raises:`` (or raises
for a bad argument) is provoked on the real service. Ours must be an instance of everything podman-py's
would be: its ``podman.errors`` name (ours has the same names), and the classes podman-py's derives
from: its APIError is a ``requests.HTTPError`` and ImageNotFound an APIError; ``build()`` with neither
``path`` nor ``fileobj`` raises TypeError; a bad platform in ``pull()`` raises ValueError.
"""
import io
import tarfile

import pytest
import requests

import podman_nb
from podman_nb import errors

BASE = "localhost/podman-nb/busybox:latest"

# A podman-py class -> the classes an error of ours must be an instance of, to be caught where that one is.
CAUGHT_AS = {
    "APIError": (errors.APIError, requests.exceptions.HTTPError),
    "ImageNotFound": (errors.ImageNotFound, errors.APIError, requests.exceptions.HTTPError),
    "BuildError": (errors.BuildError, errors.PodmanError, errors.DockerException),
    "PodmanError": (errors.PodmanError, errors.DockerException),
    "InvalidArgument": (errors.InvalidArgument, errors.PodmanError, errors.DockerException),
    "TypeError": (TypeError,),
    "ValueError": (ValueError,),
}


def _containerfile(text):
    return io.StringIO(f"FROM {BASE}\n{text}\n")


def _tar(name, data):
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return body.getvalue()


class World:
    """What the calls below need: our client, one for a socket nobody serves, an image the service lacks."""

    def __init__(self, client, base_image, registries):
        self.images = client.images
        self.dead = podman_nb.PodmanClient(base_url="unix:///nonexistent/podman.sock").images
        self.base_image, self.registries = base_image, registries
        self.image = client.images.get(base_image.local)
        self.gone = client.images.prepare_model({"Id": "0" * 64})


# (method, what podman-py raises there, a call that makes it happen)
CASES = [
    ("build", "TypeError", lambda w: w.images.build(tag="localhost/podman-nb/no-context")),
    ("build", "PodmanError", lambda w: w.images.build(fileobj=_containerfile(""), gzip=True, encoding="bzip2")),
    ("build", "BuildError", lambda w: w.images.build(fileobj=_containerfile("RUN exit 3"))),
    ("build", "APIError", lambda w: w.images.build(fileobj=_containerfile(""), platform="a/b/c/d/e")),  # a 400
    ("exists", "APIError", lambda w: w.dead.exists(BASE)),  # podman-py raises APIError when nothing answers
    ("get", "ImageNotFound", lambda w: w.images.get("localhost/podman-nb/no-such-image:nope")),
    ("get", "APIError", lambda w: w.dead.get(BASE)),
    ("get_registry_data", "APIError", lambda w: w.images.get_registry_data(w.base_image.secure)),  # no credentials
    ("list", "APIError", lambda w: w.images.list(filters={"colour": "red"})),
    ("load", "PodmanError", lambda w: w.images.load()),
    ("load", "PodmanError", lambda w: w.images.load(data=b"x", file_path="/dev/null")),
    ("load", "APIError", lambda w: list(w.images.load(data=_tar("not-an-image", b"x")))),
    ("prune", "APIError", lambda w: w.images.prune(filters={"colour": "red"})),
    ("push", "APIError", lambda w: w.images.push("localhost/podman-nb/no-such-image", "nope")),
    ("pull", "APIError", lambda w: w.images.pull(f"{w.registries.plain.host}/podman-nb/no-such-image",
                                                 tls_verify=False)),
    ("pull", "ValueError", lambda w: w.images.pull(BASE, platform="linux/amd64/v1/extra")),
    ("remove", "ImageNotFound", lambda w: w.images.remove("localhost/podman-nb/no-such-image:nope")),
    ("remove", "APIError", lambda w: w.images.remove("UPPER/Case")),
    ("search", "APIError", lambda w: w.images.search("busybox", filters={"colour": "red"})),
    ("scp", "APIError", lambda w: w.images.scp(BASE, "nosuchconnection::")),
    ("Image.history", "APIError", lambda w: w.gone.history()),
    ("Image.reload", "ImageNotFound", lambda w: w.gone.reload()),
    ("Image.remove", "ImageNotFound", lambda w: w.gone.remove()),
    ("Image.save", "APIError", lambda w: list(w.gone.save())),
    ("Image.save", "InvalidArgument", lambda w: w.image.save(named="localhost/podman-nb/not-its-tag:1")),
    ("RegistryData.has_platform", "InvalidArgument",
     lambda w: w.images.get_registry_data(w.base_image.plain).has_platform("linux/amd64/v8/extra")),
    ("RegistryData.has_platform", "InvalidArgument", lambda w: w.images.get_registry_data(w.base_image.plain).has_platform(42)),
    ("Image.tag", "ImageNotFound", lambda w: w.gone.tag("localhost/podman-nb/tagged", "1")),
    ("Image.tag", "APIError", lambda w: w.image.tag("Not A Valid/Name", "x")),
]


@pytest.fixture
def world(client, base_image, registries):
    return World(client, base_image, registries)


@pytest.mark.parametrize("method,raises,call", CASES, ids=[f"{m}-{r}" for m, r, _ in CASES])
def test_caught_as_podman_py_raises(world, method, raises, call):
    with pytest.raises(Exception) as info:
        call(world)
    for cls in CAUGHT_AS[raises]:
        assert isinstance(info.value, cls), f"{method}: {info.value!r} is no {cls.__name__}"


def test_the_names_of_podman_errors():
    """Every podman.errors name an images user may catch, with its built-in base where podman-py has one."""
    for name in ("APIError", "BuildError", "DockerException", "ImageNotFound", "InvalidArgument", "NotFound",
                 "PodmanError", "StreamParseError"):
        assert isinstance(getattr(errors, name), type), name
    assert issubclass(errors.StreamParseError, RuntimeError)  # podman-py's json_stream raises it for bad JSON
