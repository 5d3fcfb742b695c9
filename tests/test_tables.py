"""Unit tests for the image, history and search DataFrames and their human-readable reprs."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from podman_nb.errors import InvalidArgument
from podman_nb.notebook.tables import (IMAGE_COLUMNS, REMOVED_COLUMNS, WIDE_IMAGE_COLUMNS, ReadableFrame, history_frame,
                                       human_size, images_frame, removal_summary, removed_frame,
                                       search_frame)
from podman_nb.notebook.units import human_age

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
     "Containers": 0, "Digest": "sha256:dd", "Dangling": True, "Arch": "amd64", "Os": "linux"},
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
    frame = images_frame(ROWS, wide=True)
    assert isinstance(frame, ReadableFrame)
    assert tuple(frame.columns) == WIDE_IMAGE_COLUMNS
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


def test_default_columns_are_what_people_scan():
    assert tuple(images_frame(ROWS).columns) == IMAGE_COLUMNS + ("dangling",)
    tagged = images_frame(ROWS[:2])
    assert tuple(tagged.columns) == IMAGE_COLUMNS  # no dangling image listed: no dangling column
    assert str(tagged["created"].dtype) == "datetime64[ns, UTC]" and tagged["size"].dtype == "int64"
    # arch and os only where the service gives them (Podman 5's listing does, 4's does not)
    assert "arch" not in images_frame(ROWS[:2], wide=True).columns
    assert images_frame(ROWS, wide=True)["os"].tolist() == [None, None, "linux", None]


def test_libpod_untagged_parent_is_not_dangling():
    # libpod sends Dangling only when true: an untagged image without it is an intermediate one
    rows = [{"Id": OLD_ID, "RepoTags": None, "Created": 1, "Size": 3}]
    assert not images_frame(rows, wide=True)["dangling"][0]


def test_images_no_trunc_and_quiet():
    frame = images_frame(ROWS, no_trunc=True)
    assert frame["image_id"][0] == "sha256:" + ALPINE_ID
    quiet = images_frame(ROWS, quiet=True)
    assert list(quiet.columns) == ["image_id"]
    assert list(quiet["image_id"]) == ["4d9871ae99bb", "cdcdcdcdcdcd", "abababababab"]


def test_images_docker_style_untagged_and_dangling_key():
    rows = [{"Id": "sha256:" + UNTAGGED_ID, "RepoTags": ["<none>:<none>"], "Created": 1,
             "Size": 3, "Dangling": False}]
    frame = images_frame(rows, wide=True)
    assert len(frame) == 1 and frame["repository"][0] is None
    assert frame["image_id"][0] == "cdcdcdcdcdcd"
    assert not frame["dangling"][0]  # the service's own flag wins


def test_images_empty_keeps_columns_and_dtypes():
    frame = images_frame([], why_empty="no images match --filter x=1")
    assert tuple(frame.columns) == IMAGE_COLUMNS and len(frame) == 0
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    assert frame["size"].dtype == "int64"
    assert repr(frame) == "no images match --filter x=1"  # one line that says why
    assert frame._repr_html_() == "<p>no images match --filter x=1</p>"
    # a frame filtered down to nothing says nothing it cannot know
    assert "Empty" in repr(images_frame(ROWS)[lambda f: f["size"] < 0])


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
    frame = images_frame(ROWS, wide=True)
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
    frame = images_frame(ROWS, wide=True)
    for part in (frame.iloc[:2], frame[frame["size"] > 2_000_000], frame.sort_values("size"),
                 frame[["repository", "size"]], frame.head(1), frame.copy()):
        assert isinstance(part, ReadableFrame)
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
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        assert "  ADD" in repr(frame) and "#(nop)" not in repr(frame)  # shown without the shell prefix
    assert frame["created_by"][0] == "/bin/sh -c #(nop) ADD"  # kept whole
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
    assert list(frame.columns) == ["name", "description", "stars", "official", "automated"]
    assert list(search_frame(results, list_tags=True).columns) == ["name", "tag"]
    assert frame["stars"].dtype == "int64" and frame["official"].dtype == bool
    assert list(frame["official"]) == [True, False] and list(frame["automated"]) == [False, True]
    assert frame["description"][1] == ""
    assert search_frame(results, sort="stars")["stars"].tolist() == [3, 10000]
    assert len(search_frame([])) == 0 and repr(search_frame([], why_empty="none here")) == "none here"


def test_human_age_reads_like_podman():
    assert [human_age(s) for s in (0.2, 1, 42, 60, 180, 3600, 5 * 3600, 3 * 86400, 15 * 86400,
                                    90 * 86400, 3 * 365 * 86400)] == [
        "less than a second ago", "1 second ago", "42 seconds ago", "about a minute ago", "3 minutes ago",
        "about an hour ago", "5 hours ago", "3 days ago", "2 weeks ago", "3 months ago", "3 years ago"]
    assert human_age(None) == "" and human_age(-100) == "in the future"
    # for a narrow window: ten characters at most
    assert [human_age(s, compact=True) for s in (0.2, 1, 42, 60, 180, 3600, 15 * 86400, 90 * 86400)] == [
        "now", "1 s ago", "42 s ago", "1 min ago", "3 min ago", "1 h ago", "2 wk ago", "3 mo ago"]


def test_display_ages_sizes_left_aligned_text():
    now = pd.Timestamp.now(tz="UTC").timestamp()
    rows = [{"Id": ALPINE_ID, "RepoTags": ["localhost/a-long-repository-name:v1"], "Created": now - 180,
             "Size": 2_130_000, "Containers": 0},
            {"Id": OLD_ID, "RepoTags": ["quay.io/b:2"], "Created": now - 15 * 86400, "Size": 11331,
             "Containers": 3}]
    frame = images_frame(rows)
    with pd.option_context("display.width", 120, "display.max_columns", 50):
        lines = repr(frame).splitlines()
    assert "3 minutes ago" in lines[1] and "2 weeks ago" in lines[2]
    assert "2.13 MB" in lines[1] and "11.3 kB" in lines[2]
    # text columns start at the same place on every line (left-aligned); numbers end together
    for word in ("repository", "tag", "image_id", "created"):
        start = lines[0].index(word)
        assert lines[1][start] != " " and lines[2][start] != " ", (word, lines)
    for row, size in ((1, "2.13 MB"), (2, "11.3 kB")):
        assert lines[row].index(size) + len(size) == lines[0].index("size") + len("size")
    html = frame._repr_html_()
    assert "white-space: nowrap" in html and "text-align: left" in html and "2.13 MB" in html
    assert "3 minutes ago" in html and "2130000" not in html
    # the data stays full
    assert frame["size"].tolist() == [2_130_000, 11331] and frame["created"].dt.tz is not None


def test_terminal_text_fits_120_columns_with_the_scanned_columns():
    rows = [{"Id": ALPINE_ID, "RepoTags": [f"registry.example.com:5000/team/project-{i}/env:2026.11.{i}"],
             "Created": 1795788778, "Size": 5_590_000_000, "Containers": 1, "Dangling": i == 3,
             "Digest": "sha256:" + "e" * 64, "Labels": {"org.opencontainers.image.source": "x" * 80}}
            for i in range(4)]
    # (a real terminal, where pandas measures the width itself: tests/test_terminal.py)
    with pd.option_context("display.width", 120, "display.max_columns", 50):
        text = repr(images_frame(rows))
    assert "..." not in text and "\\" not in text and max(len(line) for line in text.splitlines()) <= 120, text
    for column in IMAGE_COLUMNS + ("dangling",):
        assert column in text.splitlines()[0]


def test_removed_frame_and_prune_summary():
    report = [{"Untagged": "localhost:5000/x/y:v2"}, {"Untagged": "quay.io/me/old:1"}, {"Deleted": OLD_ID}]
    frame = removed_frame(ROWS, report)
    assert tuple(frame.columns) == REMOVED_COLUMNS
    assert frame[["repository", "removed"]].values.tolist() == [["localhost:5000/x/y", "untagged"],
                                                                 ["quay.io/me/old", "deleted"]]
    assert repr(removed_frame(ROWS, [])) == "nothing was removed"
    intermediate = {"Id": OLD_ID, "RepoTags": None, "Created": 1, "Size": 5_000_000}
    doomed = images_frame([ROWS[2], intermediate])
    assert removal_summary(doomed, "Would remove") == (
        "Would remove 2 images, freeing 6.2 MB: 1 dangling, 1 intermediate (untagged parents that %images "
        "hides and %images -a lists).")
    assert removal_summary(images_frame(ROWS[:1]), "Removed") == "Removed 1 image, freeing 5.59 GB: 1 tagged."


# what the quickstart leaves on the service: a registry on a port, names a newcomer reads
QUICKSTART_NAMES = ["127.0.0.1:37541/quickstart/hello:1.0", "localhost/quickstart/hello:latest",
                    "localhost/podman-nb/busybox:latest", "127.0.0.1:37541/podman-nb/busybox:latest"]


def _quickstart_rows(age: float) -> list:
    now = pd.Timestamp.now(tz="UTC").timestamp()
    return [{"Id": ALPINE_ID, "RepoTags": QUICKSTART_NAMES[:2], "Created": now - age, "Size": 2_130_000,
             "Containers": 0},
            {"Id": OLD_ID, "RepoTags": QUICKSTART_NAMES[2:], "Created": now - age - 5, "Size": 2_130_000,
             "Containers": 1}]


@pytest.mark.parametrize("age", [0.3, 70, 3700, 15 * 86400])
@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "kernel"])
def test_every_table_fits_80_columns_at_every_age(age, terminal, monkeypatch):
    """%images, %image_history and %image_rm in 80 columns: an IPython terminal (pandas measures the window,
    and drops columns behind "..." when the text is wider) or a kernel's text/plain (pandas wraps it in
    "\\" blocks). Podman's ages ("about a minute ago") give way to short ones ("1 min ago") when needed."""
    rows = _quickstart_rows(age)
    now = rows[0]["Created"]
    history = [{"Id": ALPINE_ID, "Created": now, "CreatedBy": '/bin/sh -c #(nop) CMD ["cat", "/hello.txt"]',
                "Size": 0, "Comment": "FROM localhost/podman-nb/busybox:latest"},
               {"Id": "<missing>", "Created": now, "CreatedBy": '/bin/sh -c echo "hello from podman_nb" > /hello.txt',
                "Size": 2560, "Comment": ""}]
    report = [{"Untagged": QUICKSTART_NAMES[0]}, {"Untagged": QUICKSTART_NAMES[1]}, {"Deleted": ALPINE_ID},
              {"Untagged": QUICKSTART_NAMES[3]}]
    tables = {"images": (images_frame(rows), IMAGE_COLUMNS),
              "history": (history_frame(history), ("id", "created", "created_by", "size", "comment")),
              "rm": (removed_frame(rows, report), REMOVED_COLUMNS)}
    if terminal:
        monkeypatch.setenv("COLUMNS", "80")
    options = ("display.max_columns", 0) if terminal else ("display.width", 80, "display.max_columns", 20)
    for name, (frame, columns) in tables.items():
        with pd.option_context(*options):
            text = repr(frame)
        lines = text.splitlines()
        assert "..." not in text and "\\" not in text and max(map(len, lines)) <= 80, (name, text)
        assert lines[0].split() == list(columns) and len(lines) == len(frame) + 1, (name, text)


