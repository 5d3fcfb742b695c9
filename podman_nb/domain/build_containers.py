"""Which build (buildah "working") containers on the service are this build's: what stopping an
abandoned build removes, and nothing else.

Podman goes on building after its client has gone; removing the build's container stops it. But the
service names no container in the build's stream, and lists a build container with nothing a client
could set on it (only its id, names, image, creation time), while other builds (another kernel, the
CLI) may be running from the same base at the same time. So a container counts as this build's when
it appeared after this build was sent and either

* was the one new build container when this build's second step began (the first step, ``FROM``,
  had made it by then: one new container at that moment is this build's beyond doubt), or
* started from an image only this build's stream names: a cached layer (a cache hit starts a new
  container from it) or a later stage's base, and no other new container started from the same one.

Anything else new (another build from the same base, or one that began in the same instant as this
one) is left alone: removing another build's container is worse than leaving ours, and the caller
says which containers it left.

A build abandoned because the service went away (killed mid-build: ServiceUnavailable) cannot be cleaned
up then: what its stream said is kept (:func:`leave`, per client, holding no reference to the client) and
the client's next build or prune removes its containers (:func:`remove_left`, once, whichever thread
calls it first): those the build would have removed, made before it was abandoned. A build the service
ran is over once the service was killed, and no one else's build is touched. A service that answered
with an error instead is still there, its builds going on: nothing is kept for later (the caller warns).
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from ..api.api_client import quote_name
from ..errors import PodmanError
from .events import Event, LogLine, Step

_WORKING_CONTAINER = re.compile(r"-working-container(-\d+)?$")  # buildah's names for build containers
_LAYER_ID = re.compile(r"^--> (?:Using cache )?([0-9a-f]{11,64})$")  # a committed or cached layer


class BuildContainers:
    """Follows one build's stream and tells, when the build is abandoned, which containers are its own.

    ``before`` are the service's build containers when the build was sent; ``list_containers`` (given to
    :meth:`see`) returns them as ``{id: image id}`` (:func:`on_service`) and ``image_id`` (given to
    :meth:`own`) resolves a ``FROM`` reference to an image id (None: unknown). Neither is kept: an abandoned
    build kept for later (:func:`leave`) is only what its stream said, and keeps no client alive.
    """

    def __init__(self, before: Iterable[str]):
        self.before: Set[str] = set(before)  # there before this build was sent
        self.first: Optional[str] = None  # this build's first container, once its second step began
        self._second_step = False
        self._bases: List[str] = []  # the FROM references, in order
        self._layers: Set[str] = set()  # layer ids the stream named (committed or cached)

    def watching(self, progress: Optional[Callable[[Event], None]],
                 list_containers: Callable[[], Dict[str, str]]) -> Callable[[Event], None]:
        """``progress`` that first reads each event here: this sees a step even when ``progress``
        raises on it (an interrupt from the display)."""
        def offered(event: Event) -> None:
            self.see(event, list_containers)
            if progress is not None:
                progress(event)
        return offered

    def see(self, event: Event, list_containers: Callable[[], Dict[str, str]]) -> None:
        """Read one event of the build's stream (its own words about its steps and layers)."""
        if isinstance(event, Step):
            words = event.instruction.split()
            if len(words) > 1 and words[0].upper() == "FROM":
                self._bases.append(words[1])
            if event.number >= 2 and not self._second_step:
                self._second_step = True
                new = set(list_containers()) - self.before
                self.first = next(iter(new)) if len(new) == 1 else None
        elif isinstance(event, LogLine):
            match = _LAYER_ID.match(event.text)
            if match:
                self._layers.add(match.group(1))

    def own(self, now: Dict[str, str], image_id: Callable[[str], Optional[str]]) -> Tuple[Set[str], Set[str]]:
        """``(ours, unsure)`` among the build containers ``now`` on the service: those that are this
        build's beyond doubt, and those that may be (or may be another build's), left alone."""
        first_base = image_id(self._bases[0]) if self._bases else None
        later_bases = {image_id(base) for base in self._bases[1:]} - {None}
        ours: Set[str] = set()
        unsure: Set[str] = set()
        for cid, image in now.items():
            if cid in self.before:
                continue
            if cid == self.first or image in later_bases or any(image.startswith(layer) for layer in self._layers):
                ours.add(cid)
            elif self.first is None and (first_base is None or image == first_base):
                unsure.add(cid)  # before its second step (or several began at once): its container or another's
        for cid in list(ours - {self.first}):  # two builds at the same point: which is ours cannot be told
            if any(now[other] == now[cid] for other in now if other != cid and other not in self.before):
                ours.discard(cid)
                unsure.add(cid)
        return ours, unsure


def on_service(client: Any, made_before: Optional[float] = None) -> Dict[str, str]:
    """The service's build (buildah working) containers as ``{id: image id}`` (those created before the time
    ``made_before``, when given). Raises PodmanError (ServiceUnavailable: the service did not answer)."""
    found = client.get("/containers/json", params={"all": True, "external": True}).json()
    return {str(c.get("Id")): str(c.get("ImageID") or "") for c in found or []
            if any(_WORKING_CONTAINER.search(str(name)) for name in c.get("Names") or [])
            and (made_before is None or _created(c.get("Created")) < made_before)}


def image_id(client: Any, reference: str) -> Optional[str]:
    """The id of the local image ``reference`` names, or None."""
    try:
        return str(client.get(f"/images/{quote_name(reference)}/json").json().get("Id") or "") or None
    except PodmanError:
        return None


def _created(stamp: Any) -> float:
    """A container's ``Created`` (RFC 3339 to the nanosecond, or seconds) as seconds; +inf when unreadable."""
    if isinstance(stamp, (int, float)):
        return float(stamp)
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", str(stamp or ""))
    if not match:
        return float("inf")
    when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    zone = match.group(3)
    if zone != "Z":
        when -= (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return when.timestamp() + float(match.group(2) or 0)


# abandoned builds per client, with when each was abandoned; the values hold no reference to their client
_LEFT: "weakref.WeakKeyDictionary[Any, List[Tuple[BuildContainers, float]]]" = weakref.WeakKeyDictionary()
_LEFT_LOCK = threading.Lock()  # guards _LEFT; never held during a request


def leave(client: Any, build: BuildContainers) -> None:
    """Keep a build abandoned because the service went away: the client's next build or prune removes its containers."""
    with _LEFT_LOCK:
        _LEFT.setdefault(client, []).append((build, time.time()))


def remove_left(client: Any) -> Set[str]:
    """Remove the containers of this client's builds abandoned while the service did not answer; those that went.

    The builds are taken out under the lock, so two threads calling it remove each build once; those the
    service cannot be asked about yet go back, in their order, for the next call."""
    with _LEFT_LOCK:
        left = _LEFT.pop(client, [])
    gone: Set[str] = set()
    for index, (build, abandoned) in enumerate(left):
        try:
            now = on_service(client, made_before=abandoned)
        except PodmanError:  # still down: the next call tries again
            with _LEFT_LOCK:
                _LEFT.setdefault(client, [])[:0] = left[index:]
            break
        ours, _ = build.own(now, lambda reference: image_id(client, reference))
        remove(client, ours)
        gone |= ours
    return gone


def remove(client: Any, containers: Iterable[str]) -> None:
    """Force-remove these containers (which stops the build running in them)."""
    for container in containers:
        try:
            client.delete(f"/containers/{quote_name(container)}", params={"force": True})
        except PodmanError:
            pass
