"""Pull and push: the methods of ImagesManager that stream images from and to registries (:class:`TransferMixin`),
and what they share with builds: the ``X-Registry-Auth`` header, the ``tls_verify`` keyword, the checked lines of a
stream and their encoding for ``stream=True``.
"""

from __future__ import annotations

import builtins
import json
import re
from typing import Any, Callable, Dict, Iterator, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ..api.api_client import quote_name
from ..api.unixhttp import says_not_found
from ..api.params import encode_auth
from ..api.registry import layer_sizes, registry_is_insecure
from ..errors import APIError, ImageNotFound, PodmanError
from ..failures import attach, attached, explain
from . import events
from .images import Image
from .platforms import split_platform
from .references import join_reference, registry_location, short_id, split_reference
from .storage import tells_full_storage

Progress = Optional[Callable[[events.Event], None]]
_TLS_WORDS = re.compile(r"https client|x509|certificate", re.IGNORECASE)
NO_PUSH_PROGRESS = "Podman {version} reports nothing until a push is over: waiting for it to finish"


class StreamLine(NamedTuple):
    """A decoded line of a pull, push or load answer (None for a line that said nothing) and its typed events."""
    line: Any
    events: Tuple[events.Event, ...]


def auth_header(auth_config: Optional[Mapping[str, str]], registries: Sequence[str] = ()) -> Optional[Dict[str, str]]:
    """The ``X-Registry-Auth`` header for ``auth_config`` (None without credentials), for ``registries`` only
    when named (see encode_auth)."""
    auth = encode_auth(auth_config, registries)
    return {"X-Registry-Auth": auth} if auth else None


def tls_verify_of(kwargs: Mapping[str, Any]) -> Optional[bool]:
    """``tls_verify``, or podman-py's spelling ``tlsVerify``."""
    return kwargs.get("tls_verify", kwargs.get("tlsVerify"))


def encoded(lines: Iterator[Any], decode: Optional[bool]) -> Iterator[Any]:
    """What ``stream=True`` yields of ``(line, ...)`` pairs: the dicts with ``decode=True``, else each line as JSON
    bytes."""
    for line, _ in lines:
        if line is not None:
            yield line if decode else json.dumps(line).encode() + b"\n"


