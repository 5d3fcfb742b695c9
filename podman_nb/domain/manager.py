"""ImagesManager: every image operation, with podman-py's ImagesManager signatures and return shapes.

Pull, push and build streams are decoded as they arrive; any ``{"error": ...}`` line raises, and
each line is also offered to an optional ``progress`` callable as typed events (see ``events``).
"""

from __future__ import annotations

import builtins
import json
import os
import re
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Union

from ..api.api_client import APIClient, quote_name, says_not_found
from ..api.params import encode_auth, encode_filters, filter_dict, filter_values
from ..api.registry import inspect_distribution, layer_sizes, registry_is_insecure
from ..errors import APIError, ImageNotFound, InvalidArgument, MissingArgument, NotFound, NotSupported, PodmanError
from ..failures import attach, attached
from . import build_containers, events
from .build import BuildMixin
from .images import Image
from .platforms import split_platform
from .references import bare_id, join_reference, registry_location, short_id, split_reference
from .storage import tells_full_storage
from .registry_data import RegistryData

Progress = Optional[Callable[[events.Event], None]]
_TLS_WORDS = re.compile(r"https client|x509|certificate", re.IGNORECASE)
NO_PUSH_PROGRESS = "Podman {version} reports nothing until a push is over: waiting for it to finish"


