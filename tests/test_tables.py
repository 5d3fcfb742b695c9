"""Unit tests for the image, history and search DataFrames and their human-readable reprs."""

from __future__ import annotations

import pandas as pd
import pytest

from podman_nb.errors import InvalidArgument
from podman_nb.notebook.tables import (IMAGE_COLUMNS, SizeFrame, history_frame, human_size,
                                       images_frame, search_frame)

ALPINE_ID = "4d9871ae99bb3517324ba2759d1db78681b2461d5b34385162e74f229ad3a02d"
OLD_ID = "ab" * 32
UNTAGGED_ID = "cd" * 32

# shaped like GET /libpod/images/json from podman 4/5
ROWS = [
    {"Id": OLD_ID, "ParentId": "", "RepoTags": ["quay.io/me/old:1"], "RepoDigests": [],
     "Created": 1600000000, "Size": 5_590_000_000, "SharedSize": 0, "VirtualSize": 5_590_000_000,
     "Labels": {"maintainer": "me"}, "Containers": 2, "Names": ["quay.io/me/old:1"],
     "Digest": "sha256:0ld", "History": []},
    {"Id": ALPINE_ID, "ParentId": "", "RepoTags": ["localhost/pnb-test:v1", "localhost:5000/x/y:v2"],
     "RepoDigests": ["localhost/pnb-test@sha256:552f"], "Created": 1795788778, "Size": 11331,
     "SharedSize": 0, "VirtualSize": 11331, "Labels": None, "Containers": 0,
     "Names": ["localhost/pnb-test:v1", "localhost:5000/x/y:v2"], "Digest": "sha256:552f",
     "History": ["localhost/pnb-test:v1"]},
    {"Id": UNTAGGED_ID, "RepoTags": None, "Created": 1700000000, "Size": 1_200_000,
     "Containers": 0, "Digest": "sha256:dd"},
]


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 1234, 1_200_000, 5_590_000_000)] == \
        ["0 B", "999 B", "1 kB", "1.23 kB", "1.2 MB", "5.59 GB"]
    assert human_size(None) == "" and human_size(float("nan")) == ""
    assert human_size(10 ** 21).endswith("EB")


def test_repository_and_tag_come_from_the_one_reference_parser():
    """The old copy in tables.py gave the repository ``localhost:5000/a/b:1`` for a tag+digest name."""
    digest = "sha256:" + "c" * 64
    frame = images_frame([{"Id": "a" * 64, "RepoTags": [f"localhost:5000/a/b:1@{digest}", "localhost:5000/a:v2",
                                                        "alpine", "weird name"], "Created": 1}])
    assert list(zip(frame["repository"], frame["tag"])) == [
        ("localhost:5000/a/b", "1"), ("localhost:5000/a", "v2"), ("alpine", None), ("weird name", None)]


def test_images_columns_dtypes_and_order():
    frame = images_frame(ROWS)
    assert isinstance(frame, SizeFrame)
    assert tuple(frame.columns) == IMAGE_COLUMNS
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    assert frame["size"].dtype == "int64" and frame["containers"].dtype == "int64"
    assert frame["dangling"].dtype == bool
    # one row per tag, newest first, untagged image one row
    assert list(frame["repository"]) == ["localhost/pnb-test", "localhost:5000/x/y", None,
                                         "quay.io/me/old"]
    assert list(frame["tag"]) == ["v1", "v2", None, "1"]
    assert list(frame["image_id"]) == ["4d9871ae99bb", "4d9871ae99bb", "cdcdcdcdcdcd",
                                       "abababababab"]
    assert list(frame["dangling"]) == [False, False, True, False]
    assert frame["created"][0] == pd.Timestamp(1795788778, unit="s", tz="UTC")
    assert frame["labels"][3] == {"maintainer": "me"} and frame["labels"][0] == {}


def test_images_no_trunc_and_quiet():
    frame = images_frame(ROWS, no_trunc=True)
    assert frame["image_id"][0] == "sha256:" + ALPINE_ID
    quiet = images_frame(ROWS, quiet=True)
    assert list(quiet.columns) == ["image_id"]
    assert list(quiet["image_id"]) == ["4d9871ae99bb", "cdcdcdcdcdcd", "abababababab"]


def test_images_docker_style_untagged_and_dangling_key():
    rows = [{"Id": "sha256:" + UNTAGGED_ID, "RepoTags": ["<none>:<none>"], "Created": 1,
             "Size": 3, "Dangling": False}]
    frame = images_frame(rows)
    assert len(frame) == 1 and frame["repository"][0] is None
    assert frame["image_id"][0] == "cdcdcdcdcdcd"
    assert not frame["dangling"][0]  # the service's own flag wins


