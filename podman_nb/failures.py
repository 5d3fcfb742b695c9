"""The one table from what Podman, ssh or a build step said to one sentence and one hint.

Every layer raises the classes of :mod:`podman_nb.errors` with the service's own text; a layer that
knows more attaches facts to the exception (:func:`attach`: the Containerfile, the build context, the
scp destination, the magic that ran, whether credentials were sent), never rewriting its text. The
sentence is made here, from the text and those facts, when the exception is shown: ``str(error)`` is
``"SENTENCE (hint: HINT)"``, the same in plain Python as in a notebook, where the notebook layer only
puts the magic's name (and :func:`label`) in front. The service's text stays on the exception
(``explanation``, ``msg``, :meth:`~podman_nb.errors.PodmanError.raw`).

To change a message, change its row in ``RULES`` (service and build errors), ``BUILD_LOG_RULES``
(what a build step printed), ``KEYWORD_HINTS``, ``SSH_REASONS`` or ``LISTING_CACHE_OFF``; tests/test_failures.py
triggers each row.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any, Callable, Dict, Iterable, Iterator, NamedTuple, Optional, Tuple

from . import errors
from .errors import (APIError, BuildError, ImageNotFound, InvalidArgument, PodmanError, ServiceUnavailable,
                     StreamTimeout)

MARK = "podman_nb: "  # a generated build step's own failure starts with this; the rest is the sentence

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")

# The filter keys each listing accepts (libpod, Podman 4.3 and 5.4), by the operation that lists.
FILTER_KEYS = {
    "images": ("before", "containers", "dangling", "digest", "id", "intermediate", "label", "readonly",
               "reference", "since", "until"),
    "image_prune": ("dangling", "label", "until"),
    "image_search": ("is-automated", "is-official", "stars"),
}

START_HINT = ("start it with `podman system service --time=0 &` "
              "(or `systemctl --user start podman.socket`), or pass base_url=")


class Said(NamedTuple):
    """What a failure says: one sentence and a hint (``""`` when none helps)."""
    sentence: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.sentence} (hint: {self.hint})" if self.hint else self.sentence


def attach(error: BaseException, **facts: Any) -> BaseException:
    """Add facts to ``error`` (a fact already there is kept: the layer nearest the failure knew it best).

    Facts read by the table: ``containerfile`` (its text), ``context`` (the build context folder or
    None), ``source`` and ``destination`` (an scp's), ``operation`` (``"image_scp"``, ``"images"``: what listed or
    copied), ``magic`` (``"%images"``, set by the notebook), ``creds_given``, ``asked_from_here`` (a
    remote service's registry data asked by this machine), ``all_tags_tls`` (an all-tags pull with
    tls_verify=False), ``step`` (the failing build step's instruction), ``storage`` (the graphRoot of a full
    storage); a kernel container's ``image``, ``folder`` (the kernel's cwd) and ``device`` (the GPU asked for),
    with ``operation`` ``"kernel"``.
    """
    known = getattr(error, "facts", None)
    if known is None:
        known = {}
        try:
            error.facts = known  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - an exception that takes no attributes
            return error
    for name, value in facts.items():
        if value is not None:
            known.setdefault(name, value)
    return error


def attached(lines: Iterator[Any], **facts: Any) -> Iterator[Any]:
    """``lines``; a PodmanError they raise gets ``facts`` (for a stream read after the call returned)."""
    try:
        yield from lines
    except PodmanError as error:
        raise attach(error, **facts)


def facts_of(error: BaseException) -> Dict[str, Any]:
    return getattr(error, "facts", None) or {}


# -- service and build errors: (class, pattern on the service's text, sentence from the match and facts) --
def _missing_image(match: re.Match, facts: Dict[str, Any]) -> Said:
    name = match.group("name")
    return Said(f"Image not found: {name} is not on this Podman service",
                f"%images lists the images it has; %image_pull {name} fetches it from a registry")


def _no_such_tag(match: re.Match, facts: Dict[str, Any]) -> Said:
    repository, tag = match.group("repository"), match.group("tag")
    host, _, path = repository.partition("/")
    return Said(f"{repository} has no tag {tag}, or there is no such repository",
                f"check the spelling; `%image_search {repository} --list-tags` or the registry's tag list "
                f"({host}/v2/{path}/tags/list) shows what there is")


def _reference_not_there(match: re.Match, facts: Dict[str, Any]) -> Said:
    """Podman 5's Docker-compatible pull says only "manifest unknown": the pulled reference says what."""
    reference = facts["reference"].split("@")[0]
    tagged = ":" in reference.rsplit("/", 1)[-1]
    repository, tag = reference.rsplit(":", 1) if tagged else (reference, "latest")
    return _no_such_tag(re.match(r"(?P<repository>\S*) (?P<tag>\S*)", f"{repository} {tag}"), facts)


