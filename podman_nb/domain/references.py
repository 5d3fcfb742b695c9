"""Image references: splitting ``registry:port/name:tag@digest`` and checking them before any request."""

from __future__ import annotations

import re
from typing import Optional, Tuple

from ..errors import InvalidArgument

# The distribution/reference grammar, loosely: lower-case path components, an optional host[:port].
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")


def split_reference(reference: str) -> Tuple[str, Optional[str], Optional[str]]:
    """``"host:5000/a/b:1.0@sha256:..."`` -> ``("host:5000/a/b", "1.0", "sha256:...")``; raises InvalidArgument."""
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidArgument(f"an image reference must be a non-empty string, not {reference!r}")
    if reference != reference.strip() or any(c.isspace() or ord(c) < 32 for c in reference):
        raise InvalidArgument(f"image reference {reference!r} contains white space or control characters")
    name, digest = reference, None
    if "@" in name:
        name, digest = name.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidArgument(f"image reference {reference!r} has a malformed digest {digest!r}")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise InvalidArgument(f"image reference {reference!r} has an invalid tag {tag!r}")
    components = name.split("/")
    if len(components) > 1 and ("." in components[0] or ":" in components[0] or components[0] == "localhost"
                                or components[0].startswith("[")):
        if not _HOST.match(components[0]):
            raise InvalidArgument(f"image reference {reference!r} has an invalid registry {components[0]!r}")
        components = components[1:]
    for component in components:
        if not _COMPONENT.match(component):
            raise InvalidArgument(f"image reference {reference!r} is not valid: {component!r} must be "
                                  "lower-case letters, digits and separators (. _ -)")
    return name, tag, digest


def join_reference(repository: str, tag: Optional[str] = None) -> str:
    """The full reference to pull or push for ``repository`` and an optional ``tag`` (default ``latest``)."""
    name, own_tag, digest = split_reference(repository)
    if tag:
        if digest or (own_tag and own_tag != tag):
            raise InvalidArgument(f"{repository!r} already names a tag or digest; do not also pass tag={tag!r}")
        split_reference(f"{name}:{tag}")
        return f"{name}:{tag}"
    if digest:
        return f"{name}:{own_tag}@{digest}" if own_tag else f"{name}@{digest}"
    return f"{name}:{own_tag or 'latest'}"


def is_image_id(value: str) -> bool:
    return bool(re.fullmatch(r"(?:sha256:)?[0-9a-f]{12,64}", value or ""))
