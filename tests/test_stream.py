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


def test_build_events():
    objects = list(json_stream([(STREAMS / "podman4-libpod-build.bin").read_bytes()]))
    evs = list(events.build_events(objects))
    steps = [e for e in evs if isinstance(e, events.Step)]
    assert [(s.number, s.total) for s in steps] == [(1, 3), (2, 3), (3, 3)]
    assert steps[0].instruction.startswith("FROM ")
    assert any(isinstance(e, events.LogLine) and e.text == "step-two-ran" for e in evs)
    results = [e for e in evs if isinstance(e, events.Result)]
    assert results and len(results[-1].image_id) == 64


@pytest.mark.parametrize("version", ["4", "5"])
def test_libpod_pull_events(version):
    objects = list(json_stream([(STREAMS / f"podman{version}-libpod-pull.bin").read_bytes()]))
    evs = list(events.pull_events(objects))
    layers = [e for e in evs if isinstance(e, events.LayerProgress)]
    assert len(layers) == 2 and all(len(e.layer) == 12 for e in layers)
    assert isinstance(evs[-1], events.Result) and evs[-1].references == (evs[-1].image_id,)


def test_compat_pull_byte_progress():
    objects = list(json_stream([(STREAMS / "podman4-compat-pull-large.bin").read_bytes()]))
    layers = [e for e in events.pull_events(objects) if isinstance(e, events.LayerProgress)]
    with_bytes = [e for e in layers if e.current is not None]
    assert with_bytes and all(e.total and 0 < e.current <= e.total for e in with_bytes)
    assert any(e.done for e in layers)


def test_push_events():
    objects = list(json_stream([(STREAMS / "podman5-libpod-push.bin").read_bytes()]))
    evs = list(events.push_events(objects))
    assert [e for e in evs if isinstance(e, events.LayerProgress)]
    assert not [e for e in evs if isinstance(e, events.Error)]
