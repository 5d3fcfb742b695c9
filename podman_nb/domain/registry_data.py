"""RegistryData: what a registry says about an image (digest and platforms), without pulling it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

from ..errors import InvalidArgument
from .platforms import split_platform
from .references import parse_reference

if TYPE_CHECKING:
    from .images import Image
    from .manager import ImagesManager


class RegistryData:
    """The registry's answer for ``image_name``: ``id`` is the manifest digest, ``platforms`` what it offers."""

    def __init__(self, image_name: str, attrs: Mapping[str, Any], collection: "ImagesManager"):
        self.image_name = image_name
        self.attrs: Dict[str, Any] = dict(attrs or {})
        self.manager = self.collection = collection
        self.client = collection.client

    def __repr__(self) -> str:
        return f"<RegistryData: {self.image_name} {self.id}>"

    @property
    def id(self) -> str:  # pylint: disable=invalid-name
        return (self.attrs.get("Descriptor") or {}).get("digest", "")

    digest = id

    @property
    def short_id(self) -> str:
        return self.id[:17]

    @property
    def platforms(self) -> List[Dict[str, str]]:
        return list(self.attrs.get("Platforms") or [])

    def pull(self, platform: Optional[str] = None) -> "Image":
        """Pull this exact image (by digest when the registry gave one)."""
        reference = parse_reference(self.image_name)
        if self.id:
            reference = reference._replace(tag=None, digest=self.id)
        return self.manager.pull(str(reference), platform=platform)

    def has_platform(self, platform: Union[str, Mapping[str, Any]]) -> bool:
        """Whether the registry offers ``platform`` ("os/arch[/variant]" or a dict with os/architecture).

        Raises InvalidArgument for anything else, as podman-py does."""
        if isinstance(platform, str) and platform:
            keys = {"OS": "os", "Arch": "architecture", "Variant": "variant"}
            wanted = {keys[k]: v for k, v in split_platform(platform).items()}
        elif isinstance(platform, Mapping):
            wanted = {k: v for k, v in platform.items() if v}
        else:  # as podman-py: InvalidArgument for what is not a platform
            raise InvalidArgument(f"{platform!r} is not a platform; use OS/ARCH[/VARIANT] or a dict with os and "
                                  "architecture, e.g. 'linux/amd64'")
        for offered in self.platforms:
            if all(offered.get(key) == value for key, value in wanted.items()):
                return True
        return False
