"""What a pull shows, on every path (issue 9): bytes where Podman gives them, else each layer's size from
the manifest; the same layer count live and in the summary; ``--no-tls-verify`` on a registry that
registries.conf already marks insecure goes through the Docker-compatible endpoint (its lines carry bytes)."""
import io
import uuid

import pytest

from podman_nb.domain import events
from podman_nb.notebook.progress_display import make_display
from test_images_manager import pushed_behind_slow_proxy, slow_secure_registry  # noqa: F401  (a fixture)


def _drop(client, *names):
    for name in names:
        if client.images.exists(name):
            client.images.remove(name, force=True)


@pytest.fixture
def layered(client, base_image, registries):
    """An image of the base plus two ~1 MB layers, pushed to the plain registry and absent locally."""
    name = f"{registries.plain.host}/podman-nb/pull-display-{uuid.uuid4().hex[:8]}:1"
    client.images.build(fileobj=io.StringIO(f"FROM {base_image.local}\nRUN head -c 1000000 /dev/urandom > /a\n"
                                            "RUN head -c 1000000 /dev/urandom > /b\n"), tag=name)
    layers = len(client.images.get(name).attrs["RootFS"]["Layers"])
    client.images.push(name, tls_verify=False)
    client.images.remove(name, force=True)
    yield name, layers
    _drop(client, name)


def test_no_tls_verify_on_a_registry_marked_insecure_streams_docker_lines(client, layered):
    name, _ = layered
    lines = list(client.images.pull(name, tls_verify=False, stream=True, decode=True))
    assert lines and not [line for line in lines if "stream" in line], lines  # no libpod text lines
    assert any(line.get("status") == "Download complete" for line in lines), lines


@pytest.mark.parametrize("options", [{}, {"tls_verify": False}, {"policy": "newer"}, {"platform": "linux/amd64"}],
                         ids=["default", "no-tls-verify", "policy", "platform"])
def test_every_pull_shows_each_layer_size_and_one_layer_count(client, layered, base_image, podman_service,
                                                             options):
    name, layers = layered
    shown = make_display("pull", name, mode="none")
    got = []
    image = client.images.pull(name, progress=lambda event: (got.append(event), shown.update(event)), **options)
    summary = shown.close()
    sizes = [e for e in got if isinstance(e, events.LayerSizes)]
    assert len(sizes) == 1 and len(sizes[0].layers) == layers, got
    assert all(size > 0 for _, size in sizes[0].layers)
    assert summary.layer_count == layers == len(image.attrs["RootFS"]["Layers"]), (summary, got)
    assert summary.layers_done == layers
    # the base was there: Docker-style lines say so, Podman 4's libpod lines (a pull policy) do not
    says_present = podman_service.version.startswith("5") or "policy" not in options
    assert summary.layers_present == (1 if says_present else 0), (summary, got)
    assert summary.size >= 2_000_000 and "compressed size: " in repr(summary)  # not %images' size on disk


@pytest.mark.parametrize("options", [{}, {"tls_verify": False}, {"policy": "newer"}, {"platform": "linux/amd64"}],
                         ids=["default", "no-tls-verify", "policy", "platform"])
def test_which_pulls_report_bytes(client, base_image, registries, slow_secure_registry, podman_service,  # noqa: F811
                                  options):
    """Podman 5 (compatMode) reports bytes for every option; Podman 4 only on the Docker-compatible
    endpoint (no policy, no tls_verify for a registry not marked insecure: this proxy's port is not)."""
    slow, auth = pushed_behind_slow_proxy(client, base_image, registries, slow_secure_registry, 38, "bytes")
    got = []
    image = client.images.pull(slow, auth_config=auth, progress=got.append, **options)
    try:
        with_bytes = [e for e in got if isinstance(e, events.LayerProgress) and e.current and e.total]
        expected = podman_service.version.startswith("5") or not set(options) - {"platform"}
        assert bool(with_bytes) == expected, (podman_service.version, options, got[:20])
        assert [e for e in got if isinstance(e, events.LayerSizes)]  # sizes in any case
    finally:
        client.images.remove(image.id, force=True)
