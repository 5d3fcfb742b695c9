"""Building images: podman-py's ``build(**kwargs)`` keywords mapped onto Podman's ``/build`` endpoint.

``build()`` returns ``(Image, BuildLog)`` once the build is over (the log is also ``image.build_log``,
and a failure's ``BuildError.build_log``); ``build(stream=True, decode=True)`` yields each line as the
service sends it, the last one carrying the image id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import warnings
from typing import Any, Dict, Iterator, Mapping, NamedTuple, Optional, Tuple

from ..api.registry import DOCKER_HUB
from ..errors import BuildError, InvalidArgument, NotSupported, PodmanError, ServiceUnavailable
from ..failures import attached, explain
from . import build_containers, events
from .build_context import make_build_context
from .buildlog import BuildLog
from .references import parse_reference, short_id
from .storage import tells_full_storage
from .transfer import auth_header, encoded

_logger = logging.getLogger(__name__)

# Keyword -> query parameter, for values sent as they are.
_PLAIN = {"nocache": "nocache", "pull": "pull", "quiet": "q", "rm": "rm",
          "target": "target", "squash": "squash", "layers": "layers", "output": "output",
          "platform": "platform", "shmsize": "shmsize",
          "http_proxy": "httpproxy", "manifest": "manifest", "outputformat": "outputformat",
          "isolation": "isolation", "remote": "remote"}
_LIMITS = ("memory", "memswap", "cpushares", "cpusetcpus", "cpuperiod", "cpuquota")
# ``output`` is sent as podman-py sends it, but Podman's REST build (4.3 and 5.4 alike) has no output
# parameter: the image is built and stored, nothing is exported. ``use_config_proxy`` and
# ``gzip_level`` (docker-py) are accepted and not sent: Podman has no such settings.
# buildah's NetworkConfigurationPolicy, which the libpod ``networkmode`` parameter carries.
_NETWORK_DISABLED, _NETWORK_ENABLED = "1", "2"


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Run a cleanup to its end: Ctrl-C (SIGINT) that arrives meanwhile is dropped, as an interrupt is
    already being handled. Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    except (ValueError, TypeError):  # pragma: no cover - an embedding without signal support
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def network_params(mode: Any) -> Dict[str, Any]:
    """``network_mode`` as libpod reads it: ``nsoptions`` (the RUN network namespace) and ``networkmode``.

    Without ``nsoptions`` Podman's REST build runs RUN steps in the *host* network namespace, and a
    plain ``networkmode=none`` (what podman-py sends) is ignored; so "none", "host", "private"/"bridge",
    "ns:/path" and network names are translated here.
    """
    if mode is None:
        return {}
    if not isinstance(mode, str) or not mode:
        raise InvalidArgument(f"network_mode must be a non-empty string, not {mode!r}")
    if mode == "none":
        option, policy = {"Name": "network", "Host": False, "Path": ""}, _NETWORK_DISABLED
    elif mode == "host":
        option, policy = {"Name": "network", "Host": True, "Path": ""}, _NETWORK_ENABLED
    elif mode in ("private", "bridge", "default"):
        option, policy = {"Name": "network", "Host": False, "Path": ""}, _NETWORK_ENABLED
    else:
        path = mode[3:] if mode.startswith("ns:") else mode
        option, policy = {"Name": "network", "Host": False, "Path": path}, _NETWORK_ENABLED
    return {"nsoptions": json.dumps([option]), "networkmode": policy}


def _json_param(kwargs: Mapping[str, Any], key: str, kind: type) -> Any:
    value = kwargs.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise InvalidArgument(f"build({key}=...) must be a {kind.__name__}, not {type(value).__name__}")
    return value


def cache_params(kwargs: Mapping[str, Any], features: Any) -> Dict[str, Any]:
    """``cache_from``/``cache_to`` (a registry repository, or a list of them) and ``cache_ttl`` (a duration
    such as "24h") in the form this Podman reads (Features.build_cache_form); refused where it would
    ignore them."""
    params: Dict[str, Any] = {}
    for key, param in (("cache_from", "cachefrom"), ("cache_to", "cacheto")):
        value = kwargs.get(key)
        if value is None:
            continue
        repositories = [value] if isinstance(value, str) else list(value)
        if not repositories or not all(isinstance(r, str) and r for r in repositories):
            raise InvalidArgument(f"build({key}=...) must name a registry repository, e.g. "
                                  f"'registry.example:5000/team/cache', not {value!r}")
        form = features.build_cache_form
        if not form:
            raise NotSupported(f"Podman {features.version} ignores {key} in builds (no layers would go through the "
                               "registry): build with Podman 4.3 or later, or leave it out")
        if form == "plain" and len(repositories) > 1:
            raise NotSupported(f"Podman {features.version} takes one {key} repository, not {len(repositories)}: "
                               "give one, or build with Podman 5 or later")
        params[param] = json.dumps(repositories) if form == "json" else repositories[0]
    if kwargs.get("cache_ttl") is not None:
        params["cachettl"] = str(kwargs["cache_ttl"])
    return params


def build_params(kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``/build`` query for podman-py's build keywords."""
    params: Dict[str, Any] = {param: kwargs.get(key) for key, param in _PLAIN.items()}
    params["layers"] = kwargs.get("layers", True)
    # As the CLI's --force-rm: a failed build removes its working container (Podman's REST default
    # keeps it, and it then holds the base image "in use"). forcerm=False keeps it for inspection.
    params["forcerm"] = kwargs.get("forcerm", True)
    # podman-py's default. Without it libpod builds with an empty format and never finds a cached layer.
    params["outputformat"] = kwargs.get("outputformat") or "application/vnd.oci.image.manifest.v1+json"
    params.update(network_params(kwargs.get("network_mode")))
    if kwargs.get("pull") is not None and kwargs.get("pullpolicy") is None:
        # libpod requests read ``pullpolicy``; ``pull`` alone is ignored by them.
        params["pullpolicy"] = "always" if kwargs["pull"] else "missing"
    elif kwargs.get("pullpolicy") is not None:
        params["pullpolicy"] = kwargs["pullpolicy"]
    tags = kwargs.get("tag")
    params["t"] = [tags] if isinstance(tags, str) else list(tags or []) or None
    buildargs = _json_param(kwargs, "buildargs", dict)
    if buildargs:
        params["buildargs"] = json.dumps({str(k): str(v) for k, v in buildargs.items()})
    labels = _json_param(kwargs, "labels", dict)
    if labels:  # a list of "k=v": Podman 3 reads only that form, later ones both
        params["labels"] = json.dumps([f"{k}={v}" for k, v in labels.items()])
    extra_hosts = kwargs.get("extra_hosts")
    if extra_hosts is not None:
        if isinstance(extra_hosts, Mapping):
            extra_hosts = [f"{host}:{address}" for host, address in extra_hosts.items()]
        params["extrahosts"] = json.dumps(list(extra_hosts))
    if kwargs.get("secrets") is not None:
        params["secrets"] = json.dumps(list(kwargs["secrets"]))
    limits = _json_param(kwargs, "container_limits", dict) or {}
    unknown = set(limits) - set(_LIMITS)
    if unknown:
        raise InvalidArgument(f"container_limits has unknown keys {sorted(unknown)}; known: {list(_LIMITS)}")
    params.update(limits)
    return params


