"""The one table from what Podman, ssh or a build step said to one sentence and one hint, and the functions
that apply it.

Our own failures are raised with their sentence and hint (``InvalidArgument(sentence, hint=...)``) and never
come here. An error that carries someone else's words is made into a sentence by :func:`explain` where it is
raised (the transport's error mapping, a stream's error line, a build's failure), from its text and the facts
layers attach to it; a layer that knows more adds facts with :func:`attach` (the Containerfile, the build
context and the folder it was started from, the scp destination, the magic that ran, whether credentials were
sent), which makes the sentence again from the text and every fact, never from a look around at that moment.
``str(error)`` then only reads the two fields: ``"SENTENCE (hint: HINT)"``, the same in plain Python as in a
notebook, where the display only puts the magic's name and ``error.label`` in front. The service's text stays
on the exception (``explanation``, ``msg``, :meth:`~podman_nb.errors.PodmanError.raw`).

To change a message, change its row in ``RULES`` (service and build errors, each named), ``BUILD_LOG_RULES``
(what a build step printed), ``KEYWORD_HINTS`` or ``SSH_REASONS``; tests/test_failures.py triggers each row by
its name.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any, Callable, Dict, Iterable, Iterator, NamedTuple, Optional, Tuple

from .base_errors import BuildError, InvalidArgument, PodmanError, ServiceError, Unreachable

MARK = "podman_nb: "  # a generated build step's own failure starts with this; the rest is the sentence

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")

_START = "start it with `podman system service --time=0 &` (or `systemctl --user start podman.socket`), or "


class Said(NamedTuple):
    """What a failure says: one sentence and a hint (``""`` when none helps)."""
    sentence: str
    hint: str = ""


def explain(error: PodmanError, **facts: Any) -> PodmanError:
    """``error`` carries someone else's words (the service's, a registry's, a build step's): the table makes its
    sentence and hint, now and whenever a fact is attached. Returns ``error``, to raise."""
    error.explained = True
    return attach(error, **facts)


def attach(error: BaseException, **facts: Any) -> BaseException:
    """Add facts to ``error`` (a fact already there is kept: the layer nearest the failure knew it best), and
    make its sentence again when the table makes it (:func:`explain`) or a fact chooses its hint.

    Facts read by the table: ``containerfile`` (its text), ``context`` (the build context folder or None),
    ``cwd`` (the folder a build without a context was started from), ``source`` and ``destination`` (an
    scp's), ``operation`` (``"image_scp"``, ``"images"``: what listed or copied), ``filter_keys`` (the keys the
    listing takes), ``magic`` (``"%images"``, set by the notebook), ``creds_given``, ``asked_from_here`` (a
    remote service's registry data asked by this machine), ``all_tags_tls`` (an all-tags pull with
    tls_verify=False), ``storage`` (the graphRoot of a full storage), ``explain_log`` (an environment build:
    its log says why); a kernel container's ``image``, ``folder`` (the kernel's cwd) and ``device`` (the GPU
    asked for), with ``operation`` ``"kernel"``; ``startable`` (no service answered: the hint says how to
    start one).
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
    if getattr(error, "explained", False):
        _say(error, *_table(error))  # type: ignore[arg-type]
    if known.get("startable"):  # in a notebook, base_url= is set with %podman --url
        other = "point the magics at one with %podman --url ADDRESS" if known.get("magic") else \
            "pass base_url= (another service's address)"
        error.hint = _START + other  # type: ignore[attr-defined]
    return error


def unanswered(message: str, tried: Iterable[str]) -> Unreachable:
    """The error for a service that did not answer where it may simply not run: the hint says how to start one."""
    return attach(Unreachable(message, tried), startable=True)  # type: ignore[return-value]


def attached(lines: Iterator[Any], **facts: Any) -> Iterator[Any]:
    """``lines``; a PodmanError they raise gets ``facts`` (for a stream read after the call returned)."""
    try:
        yield from lines
    except PodmanError as error:
        raise attach(error, **facts)