class ImagesManager(BuildMixin):
    """Images on one Podman service. ``ImagesManager()`` finds the service by itself."""

    def __init__(self, client: Optional[APIClient] = None):
        self.client = client if client is not None else APIClient()
        self._distribution_unsupported = False

    def __repr__(self) -> str:
        return f"ImagesManager({self.client.base_url!r})"

    @property
    def resource(self) -> type:
        return Image

    def prepare_model(self, attrs: Union[Image, Mapping[str, Any]]) -> Image:
        """An Image bound to this manager, from a service document or another Image.

        Raises:
            InvalidArgument: ``attrs`` is neither a dict nor an Image.
        """
        if isinstance(attrs, Image):
            attrs.manager, attrs.client = self, self.client
            return attrs
        if isinstance(attrs, Mapping):
            return Image(attrs, client=self.client, collection=self)
        raise InvalidArgument(f"prepare_model() needs a dict or an Image, not {type(attrs).__name__}")

    # Reading -------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        """Whether the service holds an image with this name or id.

        Raises:
            APIError: the service failed to answer (a missing image is False, not an error).
        """
        try:
            self.client.get(f"/images/{quote_name(key)}/exists")
            return True
        except NotFound:
            return False

    def get(self, name: str) -> Image:
        """The image with this name or id.

        Raises:
            ImageNotFound: the service has no such image.
            APIError: the service failed to answer.
        """
        response = self.client.get(f"/images/{quote_name(name)}/json", not_found=ImageNotFound)
        return self.prepare_model(response.json())

    def list(self, **kwargs: Any) -> builtins.list[Image]:
        """Images on the service.

        Args:
            kwargs: ``name`` (a reference filter), ``all`` (intermediate images too), ``filters`` (a dict:
                ``dangling``, ``label`` (one or a list, all must match), ``reference``, ``before``, ``since``).

        Raises:
            InvalidArgument: ``filters`` is not a dict; nothing was sent.
            APIError: the service refused a filter or failed to answer.
        """
        return [self.prepare_model(attrs) for attrs in self.list_attrs(**kwargs)]

    def list_attrs(self, **kwargs: Any) -> builtins.list[Dict[str, Any]]:
        """The service's list documents themselves, without making Image objects (for tables);
        the keywords of :meth:`list`."""
        filters = filter_dict(kwargs.get("filters"))
        if kwargs.get("name"):
            filters["reference"] = kwargs["name"]
        later: builtins.list[str] = []
        labels = filter_values("label", filters.get("label"))
        if len(labels) > 1 and not self.client.features.list_ands_label_filters:
            # Podman 3 and 4 match nothing when given two label filters: send one, check the rest here.
            filters["label"], later = labels[:1], labels[1:]
        response = self.client.get("/images/json", params={"all": kwargs.get("all"),
                                                           "filters": encode_filters(filters)})
        return [attrs for attrs in response.json() or []
                if all(_has_label(attrs.get("Labels") or {}, want) for want in later)]

    def get_registry_data(self, name: str, auth_config: Optional[Mapping[str, str]] = None,
                          tls_verify: Optional[bool] = None) -> RegistryData:
        """Ask the registry (not local storage) for the image's digest and platforms.

        Uses the service's Docker-compatible ``GET /distribution/{name}/json`` when it has one; Podman
        4.3 and 5.4 answer "not supported", so then the registry is asked directly (see ``api.registry``:
        certs.d CAs, registries.conf ``insecure``, Basic and Bearer auth). ``tls_verify=False`` allows
        plain HTTP or an unverified certificate.

        Raises:
            ImageNotFound: the registry has no such name or tag.
            APIError: the registry refused (credentials, TLS) or did not answer.
            InvalidArgument: ``name`` is no reference; nothing was asked.
        """
        split_reference(name)
        auth = encode_auth(auth_config)
        if not self._distribution_unsupported:
            headers = {"X-Registry-Auth": auth} if auth else None
            try:
                response = self.client.get(f"/distribution/{quote_name(name)}/json", compat=True,
                                           headers=headers, not_found=ImageNotFound)
                return RegistryData(name, response.json(), self)
            except APIError as error:
                if "not supported" not in str(error.explanation or "").lower():
                    raise
                self._distribution_unsupported = True
        try:
            attrs = inspect_distribution(registry_location(name), auth_config=auth_config, tls_verify=tls_verify,
                                         timeout=self.client.timeout)
        except APIError as error:
            if not self.client.is_local:
                attach(error, asked_from_here=True)
            raise
        return RegistryData(name, attrs, self)

    def search(self, term: str, **kwargs: Any) -> builtins.list[Dict[str, Any]]:
        """Search registries.

        Args:
            term: what to look for, optionally ``registry/term``; with ``listTags``, a repository.
            kwargs: ``filters``, ``limit``, ``noTrunc`` (default True), ``listTags``, ``tls_verify``, ``auth_config``.

        Raises:
            InvalidArgument: ``term`` is empty or not a string.
            APIError: a registry refused or did not answer.
        """
        if not isinstance(term, str) or not term:
            raise InvalidArgument("search() needs a non-empty term")
        params = {"term": term, "noTrunc": kwargs.get("noTrunc", True), "limit": kwargs.get("limit"),
                  "filters": encode_filters(kwargs.get("filters")), "listTags": kwargs.get("listTags"),
                  "tlsVerify": kwargs.get("tls_verify", kwargs.get("tlsVerify"))}
        headers = {"X-Registry-Auth": encode_auth(kwargs["auth_config"])} if kwargs.get("auth_config") else None
        return self.client.get("/images/search", params=params, headers=headers).json() or []

    # Removing ------------------------------------------------------------------------------
    def remove(self, image: Union[Image, str], force: Optional[bool] = None, noprune: bool = False,
               ) -> builtins.list[Dict[str, Union[str, int]]]:
        """Delete an image (or untag it, when other names remain); returns the Deleted/Untagged/Errors
        entries and the ExitCode.

        Raises:
            ImageNotFound: the service has no such image.
            APIError: the image is in use (and ``force`` not given), or the service refused.
        """
        name = image.id if isinstance(image, Image) else image
        response = self.client.delete(f"/images/{quote_name(name)}", params={"force": force, "noprune": noprune},
                                      not_found=ImageNotFound)
        body = response.json()
        report: builtins.list[Dict[str, Union[str, int]]] = []
        for key in ("Deleted", "Untagged", "Errors"):
            report.extend({key: item} for item in body.get(key) or [] if item)  # Podman 3: an untag "Deleted" ''
        report.append({"ExitCode": body.get("ExitCode", 0)})
        return report

    def prune(self, all: Optional[bool] = False, external: Optional[bool] = False,  # noqa: A002
              filters: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Delete unused images: dangling ones, or with ``all=True`` every one no container uses.

        Returns ``{"ImagesDeleted": [{"Deleted": id, "Untagged": ""}...], "SpaceReclaimed": bytes}``.

        Raises:
            APIError: some image could not be deleted (every reason is in ``explanation``).
        """
        build_containers.remove_left(self.client)  # a killed service's abandoned builds (their images go too)
        if not self.client.features.prune_honours_filters:
            return self._prune_one_by_one(all, filters)
        response = self.client.post("/images/prune", params={"all": all, "external": external,
                                                             "filters": encode_filters(filters)})
        deleted, errors, reclaimed = [], [], 0
        for entry in response.json() or []:
            if entry.get("Err"):
                errors.append(entry["Err"])
            else:
                reclaimed += entry.get("Size") or 0
                deleted.append({"Deleted": entry.get("Id"), "Untagged": ""})
        if errors:
            raise APIError("prune could not delete every image", explanation="; ".join(errors))
        return {"ImagesDeleted": deleted, "SpaceReclaimed": reclaimed}

    def _prune_one_by_one(self, all: Optional[bool], filters: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        """Podman 3's prune ignores label filters (asked for one label, it deletes every dangling image) and
        prunes one round: delete what :meth:`prune_candidates` names, children before parents, one by one."""
        doomed = self.prune_candidates(all=bool(all), filters=filters)
        sizes = {bare_id(image.id): image.attrs.get("Size") or 0 for image in self.list(all=True)}
        deleted: builtins.list[str] = []
        errors: builtins.list[str] = []
        for image in doomed:
            if bare_id(image.id) in deleted:
                continue
            try:
                response = self.client.delete(f"/images/{quote_name(bare_id(image.id))}", not_found=ImageNotFound)
            except ImageNotFound:  # listed a moment ago: deleted with a child removed before it
                deleted.append(bare_id(image.id))
                continue
            except APIError as error:
                errors.append(str(error.explanation or error))
                continue
            deleted.extend(bare_id(gone) for gone in response.json().get("Deleted") or [] if gone)
        if errors:
            raise APIError("prune could not delete every image", explanation="; ".join(errors))
        return {"ImagesDeleted": [{"Deleted": key, "Untagged": ""} for key in deleted],
                "SpaceReclaimed": sum(sizes.get(key, 0) for key in deleted)}

    def prune_candidates(self, all: bool = False, filters: Optional[Mapping[str, Any]] = None,  # noqa: A002
                         ) -> builtins.list[Image]:
        """What :meth:`prune` would delete now, deleting nothing.

        Podman prunes in rounds: deleting a dangling image can leave its parent (an intermediate build
        image) dangling, and the next round deletes that too; deleting an image also deletes its
        untagged, unused parents even when the filters do not match them. A ``dangling=true`` listing
        misses those parents, so the rounds are replayed here on the full listing.

        Raises:
            InvalidArgument: ``filters`` is not a dict.
            APIError: the service failed to answer.
        """
        wanted = {key: value for key, value in filter_dict(filters).items() if key != "dangling"}
        matching = self.list(all=True, filters=wanted)
        everything = self.list(all=True)
        children: Dict[str, builtins.list[str]] = {}
        for image in everything:
            children.setdefault(bare_id(image.attrs.get("ParentId")), []).append(bare_id(image.id))

        def removable(image: Image, doomed: Dict[str, Image]) -> bool:
            return (not image.attrs.get("Containers")
                    and builtins.all(child in doomed for child in children.get(bare_id(image.id), [])))

        doomed: Dict[str, Image] = {}
        changed = True
        while changed:
            changed = False
            for image in matching:
                key = bare_id(image.id)
                if key not in doomed and (all or not image.tags) and removable(image, doomed):
                    doomed[key] = image
                    changed = True
            parents = {bare_id(image.attrs.get("ParentId")) for image in doomed.values()}
            for image in everything:
                key = bare_id(image.id)
                if key in parents and key not in doomed and not image.tags and removable(image, doomed):
                    doomed[key] = image
                    changed = True
        return list(doomed.values())

    def prune_builds(self) -> Dict[str, Any]:
        """Delete the build cache; returns ``{"CachesDeleted": [image ids], "SpaceReclaimed": bytes}``.

        Podman has no BuildKit cache: its build cache is the untagged intermediate images of ``--layers``
        builds (and containers left by interrupted builds). This prunes dangling images, ``external``
        ones included, that no container uses: tagged images and their parents stay.

        Raises:
            APIError: some cache image could not be deleted.
        """
        result = self.prune(external=True, filters={"dangling": True})
        return {"CachesDeleted": [entry["Deleted"] for entry in result["ImagesDeleted"]],
                "SpaceReclaimed": result["SpaceReclaimed"]}

    # Moving images in and out --------------------------------------------------------------
    def load(self, data: Optional[bytes] = None, file_path: Optional[os.PathLike] = None,
             ) -> Iterator[Image]:
        """Load images from a tarball made by :meth:`Image.save` (bytes, a file object or a path);
        yields the loaded Images.

        Raises:
            MissingArgument: neither ``data`` nor ``file_path`` was given.
            InvalidArgument: both were given, or the file cannot be read; nothing was sent.
            APIError: the service found no image in the archive, or refused it.
        """
        if data is None and file_path is None:
            raise MissingArgument("load() needs data (the tarball) or file_path (a path to it)")
        if data is not None and file_path is not None:
            raise InvalidArgument("load() takes data or file_path, not both")
        handle = None
        if file_path is not None:
            try:
                handle = open(os.fspath(file_path), "rb")
            except OSError as error:
                raise InvalidArgument(f"cannot read {os.fspath(file_path)!r}: {error.strerror}") from None
        try:
            response = self.client.post("/images/load", data=handle if handle is not None else data,
                                        headers={"Content-Type": "application/x-tar"})
        finally:
            if handle is not None:
                handle.close()
        names = [name for _, found in self._checked_lines(response, None, lines=iter([response.json() or {}]))
                 for event in found if isinstance(event, events.Result) for name in event.references]
        if not names:  # Podman 3 answers a file that is no image archive with 200 {"Names": [""]}
            raise APIError("load: this is not an image archive (the service found no image in it); "
                           "use a tarball made by Image.save() or podman save", response=response)
        return (self.get(name) for name in names)

    def scp(self, source: str, dest: Optional[str] = None, quiet: Optional[bool] = False) -> str:
        """Copy an image between Podman connections (the service runs ``podman image scp``); returns its answer.

        Raises:
            NotSupported: the service runs Podman 3, which has no scp; nothing was sent.
            APIError: the service could not reach the destination or the copy failed.
        """
        features = self.client.features
        if not features.has_image_scp:
            raise NotSupported(f"scp needs Podman 4 or later; this service runs Podman {features.version}")
        try:
            response = self.client.post(f"/images/scp/{quote_name(source)}",
                                        params={"destination": dest, "quiet": quiet})
        except APIError as error:
            raise attach(error, operation="image_scp", source=source, destination=dest)
        return response.json()

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

        Byte progress comes from Podman 5's ``compatMode`` or, on Podman 4, from the Docker-compatible
        endpoint when ``tls_verify``, ``policy`` and ``all_tags`` are left alone; otherwise (and always
        on Podman 3) layers report their state only.

        Raises:
            ImageNotFound: the registry has no such repository or tag.
            APIError: the registry or the service refused (credentials, TLS, network).
            InvalidArgument: the reference or the platform cannot be parsed; nothing was sent.
        """
        reference = split_reference(repository)[0] if all_tags else join_reference(repository, tag)
        tls_verify = kwargs.get("tls_verify", kwargs.get("tlsVerify"))
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
            return _encoded(lines, kwargs.get("decode"))
        names = [name for _, found in lines for event in found if isinstance(event, events.Result)
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
        auth = encode_auth(kwargs.get("auth_config"))
        headers = {"X-Registry-Auth": auth} if auth else None
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
        auth = encode_auth(kwargs.get("auth_config"))
        features = self.client.features
        if kwargs.get("progress") is not None and not features.push_streams_progress:
            kwargs["progress"](events.Status(NO_PUSH_PROGRESS.format(version=features.version)))
        params = {"destination": destination, "tlsVerify": kwargs.get("tls_verify", kwargs.get("tlsVerify")),
                  "format": kwargs.get("format"), "compress": kwargs.get("compress"), "quiet": False}
        response = self.client.post(f"/images/{quote_name(reference)}/push", params=params,
                                    headers={"X-Registry-Auth": auth} if auth else None,
                                    stream=True, not_found=ImageNotFound)
        lines = self._checked_lines(response, kwargs.get("progress"), not_found=ImageNotFound,
                                    reference=destination or reference)
        if kwargs.get("stream"):
            return _encoded(lines, kwargs.get("decode"))
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

    # Streams -------------------------------------------------------------------------------
    def _checked_lines(self, response: Any, progress: Progress, not_found: type = APIError,
                       reference: str = "", lines: Optional[Iterator[Any]] = None) -> Iterator[Any]:
        """Decoded lines of a stream (or the given ``lines`` of its answer), each with its events, which
        are offered to ``progress``; an error line raises, naming ``reference`` (and so its registry)
        when the service's message does not."""
        lines = self.client.stream_json(response) if lines is None else lines
        for line, found in events.read(lines, progress):
            error = events.first_error(found)
            if error is not None:
                raise _stream_error(error.message, response, not_found, reference)
            yield line, found


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
    return cls(message, response=response, explanation=None,
               status_code=getattr(response, "status_code", None))


def _marked_insecure(reference: str) -> bool:
    """Whether this machine's registries.conf marks the reference's registry insecure (what a local
    service reads; a remote one reads its own, so this is asked for local services only)."""
    try:
        host, path, _ = registry_location(reference)
    except ValueError:
        return False
    return registry_is_insecure(host, path)


def _has_label(labels: Mapping[str, str], wanted: str) -> bool:
    """Podman's label filter for one value: ``key`` (present) or ``key=value``."""
    key, _, value = wanted.partition("=")
    return key in labels and (not value or labels[key] == value)


def _report(images: builtins.list[Image], progress: Progress) -> None:
    """Tell ``progress`` which images the operation ended with (a Docker-style pull names none)."""
    if progress is not None:
        for image in images:
            progress(events.Result(image.id, tuple(image.tags)))


def _encoded(lines: Iterator[Any], decode: Optional[bool]) -> Iterator[Any]:
    """What ``stream=True`` yields: the dicts with ``decode=True``, else each line as JSON bytes."""
    for line, _ in lines:
        if line is not None:
            yield line if decode else json.dumps(line).encode() + b"\n"

