"""What one Podman service can do, judged from its version: every version check of podman_nb is here.

The transport reads ``/version`` once (``APIClient.features``); the rest of the library asks these
named questions instead of comparing version strings itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple


def release(version: str) -> Tuple[int, int, int]:
    """``"5.8.6"`` -> ``(5, 8, 6)``; ``"3.0.1-dev"`` -> ``(3, 0, 1)``; unreadable parts count as 0."""
    numbers = [int(part) for part in re.findall(r"\d+", str(version))[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))  # type: ignore[return-value]


@dataclass(frozen=True)
class Features:
    """Answers about one Podman version (``version`` as the service reports it)."""

    version: str

    @property
    def release(self) -> Tuple[int, int, int]:
        return release(self.version)

    @property
    def build_honours_network_mode(self) -> bool:
        """Podman 3 runs RUN steps in the host network whatever ``networkmode``/``nsoptions`` ask."""
        return self.release >= (4, 0, 0)

    @property
    def build_cache_form(self) -> str:
        """How ``/build`` takes ``cacheto``/``cachefrom`` (a registry repository for the build's layers):
        "json" (a JSON list: 5.x, which answers a plain string with 400), "plain" (one repository as a plain
        string: 4.3 to 4.9, which ignores the JSON form with a 200), or "" (3.0.1 ignores both: no such cache).
        Checked on 3.0.1, 4.3.1, 5.4.2 and 5.8.6."""
        if self.release >= (5, 0, 0):
            return "json"
        return "plain" if self.release >= (4, 3, 0) else ""

    @property
    def build_mounts_secrets(self) -> bool:
        """Podman 3's REST build ignores ``secrets``: a ``RUN --mount=type=secret`` finds no file."""
        return self.release >= (4, 0, 0)

    @property
    def build_honours_memory_limit(self) -> bool:
        """Podman 3's REST build puts no cgroup memory limit on RUN steps."""
        return self.release >= (4, 0, 0)

    @property
    def push_streams_progress(self) -> bool:
        """Podman 3 answers a push with an empty body once it is over: no progress lines at all."""
        return self.release >= (4, 0, 0)

    @property
    def prune_honours_filters(self) -> bool:
        """Podman 3.0.1's image prune ignores label filters (asked for one label, it deletes every dangling
        image) and prunes one round, leaving the parents it made dangling."""
        return self.release >= (4, 0, 0)

    @property
    def has_image_scp(self) -> bool:
        """``POST /libpod/images/scp`` came with Podman 4 (Podman 3 answers 405)."""
        return self.release >= (4, 0, 0)

    @property
    def compat_pull_streams_progress(self) -> bool:
        """Podman 3's Docker-compatible pull sends one line when it is over (naming the image id as a
        layer); Podman 4's streams each layer's bytes."""
        return self.release >= (4, 0, 0)

    @property
    def libpod_pull_has_compat_mode(self) -> bool:
        """Podman 5's libpod pull streams Docker-style byte progress (``compatMode``)."""
        return self.release >= (5, 0, 0)

    @property
    def list_ands_label_filters(self) -> bool:
        """Podman 5 ANDs several label filters; 3 and 4 match nothing when given two."""
        return self.release >= (5, 0, 0)

    @property
    def lists_images_quickly(self) -> bool:
        """Before Podman 4.5 (containers/common #1372) listing images takes time growing as the square of
        their number: about 4 s at 120 images and 11 s at 200 on 4.3.1."""
        return self.release >= (4, 5, 0)