class TransferMixin:
    """The ``pull`` and ``push`` methods of ImagesManager."""

    client: Any
    get: Callable[[str], Image]

    @tells_full_storage
    def pull(self, repository: str, tag: Optional[str] = None, all_tags: bool = False, **kwargs: Any,
             ) -> Union[Image, builtins.list[Image], Iterator[Any]]:
        """Pull an image from its registry.

        Args:
            repository: a reference (``registry/path[:tag][@digest]``); short names resolve as the service's
                registries.conf says.
            tag: the tag, when ``repository`` has none (default ``latest``).
            all_tags: every tag of the repository; returns a list.
            kwargs: ``auth_config`` (``username``/``password`` or ``identitytoken``), ``platform``
                (``os/arch[/variant]``), ``policy`` (default ``always``), ``tls_verify``, ``stream`` and
                ``decode`` (a generator of the service's lines instead of the Image), ``progress`` (a
                callable given each typed event).

        Layers report their state, and their bytes where the endpoint :meth:`_pull_response` picks says them.

        Raises:
            ImageNotFound: the registry has no such repository or tag.
            APIError: the registry or the service refused (credentials, TLS, network).
            InvalidArgument: the reference or the platform cannot be parsed; nothing was sent.
        """
        reference = split_reference(repository)[0] if all_tags else join_reference(repository, tag)
        tls_verify = tls_verify_of(kwargs)
        platform = split_platform(kwargs.get("platform"))
        if kwargs.get("progress") is not None and not all_tags:
            # the image's layers and sizes, for a display: the libpod lines carry no bytes, and the
            # Docker-style ones only for a layer that takes seconds (and count the config blob too)
            self._announce_layer_sizes(reference, kwargs, tls_verify, platform)
        try:
            response = self._pull_response(reference, all_tags, tls_verify, platform, kwargs)
        except APIError as error:
            if all_tags and tls_verify is False:
                _all_tags_tls_hint(error)
            raise attach(error, operation="image_pull", reference=reference)
        lines = attached(self._checked_lines(response, kwargs.get("progress"), not_found=ImageNotFound,
                                             reference=reference), operation="image_pull", reference=reference)
        if all_tags and tls_verify is False:
            lines = _all_tags_tls_hinted(lines)
        if kwargs.get("stream"):
            return encoded(lines, kwargs.get("decode"))
        names = [name for checked in lines for event in checked.events if isinstance(event, events.Result)
                 for name in event.references]
        names = names or [reference]  # Docker-style lines name no image: the reference is what was pulled
        pulled = [self.get(name) for name in (names if all_tags else names[:1])]
        _report(pulled, kwargs.get("progress"))
        return pulled if all_tags else pulled[0]

    def _pull_response(self, reference: str, all_tags: bool, tls_verify: Optional[bool],
                       platform: Mapping[str, str], kwargs: Mapping[str, Any]) -> Any:
        """The pull's streaming answer, from the endpoint whose lines say the most on this service.

        Byte progress needs Docker-style lines: Podman 5's libpod pull gives them with compatMode; on
        Podman 4 only the Docker-compatible endpoint does, and that one reads TLS settings from
        registries.conf alone and has no policy or all-tags, so an explicit tls_verify, a policy or
        all_tags keep the libpod endpoint (whose lines have layer states but no bytes).
        tls_verify=False for a registry registries.conf already marks insecure changes nothing there.
        Podman 3's Docker-compatible pull says nothing until it is over: there the libpod endpoint is used.
        """
        features = self.client.features
        policy = kwargs.get("policy", "always")
        headers = auth_header(kwargs.get("auth_config"))
        docker_lines = bool(kwargs.get("compatMode", True)) and not all_tags
        libpod_compat = docker_lines and features.libpod_pull_has_compat_mode
        use_compat = (docker_lines and not libpod_compat and features.compat_pull_streams_progress
                      and policy == "always"
                      and (tls_verify is None
                           or (tls_verify is False and self.client.is_local and _marked_insecure(reference))))
        if use_compat:
            return self.client.post("/images/create", compat=True, headers=headers, stream=True,
                                    params={"fromImage": reference, "platform": kwargs.get("platform")},
                                    not_found=ImageNotFound)
        params = {"reference": reference, "allTags": all_tags or None, "policy": policy, "tlsVerify": tls_verify,
                  "compatMode": libpod_compat or None, "quiet": False, **platform}
        return self.client.post("/images/pull", params=params, headers=headers, stream=True,
                                not_found=ImageNotFound)

    def push(self, repository: str, tag: Optional[str] = None, **kwargs: Any) -> Union[str, Iterator[Any]]:
        """Push an image. Keyword args: ``auth_config``, ``destination``, ``format``, ``tls_verify``/``tlsVerify``,
        ``compress``, ``stream``/``decode``, ``progress``. Returns the service's real progress lines
        (none on Podman 3, which answers only when the push is over: ``progress`` is told so first).

        Raises:
            ImageNotFound: the service has no such image.
            APIError: the registry refused (credentials, TLS, network).
            InvalidArgument: the reference or the destination cannot be parsed; nothing was sent.
        """
        reference = join_reference(repository, tag) if tag else repository
        split_reference(reference)
        destination = kwargs.get("destination")
        if destination:
            split_reference(destination)
        features = self.client.features
        if kwargs.get("progress") is not None and not features.push_streams_progress:
            kwargs["progress"](events.Status(NO_PUSH_PROGRESS.format(version=features.version)))
        params = {"destination": destination, "tlsVerify": tls_verify_of(kwargs),
                  "format": kwargs.get("format"), "compress": kwargs.get("compress"), "quiet": False}
        response = self.client.post(f"/images/{quote_name(reference)}/push", params=params,
                                    headers=auth_header(kwargs.get("auth_config")),
                                    stream=True, not_found=ImageNotFound)
        lines = self._checked_lines(response, kwargs.get("progress"), not_found=ImageNotFound,
                                    reference=destination or reference)
        if kwargs.get("stream"):
            return encoded(lines, kwargs.get("decode"))
        return "".join(json.dumps(line) + "\n" for line, _ in lines if line is not None)

    def _announce_layer_sizes(self, reference: str, kwargs: Mapping[str, Any], tls_verify: Optional[bool],
                              platform: Mapping[str, str]) -> None:
        """Offer ``progress`` the image's layers and sizes, read from the registry; nothing when it cannot say."""
        try:
            version = self.client.version()
            platform = {"OS": version.get("Os") or "linux", "Arch": version.get("Arch") or "amd64", **platform}
            sizes = layer_sizes(registry_location(reference), auth_config=kwargs.get("auth_config"),
                                tls_verify=tls_verify,
                                platform=platform, timeout=min(self.client.timeout, 5.0))
        except PodmanError:  # the pull itself will say what is wrong
            return
        if sizes:
            kwargs["progress"](events.LayerSizes(tuple((short_id(digest), size) for digest, size in sizes)))

    def _checked_lines(self, response: Any, progress: Progress, not_found: type = APIError,
                       reference: str = "", lines: Optional[Iterator[Any]] = None) -> Iterator[StreamLine]:
        """Decoded lines of a stream (or the given ``lines`` of its answer), each with its events, which
        are offered to ``progress``; an error line raises, naming ``reference`` (and so its registry)
        when the service's message does not."""
        lines = self.client.stream_json(response) if lines is None else lines
        for line, found in events.read(lines, progress):
            error = events.first_error(found)
            if error is not None:
                raise _stream_error(error.message, response, not_found, reference)
            yield StreamLine(line, tuple(found))


def _all_tags_tls_hint(error: APIError) -> None:
    """Podman (3.0.1 to 5.8.6 alike) lists an all-tags pull's tags with registries.conf's TLS settings,
    whatever tlsVerify says: hint at what works, not at the --no-tls-verify that was already given."""
    if _TLS_WORDS.search(error.raw()):
        attach(error, all_tags_tls=True)


def _all_tags_tls_hinted(lines: Iterator[Any]) -> Iterator[Any]:
    """The lines, with the hint added to an error line's APIError (Podman 5.8 reports the failure there)."""
    try:
        yield from lines
    except APIError as error:
        _all_tags_tls_hint(error)
        raise


def _stream_error(message: str, response: Any, not_found: type, reference: str) -> APIError:
    """The exception for an error line: ``not_found`` when the message says so, else APIError."""
    cls = not_found if says_not_found(message) else APIError
    if reference and reference not in message:
        message = f"{reference}: {message}"
    return explain(cls(message, response=response, explanation=None,
                       status_code=getattr(response, "status_code", None)))


def _marked_insecure(reference: str) -> bool:
    """Whether this machine's registries.conf marks the reference's registry insecure (what a local
    service reads; a remote one reads its own, so this is asked for local services only)."""
    try:
        host, path, _ = registry_location(reference)
    except ValueError:
        return False
    return registry_is_insecure(host, path)


def _report(images: builtins.list[Image], progress: Progress) -> None:
    """Tell ``progress`` which images the operation ended with (a Docker-style pull names none)."""
    if progress is not None:
        for image in images:
            progress(events.Result(image.id, tuple(image.tags)))