def _unknown_instruction(match: re.Match, facts: Dict[str, Any]) -> Said:
    word = match.group("word")
    where = ""
    for number, line in enumerate((facts.get("containerfile") or "").splitlines(), start=1):
        first = line.split()[:1]
        if first and first[0].upper() == word.upper():
            where = f" at line {number}"
            break
    close = difflib.get_close_matches(word.upper(), INSTRUCTIONS, n=1)
    return Said(f"unknown instruction {word}{where} of the Containerfile",
                f"did you mean {close[0]}?" if close else "instructions are " + ", ".join(INSTRUCTIONS))


def _copy_missing(match: re.Match, facts: Dict[str, Any]) -> Said:
    path = match.group("path")
    step = (match.group("step") or "COPY").split()[0]
    context = facts.get("context")
    if context:
        return Said(f"{step} cannot find {path} in the build context {context}",
                    f"{step} paths are relative to the --context folder")
    text = f"{step} cannot find {path}: the build context is empty unless --context is given"
    if os.path.exists(path):
        return Said(text + f", and {path} is in the notebook's folder", "add --context .")
    return Said(text, "add --context DIR, the folder that holds it")


_SCP_DESTINATION = ("CONNECTION::[IMAGE] with a connection from `podman system connection list`, or "
                    "USER@HOST::[IMAGE]")


def _scp_destination(match: re.Match, facts: Dict[str, Any]) -> Said:
    destination = facts.get("destination") or match.group(0)
    return Said(f"Podman could not use the destination {destination!r}: it expects {_SCP_DESTINATION}",
                "%podman connections lists them")


def _scp_failed(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"Podman's image scp of {facts.get('source')!r} to {facts.get('destination')!r} stopped with exit "
                f"status {match.group('code')} and said no more",
                f"check that the image is on the service (%images) and that the destination is {_SCP_DESTINATION}")


def _unknown_filter(match: re.Match, facts: Dict[str, Any]) -> Said:
    operation = facts.get("operation") or "images"
    keys = FILTER_KEYS.get(operation, FILTER_KEYS["images"])
    magic = facts.get("magic") or f"%{operation}"
    return Said(f"unknown filter {match.group('key')!r}: {magic} filters on {', '.join(keys)} "
                "(as --filter KEY=VALUE)")


def _no_service(match: re.Match, facts: Dict[str, Any]) -> Said:
    text = match.string
    if facts.get("magic"):  # in a notebook, base_url= is set with %podman --url
        text = text.replace("or pass base_url=", "or point the magics at one with %podman --url ADDRESS")
    return Said(" ".join(text.split()))


FULL_STORAGE = re.compile(r"(?i)no space left on device")  # also read by domain/storage.py


def _full_storage(match: re.Match, facts: Dict[str, Any]) -> Said:
    where = f"at {facts['storage']} " if facts.get("storage") else ""
    return Said(f"The Podman storage {where}is out of space",
                "free some with %image_prune (dangling images) or %image_prune --all (every unused image; "
                "%image_prune --all --dry-run lists what would go), and see what takes the space with "
                "`podman system df`")


def _no_folder(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"the project folder {match.group('path')} does not exist",
                "give the folder that holds requirements.txt or pyproject.toml, or leave it out for the "
                "notebook's folder")


_KERNEL_IMAGE = "build the environment with %image_env --kernel NAME (it adds ipykernel), or use an image with " \
                "Python and ipykernel"


def _kernel_ipykernel(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"the image {facts.get('image', '')} has no ipykernel for its python3 (the probe exited "
                f"{match.group('code')})", "build the environment with %image_env --kernel NAME, or add ipykernel "
                "to the project's requirements.txt")


def _kernel_device(match: re.Match, facts: Dict[str, Any]) -> Said:
    device = facts.get("device") or "nvidia.com/gpu=all"
    return Said(f"--gpu asks for the CDI device {device}, which this Podman service has no CDI spec for",
                "make one with `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`")


