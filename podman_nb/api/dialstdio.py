"""The fallback for ssh servers that refuse socket forwarding: ``ssh HOST podman system dial-stdio`` per connection.

A local unix socket whose every accepted connection is relayed, byte for byte, to the stdin/stdout of
one ``ssh ... podman --url unix://REMOTE system dial-stdio`` process (what the podman CLI does). Slower
to open than the forwarding (an ssh login per HTTP connection), so it is only the fallback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from typing import Any, List, Set


class DialStdioRelay:
    """Listens at ``local_path``; each connection gets its own ``command`` process (stopped with it)."""

    def __init__(self, command: List[str], local_path: str):
        self.command = command
        self.local_path = local_path
        self.processes: Set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        if os.path.exists(local_path):
            os.unlink(local_path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(local_path)
        self._listener.listen(16)
        self._closed = False
        threading.Thread(target=self._accept, name="podman_nb dial-stdio", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(connection,), daemon=True).start()

    def _relay(self, connection: socket.socket) -> None:
        process = spawn(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        bufsize=0)
        with self._lock:
            self.processes.add(process)

        def upstream() -> None:  # socket -> ssh's stdin
            try:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break
                    process.stdin.write(data)
            except OSError:
                pass
            finally:
                try:
                    process.stdin.close()
                except OSError:
                    pass

        sender = threading.Thread(target=upstream, daemon=True)
        sender.start()
        try:
            while True:
                data = process.stdout.read1(65536) if hasattr(process.stdout, "read1") else \
                    os.read(process.stdout.fileno(), 65536)
                if not data:
                    break
                connection.sendall(data)
        except OSError:
            pass
        finally:
            connection.close()
            stop_process(process)
            process.stdout.close()
            with self._lock:
                self.processes.discard(process)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            processes, self.processes = list(self.processes), set()
        for process in processes:
            stop_process(process)


def spawn(command: List[str], **kwargs: Any) -> subprocess.Popen:
    """Start ``command`` in our process group, so that a kernel's group kill (even SIGKILL) takes it along,
    but deaf to SIGINT, so that a cell interrupt or Ctrl-C does not drop it: ``sh`` ignores SIGINT and
    execs the command (same pid), and ssh keeps a SIGINT it finds ignored."""
    return subprocess.Popen(["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *command], **kwargs)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a child (kill it after 5 s) and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
