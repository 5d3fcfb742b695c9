"""Which storage a full disk is under: pulls and builds (``ImagesManager.pull``/``build``, so the Python API and
the magics alike) that run out of space get the Podman storage's graphRoot (from ``/info``) as the fact
``storage``; the sentence is the full-storage row of :mod:`podman_nb.failures`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..errors import PodmanError
from ..failures import FULL_STORAGE, attach


def tells_full_storage(method: Callable) -> Callable:
    """Decorate an ImagesManager method: an error that says the disk is full gets the storage it is under."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except PodmanError as error:
            if FULL_STORAGE.search(error.raw()):
                try:
                    attach(error, storage=self.client.get("/info").json()["store"]["graphRoot"])
                except (PodmanError, ValueError, KeyError, TypeError):
                    pass  # the sentence then names no folder
            raise
    return wrapper