def _kernel_python(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"the image {facts.get('image', '')} has no python3, so it cannot run ipykernel", _KERNEL_IMAGE)


def _kernel_folder(match: re.Match, facts: Dict[str, Any]) -> Said:
    path, folder = match.group("path"), facts.get("folder")  # folder: the kernel's cwd (None at registration)
    if path and path != folder:
        where = f"the --mount folder {path}"
    elif path:
        where = f"the notebook's folder {path}"
    else:
        where = f"the notebook's folder {folder} or a --mount folder" if folder else "a --mount folder"
    return Said(f"the Podman service cannot see {where}: a kernel's folders are mounted at the same path, so they "
                "must exist where the service runs, and on podman machine only folders under your home directory "
                "are shared with the VM", "keep the notebook and its --mount folders under your home directory")


def _kernel_network(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"there is no Podman network {match.group('name')} on this service",
                "make it with `podman network create NAME`, or leave out --network for the host's network "
                "(on loopback ports)")


Rule = Tuple[type, str, Callable[[re.Match, Dict[str, Any]], Said], Optional[str]]
RULES: Tuple[Rule, ...] = (
    (ImageNotFound, r"failed to find image (?P<name>\S+?): (?P=name): image not known", _missing_image, None),
    (ImageNotFound, r"^(?P<name>\S+?): image not known$", _missing_image, None),
    (APIError, r"reading manifest (?P<tag>[^\s:]+) in (?P<repository>\S+?): (?:manifest|name) unknown",
     _no_such_tag, None),
    (APIError, r"(?:manifest|name) unknown", _reference_not_there, "image_pull"),
    (BuildError, r'Unknown instruction: "?(?P<word>[^"\s]+)"?', _unknown_instruction, None),
    (BuildError, r'(?:STEP "(?P<step>[^"]+)".*)?copier: stat: "/(?P<path>[^"]+)": no such file or directory',
     _copy_missing, None),
    (APIError, r'(?:unsupported|invalid) image filter "(?P<key>[^"]+)"', _unknown_filter, None),
    (APIError, r'strconv\.Atoi: parsing "[^"]*": invalid syntax|lookup (?P<host>\S+?)(?: on \S+)?: no such host',
     _scp_destination, "image_scp"),
    (APIError, r"^(?:.*: )?exit status (?P<code>\d+)$", _scp_failed, "image_scp"),
    (InvalidArgument, r"^project folder (?P<path>.+) does not exist$", _no_folder, None),
    (ServiceUnavailable, r"^No Podman service answered at .*", _no_service, None),
    # a kernel container the service would not make or start (the kernel layer attaches image, folder, device)
    (PodmanError, r"(?i)\bcdi\b|nvidia\.com/gpu", _kernel_device, "kernel"),
    (PodmanError, r"^the probe exited (?P<code>\d+): no ipykernel$", _kernel_ipykernel, "kernel"),
    (PodmanError, r"(?i)python3[\"'`]?: (?:executable file )?not found|executable file [`\"]?python3[`\"]? not found"
                  r"|no such file or directory: OCI runtime", _kernel_python, "kernel"),
    (APIError, r"(?i)(?:statfs|\bstat|mount\w*)\s+\"?(?P<path>/[^\s\":]*)?.*?no such file or directory",
     _kernel_folder, "kernel"),
    (PodmanError, FULL_STORAGE.pattern, _full_storage, None),
    (APIError, r"unable to find network with name or ID (?P<name>[^\s:]+): network not found", _kernel_network,
     "kernel"),
)

# What an environment build's steps print (the build log), and the sentence for it.
_PYTHON_IMAGE = "use an official python image (docker.io/library/python:3.X-slim)"
BUILD_LOG_RULES: Tuple[Tuple["re.Pattern[str]", str], ...] = (
    (re.compile(r"externally-managed-environment"),
     f"the base image's Python is externally managed (PEP 668) and refuses pip install: {_PYTHON_IMAGE}"),
    (re.compile(r"python3[\"'`]?: (?:executable file )?not found|executable file [`\"]?python3[`\"]? not found"),
     f"the base image has no python3: {_PYTHON_IMAGE}"),
    (re.compile(r"No module named pip"), f"the base image's python3 has no pip: {_PYTHON_IMAGE}"),
    (re.compile(r"Retrying \(Retry\(.*\) after connection broken by|Could not fetch URL \S+: There was a problem"),
     "pip could not reach the package index {index}: the network, a proxy or TLS failed, not the package's name "
     "(check that the build can reach it, and PIP_INDEX_URL / PIP_TRUSTED_HOST)"),
    (re.compile(r"No matching distribution found for (\S+)"),
     "pip found no distribution for {0} in the package index: check the name and version, and "
     "PIP_INDEX_URL / PIP_EXTRA_INDEX_URL"),
)

