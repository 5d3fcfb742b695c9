"""A socket activator as systemd's podman.socket is one: it holds the listening socket, starts the service on the first
connection (passing the socket as fd 3 with LISTEN_FDS/LISTEN_PID), and starts it again at the next connection after
the service exited (``--time``). Connections made meanwhile wait in the socket's backlog. (systemd-socket-activate
without --accept ends when its child does, so it cannot stand for a socket unit that outlives the service.)
"""
from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import threading


class Activator:
    def __init__(self, socket_path: str, argv: list, env: dict, log_path):
        self.socket_path, self.argv, self.env, self.log_path = socket_path, list(argv), dict(env), log_path
        self.starts = 0  # how many times the service was started
        self.child: subprocess.Popen | None = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(socket_path)
        self._listener.listen(128)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        fd = self._listener.fileno()
        while not self._stopping:
            if self.child is not None and self.child.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.child.wait(0.2)
                continue
            readable, _, _ = select.select([fd], [], [], 0.2)
            if readable and not self._stopping:
                self._start()

    def _start(self) -> None:
        def as_fd3():
            os.dup2(self._listener.fileno(), 3)
            os.set_inheritable(3, True)
        env = dict(self.env, LISTEN_FDS="1", LISTEN_FDNAMES="podman.socket")
        log = open(self.log_path, "ab")
        # LISTEN_PID must be the service's own pid: the shell sets it and execs into the service
        self.child = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", *self.argv], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, preexec_fn=as_fd3, close_fds=False)
        log.close()
        self.starts += 1

    def service_running(self) -> bool:
        return self.child is not None and self.child.poll() is None

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(5)
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(15)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
