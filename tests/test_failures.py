"""Every row of the one failure table (podman_nb/failures.py) on a recorded real message: each case is named
after its row, gives that row's sentence and hint in ``str(error)`` (the Python API) as in a magic's line, and
checks that the row which matched is the row meant. A row added without a case here fails the coverage check.
The same wordings are triggered against the real service by test_messages, test_first_mistakes,
test_environment and test_connections (ssh)."""
import os
import re
from pathlib import Path

from podman_nb import failures
from podman_nb.domain import listing_cache, listing_status
from podman_nb.domain.buildlog import BuildLog
from podman_nb.errors import (APIError, BuildError, ImageNotFound, InvalidArgument, PodmanError, StreamParseError,
                              Unreachable)
from podman_nb.kernel.containers import KernelError
from podman_nb.notebook.error_display import describe

_REGISTRY = "127.0.0.1:36357"
# row name -> (the exception as raised with the service's recorded words, facts, what str(error) says)
CASES = {
    "image not known": (
        ImageNotFound("failed to find image localhost/x:1", explanation="failed to find image localhost/x:1: "
                      "localhost/x:1: image not known"), {},
        "Image not found: localhost/x:1 is not on this Podman service (hint: %images lists the images it has; "
        "%image_pull localhost/x:1 fetches it from a registry)"),
    "name: image not known": (
        ImageNotFound("localhost/x:1: image not known"), {}, "Image not found: localhost/x:1 is not on"),
    "no such tag": (
        APIError(f"initializing source docker://{_REGISTRY}/podman-nb/busyboxx:latest: reading manifest latest in "
                 f"{_REGISTRY}/podman-nb/busyboxx: manifest unknown: manifest unknown"), {},
        f"{_REGISTRY}/podman-nb/busyboxx has no tag latest, or there is no such repository (hint: check the "
        f"spelling; `%image_search {_REGISTRY}/podman-nb/busyboxx --list-tags` or the registry's tag list "
        f"({_REGISTRY}/v2/podman-nb/busyboxx/tags/list) shows what there is)"),
    "manifest unknown": (
        APIError("manifest unknown: manifest unknown"), {"operation": "image_pull", "reference": f"{_REGISTRY}/a/b:1"},
        f"{_REGISTRY}/a/b has no tag 1, or there is no such repository (hint: check the spelling"),  # Podman 5
    "unknown instruction": (BuildError('building at STEP "RUNN ": Build error: Unknown instruction: "RUNN"'),
        {"containerfile": "FROM busybox\nRUN true\nRUNN echo hi\n"},
        "unknown instruction RUNN at line 3 of the Containerfile (hint: did you mean RUN?)"),
    "cache push": (  # Podman 5.4.2's words for a plain-HTTP cache registry without --no-tls-verify
        BuildError('failed pushing cache to {{{"127.0.0.1:5000" "team/cache"} "9e3fe3a7"} %!q(bool=false)}: trying '
                   'to reuse blob sha256:d970 at destination: pinging container registry 127.0.0.1:5000: Get '
                   '"https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client'), {},
        'The build could not push its cache to 127.0.0.1:5000/team/cache: pinging container registry 127.0.0.1:5000: '
        'Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client (hint: this registry '
        'speaks plain HTTP: use --no-tls-verify)'),
    "copy missing": (
        BuildError('building at STEP "COPY requirements.txt /app/": checking on sources under "/var/tmp/b": '
                   'copier: stat: "/requirements.txt": no such file or directory'), {"context": "/srv/ctx"},
        "COPY cannot find requirements.txt in the build context /srv/ctx (hint: COPY paths are relative to "
        "the --context folder)"),
    "unknown filter": (
        APIError("unsupported image filter \"colour\""),
        {"magic": "%image_prune", "operation": "image_prune", "filter_keys": ("dangling", "label", "until")},
        "unknown filter 'colour': %image_prune filters on dangling, label, until (as --filter KEY=VALUE)"),
    "scp destination": (
        APIError('strconv.Atoi: parsing "": invalid syntax'), {"operation": "image_scp", "destination": "other::"},
        "Podman could not use the destination 'other::': it expects CONNECTION::[IMAGE]"),
    "scp exit status": (
        APIError("exit status 125"), {"operation": "image_scp", "source": "nosuch:1", "destination": "nowhere::"},
        "Podman's image scp of 'nosuch:1' to 'nowhere::' stopped with exit status 125 and said no more (hint: "
        "check that the image is on the service (%images)"),
    # a kernel container (Podman 4.3.1 and 5.4.2 say the same), the facts as the kernel layer attaches them
    "kernel cdi device": (APIError("500 Internal Server Error from POST /v4.3.1/libpod/containers/851c/start",
                  explanation="setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=all"),
         {"operation": "kernel", "image": "localhost/k:1", "device": "nvidia.com/gpu=all"},
         "--gpu asks for the CDI device nvidia.com/gpu=all, which this Podman service has no CDI spec for (hint: "
         "make one with `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`)"),
    "kernel without python3": (
        APIError("500 Internal Server Error from POST /v4.3.1/libpod/containers/0a49/start", explanation=(
        'runc: runc create failed: unable to start container process: exec: "python3": executable file not '
        "found in $PATH: OCI runtime attempted to invoke a command that was not found")),
         {"operation": "kernel", "image": "localhost/k:1"},
         "the image localhost/k:1 has no python3, so it cannot run ipykernel (hint: build the environment with "
         "%image_env --kernel NAME (it adds ipykernel)"),
    "kernel folder unseen": (APIError("500 Internal Server Error from POST /v4.3.1/libpod/containers/create",
                  explanation="statfs /nonexistent-pnb/data: no such file or directory"),
         {"operation": "kernel", "image": "localhost/k:1", "folder": "/home/me/nb"},
         "the Podman service cannot see the --mount folder /nonexistent-pnb/data: a kernel's folders are mounted "
         "at the same path, so they must exist where the service runs, and on podman machine only folders under "
         "your home directory are shared with the VM (hint: keep the notebook and its --mount folders under your "
         "home directory)"),
    "full storage": (
        APIError(f'{_REGISTRY}/big:latest: writing blob: adding layer with blob "sha256:1475dc": processing tar '
                  'file(write /blob: no space left on device): exit status 1'), {"storage": "/srv/graph"},
         "The Podman storage at /srv/graph is out of space (hint: free some with %image_prune (dangling images)"),
    "kernel network": (APIError("500 Internal Server Error from POST /v4.3.1/libpod/containers/create",
                  explanation="unable to find network with name or ID pnb-nonet: network not found"),
         {"operation": "kernel", "image": "localhost/k:1"},
         "there is no Podman network pnb-nonet on this service (hint: make it with `podman network create NAME`, "
         "or leave out --network for the host's network (on loopback ports))"),
}


