"""Unit tests (no service) for the stream decoder and the event conversion, over recorded real streams."""
import json
from pathlib import Path

import pytest

from podman_nb.api.stream import error_message, json_stream
from podman_nb.domain import events
from podman_nb.errors import StreamParseError

STREAMS = Path(__file__).parent / "data" / "streams"
RECORDED = sorted(STREAMS.glob("*.bin"))


def reference_objects(raw: bytes):
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def test_recordings_exist():
    assert len(RECORDED) >= 10


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_whole_and_every_split(path):
    raw = path.read_bytes()
    expected = reference_objects(raw)
    assert list(json_stream([raw])) == expected
    # Split at every byte boundary (two chunks), for the first 4 KiB of the recording.
    for cut in range(1, min(len(raw), 4096)):
        assert list(json_stream([raw[:cut], raw[cut:]])) == expected, cut
    # One byte at a time.
    assert list(json_stream(raw[i:i + 1] for i in range(len(raw)))) == expected


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_as_recorded_reads(path):
    """Chunks the sizes the service really sent them in."""
    raw = path.read_bytes()
    reads = json.loads(path.with_suffix(".json").read_text())["reads"]
    chunks, pos = [], 0
    for _, size in reads:
        chunks.append(raw[pos:pos + size])
        pos += size
    assert pos == len(raw)
    assert list(json_stream(chunks)) == reference_objects(raw)


def test_objects_arrive_as_soon_as_complete():
    seen = []

    def chunks():
        yield b'{"a": 1}\n{"b"'
        seen.append("second chunk asked")
        yield b': 2}\n'

    stream = json_stream(chunks())
    assert next(stream) == {"a": 1}
    assert seen == []
    assert next(stream) == {"b": 2}


def test_several_per_chunk_concatenated_multiline_and_utf8():
    text = '{"a": 1}{"b": 2}\n{\n "c": [1,\n 2]\n}\n{"d": "caf\u00e9 \u2603"}'
    raw = text.encode()
    assert list(json_stream([raw])) == [{"a": 1}, {"b": 2}, {"c": [1, 2]}, {"d": "caf\u00e9 \u2603"}]
    assert list(json_stream(raw[i:i + 1] for i in range(len(raw)))) == \
        [{"a": 1}, {"b": 2}, {"c": [1, 2]}, {"d": "caf\u00e9 \u2603"}]


def test_garbage_raises():
    with pytest.raises(StreamParseError):
        list(json_stream([b'{"a": 1}\nnot json at all\n']))
    with pytest.raises(StreamParseError):
        list(json_stream([b'{"a": ']))


@pytest.mark.parametrize("name", ["podman4-libpod-build-fail", "podman5-libpod-build-fail",
                                  "podman4-libpod-pull-missing", "podman4-compat-pull-missing",
                                  "podman4-libpod-pull-unauthorized", "podman5-libpod-pull-unauthorized"])
def test_error_after_progress(name):
    objects = list(json_stream([(STREAMS / f"{name}.bin").read_bytes()]))
    assert error_message(objects[-1])
    assert not any(error_message(o) for o in objects[:-1])
    evs = list(events.events(objects))
    assert isinstance(evs[-1], events.Error) and evs[-1].message == error_message(objects[-1])


def test_read_offers_every_event_and_hands_it_back():
    objects = list(json_stream([(STREAMS / "podman5-libpod-build-fail.bin").read_bytes()]))
    offered = []
    pairs = list(events.read(objects + ["not a line"], offered.append))
    assert [line for line, _ in pairs] == objects
    assert [e for _, found in pairs for e in found] == offered == list(events.events(objects))
    assert events.first_error(pairs[-1][1]) == offered[-1] and isinstance(offered[-1], events.Error)
    assert not any(events.first_error(found) for _, found in pairs[:-1])


def test_read_joins_a_line_the_service_cut_in_two():
    """Podman cuts its stream text where its buffer fills (seen in a 200,000-line build)."""
    lines = [{"stream": "line a\nline b par"}, {"stream": "t two\n"}, {"stream": "x"}, {"error": "boom"},
             {"stream": "tail"}]
    assert list(events.read(lines)) == [
        (lines[0], (events.LogLine("line a"),)), (lines[1], (events.LogLine("line b part two"),)),
        (lines[2], ()), (lines[3], (events.LogLine("x"), events.Error("boom"))),
        (lines[4], ()), (None, (events.LogLine("tail"),))]


def test_load_answer_names_references():
    assert list(events.event_from_line({"Names": ["localhost/a:1", "sha256:" + "0" * 64]})) == [
        events.Result("", ("localhost/a:1", "sha256:" + "0" * 64))]


def test_build_events():
    objects = list(json_stream([(STREAMS / "podman4-libpod-build.bin").read_bytes()]))
    evs = list(events.events(objects))
    steps = [e for e in evs if isinstance(e, events.Step)]
    assert [(s.number, s.total) for s in steps] == [(1, 3), (2, 3), (3, 3)]
    assert steps[0].instruction.startswith("FROM ")
    assert any(isinstance(e, events.LogLine) and e.text == "step-two-ran" for e in evs)
    results = [e for e in evs if isinstance(e, events.Result)]
    assert results and len(results[-1].image_id) == 64


@pytest.mark.parametrize("version", ["4", "5"])
def test_libpod_pull_events(version):
    objects = list(json_stream([(STREAMS / f"podman{version}-libpod-pull.bin").read_bytes()]))
    evs = list(events.events(objects))
    layers = [e for e in evs if isinstance(e, events.LayerProgress)]
    assert len(layers) == 2 and all(len(e.layer) == 12 for e in layers)
    assert isinstance(evs[-1], events.Result) and evs[-1].references == (evs[-1].image_id,)


