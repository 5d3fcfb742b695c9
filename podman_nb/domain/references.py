"""Image references, parsed in this one place: ``registry:port/name/path:tag@digest`` and image ids.

The grammar is the distribution spec's (github.com/distribution/reference, ``reference.go``)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name
    domain           := host [':' port-number]
    host             := domain-name | IPv4address | \\[ IPv6address \\]
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" /[0-9a-fA-F]{32,}/   (algorithm: /[A-Za-z][A-Za-z0-9]*/ joined by [+._-])

The first path component is the registry when it is a valid domain and has a ``.`` or ``:``, is
``localhost``, has an upper-case letter (as Docker and Podman split names) or is an IPv6 ``[address]``;
the whole name is at most 255 characters.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Optional, Tuple

from ..api.registry import DOCKER_HUB  # noqa: F401 (one home: where the registry is asked)
from ..errors import InvalidArgument

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
NAME_MAX = 255
NO_NAME = "<none>:<none>"  # what Docker-shaped listings say of an image without a name


class Reference(NamedTuple):
    """A parsed reference; ``domain`` is "" when the name has none (the service resolves short names)."""

    domain: str
    path: str
    tag: Optional[str]
    digest: Optional[str]

    @property
    def name(self) -> str:
        """``domain/path``, the repository."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(reference: Any) -> Reference:
    """``"host:5000/a/b:1.0@sha256:..."`` -> ``Reference("host:5000", "a/b", "1.0", "sha256:...")``.

    Raises InvalidArgument, naming the part that is wrong.
    """
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidArgument(f"an image reference must be a non-empty string, not {reference!r}")
    if reference != reference.strip() or any(c.isspace() or ord(c) < 32 for c in reference):
        raise InvalidArgument(f"image reference {reference!r} contains white space or control characters")
    name, _, digest = reference.partition("@")
    if "@" in reference and not _DIGEST.fullmatch(digest):
        raise InvalidArgument(f"image reference {reference!r} has a malformed digest {digest!r}")
    tag = None
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise InvalidArgument(f"image reference {reference!r} has an invalid tag {tag!r}")
    if len(name) > NAME_MAX:
        raise InvalidArgument(f"image reference {reference!r} is longer than {NAME_MAX} characters")
    domain, slash, path = name.partition("/")
    if not slash or not ("." in domain or ":" in domain or domain == "localhost" or domain != domain.lower()
                         or domain.startswith("[")):
        domain, path = "", name
    elif not _DOMAIN.fullmatch(domain):
        if not _PATH_COMPONENT.fullmatch(domain):
            raise InvalidArgument(f"image reference {reference!r} has an invalid registry {domain!r}")
        domain, path = "", name  # "a.b_c/d" cannot be a registry, but is a valid path: the grammar reads it so
    for component in path.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            raise InvalidArgument(f"image reference {reference!r} is not valid: {component!r} must be "
                                  "lower-case letters, digits and separators (. _ -)")
    return Reference(domain, path, tag, digest or None)


def split_reference(reference: Any) -> Tuple[str, Optional[str], Optional[str]]:
    """``"host:5000/a/b:1.0@sha256:..."`` -> ``("host:5000/a/b", "1.0", "sha256:...")``; raises InvalidArgument."""
    parsed = parse_reference(reference)
    return parsed.name, parsed.tag, parsed.digest


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


def registry_location(reference: str) -> Tuple[str, str, str]:
    """Where a registry keeps ``reference``: ``(host, repository path, tag or digest)``.

    A name without a registry is Docker Hub's, whose official images live under ``library/``.
    """
    parsed = parse_reference(reference)
    host, path = parsed.domain or DOCKER_HUB, parsed.path
    if host in (DOCKER_HUB, "index.docker.io") and "/" not in path:
        path = "library/" + path
    return host, path, parsed.digest or parsed.tag or "latest"


def names_registry(term: str) -> bool:
    """Whether a search term names its registry (``quay.io/busybox``); a short name needs search registries."""
    try:
        return bool(parse_reference(term).domain)
    except InvalidArgument:  # not a plain name (a pattern...): do not claim that search registries are missing
        return True


def bare_id(image_id: Any) -> str:
    """An image id without its ``sha256:`` prefix ("" for None)."""
    text = str(image_id or "")
    return text[len("sha256:"):] if text.startswith("sha256:") else text


def short_id(image_id: Optional[str], length: int = 12) -> Optional[str]:
    """``image_id`` (or a layer digest) without any ``sha256:`` prefix, cut to ``length`` characters
    (None stays None)."""
    return bare_id(image_id)[:length] if image_id else None