def test_every_row_gives_its_sentence():
    assert set(CASES) == {rule.name for rule in failures.RULES}  # every row has its case, each name is one row
    assert len(CASES) == len(failures.RULES)
    for name, (error, facts, said) in CASES.items():
        error = failures.explain(error, **facts)
        assert error.row == name, (name, error.row, str(error))  # the row meant made the sentence
        assert str(error).startswith(said), (name, str(error))
        assert describe(error).endswith(str(error))  # a magic shows the same sentence


def test_a_row_needs_its_facts_and_the_text_stays():
    scp = failures.explain(APIError('strconv.Atoi: parsing "": invalid syntax'))
    assert scp.row is None  # the scp row is for scp only
    typo = failures.explain(BuildError('Unknown instruction: "RUNN"'))
    assert str(typo) == "unknown instruction RUNN of the Containerfile (hint: did you mean RUN?)"  # no line
    assert typo.msg == 'Unknown instruction: "RUNN"' and typo.raw() == typo.msg  # the service's words stay
    unseen = failures.explain(APIError("statfs /srv/nb: no such file or directory"))
    assert unseen.row is None  # the kernel rows are for a kernel's container only
    assert str(failures.attach(unseen, operation="kernel")).startswith(
        "the Podman service cannot see the --mount folder /srv/nb")
    cwd = failures.explain(APIError("statfs /srv/nb: no such file or directory"), operation="kernel", folder="/srv/nb")
    assert str(cwd).startswith("the Podman service cannot see the notebook's folder /srv/nb: ")
    missing = ImageNotFound("x", explanation="x: image not known")
    assert missing.explanation == "x: image not known" and "x: image not known" in missing.raw()


