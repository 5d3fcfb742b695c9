"""A real OpenSSH server on a loopback port for ssh:// tests, and an ssh client set-up the tests control.

Plain Python (no pytest). ``SSHServer(workdir, session_env)`` starts ``sshd -f CONFIG`` (Debian's
openssh-server) with its own host key and an authorized_keys allowing one key, key authentication only.
``session_env`` is given to every ssh session (SetEnv): CONTAINER_HOST there makes the remote
``podman info`` report the test service's socket.

OpenSSH reads known_hosts from the passwd home (/root), not $HOME, so nothing here may rely on ~/.ssh:
``bin`` holds an ``ssh`` wrapper (``ssh -F CONFIG``) whose config keeps known_hosts in the work
directory. Put ``bin`` first on PATH and the library's ``ssh`` uses it like a user's ~/.ssh/config.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

from services import ServiceError, _cleanups, _Process, free_port, log_tail, run

SSHD = "/usr/sbin/sshd"


def keygen(path: Path) -> Path:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)])
    return path


class SSHServer:
    """sshd on 127.0.0.1:PORT. Attributes: port, key (the authorized identity), wrong_key, host_key,
    known_hosts (the client's), bin (dir with the ssh wrapper), home (a HOME for podman's own ssh)."""

    def __init__(self, workdir: str | Path, session_env: dict | None = None, forwarding: bool = True):
        if not os.path.exists(SSHD):
            raise ServiceError("sshd is missing: run scripts/install-deps (openssh-server)")
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        w = self.workdir
        self.port = free_port()
        self.host_key = keygen(w / "host_key")
        self.key = keygen(w / "id_client")
        self.wrong_key = keygen(w / "id_wrong")
        (w / "authorized_keys").write_text(Path(str(self.key) + ".pub").read_text())
        os.chmod(w / "authorized_keys", 0o600)
        lines = [f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
                 f"AuthorizedKeysFile {w / 'authorized_keys'}", f"PidFile {w / 'sshd.pid'}",
                 "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
                 "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no",
                 f"AllowStreamLocalForwarding {'yes' if forwarding else 'no'}", "AllowTcpForwarding yes",
                 "X11Forwarding no",
                 "MaxStartups 50", "MaxSessions 50", "LogLevel VERBOSE",
                 "Subsystem sftp internal-sftp"]  # podman image scp copies the archive over sftp
        for key, value in (session_env or {}).items():
            lines.append(f"SetEnv {key}={value}")
        (w / "sshd_config").write_text("\n".join(lines) + "\n")
        self.home = w / "home"
        (self.home / ".ssh").mkdir(parents=True, exist_ok=True)
        self.known_hosts = self.home / ".ssh" / "known_hosts"
        self.client_config = w / "ssh_config"
        self.client_config.write_text(f"UserKnownHostsFile {self.known_hosts}\nGlobalKnownHostsFile /dev/null\n")
        self.bin = w / "bin"
        self.bin.mkdir(exist_ok=True)
        wrapper = self.bin / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {self.client_config} "$@"\n')
        wrapper.chmod(0o755)
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        run([SSHD, "-t", "-f", str(w / "sshd_config")])
        self._proc = _Process(f"sshd :{self.port}", [SSHD, "-D", "-e", "-f", str(w / "sshd_config")],
                              w / "sshd.log")
        self.start()
        _cleanups.append(self)

    def _banner(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            return sock.recv(64).startswith(b"SSH-")

    def start(self) -> None:
        if not self._proc.running():
            self._proc.start()
            self._proc.wait_ready(self._banner, 20)

    def stop(self) -> None:
        self._proc.stop()

    def uri(self, path: str = "", user: str = "root") -> str:
        return f"ssh://{user}@127.0.0.1:{self.port}{path}"

    def trust(self) -> None:
        """Write the server's real host key into the client's known_hosts (as a first contact would)."""
        pub = Path(str(self.host_key) + ".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n")

    def forge_host_key(self) -> None:
        """Make known_hosts hold another key for this server, as when the server's key changed."""
        other = keygen(self.workdir / f"other_host_key{time.monotonic_ns()}")
        pub = Path(str(other) + ".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n")

    def log(self) -> str:
        return log_tail(self.workdir / "sshd.log")


def ssh_pids(port: int) -> list:
    """Pids of ssh client processes talking to 127.0.0.1:PORT (by their command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
            if words and os.path.basename(words[0]) == b"ssh" and str(port).encode() in words:
                with open(f"/proc/{entry}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                        found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

