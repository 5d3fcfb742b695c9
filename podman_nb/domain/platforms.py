"""Platform strings ("os/arch[/variant]"), read in one place for pulls and registry data."""

from __future__ import annotations

from typing import Dict, Optional

from ..errors import InvalidArgument


def split_platform(platform: Optional[str]) -> Dict[str, str]:
    """``"linux/arm64/v8"`` -> ``{"OS": "linux", "Arch": "arm64", "Variant": "v8"}``."""
    if not platform:
        return {}
    parts = platform.split("/") if isinstance(platform, str) else []
    if not 1 <= len(parts) <= 3 or not all(p and p.replace("_", "").replace("-", "").isalnum() for p in parts):
        raise InvalidArgument(f"{platform!r} is not a platform; use OS[/ARCH[/VARIANT]], e.g. linux/amd64")
    return dict(zip(("OS", "Arch", "Variant"), parts))