_CREDENTIALS = "the registry wants credentials: add --creds USER (you will be asked for the password)"
KEYWORD_HINTS: Tuple[Tuple[Tuple[str, ...], str], ...] = (
    (("unauthorized", "authentication required", "401"), _CREDENTIALS),
    (("x509", "certificate"),
     "the registry's certificate is not trusted: put its CA in /etc/containers/certs.d/HOST:PORT/ca.crt, "
     "or use --no-tls-verify"),
    (("http response to https client",), "this registry speaks plain HTTP: use --no-tls-verify"),
    (("connection refused", "no such host", "dial tcp"), "is the registry running and its address right?"),
)
_WRONG_CREDS = "the registry refused these credentials: check the user name and password given to --creds"
_FACT_HINTS = {
    "all_tags_tls": ("Podman ignores tls_verify=False when it lists the tags of an all-tags pull: mark the "
                     "registry insecure = true in registries.conf, or pull the tags one by one"),
    "asked_from_here": ("the registry was asked from this machine, not by the remote Podman service (which has "
                        "no endpoint for it), so this machine's registries.conf, certificates and logins "
                        "applied, not the service's"),
}

# What ssh prints, and the reason said instead (first match wins).
SSH_REASONS: Tuple[Tuple[str, str], ...] = (
    ("remote host identification has changed", "the host key has CHANGED since it was saved in known_hosts "
                                                "(if that is expected, remove the old key with ssh-keygen -R)"),
    ("host key verification failed", "the host key could not be verified against known_hosts"),
    ("permission denied", "the host refused the authentication (check the identity key and the user)"),
    ("too many authentication failures", "the host refused the authentication (check the identity key and the user)"),
    ("connection refused", "nothing accepts ssh connections there (connection refused)"),
    ("could not resolve hostname", "the host name is unknown"),
    ("name or service not known", "the host name is unknown"),
    ("timed out", "the host did not answer within {timeout} s"),
    ("no route to host", "there is no route to the host"),
    ("network is unreachable", "the network is unreachable"),
    ("no such file", "the identity file does not exist"),
    ("bad permissions", "the identity file's permissions are too open (chmod 600 it)"),
    ("forwarding", "the server refused to forward the Podman socket (AllowStreamLocalForwarding)"),
)

# Why %images asks the service each time instead of answering from the listing cache (%podman says it):
# domain/listing_cache.py picks the row, {error} is the sentence of the failure behind it.
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


# A build error repeats the step ('building at STEP "RUN x": while running runtime: exit status 1';
# Podman 3: 'error building at STEP "RUN x": exit status 1'; the instruction is quoted as it is).
_STEP_PREFIX = re.compile(r'^(?:error )?building at STEP ".*?": (?:while running runtime: )?')


def ssh_reason(stderr: str, returncode: Optional[int], timeout: float) -> str:
    """What ssh's ``stderr`` means, in a few words (its last 300 characters when not a known case)."""
    text = " ".join(stderr.split())
    lowered = text.lower()
    reason = next((said for seen, said in SSH_REASONS if seen in lowered), None)
    return reason.format(timeout=timeout) if reason else f"ssh exited with {returncode}: {text[-300:] or 'no message'}"


def step_reason(message: str, instruction: str = "") -> str:
    """A build error without the step it names (a display names the step itself): ``exit status 1``."""
    text = str(message).strip()
    text = text[len("error "):] if text.startswith("error building at STEP ") else text  # Podman 3
    prefix = f'building at STEP "{instruction}": '
    if instruction and text.startswith(prefix):
        text = text[len(prefix):]
        return text[len("while running runtime: "):] if text.startswith("while running runtime: ") else text
    return _STEP_PREFIX.sub("", text, count=1)