# -- service and build errors: what makes the sentence of a row's match and the facts (RULES below) --
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
    if facts.get("cwd") and os.path.exists(os.path.join(facts["cwd"], path)):
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
    magic = facts.get("magic") or f"%{facts.get('operation') or 'images'}"
    keys = facts.get("filter_keys")  # attached by the listing that was asked (domain/manager.py's FILTER_KEYS)
    return Said(f"unknown filter {match.group('key')!r}: " + (f"{magic} filters on {', '.join(keys)} "
                "(as --filter KEY=VALUE)" if keys else f"{magic} has no such filter"))


FULL_STORAGE = re.compile(r"(?i)no space left on device")  # also read by domain/storage.py


def _full_storage(match: re.Match, facts: Dict[str, Any]) -> Said:
    where = f"at {facts['storage']} " if facts.get("storage") else ""
    return Said(f"The Podman storage {where}is out of space",
                "free some with %image_prune (dangling images) or %image_prune --all (every unused image; "
                "%image_prune --all --dry-run lists what would go), and see what takes the space with "
                "`podman system df`")


KERNEL_IMAGE = "build the environment with %image_env --kernel NAME (it adds ipykernel), or use an image with " \
               "Python and ipykernel"  # also said by kernel/probe.py


def _kernel_device(match: re.Match, facts: Dict[str, Any]) -> Said:
    device = facts.get("device") or "nvidia.com/gpu=all"
    return Said(f"--gpu asks for the CDI device {device}, which this Podman service has no CDI spec for",
                "make one with `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`")


def _kernel_python(match: re.Match, facts: Dict[str, Any]) -> Said:
    return Said(f"the image {facts.get('image', '')} has no python3, so it cannot run ipykernel", KERNEL_IMAGE)


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


def _cache_push(match: re.Match, facts: Dict[str, Any]) -> Said:
    reason = match.group("reason").rstrip(". ")
    return Said(f"The build could not push its cache to {match.group('host')}/{match.group('path')}: {reason}",
                keyword_hint(reason, bool(facts.get("creds_given"))))


class Rule(NamedTuple):
    """A row: its name (what tests/test_failures.py calls it), the class it is for, the pattern on the error's
    text, what makes the sentence of the match and the facts, and the operation it is for (None: any)."""
    name: str
    kind: type
    pattern: str
    sentence: Callable[[re.Match, Dict[str, Any]], Said]
    operation: Optional[str] = None


