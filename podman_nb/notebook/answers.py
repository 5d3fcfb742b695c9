"""A magic's answer that is a dict (``%image_inspect``, ``%image_registry_data``, ``%podman``): the dict as the
service gave it, shown as one sentence (no pandas here)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..domain.references import short_id
from .units import human_size


class Answer(dict):
    """A magic's answer that is a dict (``%image_inspect``, ``%image_registry_data``): the dict as the
    service gave it, shown as one sentence, as ``%podman``'s is."""

    def __init__(self, values: Mapping[str, Any] = (), sentence: str = "", **more: Any):
        super().__init__(values, **more)
        self.sentence = sentence

    def __repr__(self) -> str:
        return self.sentence

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text(repr(self))


def inspect_answer(name: str, attrs: Mapping[str, Any]) -> Answer:
    """``%image_inspect``'s answer: the service's whole document, shown as what it is."""
    tags = ", ".join(attrs.get("RepoTags") or []) or "no names"
    size = attrs.get("Size")
    return Answer(attrs, f"{name}: image {short_id(attrs.get('Id'))} ({tags}; "
                         f"{human_size(size) if size is not None else 'size unknown'}); its keys: "
                         f"{', '.join(sorted(attrs))}")


def registry_answer(name: str, digest: str, platforms: Sequence[Mapping[str, Any]]) -> Answer:
    """``%image_registry_data``'s answer: name, digest and platforms, shown as one sentence."""
    said = ", ".join("/".join(p.get(k) for k in ("os", "architecture", "variant") if p.get(k)) for p in platforms)
    return Answer({"name": name, "digest": digest, "platforms": platforms},
                  f"{name}: {digest} for {said or 'no platform named'}")


class ServiceFacts(Answer):
    """``%podman``'s answer: a dict (connection, base_url, podman, api, listing) shown once: one sentence
    on the service, one on whether ``%images`` answers from the listing cache (since when, or why not)."""

    def __repr__(self) -> str:
        named = f" (connection {self['connection']!r})" if self.get("connection") else ""
        text = f"Podman {self.get('podman')} at {self.get('base_url')}{named}"
        listing = self.get("listing")
        if listing:
            if not listing["cached"]:
                text += f"\n%images asks the service each time: {listing['why']}"
            elif listing["since"] is None:
                text += f"\n%images is cached, kept current by the service's events ({listing['why']})"
            else:
                since = listing["since"].astimezone().strftime("%H:%M:%S")
                text += f"\n%images is cached, kept current by the service's events: current since {since}"
        return text