class _Read:
    """A file object whose ``read()`` gives back what was read from the caller's once."""

    def __init__(self, data: Any):
        self.data = data

    def read(self) -> Any:
        return self.data


def _read_containerfile(fileobj: Any, custom_context: bool) -> Tuple[Any, Optional[str]]:
    """``fileobj`` (read once, to keep its text for a failure's sentence) and the Containerfile's text."""
    if fileobj is None or custom_context:
        return fileobj, None
    data = fileobj.read()
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    return _Read(data), text if isinstance(text, str) else None


def _build_headers(encoding: Optional[str], kwargs: Mapping[str, Any]) -> Dict[str, str]:
    """The ``/build`` request's headers: a tar context (``encoding``: gzip), and the registry cache's
    credentials (``auth_config``) as a push sends them, for the cache repositories' registries only (a
    login for every registry would also go to the registry of a FROM image)."""
    headers = {"Content-Type": "application/x-tar"}
    if encoding:
        headers["Content-Encoding"] = encoding
    repositories = [r for key in ("cache_to", "cache_from") for r in
                    ([kwargs[key]] if isinstance(kwargs.get(key), str) else kwargs.get(key) or [])]
    registries = sorted({parse_reference(r).domain or DOCKER_HUB for r in repositories})
    headers.update(auth_header(kwargs.get("auth_config"), registries) or {})
    return headers