RULES: Tuple[Rule, ...] = (
    Rule("image not known", ServiceError, r"failed to find image (?P<name>\S+?): (?P=name): image not known",
         _missing_image),
    Rule("name: image not known", ServiceError, r"^(?P<name>\S+?): image not known$", _missing_image),
    Rule("no such tag", ServiceError, r"reading manifest (?P<tag>[^\s:]+) in (?P<repository>\S+?): (?:manifest|name) "
         "unknown", _no_such_tag),
    Rule("manifest unknown", ServiceError, r"(?:manifest|name) unknown", _reference_not_there, "image_pull"),
    Rule("unknown instruction", BuildError, r'Unknown instruction: "?(?P<word>[^"\s]+)"?', _unknown_instruction),
    Rule("copy missing", BuildError,
         r'(?:STEP "(?P<step>[^"]+)".*)?copier: stat: "/(?P<path>[^"]+)": no such file or directory', _copy_missing),
    # buildah prints the cache's reference as a Go struct: {{{"HOST" "PATH"} "KEY"} ...}: ...
    Rule("cache push", BuildError, r'failed pushing cache to \{+"(?P<host>[^"]+)" "(?P<path>[^"]+)"\}[^:]*: '
         r"(?:trying to reuse blob \S+ at destination: )?(?P<reason>.+)", _cache_push),
    Rule("unknown filter", ServiceError, r'(?:unsupported|invalid) image filter "(?P<key>[^"]+)"', _unknown_filter),
    Rule("scp destination", ServiceError,
         r'strconv\.Atoi: parsing "[^"]*": invalid syntax|lookup (?P<host>\S+?)(?: on \S+)?: no such host',
         _scp_destination, "image_scp"),
    Rule("scp exit status", ServiceError, r"^(?:.*: )?exit status (?P<code>\d+)$", _scp_failed, "image_scp"),
    # our own words, matched back until the environment handlers raise them with their hint (issue 30)
    # a kernel container the service would not make or start (the kernel layer attaches image, folder, device)
    Rule("kernel cdi device", PodmanError, r"(?i)\bcdi\b|nvidia\.com/gpu", _kernel_device, "kernel"),
    Rule("kernel without python3", PodmanError, r"(?i)python3[\"'`]?: (?:executable file )?not found"
         r"|executable file [`\"]?python3[`\"]? not found|no such file or directory: OCI runtime", _kernel_python,
         "kernel"),
    Rule("kernel folder unseen", ServiceError,
         r"(?i)(?:statfs|\bstat|mount\w*)\s+\"?(?P<path>/[^\s\":]*)?.*?no such file or directory", _kernel_folder,
         "kernel"),
    Rule("full storage", PodmanError, FULL_STORAGE.pattern, _full_storage),
    Rule("kernel network", ServiceError, r"unable to find network with name or ID (?P<name>[^\s:]+): network not found",
         _kernel_network, "kernel"),
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
    # uv's for the same: "Because NAME was not found in the package registry | there is no version of NAME==V |
    # only NAME==V is available and you require REQUIREMENT, we can conclude that your requirements are unsatisfiable"
    (re.compile(r"Because (?:\S+ was not found in the package registry|there is no version of \S+|only .+? (?:is|are) "
                r"available) and you require (.+?), we can conclude that your requirements are unsatisfiable"),
     "uv found no distribution for {0} in the package index: check the name and version, and "
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


def ssh_reason(stderr: str, returncode: Optional[int], timeout: float) -> str:
    """What ssh's ``stderr`` means, in a few words (its last 300 characters when not a known case)."""
    text = " ".join(stderr.split())
    lowered = text.lower()
    reason = next((said for seen, said in SSH_REASONS if seen in lowered), None)
    return reason.format(timeout=timeout) if reason else f"ssh exited with {returncode}: {text[-300:] or 'no message'}"


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


def _table(error: PodmanError) -> Tuple[Said, Optional[str]]:
    """What ``error`` says and the name of the row that made it (None: its own words, with a hint where one
    helps): an environment build's log first, then the first row that matches, then the keyword hints."""
    facts = error.facts
    if isinstance(error, BuildError) and facts.get("explain_log"):
        found = from_build_log(error.build_log)
        if found is not None:
            return Said(found), "build log"
    text = error.raw()
    for rule in RULES:
        if (rule.operation is None or facts.get("operation") == rule.operation) and isinstance(error, rule.kind):
            match = re.search(rule.pattern, text)
            if match:
                return rule.sentence(match, facts), rule.name
    text = error.explanation if isinstance(error, ServiceError) and error.explanation else text
    hint = next((h for name, h in _FACT_HINTS.items() if facts.get(name)), "")
    if not hint and not isinstance(error, InvalidArgument):  # its words are ours about the input: no registry's
        hint = keyword_hint(text, bool(facts.get("creds_given")))
    return Said(" ".join(text.split()), hint), None


def _say(error: PodmanError, said: Said, row: Optional[str]) -> None:
    error.sentence, error.hint, error.row = said.sentence, said.hint or None, row


def _says(lowered: str, word: str) -> bool:
    """Whether ``word`` is in the text; a number (``401``) only as a number, not inside a digest."""
    return bool(re.search(rf"(?<![0-9a-f]){word}(?![0-9a-f])", lowered)) if word.isdigit() else word in lowered


def keyword_hint(text: str, creds_given: bool = False) -> str:
    lowered = text.lower()
    for words, hint in KEYWORD_HINTS:
        if any(_says(lowered, word) for word in words):
            return _WRONG_CREDS if creds_given and hint is _CREDENTIALS else hint
    return ""
