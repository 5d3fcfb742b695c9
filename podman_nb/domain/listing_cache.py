"""A listing of images kept current by the service's events, so that ``%images`` answers in milliseconds.

Podman before 4.5 lists images in time growing as the square of their number (seconds at a hundred
images): no client can ask faster, so :class:`ListingCache` asks less. It keeps each listing it made
(one per set of arguments) and answers from it until something may have changed it:

- one streamed ``GET /events`` per service (image and container events), read by a daemon thread:
  an event that can change a listing (not a push, save or mount, not a container's start or stop)
  arriving after a listing was asked makes it stale;
- a request through the same client that may change images (any but a GET) makes every listing
  stale when it starts and when it ends, so a change made through the magics shows at once;
- a dropped stream (a killed or restarted service, a cut connection) makes everything stale and
  nothing is kept until it is open again; it is reopened with ``since=`` the last event seen;
- events are a hint, not a log: a listing older than ``max_age`` seconds is answered once more but
  made again in the background, so even a missed event heals;
- once a burst of events has been quiet for ``debounce`` seconds, the last listing asked for is made
  again in the background, so the next call rarely waits.

``ImagesManager.list()`` stays uncached; this object is opt-in (``PodmanClient.listing()``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..api.api_client import abort_stream
from ..errors import InvalidArgument, PodmanError
from ..failures import explain
from . import listing_status
from .listing_status import ListingStats, cache_off

MODES = ("auto", "on", "off")
MAX_AGE = 300.0  # seconds: the safety net for changes that emit no event
DEBOUNCE = 0.5  # seconds of quiet after events before the background refresh
_EVENT_TYPES = ("image", "container")
_IGNORED = {"image": {"push", "save", "mount", "unmount", "exists", "pull-error"}}
_CONTAINER_CHANGES = {"create", "remove"}  # what changes the listing's containers column
_Key = str


@dataclass
class _Entry:
    rows: List[Dict[str, Any]]
    generation: int
    taken: float  # time.time() when the listing was asked
    monotonic: float


def _changes_listing(event: Any) -> bool:
    """Whether this event can change what ``GET /images/json`` answers."""
    if not isinstance(event, dict):
        return True
    kind, action = str(event.get("Type") or "").lower(), str(event.get("Action") or event.get("status") or "")
    if kind == "container":
        return action in _CONTAINER_CHANGES
    return action not in _IGNORED.get(kind, ())


def _stamp(nanoseconds: int) -> str:
    """A ``since=`` value Podman reads to the nanosecond: ``SECONDS.NANOSECONDS``."""
    return f"{nanoseconds // 10 ** 9}.{nanoseconds % 10 ** 9:09d}"


class ListingCache:
    """``list_attrs(**kwargs)`` as :meth:`ImagesManager.list_attrs`, answered from what the events say is current.

    ``mode``: "on" wherever the service's events work, "auto" only where listing is slow (Podman < 4.5),
    "off" never. :meth:`status` says whether it caches, since when, or why not; ``stats`` how it has done.
    Thread-safe; close it (or the client) to stop its threads.
    """

    def __init__(self, manager: Any, mode: str = "auto", max_age: float = MAX_AGE, debounce: float = DEBOUNCE):
        if mode not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.manager, self.client = manager, manager.client
        self.mode, self.max_age, self.debounce = mode, max_age, debounce
        self._cond = threading.Condition()
        self._entries: Dict[_Key, _Entry] = {}
        self._asked: Dict[_Key, Dict[str, Any]] = {}  # the arguments of each key, for background refreshes
        self._inflight: Dict[_Key, int] = {}  # key -> the generation a listing being made now was asked at
        self._generation = 0
        self._live = False  # the events stream is open
        self._off: Optional[str] = None  # why it does not cache (None: it does, or has not started)
        self._started = False
        self._stopped = False  # the threads were stopped
        self.closed = False  # close() was called: PodmanClient.listing() makes a new one
        self._opened = threading.Event()  # the first attempt to open the stream is over
        self._response: Any = None
        self._since: Optional[int] = None  # the last event's time (ns)
        self._due: Optional[float] = None  # when a background refresh is due (time.monotonic())
        self._refreshing = False  # a background refresh is listing now
        self._watched_from = 0  # time.time_ns() before the first stream was asked for: older events never come
        self._last_key: Optional[_Key] = None
        self._threads: List[threading.Thread] = []
        self.stats = ListingStats()
        self.last_error: Optional[BaseException] = None
        self.client.change_hooks.append(self.invalidate)
        self.client.close_hooks.append(self.close)

    def __repr__(self) -> str:
        return f"ListingCache({self.client.base_url!r}, mode={self.mode!r})"

    # Asking -------------------------------------------------------------------------------
    def list_attrs(self, fresh: bool = False, **kwargs: Any) -> List[Dict[str, Any]]:
        """The listing for these keywords (``all``, ``filters``, ``name``); ``fresh=True`` always asks the service."""
        if not self._caching():
            return self.manager.list_attrs(**kwargs)
        key = json.dumps(kwargs, sort_keys=True, default=str)
        with self._cond:
            self._last_key, self._asked[key] = key, dict(kwargs)
            while not fresh:
                entry = self._entries.get(key)
                if entry is not None and self._valid(entry):
                    self.stats.hits += 1
                    if time.monotonic() - entry.monotonic > self.max_age:
                        self._schedule(0.0)
                    return _copy(entry.rows)
                if not (self._live and self._inflight.get(key) == self._generation):
                    break
                self._cond.wait(1.0)  # another thread is making this very listing: take its answer
            self.stats.misses += 1
        return _copy(self._list(key, kwargs))

    def invalidate(self) -> None:
        """Make every listing kept so far stale (the next call asks the service)."""
        with self._cond:
            self._generation += 1

    def status(self) -> Dict[str, Any]:
        """``{"cached": bool, "since": datetime or None, "why": str}``: whether listings are answered from
        the cache, since when the last one kept is current, and otherwise why not."""
        caching = self._caching()
        with self._cond:
            return listing_status.status(None if caching else self._off or cache_off("closed"), self._live,
                                         self.last_error,
                                         [entry.taken for entry in self._entries.values() if self._valid(entry)])

    def idle(self, since: int = 0) -> bool:
        """Whether the events up to ``since`` (a ``timeNano``) were read and no background refresh is due or
        running: a listing asked now is the one kept until the next change."""
        with self._cond:
            read = max(self._since or 0, self._watched_from)
            return read >= since and self._due is None and not self._refreshing

    def close(self) -> None:
        """Stop the watcher and the background refresh (idempotent); later calls ask the service."""
        self._stop()
        self._off, self.closed = self._off or cache_off("closed"), True
        for hooks, hook in ((self.client.change_hooks, self.invalidate), (self.client.close_hooks, self.close)):
            if hook in hooks:
                hooks.remove(hook)

    def _stop(self) -> None:
        """End both threads and the stream (idempotent)."""
        with self._cond:
            if self._stopped:
                return
            self._stopped, self._live, response = True, False, self._response
            self._cond.notify_all()
        if response is not None:
            abort_stream(response)
        for thread in self._threads:  # a refresh still listing ends on its own when its answer comes
            if thread is not threading.current_thread():
                thread.join(2.0)

    # Inside -------------------------------------------------------------------------------
    def _valid(self, entry: _Entry) -> bool:
        return self._live and entry.generation == self._generation

    def _list(self, key: _Key, kwargs: Dict[str, Any]) -> List[Dict[str, Any]]:
        with self._cond:
            generation = self._inflight[key] = self._generation
        taken, started = time.time(), time.monotonic()
        try:
            rows = self.manager.list_attrs(**kwargs)
        finally:
            with self._cond:
                if self._inflight.get(key) == generation:
                    del self._inflight[key]
                self._cond.notify_all()
        with self._cond:
            kept = self._entries.get(key)
            if kept is None or kept.generation <= generation:
                self._entries[key] = _Entry(rows, generation, taken, started)
        return rows

    def _caching(self) -> bool:
        """Start on first use; whether listings are answered from the cache (else ``_off`` says why)."""
        with self._cond:
            if self._stopped or self._started:
                return not self._stopped and self._off is None
            self._started = True
        try:
            self._off = self._why_off()
        except PodmanError:  # the service does not answer: the caller's listing will say so; try again next time
            self._started = False
            raise
        if self._off is None:
            for target in (self._watch, self._refresh_loop):
                thread = threading.Thread(target=target, name=f"podman_nb {target.__name__[1:]}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._opened.wait(self.client.timeout)
            if not self._live:  # off for this client's life: a %config change or a reconnect tries again
                self._off = cache_off("unopened", self.last_error or "no answer")
                self._stop()
        return self._off is None

    def _why_off(self) -> Optional[str]:
        if self.mode == "off":
            return cache_off("off")
        if self.mode == "auto" and self.client.features.lists_images_quickly:
            return cache_off("quick")
        info = self.client.get("/info").json()
        host = info.get("host") if isinstance(info, dict) else None
        if not isinstance(host, dict) or not host.get("eventLogger"):
            return cache_off("no_logger")
        if str(host["eventLogger"]).lower() == "none":
            return cache_off("no_events")
        return None

    def _watch(self) -> None:
        """The watcher thread: keep one events stream open, mark listings stale on each event it brings."""
        delay = 0.1
        while not self._stopped:
            params: Dict[str, Any] = {"stream": True, "filters": json.dumps({"type": list(_EVENT_TYPES)})}
            if self._since is not None:
                params["since"] = _stamp(self._since)
            self._watched_from = self._watched_from or time.time_ns()
            try:
                response = self.client.get("/events", params=params, stream=True, timeout=(self.client.timeout, None))
            except PodmanError as error:
                self.last_error = error
                self._opened.set()
            else:
                if not self._read(response):
                    return
                delay = 0.1
            with self._cond:
                if not self._stopped:
                    self._cond.wait(delay)
            delay = min(delay * 2, 5.0)

    def _read(self, response: Any) -> bool:
        """Read one opened stream until it ends; False when the cache was closed meanwhile."""
        with self._cond:
            if self._stopped:
                response.close()
                return False
            self._response, self._live = response, True
            self._generation += 1
            self.stats.connects += 1
        self._opened.set()
        try:
            for event in self.client.stream_json(response):
                self._event(event)
            self.last_error = PodmanError(cache_off("ended"))
        except PodmanError as error:
            self.last_error = error
        finally:
            response.close()
            with self._cond:
                self._response, self._live = None, False
                self._generation += 1
        return not self._stopped

    def _event(self, event: Any) -> None:
        if isinstance(event, dict) and not event.get("Type") and (event.get("message") or event.get("cause")):
            raise explain(PodmanError(str(event.get("message") or event.get("cause"))))  # the service's own words
        arrived = time.time()
        nanoseconds = event.get("timeNano") if isinstance(event, dict) else None
        with self._cond:  # one step, so that idle() never sees an event read but its refresh not yet due
            if isinstance(nanoseconds, int):
                self._since = max(self._since or 0, nanoseconds)
                self.stats.lags.append(arrived - nanoseconds / 1e9)
            if _changes_listing(event):
                self.stats.events, self.stats.last_event = self.stats.events + 1, arrived
                self._generation += 1
                self._schedule(self.debounce)

    def _schedule(self, delay: float) -> None:
        """(Under the lock) a background refresh of the last listing asked for, ``delay`` s from now."""
        self._due = time.monotonic() + delay
        self._cond.notify_all()

    def _refresh_loop(self) -> None:
        """The refresh thread: make the last listing asked for again when it is due (see _schedule)."""
        while True:
            with self._cond:
                while not self._stopped and (self._due is None or time.monotonic() < self._due):
                    self._cond.wait(None if self._due is None else max(0.01, self._due - time.monotonic()))
                if self._stopped:
                    return
                self._due, key = None, self._last_key
                if key in self._inflight:  # being listed now: look again once that is over
                    self._schedule(self.debounce)
                    continue
                entry = self._entries.get(key) if key is not None else None
                if key is None or not self._live or (
                        entry is not None and self._valid(entry) and time.monotonic() - entry.monotonic <= self.max_age):
                    continue
                kwargs, self._refreshing = self._asked[key], True
            try:
                self._list(key, kwargs)
            except PodmanError as error:  # the next call asks again and says what is wrong
                self.last_error = error
            finally:
                with self._cond:
                    self._refreshing = False


def _copy(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rows the caller may change without changing the cache's."""
    return [dict(row) for row in rows]