def test_removed_names_are_shown_whole_in_html_as_images_shows_them():
    rows = _quickstart_rows(70)
    listed = images_frame(rows)._repr_html_()
    removed = removed_frame(rows, [{"Deleted": ALPINE_ID}, {"Deleted": OLD_ID}])._repr_html_()
    for name in QUICKSTART_NAMES:
        repository = name.rsplit(":", 1)[0]
        assert f"<td>{repository}</td>" in listed, listed
        assert f"<td>{repository}</td>" in removed, removed


def test_a_busy_service_still_fits_80_columns():
    """Seen in CI: long names and a dangling image in 80 columns. The names give way (start and end kept); the
    dangling column, which does not fit beside the scanned ones, is left out of the text (its rows say <none>),
    and kept where the window has room."""
    now = pd.Timestamp.now(tz="UTC").timestamp()
    names = ["localhost/podman-nb/debian-python-managed:latest", "127.0.0.1:51429/podman-nb/secrets-magic:latest"]
    rows = [{"Id": ALPINE_ID, "RepoTags": [], "Created": now - 5000, "Size": 10**6, "Containers": 0, "Dangling": True}]
    rows += [{"Id": str(i) * 64, "RepoTags": [name], "Created": now - 4000, "Size": 2 * 10**8, "Containers": 0}
             for i, name in enumerate(names * 8)]
    frame = images_frame(rows)
    assert "dangling" in frame.columns
    with pd.option_context("display.width", 80, "display.max_columns", 20):
        text = repr(frame)
    lines = text.splitlines()
    assert lines[0].split() == list(IMAGE_COLUMNS), text
    assert len(lines) == len(rows) + 1 and max(map(len, lines)) <= 80, text
    assert re.search(r"localho…python-managed\s+latest", text), text
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        assert repr(frame).splitlines()[0].split() == list(IMAGE_COLUMNS) + ["dangling"]