def test_images_empty_keeps_columns_and_dtypes():
    frame = images_frame([])
    assert tuple(frame.columns) == IMAGE_COLUMNS and len(frame) == 0
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    assert frame["size"].dtype == "int64"
    assert "Empty" in repr(frame)


def test_images_sort():
    assert list(images_frame(ROWS, sort="size")["size"]) == [11331, 11331, 1_200_000,
                                                               5_590_000_000]
    assert images_frame(ROWS, sort="-size")["size"][0] == 5_590_000_000
    assert images_frame(ROWS, sort="created")["tag"][0] == "v1"  # newest first, like podman
    assert images_frame(ROWS, sort="id")["image_id"][0] == "4d9871ae99bb"
    assert images_frame(ROWS, sort="repository")["repository"].iloc[-1] is None


def test_images_sort_error_names_the_valid_columns():
    with pytest.raises(InvalidArgument) as info:
        images_frame(ROWS, sort="bogus")
    message = str(info.value)
    assert "'bogus'" in message and "repository" in message and "size" in message
    with pytest.raises(InvalidArgument):
        images_frame(ROWS, sort="labels")


def test_repr_is_human_readable_data_stays_raw():
    frame = images_frame(ROWS)
    with pd.option_context("display.width", 400, "display.max_columns", 50):
        text = repr(frame)
    html = frame._repr_html_()
    for shown in ("11.3 kB", "1.2 MB", "5.59 GB", "<none>"):
        assert shown in text
    assert "11.3 kB" in html and "&lt;none&gt;" in html
    assert "5590000000" not in text and "5590000000" not in html
    assert frame["size"].tolist() == [11331, 11331, 1_200_000, 5_590_000_000]
    assert frame["repository"].isna().sum() == 1  # <none> is only shown, never stored


def test_slicing_sorting_filtering_keep_the_subclass_and_ints():
    frame = images_frame(ROWS)
    for part in (frame.iloc[:2], frame[frame["size"] > 2_000_000], frame.sort_values("size"),
                 frame[["repository", "size"]], frame.head(1), frame.copy()):
        assert isinstance(part, SizeFrame)
        assert part["size"].dtype == "int64"
        with pd.option_context("display.width", 400, "display.max_columns", 50):
            assert any(unit in repr(part) for unit in (" kB", " MB", " GB"))
    assert type(frame["size"]) is pd.Series
    assert frame["size"].sum() == 2 * 11331 + 1_200_000 + 5_590_000_000
    plain = pd.DataFrame(frame)
    assert type(plain) is pd.DataFrame and "11331" in plain[["size"]].to_string()
    assert "11.3 kB" in repr(frame[["size"]])
    no_sizes = frame[["repository", "tag"]]
    assert "<none>" in repr(no_sizes)


def test_history_frame():
    history = [
        {"Id": "sha256:" + ALPINE_ID, "Created": 1795788778, "CreatedBy": "/bin/sh -c #(nop) ADD",
         "Tags": None, "Size": 10240, "Comment": "imported from tarball"},
        {"Id": "<missing>", "Created": 1700000000, "CreatedBy": "RUN true", "Size": 0,
         "Comment": ""},
    ]
    frame = history_frame(history)
    assert list(frame.columns) == ["id", "created", "created_by", "size", "comment"]
    assert list(frame["id"]) == ["4d9871ae99bb", "<missing>"]
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    assert frame["size"].dtype == "int64" and frame["size"][0] == 10240
    assert "10.2 kB" in repr(frame)
    iso = history_frame([{"id": ALPINE_ID, "created": "2026-11-27T14:12:58.6Z", "size": 1}])
    assert iso["created"][0].year == 2026 and str(iso["created"].dtype) == "datetime64[ns, UTC]"


def test_search_frame_libpod_and_docker_shapes():
    results = [
        {"Index": "docker.io", "Name": "docker.io/library/alpine", "Description": "A minimal",
         "Stars": 10000, "Official": "[OK]", "Automated": "", "Tag": ""},
        {"name": "someone/alpine", "description": None, "star_count": 3, "is_official": False,
         "is_automated": True},
    ]
    frame = search_frame(results)
    assert list(frame.columns) == ["name", "description", "stars", "official", "automated",
                                   "index", "tag"]
    assert frame["stars"].dtype == "int64" and frame["official"].dtype == bool
    assert list(frame["official"]) == [True, False] and list(frame["automated"]) == [False, True]
    assert frame["description"][1] == ""
    assert search_frame(results, sort="stars")["stars"].tolist() == [3, 10000]
    assert len(search_frame([])) == 0