def _warn_going_on(reason: str) -> None:
    message = (f"the abandoned build may go on on the service: {reason}; "
               "`podman ps --external` lists them, `podman rm -f ID` stops one")
    _logger.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=4)


class BuildLine(NamedTuple):
    """A decoded line of a build's answer and the image id it reports (None when it reports none)."""
    line: Any
    image_id: Optional[str]


class BuildMixin:
    """The ``build`` method of ImagesManager."""

    @tells_full_storage
    def build(self, **kwargs: Any) -> Any:
        """Build an image from ``path`` (a context folder) or ``fileobj`` (a Containerfile, text or bytes).

        Keywords follow podman-py (tag, dockerfile, buildargs, labels, container_limits, cache_from,
        extra_hosts, network_mode, target, squash, layers, output, platform, nocache, pull, rm, ...);
        ``progress`` is a callable given each typed event. Raises BuildError with the whole log.
        ``network_mode`` is "none", "host", "private"/"bridge", "ns:PATH" or a network name (RUN steps
        use the host network when it is not given: Podman's REST default); ``pull=True`` re-pulls
        base images; ``squash=True`` squashes every layer, the base's too; ``output`` is ignored
        (Podman's REST build cannot export). ``forcerm`` defaults to True, as ``podman build``'s
        ``--force-rm``: a failed build leaves no container behind (``forcerm=False`` keeps it).
        ``cache_to``/``cache_from`` name a registry repository the build pushes its layers to / takes
        them from (another host's build reuses them), ``cache_ttl`` ignores older cached layers ("24h");
        ``auth_config`` is that registry's login, sent as a push's; TLS follows registries.conf.

        Raises:
            BuildError: a step failed; its ``build_log`` holds every line, and the sentence names the step.
            InvalidArgument: an option cannot be used (a path that is no folder, ``fileobj`` text, an option
                this Podman would silently ignore); nothing was sent.
            APIError: the service refused the build or stopped answering.
        """
        if isinstance(kwargs.get("fileobj"), (str, bytes, bytearray)):
            raise InvalidArgument("build(fileobj=...) needs a file object (wrap text in io.StringIO, "
                                  "bytes in io.BytesIO), not a " + type(kwargs["fileobj"]).__name__)
        params = build_params(kwargs)
        self._refuse_unhonoured(kwargs)
        params.update(cache_params(kwargs, self.client.features))
        fileobj, containerfile = _read_containerfile(kwargs.get("fileobj"), kwargs.get("custom_context", False))
        body, dockerfile, encoding = make_build_context(
            path=kwargs.get("path"), fileobj=fileobj, dockerfile=kwargs.get("dockerfile"),
            custom_context=kwargs.get("custom_context", False), encoding=kwargs.get("encoding"),
            gzip=kwargs.get("gzip", False))
        params["dockerfile"] = dockerfile
        headers = _build_headers(encoding, kwargs)
        timeout = kwargs.get("timeout")
        build_containers.remove_left(self.client)
        containers = build_containers.BuildContainers(self._build_containers_now())
        try:
            response = self.client.post("/build", params=params, data=body, headers=headers, stream=True,
                                        timeout=(self.client.timeout, float(timeout)) if timeout else None)
        finally:
            body.close()
        log = BuildLog()  # the one log of this build: returned, kept on the Image, carried by BuildError
        lines = attached(self._build_lines(response, kwargs.get("progress"), log, containers),
                         containerfile=containerfile, context=kwargs.get("path"), cwd=os.getcwd())
        if kwargs.get("stream"):
            return encoded(lines, kwargs.get("decode"))
        image_id = None
        for built in lines:
            image_id = built.image_id or image_id
        image = self.get(image_id)
        image.build_log = log
        if kwargs.get("progress") is not None:
            kwargs["progress"](events.Result(image.id, tuple(image.tags)))
        return image, log

    def _refuse_unhonoured(self, kwargs: Mapping[str, Any]) -> None:
        """Refuse isolation this Podman would silently not give: a build looser than asked is no success."""
        features = self.client.features
        if kwargs.get("network_mode") not in (None, "host") and not features.build_honours_network_mode:
            raise NotSupported(f"Podman {features.version} ignores network_mode={kwargs['network_mode']!r} in "
                               "builds (RUN steps would use the host network): build with Podman 4 or later, "
                               "or leave network_mode out")
        if kwargs.get("secrets") and not features.build_mounts_secrets:
            raise NotSupported(f"Podman {features.version} ignores build secrets (a RUN --mount=type=secret "
                               "would find no file): build with Podman 4 or later")
        limits = kwargs.get("container_limits") or {}
        asked = [key for key in ("memory", "memswap") if limits.get(key)]
        if asked and not features.build_honours_memory_limit:
            raise NotSupported(f"Podman {features.version} ignores container_limits {' and '.join(asked)} in "
                               "builds (RUN steps would get no memory limit): build with Podman 4 or later, "
                               "or leave them out")

    def _build_containers_now(self) -> Dict[str, str]:
        """The service's build containers (none when it does not say: the build's own request then fails)."""
        try:
            return build_containers.on_service(self.client)
        except PodmanError:
            return {}

    def _stop_abandoned_build(self, containers: "build_containers.BuildContainers") -> None:
        """Podman goes on building after its client has gone: remove this build's containers, which
        stops it, and no other build's (see build_containers)."""
        try:
            now = build_containers.on_service(self.client)
        except ServiceUnavailable:  # the service went away (killed mid-build): the next build or prune removes them
            build_containers.leave(self.client, containers)
            return
        except PodmanError as error:  # it is there, its builds going on, but did not list them
            _warn_going_on(f"its build containers could not be listed ({error})")
            return
        ours, unsure = containers.own(now, lambda reference: build_containers.image_id(self.client, reference))
        build_containers.remove(self.client, ours)
        if unsure:
            _warn_going_on("its container could not be told from another build's "
                           f"({', '.join(sorted(short_id(c) for c in unsure))})")

    def _build_lines(self, response: Any, progress: Any, log: BuildLog,
                     containers: "build_containers.BuildContainers") -> Iterator["BuildLine"]:
        """Each decoded line with the image id it reports (if any); an error line raises BuildError.

        When the caller stops reading early (an interrupt, a stream timeout, a closed generator),
        the build is stopped on the service too.
        """
        finished = False
        try:
            yield from self._build_lines_until_end(response, progress, log, containers)
            finished = True
        except BuildError:
            finished = True  # the service ended the build itself
            raise
        finally:
            if not finished:
                with interrupts_held():  # a second Ctrl-C must not leave the build half-stopped
                    self._stop_abandoned_build(containers)

    def _build_lines_until_end(self, response: Any, progress: Any, log: BuildLog,
                               containers: "build_containers.BuildContainers",
                               ) -> Iterator["BuildLine"]:
        watched = containers.watching(progress, self._build_containers_now)
        for line, found in events.read(self.client.stream_json(response), watched):
            before = log.events.image_id
            log.add(line, found)
            if log.events.failure is not None:
                raise explain(BuildError(log.events.failure.strip(), log))
            yield BuildLine(line, log.events.image_id if log.events.image_id != before else None)
        if log.events.image_id is None:
            last = log.text[-1] if len(log.text) else "no output"
            raise explain(BuildError(f"the build ended without an image: {last}", log))
