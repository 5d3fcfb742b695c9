"""ImagesManager: every image operation, with podman-py's ImagesManager signatures and return shapes; the one
home of the ``/images/...`` requests (an :class:`Image`'s methods call these).

Pull and push are in ``transfer`` (TransferMixin), build in ``build`` (BuildMixin). Their streams are decoded as
they arrive; any ``{"error": ...}`` line raises, and each line is also offered to an optional ``progress``
callable as typed events (see ``events``).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import tarfile
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Union

from ..api.api_client import APIClient, quote_name
from ..api.params import encode_filters, filter_dict, filter_values
from ..api.registry import inspect_distribution
from ..errors import APIError, ImageNotFound, InvalidArgument, MissingArgument, NotFound, NotSupported
from ..failures import attach, explain
from . import build_containers, events
from .build import BuildMixin
from .images import Image
from .references import bare_id, registry_location, split_reference
from .registry_data import RegistryData
from .transfer import TransferMixin, auth_header, tls_verify_of
# The filter keys each listing accepts (libpod, Podman 4.3 and 5.4), by the operation that lists: a refused
# filter's sentence names them (failures.py's "unknown filter" row reads them as the fact filter_keys).
FILTER_KEYS = {
    "images": ("before", "containers", "dangling", "digest", "id", "intermediate", "label", "readonly",
               "reference", "since", "until"),
    "image_prune": ("dangling", "label", "until"),
    "image_search": ("is-automated", "is-official", "stars"),
}


class ImagesManager(TransferMixin, BuildMixin):
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

    def history_of(self, name: str) -> builtins.list[Dict[str, Any]]:
        """The layers image ``name`` was made of, newest first (:meth:`Image.history`)."""
        return self.client.get(f"/images/{quote_name(name)}/history", not_found=ImageNotFound).json()

    def add_tag(self, name: str, repository: str, tag: Optional[str]) -> None:
        """Add ``repository:tag`` to image ``name`` (:meth:`Image.tag`)."""
        self.client.post(f"/images/{quote_name(name)}/tag", params={"repo": repository, "tag": tag},
                         not_found=ImageNotFound)

    def archive(self, name: str) -> Iterator[bytes]:
        """Image ``name`` as a docker-archive tarball, as the service sends it (:meth:`Image.save`)."""
        response = self.client.get(f"/images/{quote_name(name)}/get", params={"format": "docker-archive"},
                                   stream=True, not_found=ImageNotFound)
        return self.client.stream_bytes(response)

    def read_file(self, name: str, path: str) -> bytes:
        """The content of the file ``path`` in image ``name``, read through a container made from it (never
        started) and removed at once.

        Raises:
            ImageNotFound: the service has no such image.
            NotFound: the image has no file at ``path``.
            APIError: the service failed to answer.
        """
        spec = {"image": name, "command": ["true"], "netns": {"nsmode": "none"}}
        created = self.client.post("/containers/create", data=json.dumps(spec), not_found=ImageNotFound,
                                   headers={"Content-Type": "application/json"}).json()["Id"]
        try:
            body = self.client.get(f"/containers/{created}/archive", params={"path": path}).content
        finally:
            self.client.delete(f"/containers/{created}", params={"force": True, "v": True})
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            member = next((m for m in tar if m.isfile()), None)
            if member is None:
                raise NotFound(f"{path} in the image {name} is not a file")
            return tar.extractfile(member).read()

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
        response = _filtered("images", self.client.get, "/images/json",
                             params={"all": kwargs.get("all"), "filters": encode_filters(filters)})
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
        if not self._distribution_unsupported:
            try:
                response = self.client.get(f"/distribution/{quote_name(name)}/json", compat=True,
                                           headers=auth_header(auth_config), not_found=ImageNotFound)
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
                  "tlsVerify": tls_verify_of(kwargs)}
        return _filtered("image_search", self.client.get, "/images/search", params=params,
                         headers=auth_header(kwargs.get("auth_config"))).json() or []

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
        response = _filtered("image_prune", self.client.post, "/images/prune",
                             params={"all": all, "external": external, "filters": encode_filters(filters)})
        deleted, errors, reclaimed = [], [], 0
        for entry in response.json() or []:
            if entry.get("Err"):
                errors.append(entry["Err"])
            else:
                reclaimed += entry.get("Size") or 0
                deleted.append({"Deleted": entry.get("Id"), "Untagged": ""})
        if errors:
            raise explain(APIError("prune could not delete every image", explanation="; ".join(errors)))
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
            raise explain(APIError("prune could not delete every image", explanation="; ".join(errors)))
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
        names = [name for checked in self._checked_lines(response, None, lines=iter([response.json() or {}]))
                 for event in checked.events if isinstance(event, events.Result) for name in event.references]
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

def _filtered(operation: str, send: Callable[..., Any], path: str, **kwargs: Any) -> Any:
    """``send(path, **kwargs)`` for a listing that takes filters: a refused filter's error names the keys it takes."""
    try:
        return send(path, **kwargs)
    except APIError as error:
        raise attach(error, operation=operation, filter_keys=FILTER_KEYS[operation])


def _has_label(labels: Mapping[str, str], wanted: str) -> bool:
    """Podman's label filter for one value: ``key`` (present) or ``key=value``."""
    key, _, value = wanted.partition("=")
    return key in labels and (not value or labels[key] == value)


