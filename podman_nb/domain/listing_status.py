"""What a ListingCache says about itself: its statistics (hits, misses, events, reconnects, event lags) and its
status (whether it answers from the cache, since when, or why not; ``%podman`` shows it).

To change why-not wording, change its row in ``LISTING_CACHE_OFF``; domain/listing_cache.py picks the row.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Deque, Dict, Iterable, Optional

# Why %images asks the service each time instead of answering from the listing cache: {error} is the sentence
# of the failure behind it.
LISTING_CACHE_OFF: Dict[str, str] = {
    "off": 'list_cache = "off"',
    "quick": ('Podman 4.5 and later list images quickly (list_cache = "auto" caches only older ones; '
              '"on" caches anyway)'),
    "no_logger": "the service's /info does not say how it logs events",
    "no_events": 'the service logs no events (events_logger = "none" in its containers.conf)',
    "unopened": "the service's events stream could not be opened ({error})",
    "dropped": "the events stream dropped and is being reopened ({error})",
    "ended": "the service ended the events stream",
    "closed": "closed",
}


def cache_off(reason: str, error: Any = None) -> str:
    """The row ``reason`` of LISTING_CACHE_OFF, with ``error``'s sentence where the row has one."""
    return LISTING_CACHE_OFF[reason].format(error=error)


@dataclass
class ListingStats:
    """How a ListingCache has done: listings answered from it (``hits``) and asked of the service (``misses``),
    events that changed a listing, events streams opened (``connects``), each event's arrival after its own time
    (``lags``, seconds, the last 200) and when the last changing event arrived (``last_event``, time.time())."""
    hits: int = 0
    misses: int = 0
    events: int = 0
    connects: int = 0
    lags: Deque[float] = field(default_factory=lambda: collections.deque(maxlen=200))
    last_event: Optional[float] = None


def status(off: Optional[str], live: bool, last_error: Any, current: Iterable[float]) -> Dict[str, Any]:
    """``{"cached": bool, "since": datetime or None, "why": str}`` of a cache that does not cache because of
    ``off`` (None: it does), whose events stream is ``live`` or not, whose current listings were taken at the
    times ``current`` (time.time())."""
    if off is not None:
        return {"cached": False, "since": None, "why": off}
    if not live:
        return {"cached": False, "since": None, "why": cache_off("dropped", last_error)}
    taken = max(current, default=None)
    if taken is None:
        return {"cached": True, "since": None, "why": "nothing listed since the last change"}
    return {"cached": True, "since": datetime.fromtimestamp(taken, timezone.utc), "why": ""}
