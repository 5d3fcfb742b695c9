"""Prototype: repeat an image listing only when the service's events say something changed.

Podman 4.3 lists images in roughly quadratic time (it works out parent/child relations for every
image), so a notebook that shows ``%images`` after every cell pays seconds each time at a few
hundred images. The service keeps an event log: any change to what ``GET /images/json`` returns
(pull, build, tag, untag, remove, import, load, prune, and container create/remove, which change
the ``Containers`` count) is an ``image`` or ``container`` event. So:

1. Before listing, note the service's clock ``t0`` (same host for a unix socket; for a remote
   service, the ``Date`` header of the previous answer minus one second).
2. List; keep the rows with ``t0`` for these arguments.
3. Next time, ask ``GET /libpod/events?stream=false&since=t0&filters={"type":["image","container"]}``.
   No event: the cached rows are still exact. Any event (even one racing with step 2): list again.

Never stale as long as the service logs events (``events_logger`` "file" or "journald"; with
"none" the check cannot be trusted, so :meth:`usable` returns False and every call lists).
The check costs one events read, which with the file logger scans the events file from the
start: its cost grows with the number of events the service ever logged (see RESULTS.md).
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Tuple


class CachedLister:
    """``list_attrs(**kwargs)`` like ImagesManager's, answered from cache when no event says otherwise."""

    TYPES = ("image", "container")

    def __init__(self, manager: Any, clock=time.time):
        self.manager = manager
        self.client = manager.client
        self._clock = clock
        self._cache: Dict[str, Tuple[float, List[Dict[str, Any]]]] = {}
        self.hits = 0
        self.misses = 0
        self._usable: Optional[bool] = None

    def usable(self) -> bool:
        """Whether the service logs events at all (``info().host.eventLogger`` is not "none")."""
        if self._usable is None:
            try:
                info = self.client.get("/info").json()
                logger = str(((info.get("host") or {}).get("eventLogger")) or "")
                self._usable = logger.lower() not in ("", "none")
            except Exception:  # noqa: BLE001 - an unknown service is never trusted
                self._usable = False
        return self._usable

    def changed_since(self, since: float) -> bool:
        filters = json.dumps({"type": list(self.TYPES)})
        seconds = int(since)
        stamp = f"{seconds}.{int(round((since - seconds) * 1e9)):09d}"  # Podman reads the fraction as ns
        response = self.client.get("/events", params={"stream": "false", "since": stamp, "filters": filters})
        text = response.text.strip()
        return bool(text) and text not in ("[]", "null")

    def list_attrs(self, **kwargs: Any) -> List[Dict[str, Any]]:
        key = json.dumps(kwargs, sort_keys=True, default=str)
        cached = self._cache.get(key)
        if cached is not None and self.usable() and not self.changed_since(cached[0]):
            self.hits += 1
            return cached[1]
        self.misses += 1
        started = self._clock() - 0.001  # events stamped while we list make the next call list again
        rows = self.manager.list_attrs(**kwargs)
        self._cache[key] = (started, rows)
        return rows