def test_the_sentence_is_made_once_from_the_facts(tmp_path, monkeypatch):
    """str() reads two fields: it runs no row and looks at no folder; the folder a build started from is a fact."""
    (tmp_path / "requirements.txt").write_text("pandas\n")
    text = ('building at STEP "COPY requirements.txt /app/": checking on sources under "/var/tmp/b": '
            'copier: stat: "/requirements.txt": no such file or directory')
    here = failures.explain(BuildError(text), cwd=str(tmp_path))
    elsewhere = failures.explain(BuildError(text), cwd=str(tmp_path / "sub"))
    assert str(here).endswith("and requirements.txt is in the notebook's folder (hint: add --context .)")
    assert "(hint: add --context DIR, the folder that holds it)" in str(elsewhere)
    said = str(here)
    monkeypatch.chdir(tmp_path / ".." if os.path.exists(tmp_path / "..") else "/")
    monkeypatch.setattr(failures, "RULES", ())  # a str() that ran the table again would lose the row's sentence
    assert str(here) == said and here.row == "copy missing"


def test_our_own_failures_say_their_sentence_without_the_table():
    """Raised with their sentence and hint: no row reads them, a later fact changes nothing."""
    probe = KernelError("the image localhost/k:1 has no python3, so it cannot run ipykernel",
                        hint=failures.KERNEL_IMAGE)
    failures.attach(probe, operation="kernel", image="localhost/k:1", magic="%image_kernel")
    assert probe.row is None and not probe.explained
    assert describe(probe) == ("%image_kernel: the image localhost/k:1 has no python3, so it cannot run ipykernel "
                               f"(hint: {failures.KERNEL_IMAGE})")
    quiet = InvalidArgument("unauthorized: is a word of ours here")
    assert str(failures.attach(quiet, magic="%images")) == "unauthorized: is a word of ours here"
    full = KernelError("the connection file could not be written: no space left on device", hint="free some space")
    failures.attach(full, storage="/srv/graph", magic="%image_kernel")  # the full-storage row would say "Podman storage"
    assert str(full) == "the connection file could not be written: no space left on device (hint: free some space)"


def test_no_service_says_how_to_start_one_where_it_is_said():
    start = "start it with `podman system service --time=0 &` (or `systemctl --user start podman.socket`), or "
    python = failures.unanswered("No Podman service answered at unix:///x.sock (podman is not installed)", [])
    assert isinstance(python, Unreachable) and python.row is None
    assert str(python) == ("No Podman service answered at unix:///x.sock (podman is not installed) (hint: "
                           + start + "pass base_url= (another service's address))")
    failures.attach(python, magic="%podman")
    assert describe(python) == ("%podman: Podman service unavailable: No Podman service answered at unix:///x.sock "
                                "(podman is not installed) (hint: " + start + "point the magics at one with "
                                "%podman --url ADDRESS)")


BUILD_LOG_CASES = (
    ("error: externally-managed-environment", "the base image's Python is externally managed (PEP 668)"),
    ("/bin/sh: 1: python3: not found", "the base image has no python3"),
    ("/usr/bin/python3: No module named pip", "the base image's python3 has no pip"),
    ("WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection "
     "broken by 'NewConnectionError(...)': /simple/iniconfig/",
     "pip could not reach the package index https://pypi.org/simple (pip's default): the network"),
    ("ERROR: No matching distribution found for nosuchpkg==1",
     "pip found no distribution for nosuchpkg==1 in the package index"),
    ("  cause: Because nosuchpkg was not found in the package registry and you require nosuchpkg==1, we can "
     "conclude that your requirements are unsatisfiable.", "uv found no distribution for nosuchpkg==1 in the package index"),
)