def test_compat_pull_byte_progress():
    objects = list(json_stream([(STREAMS / "podman4-compat-pull-large.bin").read_bytes()]))
    layers = [e for e in events.events(objects) if isinstance(e, events.LayerProgress)]
    with_bytes = [e for e in layers if e.current is not None]
    assert with_bytes and all(e.total and 0 < e.current <= e.total for e in with_bytes)
    assert any(e.done for e in layers)


def test_push_events():
    objects = list(json_stream([(STREAMS / "podman5-libpod-push.bin").read_bytes()]))
    evs = list(events.events(objects))
    assert [e for e in evs if isinstance(e, events.LayerProgress)]
    assert not [e for e in evs if isinstance(e, events.Error)]


# --- api.registry (no service): references, registries.conf, the Bearer token flow -------------------
import base64  # noqa: E402
import hashlib  # noqa: E402
import threading  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from podman_nb.api import registry  # noqa: E402
from podman_nb.domain.references import registry_location  # noqa: E402
from podman_nb.errors import APIError, ImageNotFound  # noqa: E402


def test_registry_location():
    assert registry_location("busybox") == ("docker.io", "library/busybox", "latest")
    assert registry_location("quay.io/a/b:1.0") == ("quay.io", "a/b", "1.0")
    assert registry_location("127.0.0.1:5000/x/y") == ("127.0.0.1:5000", "x/y", "latest")
    digest = "sha256:" + "a" * 64
    assert registry_location(f"localhost/x:t@{digest}") == ("localhost", "x", digest)


def test_registries_conf_insecure(tmp_path, monkeypatch):
    conf = tmp_path / "registries.conf"
    conf.write_text('unqualified-search-registries = []\n\n[[registry]]\nlocation = "10.0.0.1:5000"\n'
                    'insecure = true  # comment\n\n[[registry]]\nprefix = "example.com/team"\n'
                    'location = "mirror.example.com/team"\ninsecure = true\n'
                    '[[registry.mirror]]\nlocation = "m.example.com"\ninsecure = false\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    assert registry.registry_is_insecure("10.0.0.1:5000")
    assert not registry.registry_is_insecure("10.0.0.1:5001")
    assert registry.registry_is_insecure("example.com", "team/app")
    assert not registry.registry_is_insecure("example.com", "other/app")


class _TokenRegistry(BaseHTTPRequestHandler):
    """A plain-HTTP registry that wants a Bearer token from its /token realm (Basic creds required)."""
    config = json.dumps({"os": "linux", "architecture": "arm64", "variant": "v8"}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                                      "size": len(config)}, "layers": []}).encode()

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        host = self.headers["Host"]
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"u:pw").decode():
                return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}')
            assert "scope=repository%3Ateam%2Fapp%3Apull" in self.path
            return self._send(200, b'{"token": "tok123"}')
        if self.headers.get("Authorization") != "Bearer tok123":
            return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              [("WWW-Authenticate", f'Bearer realm="http://{host}/token",service="reg",'
                                                    'scope="repository:team/app:pull"')])
        if self.path == "/v2/team/app/manifests/1.0":
            return self._send(200, self.manifest, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        if self.path.startswith("/v2/team/app/blobs/sha256:"):
            return self._send(200, self.config)
        return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')


@pytest.fixture
def token_registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_bearer_flow(token_registry):
    attrs = registry.inspect_distribution(registry_location(f"{token_registry}/team/app:1.0"), {"username": "u", "password": "pw"},
                                          tls_verify=False)
    assert attrs["Descriptor"]["digest"] == "sha256:" + hashlib.sha256(_TokenRegistry.manifest).hexdigest()
    assert attrs["Descriptor"]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert attrs["Platforms"] == [{"os": "linux", "architecture": "arm64", "variant": "v8"}]
    with pytest.raises(APIError) as info:
        registry.inspect_distribution(registry_location(f"{token_registry}/team/app:1.0"), {"username": "u", "password": "nope-pw"},
                                      tls_verify=False)
    assert info.value.status_code == 401 and "nope-pw" not in str(info.value)
    with pytest.raises(ImageNotFound):
        registry.inspect_distribution(registry_location(f"{token_registry}/team/app:2.0"), {"username": "u", "password": "pw"},
                                      tls_verify=False)


def test_credentials_from_the_auth_file_podman_login_writes(token_registry, tmp_path, monkeypatch):
    """Without auth_config the registry client reads the auth files as podman does (most specific key first)."""
    location = registry_location(f"{token_registry}/team/app:1.0")
    auth_file = tmp_path / "auth.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    with pytest.raises(APIError) as info:  # no file: no credentials
        registry.inspect_distribution(location, tls_verify=False)
    assert info.value.status_code == 401

    def b64(text):
        return base64.b64encode(text.encode()).decode()
    auth_file.write_text(json.dumps({"auths": {token_registry: {"auth": b64("u:wrong")},
                                               f"{token_registry}/team": {"auth": b64("u:pw")}}}))
    attrs = registry.inspect_distribution(location, tls_verify=False)
    assert attrs["Platforms"] == [{"os": "linux", "architecture": "arm64", "variant": "v8"}]
    monkeypatch.delenv("REGISTRY_AUTH_FILE")  # then XDG_RUNTIME_DIR's, then Docker's config.json
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {f"https://{token_registry}": {"auth": b64("u:pw")}}}))
    assert registry.inspect_distribution(location, tls_verify=False)["Platforms"]
    assert registry.auth_files() == [str(tmp_path / "run" / "containers" / "auth.json"),
                                     str(tmp_path / "config" / "containers" / "auth.json"),
                                     str(tmp_path / "docker" / "config.json")]
