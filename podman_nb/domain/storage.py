"""A full disk under Podman's storage told in one sentence: which storage is full, and how to free it.

Pulls and builds (``ImagesManager.pull``/``build``, so the Python API and the magics alike) pass their errors
through :func:`tells_full_storage`; the service's own text stays the new error's ``__cause__``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from ..errors import APIError, BuildError, PodmanError

NO_SPACE = "no space left on device"


def out_of_space(error: PodmanError, client: Any) -> Optional[PodmanError]:
    """The one-sentence error for ``error`` when the service ran out of space, else None."""
    if NO_SPACE not in str(error).lower():
        return None
    try:
        where = f"at {client.get('/info').json()['store']['graphRoot']} "
    except (PodmanError, ValueError, KeyError, TypeError):
        where = ""
    sentence = (f"The Podman storage {where}is out of space: free some with %image_prune (dangling images) or "
                "%image_prune --all (every unused image; %image_prune --all --dry-run lists what would go), "
                "and see what takes the space with `podman system df`")
    if isinstance(error, BuildError):
        return BuildError(sentence, error.build_log)
    return APIError(sentence, status_code=getattr(error, "status_code", None))


def tells_full_storage(method: Callable) -> Callable:
    """Decorate an ImagesManager method so that running out of space raises :func:`out_of_space`'s error."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except PodmanError as error:
            told = out_of_space(error, self.client)
            if told is None:
                raise
            raise told from error
    return wrapper
