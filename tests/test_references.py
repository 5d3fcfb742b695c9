"""The one reference parser (domain/references.py) against the distribution spec's grammar, by Hypothesis."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podman_nb.domain.references import (bare_id, join_reference, parse_reference, registry_location,
                                         split_reference)
from podman_nb.errors import InvalidArgument

# The grammar as github.com/distribution/reference's regexp.go writes it, kept apart from the parser's
# own split-then-check code so that each checks the other.
ALPHANUMERIC = r"[a-z0-9]+"
SEPARATOR = r"(?:[_.]|__|[-]+)"
PATH_COMPONENT = rf"{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*"
DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
HOST = rf"(?:{DOMAIN_NAME_COMPONENT}(?:\.{DOMAIN_NAME_COMPONENT})*|{IPV6})"
DOMAIN = rf"{HOST}(?::[0-9]+)?"
NAME = rf"(?:{DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
REFERENCE = re.compile(rf"({NAME})(?::({TAG}))?(?:@({DIGEST}))?", re.ASCII)


def grammar_accepts(text):
    match = REFERENCE.fullmatch(text)
    return bool(match) and len(match.group(1)) <= 255


alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
path_component = st.builds(lambda first, rest: first + "".join(s + a for s, a in rest), alnum,
                           st.lists(st.tuples(st.sampled_from([".", "_", "__", "-", "--"]), alnum), max_size=2))
domain_label = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
port = st.integers(1, 65535).map(lambda p: f":{p}")
host = st.one_of(
    st.just("localhost"),
    st.lists(domain_label, min_size=2, max_size=3).map(".".join),          # registry.example.com
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),  # 127.0.0.1
    st.just("[::1]"), st.just("[fe80::1:2]"),
)
domain = st.one_of(st.none(), st.builds(lambda h, p: h + p, host, st.one_of(st.just(""), port)))
tag = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
digest = st.one_of(st.none(), st.builds(lambda algorithm, hexes: f"{algorithm}:{hexes}",
                                        st.sampled_from(["sha256", "sha512", "multihash+base58", "tarsum.v1"]),
                                        st.text("0123456789abcdefABCDEF", min_size=32, max_size=70)))


@settings(max_examples=200, deadline=None)
@given(domain, st.lists(path_component, min_size=1, max_size=4), tag, digest)
def test_every_part_comes_back(domain, components, tag, digest):
    """registry[:port], nested paths, tags, digests and tag+digest: the grammar accepts, the parser agrees."""
    path = "/".join(components)
    text = (f"{domain}/{path}" if domain else path) + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    assert grammar_accepts(text)
    parsed = parse_reference(text)
    first = components[0]
    if domain is None and len(components) > 1 and ("." in first or first == "localhost") and \
            re.fullmatch(DOMAIN, first):
        domain, path = components[0], "/".join(components[1:])  # Docker's rule: "a.b/c" names registry a.b
    assert parsed == ((domain or ""), path, tag, digest)
    assert str(parsed) == text and split_reference(text) == (parsed.name, tag, digest)


REFERENCE_ALPHABET = "ab0Z.-_:/@[]1+"


@settings(max_examples=3000, deadline=None)
@given(st.text(REFERENCE_ALPHABET, min_size=1, max_size=24))
def test_accepts_exactly_what_the_grammar_accepts(text):
    try:
        parsed = parse_reference(text)
    except InvalidArgument:
        assert not grammar_accepts(text), f"the parser refused a valid reference {text!r}"
    else:
        assert grammar_accepts(text), f"the parser accepted {text!r}, which the grammar refuses"
        assert str(parsed) == text


@pytest.mark.parametrize("text, expected", [
    ("localhost:5000/a/b:1@sha256:" + "f" * 64, ("localhost:5000", "a/b", "1", "sha256:" + "f" * 64)),
    ("busybox", ("", "busybox", None, None)),
    ("Host/a", ("Host", "a", None, None)),           # an upper-case first part is a registry
    ("a.b/c/d:t", ("a.b", "c/d", "t", None)),
    ("[::1]:5000/x", ("[::1]:5000", "x", None, None)),
])
def test_examples(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize("bad", ["", " a", "A", "a:", "a@sha256:short", "-a/b", "a//b", "a/b:" + "t" * 129,
                                 "a:b/c", "host-/a", "a" * 256, "a/b@md5:" + "0" * 32 + ":x"])
def test_refused(bad):
    with pytest.raises(InvalidArgument):
        parse_reference(bad)


def test_join_location_and_bare_id():
    assert join_reference("a/b") == "a/b:latest" and join_reference("a/b", "1") == "a/b:1"
    with pytest.raises(InvalidArgument):
        join_reference("a/b:2", "1")
    assert registry_location("busybox:1") == ("docker.io", "library/busybox", "1")
    assert bare_id("sha256:abc") == "abc" == bare_id("abc") and bare_id(None) == ""