def _log_lines(log: Any) -> Iterable[str]:
    """A build log's text lines: our BuildLog's ``text``, or podman-py's (the service's dicts)."""
    if hasattr(log, "text"):
        return log.text
    return "\n".join(str(line.get("stream", "")) if isinstance(line, dict) else str(line)
                     for line in log or ()).splitlines()


_PIP_INDEXES = re.compile(r"Looking in indexes: (.+)")  # pip says so unless the index is its default


def _pip_indexes(line: str) -> str:
    """The web indexes a "Looking in indexes:" line names, without user names (pip shows the password as ****)."""
    urls = [re.sub(r"//[^/@]+@", "//", url.strip()) for url in line.split(",")]
    return ", ".join(url for url in urls if not url.startswith("file:")) or line


def from_build_log(log: Any) -> Optional[str]:
    """The sentence for what a build step printed (a generated step's ``podman_nb: ...`` line first), or None."""
    mark, matches, index = None, {}, "https://pypi.org/simple (pip's default)"
    for line in _log_lines(log):
        if line.startswith(MARK):
            mark = line
        looking = _PIP_INDEXES.search(line)
        if looking:
            index = _pip_indexes(looking.group(1))
        for pattern, message in BUILD_LOG_RULES:
            match = pattern not in matches and pattern.search(line)
            if match:
                matches[pattern] = message.format(*match.groups(), index=index)
    if mark is not None:
        return mark[len(MARK):].strip()
    return next((matches[pattern] for pattern, _ in BUILD_LOG_RULES if pattern in matches), None)


def matched(error: BaseException) -> Optional[Said]:
    """The sentence a row of the table makes of ``error``, or None when no row matches."""
    facts = facts_of(error)
    if isinstance(error, BuildError) and facts.get("explain_log"):
        found = from_build_log(error.build_log)
        if found is not None:
            return Said(found)
    text = raw_text(error)
    for kind, pattern, sentence, operation in RULES:
        if operation and facts.get("operation") != operation:
            continue
        if isinstance(error, kind):
            match = re.search(pattern, text)
            if match:
                return sentence(match, facts)
    return None


def raw_text(error: BaseException) -> str:
    """The text as it was raised: the service's words (``explanation``) when it sent some."""
    raw = getattr(error, "raw", None)
    return str(raw() if callable(raw) else error)


def _says(lowered: str, word: str) -> bool:
    """Whether ``word`` is in the text; a number (``401``) only as a number, not inside a digest."""
    return bool(re.search(rf"(?<![0-9a-f]){word}(?![0-9a-f])", lowered)) if word.isdigit() else word in lowered


def keyword_hint(text: str, creds_given: bool = False) -> str:
    lowered = text.lower()
    for words, hint in KEYWORD_HINTS:
        if any(_says(lowered, word) for word in words):
            return _WRONG_CREDS if creds_given and hint is _CREDENTIALS else hint
    return ""


def said(error: BaseException) -> Said:
    """What ``error`` says: a row of the table's sentence, else its own text with a hint where one helps."""
    found = matched(error)
    if found is not None:
        return found
    facts = facts_of(error)
    text = raw_text(error)
    if isinstance(error, APIError) and error.explanation and not isinstance(error, (ServiceUnavailable, StreamTimeout)):
        text = error.explanation
    text = " ".join(text.split())
    if isinstance(error, ServiceUnavailable):
        return Said(text)
    hint = next((h for name, h in _FACT_HINTS.items() if facts.get(name)), "")
    hint = getattr(error, "_hint", None) or hint
    if not hint and not isinstance(error, InvalidArgument):  # its words are ours about the input: no registry's
        hint = keyword_hint(text, bool(facts.get("creds_given")))
    return Said(text, hint)


def label(error: BaseException) -> str:
    """What kind of failure, said before the sentence in a notebook: ``"Build failed: "``, or ``""``."""
    if isinstance(error, BuildError):
        return "Build failed: "
    if isinstance(error, ServiceUnavailable):
        return "Podman service unavailable: "
    if matched(error) is not None or isinstance(error, InvalidArgument):
        return ""
    if isinstance(error, ImageNotFound):
        return "Image not found: "
    if isinstance(error, APIError) and not isinstance(error, StreamTimeout):  # a timeout is no answer
        return "Podman error: "
    return f"{type(error).__name__}: "


errors.SAY = said  # str(error) and error.hint of every PodmanError say what this table says
