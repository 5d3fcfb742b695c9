"""Start and stop real test services: an isolated Podman API service, two registries, a busybox base image.

Plain Python (no pytest). Used by tests/conftest.py and, through its CLI, by the README quick-start
and the tutorial notebooks:

    python tests/services.py up --dir DIR [--podman 3|4|5|sid] [--detach]   # writes DIR/env.sh
    python tests/services.py down --dir DIR

Everything runs as root. Every process started here is stopped at teardown (and at exit).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CHROOT_CACHE = Path(os.environ.get("PODMAN_NB_CHROOT_CACHE", "/var/cache/podman_nb"))
# which Podman -> (Debian release debootstrapped into CHROOT_CACHE/RELEASE-root, packages beyond minbase).
# "4" is the host's own. Podman 3 uses CNI (iptables); 4.x+ from Debian uses netavark, whose RUN steps need nft.
CHROOTS = {
    "3": ("bullseye", ["podman", "runc", "iptables", "containernetworking-plugins", "ca-certificates"]),
    "5": ("trixie", ["podman", "runc", "nftables", "ca-certificates"]),
    "sid": ("sid", ["podman", "runc", "nftables", "ca-certificates"]),  # the newest 5.x (or later): it moves
}
PODMANS = ("3", "4", "5", "sid")
LIBPOD = "/v3.0.0/libpod"  # libpod paths need a version (without one: a plain-text 404); every Podman here serves 3.0
HOST_CERTS_D = Path("/etc/containers/certs.d")
BASE_REPO = "podman-nb/busybox:latest"
LOCAL_BASE_IMAGE = "localhost/" + BASE_REPO

_cleanups: list = []  # objects with .stop(); stopped in reverse order at exit


def _stop_all() -> None:
    while _cleanups:
        obj = _cleanups.pop()
        with contextlib.suppress(Exception):
            getattr(obj, "close", obj.stop)()


atexit.register(_stop_all)


class ServiceError(RuntimeError):
    """A service failed to start or to answer."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run(cmd, check=True, **kw) -> subprocess.CompletedProcess:
    """Run a command capturing text output; raise ServiceError with its output when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise ServiceError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


class _Process:
    """A background process with its log file; start()/stop()/kill()."""

    def __init__(self, name: str, cmd: list, log_path: Path, env: dict | None = None):
        self.name, self.cmd, self.log_path, self.env = name, cmd, Path(log_path), env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        log.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, probe, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise ServiceError(f"{self.name} exited with {self.proc.returncode} while starting "
                                   f"({' '.join(map(str, self.cmd))}); log {self.log_path}:\n{log_tail(self.log_path)}")
            with contextlib.suppress(Exception):
                if probe():
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(f"{self.name} not ready after {timeout:.0f}s; log {self.log_path}:\n"
                                   f"{log_tail(self.log_path)}")
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> None:
        if not self.running():
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (for probes and for recording raw streams)."""

    def __init__(self, path: str, timeout: float = 60):
        super().__init__("d", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class PodmanService:
    """`podman system service` on a private socket with isolated storage and config.

    which: "4" = the host's podman (4.3.1); "3", "5", "sid" = podman from a Debian bullseye (3.0.1), trixie (5.4.2)
    or sid (newest) chroot, see ensure_root.
    Attributes: base_url ("unix:///.../podman.sock"), socket_path, version (from GET /version), env
    (CONTAINERS_* variables to give any podman process that should share this config), workdir.
    """

    def __init__(self, which: str = "4", workdir: str | Path | None = None, registries_conf: Path | None = None,
                 ca_files: dict | None = None, driver: str = "overlay"):
        if which not in PODMANS:
            raise ValueError(f"which must be one of {', '.join(PODMANS)}, not {which!r}")
        self.which = which
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"pnb-podman{which}-")).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_path = str(self.workdir / "podman.sock")
        self.base_url = "unix://" + self.socket_path
        self.log_path = self.workdir / "podman.log"
        self.ca_files = dict(ca_files or {})  # {"127.0.0.1:PORT": ca_path}, installed in the chroot's certs.d
        self.version: str | None = None
        self.root: Path | None = None  # chroot mount point (all but "4")
        self._mounts: list[Path] = []
        self._chroot_certs: list[Path] = []
        self._write_config(registries_conf, driver)
        self._proc: _Process | None = None
        _cleanups.append(self)  # before start(): a service that fails to start may leave its storage mounted
        self.start()

    def _write_config(self, registries_conf, driver) -> None:
        w = self.workdir
        for d in ("graph", "run", "tmp"):
            (w / d).mkdir(exist_ok=True)
        hard = run(["sh", "-c", "ulimit -Hn"]).stdout.strip()
        nofile = hard if hard.isdigit() else "1048576"
        (w / "containers.conf").write_text(
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=4096:4096"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{w}/tmp"\n')
        (w / "storage.conf").write_text(
            f'[storage]\ndriver = "{driver}"\ngraphroot = "{w}/graph"\nrunroot = "{w}/run"\n')
        if registries_conf is None:
            registries_conf = w / "registries.conf"
            registries_conf.write_text("unqualified-search-registries = []\n")
        self.registries_conf = Path(registries_conf)
        # Podman 3 reads REGISTRIES_CONFIG_PATH, later ones CONTAINERS_REGISTRIES_CONF
        self.env = {"CONTAINERS_CONF": str(w / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(w / "storage.conf"),
                    "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
                    "REGISTRIES_CONFIG_PATH": str(registries_conf)}
        conf_dirs = {w, Path(registries_conf).resolve().parent}
        self._bind_dirs = sorted(d for d in conf_dirs if not any(p in d.parents for p in conf_dirs))

    def _service_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
        env.update(self.env)
        env["PODMAN_IGNORE_CGROUPSV1_WARNING"] = "1"
        return env

    # --- chroot (all but "4") ---
    def _mount(self, *args: str) -> None:
        run(["mount", *args])
        self._mounts.append(Path(args[-1]))

    def _setup_chroot(self) -> None:
        src = ensure_root(self.which)
        self.root = self.workdir / "root"
        self.root.mkdir(exist_ok=True)
        self._mount("--bind", str(src), str(self.root))
        run(["mount", "--make-rprivate", str(self.root)])
        self._mount("-t", "proc", "proc", str(self.root / "proc"))
        self._mount("--rbind", "/sys", str(self.root / "sys"))
        run(["mount", "--make-rslave", str(self.root / "sys")])
        self._mount("--rbind", "/dev", str(self.root / "dev"))
        run(["mount", "--make-rslave", str(self.root / "dev")])
        self._mount("-t", "tmpfs", "tmpfs", str(self.root / "run"))
        for d in self._bind_dirs:
            inside = self.root / str(d).lstrip("/")
            missing = [p for p in [inside, *inside.parents] if not p.exists()]
            self._created = getattr(self, "_created", []) + [src / p.relative_to(self.root) for p in missing]
            inside.mkdir(parents=True, exist_ok=True)
            self._mount("--bind", str(d), str(inside))
        # Podman 3's build pull reads only /etc/containers/registries.conf: cover it (in this mount only) with ours
        system_conf = self.root / "etc/containers/registries.conf"
        if not system_conf.exists():
            system_conf.parent.mkdir(parents=True, exist_ok=True)
            system_conf.touch()
        self._mount("--bind", str(self.registries_conf), str(system_conf))
        for host, ca in self.ca_files.items():
            dest = self.root / "etc/containers/certs.d" / host / "ca.crt"
            if dest.exists() and dest.read_bytes() == Path(ca).read_bytes():
                continue  # the chroot's tree is shared: another service of this version put it there and removes
                # it at its stop (removing it at this one's stop broke that service's TLS pulls)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ca, dest)
            self._chroot_certs.append(dest.parent)

    def _teardown_chroot(self) -> None:
        for d in self._chroot_certs:
            shutil.rmtree(d, ignore_errors=True)
        self._chroot_certs.clear()
        # the chroot's mounts and storage's own (graph/overlay) mounts
        prefix = str(self.workdir) + "/"
        with open("/proc/self/mounts") as f:
            points = {line.split()[1].replace("\\040", " ") for line in f}
        for point in sorted((p for p in points if p.startswith(prefix)), key=len):
            subprocess.run(["umount", "-R", "-l", point], capture_output=True)
        # remove the (empty) mount points we created inside the shared cached tree, deepest first
        for d in sorted(getattr(self, "_created", []), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        self._created = []
        self._mounts.clear()

    def _podman(self) -> list:
        return ["podman"] if self.which == "4" else ["chroot", str(self.root), "podman"]

    # --- lifecycle ---
    def start(self, timeout: float = 60) -> None:
        """Start (or restart after stop()/kill()) on the same socket and storage; wait for GET /_ping."""
        if self._proc is not None and self._proc.running():
            return
        if self.which != "4" and not self._mounts:
            self._setup_chroot()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        cmd = self._podman() + ["system", "service", "--time=0", self.base_url]
        self._proc = _Process(f"podman {self.which} service", cmd, self.log_path, self._service_env())
        self._proc.start()
        self._proc.wait_ready(lambda: self.request("GET", "/_ping", timeout=2)[0] == 200, timeout)
        self.version = json.loads(self.request("GET", "/version")[2])["Version"]

    def stop(self) -> None:
        """SIGTERM the service (chroot mounts stay until close())."""
        if self._proc is not None:
            self._proc.stop()

    def kill(self) -> None:
        """SIGKILL the service, as a crash would."""
        if self._proc is not None:
            self._proc.kill()

    def close(self) -> None:
        """Stop and release everything (mounts, CA copies)."""
        self.stop()
        self._teardown_chroot()

    def running(self) -> bool:
        return self._proc is not None and self._proc.running()

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 120):
        """One raw HTTP request to the service: (status, headers, body bytes)."""
        conn = UnixHTTPConnection(self.socket_path, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def remove_images(self, *names: str) -> None:
        """`podman rmi -i NAME...` through the REST API (Podman 3's CLI has no -i): a missing name is no error."""
        for name in names:
            status, _, body = self.request("DELETE", f"{LIBPOD}/images/" + urllib.parse.quote(name, safe=""))
            if status != 200 and not (status == 404 and body.startswith(b"{")):  # a JSON 404: no such image
                raise ServiceError(f"removing {name} answered {status}: {body[:300]!r}")

    def import_image(self, tarball: Path, reference: str, changes: tuple = ()) -> None:
        """`podman import --change C TARBALL REFERENCE` through the REST API (Podman 3's `podman --remote
        import` fails: "url and r parameters cannot be used together")."""
        query = urllib.parse.urlencode([("reference", reference)] + [("changes", change) for change in changes])
        with open(tarball, "rb") as body:
            status, _, answer = self.request("POST", f"{LIBPOD}/images/import?{query}", body=body, timeout=900,
                                             headers={"Content-Type": "application/x-tar",
                                                      "Content-Length": str(os.fstat(body.fileno()).st_size)})
        if status != 200:
            raise ServiceError(f"importing {tarball} as {reference} answered {status}: {answer[:300]!r}")

    def cli(self, *args, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run the matching podman CLI as a remote client of this service."""
        cmd = self._podman() + ["--remote", "--url", self.base_url, *map(str, args)]
        return run(cmd, check=check, env=self._service_env(), timeout=timeout)


class Registry:
    """A `docker-registry serve` on a free loopback port; tls=True adds a throwaway CA and htpasswd auth.

    Attributes: host ("127.0.0.1:PORT"), url, username/password (None when plain), ca_path (None when plain), tls.
    The secure one's CA is trusted by writing /etc/containers/certs.d/HOST/ca.crt (removed at stop()).
    """

    def __init__(self, workdir: str | Path, tls: bool, username: str = "pnbuser", password: str = "pnb-secret-pw"):
        self.tls = tls
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = ("https://" if tls else "http://") + self.host
        self.username = username if tls else None
        self.password = password if tls else None
        self.ca_path = str(self.workdir / "ca.crt") if tls else None
        self.log_path = self.workdir / "registry.log"
        config = ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:",
                  f"    rootdirectory: {self.workdir / 'data'}", "  delete:", "    enabled: true",
                  "http:", f"  addr: {self.host}"]
        if tls:
            self._make_certs()
            run(["sh", "-c", f"htpasswd -Bbn {username} {password} > {self.workdir / 'htpasswd'}"])
            config += ["  tls:", f"    certificate: {self.workdir / 'server.crt'}",
                       f"    key: {self.workdir / 'server.key'}",
                       "auth:", "  htpasswd:", "    realm: podman-nb-test", f"    path: {self.workdir / 'htpasswd'}"]
        (self.workdir / "config.yml").write_text("\n".join(config) + "\n")
        self._certs_dir = HOST_CERTS_D / self.host
        self._proc = _Process(f"registry {self.host}", ["docker-registry", "serve", str(self.workdir / "config.yml")],
                              self.log_path)
        self.start()
        _cleanups.append(self)

    def _make_certs(self) -> None:
        d = self.workdir
        (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                   "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run(["openssl", "req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.crt", "-days", "3",
             "-subj", "/CN=podman-nb test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", *ec, "-keyout", d / "server.key", "-out", d / "server.csr", "-subj", "/CN=127.0.0.1"])
        run(["openssl", "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.crt", "-CAkey", d / "ca.key",
             "-CAcreateserial", "-out", d / "server.crt", "-days", "3", "-extfile", d / "ext.cnf"])

    def _probe(self) -> bool:
        ctx = ssl.create_default_context(cafile=self.ca_path) if self.tls else None
        try:
            with urllib.request.urlopen(self.url + "/v2/", timeout=2, context=ctx) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            return e.code == 401 and self.tls

    def start(self, timeout: float = 30) -> None:
        if self._proc.running():
            return
        if self.tls:
            self._certs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.ca_path, self._certs_dir / "ca.crt")
        self._proc.start()
        self._proc.wait_ready(self._probe, timeout)

    def stop(self) -> None:
        self._proc.stop()
        if self.tls:
            shutil.rmtree(self._certs_dir, ignore_errors=True)

    def image(self, repo: str = BASE_REPO) -> str:
        return f"{self.host}/{repo}"


class Registries:
    """The two test registries (.secure: TLS + htpasswd, .plain: HTTP, insecure=true) and their registries.conf."""

    def __init__(self, workdir: str | Path):
        self.workdir = Path(workdir).resolve()
        self.secure = Registry(self.workdir / "registry-secure", tls=True)
        self.plain = Registry(self.workdir / "registry-plain", tls=False)
        self.registries_conf = self.workdir / "registries.conf"
        self.registries_conf.write_text(
            "unqualified-search-registries = []\n\n"
            f'[[registry]]\nlocation = "{self.plain.host}"\ninsecure = true\n')

    @property
    def ca_files(self) -> dict:
        return {self.secure.host: self.secure.ca_path}

    def stop(self) -> None:
        self.plain.stop()
        self.secure.stop()


class BaseImage:
    """Names of the offline busybox base image: local, secure (registry), plain (registry); id."""

    def __init__(self, local: str, secure: str, plain: str, id: str):
        self.local, self.secure, self.plain, self.id = local, secure, plain, id

    def __repr__(self):
        return f"BaseImage(local={self.local!r}, secure={self.secure!r}, plain={self.plain!r}, id={self.id[:12]!r})"


def share_base_image(first: PodmanService, second: PodmanService, registries: Registries, tag: str) -> str:
    """The busybox base built on ``first`` and pulled by ``second`` through the plain registry as
    ``REGISTRY/team/base:TAG`` (two hosts of a team with one registry); returns that name."""
    build_base_image(first)
    base = f"{registries.plain.host}/team/base:{tag}"
    first.cli("tag", LOCAL_BASE_IMAGE, base)
    first.cli("push", "--tls-verify=false", base)
    second.cli("pull", "--tls-verify=false", base)
    return base


def build_base_image(service: PodmanService, registries: Registries | None = None) -> BaseImage:
    """Build FROM scratch + host busybox in `service`, tag it localhost/podman-nb/busybox:latest, push to both."""
    ctx = service.workdir / "busybox-context"
    ctx.mkdir(exist_ok=True)
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(busybox, ctx / "busybox")
    (ctx / "Containerfile").write_text(
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n'
        'CMD ["/bin/sh"]\n')
    service.cli("build", "--layers=false", "-t", LOCAL_BASE_IMAGE, "-f", ctx / "Containerfile", ctx)
    image_id = service.cli("image", "inspect", "--format", "{{.Id}}", LOCAL_BASE_IMAGE).stdout.strip()
    secure = plain = ""
    if registries is not None:
        secure, plain = registries.secure.image(), registries.plain.image()
        s = registries.secure
        service.cli("push", "--creds", f"{s.username}:{s.password}", LOCAL_BASE_IMAGE, secure)
        service.cli("push", "--tls-verify=false", LOCAL_BASE_IMAGE, plain)
    return BaseImage(LOCAL_BASE_IMAGE, secure, plain, image_id)


def ensure_root(which: str) -> Path:
    """The cached Debian tree for `which` (see CHROOTS), debootstrapped once into CHROOT_CACHE (35-100 s each)."""
    release, packages = CHROOTS[which]
    root = CHROOT_CACHE / f"{release}-root"
    if (root / "usr/bin/podman").exists():
        if "nftables" in packages and not (root / "usr/sbin/nft").exists():  # older trixie caches lack nft
            shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
            run(["chroot", str(root), "sh", "-c", "apt-get update -qq && apt-get install -y -qq nftables"])
        return root
    return debootstrap(release, packages, root, "usr/bin/podman")


def debootstrap(release: str, packages: list, root: Path, ready: str, finish=None) -> Path:
    """Debian `release` minbase + `packages` at `root`, made once (under a lock) unless `root/ready` exists;
    `finish(tree)` may adjust the tree before it is put in place."""
    if (root / ready).exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ready).exists():
            tmp = root.with_name(root.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            if not shutil.which("debootstrap"):
                raise ServiceError("debootstrap is missing: run scripts/install-deps")
            log = root.parent / f"debootstrap-{root.name}.log"
            print(f"== debootstrapping Debian {release} into {root} (once, then cached; a minute or two)", flush=True)
            with open(log, "w") as f:
                rc = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
                                     release, str(tmp)], stdout=f, stderr=subprocess.STDOUT).returncode
            if rc != 0:
                raise ServiceError(f"debootstrap {release} failed ({rc}); log {log}:\n{log_tail(log)}")
            if finish is not None:
                finish(tmp)
            tmp.rename(root)
    return root


def ensure_roots(whiches=PODMANS) -> None:
    """Build every chroot `whiches` needs (scripts/install-deps calls this so a test run starts at once)."""
    for which in whiches:
        if which in CHROOTS:
            print(f"podman {which}: {ensure_root(which)}", flush=True)


class Stack:
    """Podman service + both registries + base image under one directory (used by `up` and by notebooks)."""

    def __init__(self, workdir: str | Path, which: str = "4", tutorials: bool = False):
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.registries = Registries(self.workdir)
        self.podman = PodmanService(which, self.workdir / f"podman{which}", self.registries.registries_conf,
                                    self.registries.ca_files)
        self.base_image = build_base_image(self.podman, self.registries)
        self.tutorials: dict = {}
        if tutorials:  # what every tutorial reads (scripts/tutorials): envservices imports this module
            import envservices
            self.tutorials = envservices.tutorial_settings(self.podman, self.registries, self.base_image,
                                                           self.workdir / "tutorials")

    def env_vars(self) -> dict:
        s, p = self.registries.secure, self.registries.plain
        return {"PODMAN_NB_TEST_BASE_URL": self.podman.base_url, "CONTAINER_HOST": self.podman.base_url,
                **self.podman.env,
                "PODMAN_NB_TEST_SECURE_REGISTRY": s.host, "PODMAN_NB_TEST_SECURE_USERNAME": s.username,
                "PODMAN_NB_TEST_SECURE_PASSWORD": s.password, "PODMAN_NB_TEST_SECURE_CA": s.ca_path,
                "PODMAN_NB_TEST_PLAIN_REGISTRY": p.host, "PODMAN_NB_TEST_BASE_IMAGE": self.base_image.local,
                "PODMAN_NB_TEST_PODMAN_VERSION": self.podman.version, **self.tutorials}

    def write_env(self) -> Path:
        path = self.workdir / "env.sh"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"export {k}='{v}'\n" for k, v in self.env_vars().items()))
        tmp.rename(path)
        return path

    def stop(self) -> None:
        self.podman.close()
        self.registries.stop()


def _up(args) -> int:
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "env.sh").unlink(missing_ok=True)
    if args.detach:
        log = open(workdir / "up.log", "ab")
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "up", "--dir", str(workdir),
                                 "--podman", args.podman] + (["--tutorials"] if args.tutorials else []),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (workdir / "up.pid").write_text(str(proc.pid))
        while not (workdir / "env.sh").exists():
            if proc.poll() is not None:
                print(f"services failed to start; see {workdir / 'up.log'}:\n{log_tail(workdir / 'up.log')}",
                      file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(f"services up (pid {proc.pid}); source {workdir / 'env.sh'}")
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(0))
    t0 = time.monotonic()
    stack = Stack(workdir, args.podman, args.tutorials)
    _cleanups.append(stack)
    env = stack.write_env()
    print(f"services up in {time.monotonic() - t0:.1f}s (podman {stack.podman.version}); source {env}", flush=True)
    while True:
        time.sleep(3600)


def _down(args) -> int:
    pid_file = Path(args.dir).resolve() / "up.pid"
    if not pid_file.exists():
        print(f"nothing to stop: no {pid_file}")
        return 0
    pid = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            os.kill(pid, 0)
            time.sleep(0.1)
        raise SystemExit(f"process {pid} did not stop")
    pid_file.unlink()
    (Path(args.dir).resolve() / "env.sh").unlink(missing_ok=True)
    print("services stopped")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start podman + registries + base image, write DIR/env.sh")
    up.add_argument("--dir", required=True)
    up.add_argument("--podman", choices=PODMANS, default="4")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `down`")
    up.add_argument("--tutorials", action="store_true", help="also what the tutorials need: the offline Python "
                    "base, a package index with numpy and pandas (scripts/tutorials)")
    down = sub.add_parser("down", help="stop what `up --detach` started")
    down.add_argument("--dir", required=True)
    roots = sub.add_parser("roots", help="debootstrap (once, cached) the chroots of the given Podmans")
    roots.add_argument("podman", nargs="*", help=f"any of {', '.join(PODMANS)} (default: all)")
    args = parser.parse_args(argv)
    if args.cmd == "roots":
        wrong = set(args.podman) - set(PODMANS)
        if wrong:
            parser.error(f"unknown podman {', '.join(sorted(wrong))}; choose from {', '.join(PODMANS)}")
        ensure_roots(args.podman or PODMANS)
        return 0
    return _up(args) if args.cmd == "up" else _down(args)


if __name__ == "__main__":
    sys.exit(main())
