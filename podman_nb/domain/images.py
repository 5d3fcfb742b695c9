"""The Image model: one image the service holds, with podman-py's attributes and methods (their requests are
its ImagesManager's)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Union

from ..errors import APIError, ImageNotFound, InvalidArgument
from .references import NO_NAME

if TYPE_CHECKING:
    from .manager import ImagesManager

DEFAULT_CHUNK_SIZE = 2 * 1024 * 1024


class Image:
    """An image as the service describes it; ``attrs`` is the service's own document."""

    build_log = None  # the BuildLog of the build() that made this Image object, if one did

    def __init__(self, attrs: Optional[Mapping[str, Any]] = None, client: Any = None,
                 collection: Optional["ImagesManager"] = None):
        self.attrs: Dict[str, Any] = dict(attrs or {})
        self.manager = collection
        self.client = client if client is not None else getattr(collection, "client", None)

    collection = property(lambda self: self.manager, lambda self, value: setattr(self, "manager", value))

    def __repr__(self) -> str:
        return f"<Image: {', '.join(repr(t) for t in self.tags) or self.short_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("Image", self.id))

    @property
    def id(self) -> str:  # pylint: disable=invalid-name
        return self.attrs.get("Id") or self.attrs.get("ID") or ""

    @property
    def short_id(self) -> str:
        """The id cut short; a ``sha256:`` prefix is kept when the id has one."""
        return self.id[:17] if self.id.startswith("sha256:") else self.id[:10]

    @property
    def tags(self) -> List[str]:
        return [t for t in (self.attrs.get("RepoTags") or []) if t != NO_NAME]

    @property
    def labels(self) -> Dict[str, str]:
        labels = self.attrs.get("Labels")
        if labels is None:
            labels = (self.attrs.get("Config") or {}).get("Labels")
        return dict(labels or {})

    def reload(self) -> None:
        """Read this image's document from the service again."""
        self.attrs = self.manager.get(self.id).attrs

    def history(self) -> List[Dict[str, Any]]:
        """The layers this image was made of, newest first, as the service reports them."""
        return self.manager.history_of(self.id)

    def remove(self, **kwargs: Any) -> List[Dict[str, Union[str, int]]]:
        """Delete this image (``force=True`` even when in use); see :meth:`ImagesManager.remove`."""
        return self.manager.remove(self.id, **kwargs)

    def tag(self, repository: str, tag: Optional[str] = None, force: bool = False) -> bool:
        """Add ``repository:tag`` to this image; returns True when it was added."""
        if not isinstance(repository, str) or not repository:
            raise InvalidArgument(f"tag() needs a repository name, not {repository!r}")
        try:
            self.manager.add_tag(self.id, repository, tag)
        except ImageNotFound:
            raise
        except APIError as error:
            if force and error.status_code is not None and error.status_code <= 500:
                return False  # as podman-py: force ignores the service's refusal, not an unreachable service
            raise
        return True

    def save(self, chunk_size: Optional[int] = DEFAULT_CHUNK_SIZE, named: Union[str, bool] = False,
             ) -> Iterator[bytes]:
        """The image as a docker-archive tarball, in chunks, for :meth:`ImagesManager.load`.

        ``named=True`` keeps the first tag in the archive; a string keeps that tag (it must be one of :attr:`tags`).
        """
        name = self.id
        if named:
            if isinstance(named, str):
                if named not in self.tags:
                    raise InvalidArgument(f"{named!r} is not a tag of this image (its tags: {self.tags})")
                name = named
            elif self.tags:
                name = self.tags[0]
        return _chunks(self.manager.archive(name), chunk_size)

    def save_to(self, path: str, named: Union[str, bool] = False) -> int:
        """Write :meth:`save`'s tarball to ``path`` (whole or not at all: through ``path.part``); the bytes written."""
        written = 0
        with open(path + ".part", "wb") as handle:
            for chunk in self.save(named=named):
                handle.write(chunk)
                written += len(chunk)
        os.replace(path + ".part", path)
        return written


def _chunks(pieces: Iterator[bytes], size: Optional[int]) -> Iterator[bytes]:
    """Regroup ``pieces`` into chunks of exactly ``size`` bytes (the last may be shorter)."""
    if not size:
        yield from pieces
        return
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