def _pip_says(index_url, requirement, tmp_path):
    """What a real pip prints installing ``requirement`` from ``index_url`` (no config, one retry), as a build log."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1")
    env.pop("PIP_FIND_LINKS", None)
    ran = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "1", "--timeout", "5",
                          "-d", str(tmp_path), "--index-url", index_url, requirement],
                         capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode != 0, ran.stdout
    log = BuildLog()
    for line in (ran.stdout + ran.stderr).splitlines():
        log.text.append(line)
    return str(failures.explain(BuildError("exit status 1", log), explain_log=True))


def test_pip_unreachable_index_is_told_from_a_wrong_name(tmp_path):
    """No index to reach is the network's fault and names the index; a name the index lacks is the name's (issue 28)."""
    import http.server
    import socket
    import threading
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    said = _pip_says(f"http://alice:secret@127.0.0.1:{port}/simple", "iniconfig==2.0.0", tmp_path)
    assert said.startswith(f"pip could not reach the package index http://127.0.0.1:{port}/simple: the network, "
                           "a proxy or TLS failed, not the package's name"), said
    assert "secret" not in said and "alice" not in said
    (tmp_path / "simple").mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        said = _pip_says(f"http://127.0.0.1:{server.server_port}/simple", "nosuchpkg==1", tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert said.startswith("pip found no distribution for nosuchpkg==1 in the package index: check the name"), said


def test_every_build_log_row_and_the_mark():
    assert len(BUILD_LOG_CASES) == len(failures.BUILD_LOG_RULES)
    for line, said in BUILD_LOG_CASES:
        log = BuildLog()
        log.text.append("STEP 2/3: RUN pip install x")
        log.text.append(line)
        error = failures.explain(BuildError("exit status 1", log), explain_log=True)
        assert str(error).startswith(said) and error.row == "build log", (line, str(error))
        # only an environment build reads its log
        assert str(failures.explain(BuildError("exit status 1", log))) == "exit status 1"
    log = BuildLog()
    log.text.append(failures.MARK + "the environment asks for Python 3.12, the base image has Python 3.11")
    log.text.append("ERROR: No matching distribution found for x")  # the generated step's own sentence wins
    assert str(failures.explain(BuildError("exit status 1", log), explain_log=True)) == \
        "the environment asks for Python 3.12, the base image has Python 3.11"


KEYWORD_CASES = (
    ("unauthorized: authentication required", "the registry wants credentials"),
    ("x509: certificate signed by unknown authority", "the registry's certificate is not trusted"),
    ("http: server gave HTTP response to HTTPS client", "this registry speaks plain HTTP"),
    ("dial tcp 127.0.0.1:9: connect: connection refused", "is the registry running"),
)


def test_every_keyword_hint_and_the_fact_hints():
    assert len(KEYWORD_CASES) == len(failures.KEYWORD_HINTS)
    for text, hint in KEYWORD_CASES:
        assert f"(hint: {hint}" in str(failures.explain(APIError(text))), text
    wrong = failures.explain(APIError("unauthorized: authentication required"))
    assert "the registry wants credentials" in str(wrong)
    failures.attach(wrong, creds_given=True)  # the notebook's fact, attached later, makes the sentence again
    assert "the registry refused these credentials" in str(wrong)
    remote = failures.explain(APIError("x509: certificate signed by unknown authority"), asked_from_here=True)
    assert "(hint: the registry was asked from this machine" in str(remote)
    all_tags = failures.explain(APIError("x509: certificate"), all_tags_tls=True)
    assert "(hint: Podman ignores tls_verify=False" in str(all_tags)
    status = failures.explain(APIError("unexpected status 401 (Unauthorized)"))
    assert "(hint: the registry wants credentials" in str(status)
    digest = "layer 3a401f0c.tar of the image archive is corrupt: a tar header at byte 1024 is not valid"
    assert "hint" not in str(failures.explain(StreamParseError(digest)))  # 401 inside a digest is no status
    assert "hint" not in str(failures.explain(InvalidArgument("example has layers 0 to 4; there is no layer 401")))


SSH_CASES = (
    "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@", "Host key verification failed.",
    "alice@127.0.0.1: Permission denied (publickey).", "Received disconnect: Too many authentication failures",
    "ssh: connect to host 127.0.0.1 port 9: Connection refused",
    "ssh: Could not resolve hostname nohost: Name or service not known",
    "ssh: nohost: Name or service not known", "ssh: connect to host 10.255.255.1 port 22: Connection timed out",
    "ssh: connect to host 10.0.0.1 port 22: No route to host",
    "ssh: connect to host 10.0.0.1 port 22: Network is unreachable",
    "Warning: Identity file /no/key not accessible: No such file or directory.",
    "WARNING: UNPROTECTED PRIVATE KEY FILE! Bad permissions: ignore key: /k",
    "channel 2: open failed: administratively prohibited: open failed (forwarding)",
)


def test_every_ssh_reason():
    assert len(SSH_CASES) == len(failures.SSH_REASONS)
    for (seen, said), stderr in zip(failures.SSH_REASONS, SSH_CASES):
        assert failures.ssh_reason(stderr, 255, 8) == said.format(timeout=8), (seen, stderr)
    assert failures.ssh_reason("something else", 3, 8) == "ssh exited with 3: something else"


def test_every_listing_cache_reason_is_a_row_in_use():
    used = set(re.findall(r'cache_off\("(\w+)"', Path(listing_cache.__file__).read_text()
                          + Path(listing_status.__file__).read_text()))
    assert used == set(listing_status.LISTING_CACHE_OFF)  # no row without its use, no use without its row
    assert listing_status.cache_off("dropped", PodmanError("the connection broke")) == (
        "the events stream dropped and is being reopened (the connection broke)")
