"""The magics in-process for scripts/bench: one IPython shell with podman_nb loaded, magics run quietly, and spies
that stamp what the display shows (DisplaySpy) and when stream chunks came off the socket (ReadStamps)."""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any, List, Optional


_SHELL = None


def ipython_shell(base_url: str):
    global _SHELL
    if _SHELL is None:
        from IPython.core.interactiveshell import InteractiveShell
        _SHELL = InteractiveShell.instance()
        with contextlib.redirect_stdout(io.StringIO()):
            _SHELL.run_line_magic("load_ext", "podman_nb")
    _SHELL.run_line_magic("config", f"PodmanMagics.base_url = {base_url!r}")
    return _SHELL


def run_magic(shell, line_or_cell: str, name: str, line: str, cell: Optional[str] = None):
    """Run a magic quietly and return its value; a failure raises (IPython would only print it)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if line_or_cell == "cell":
            return shell.run_cell_magic(name, line, cell)
        return shell.run_line_magic(name, line)


class DisplaySpy:
    """Wrap make_display where the magics call it (notebook/context.py): keep each display, stamp each refresh and event."""

    def __init__(self):
        import podman_nb.notebook.context as context
        self.module = context
        self.original = context.make_display
        self.displays: List[Any] = []

    def __enter__(self):
        spy = self

        def make(*args, **kwargs):
            shown = spy.original(*args, **kwargs)
            shown.refresh_log = []  # (time, progress.lines or bytes_done)
            if hasattr(shown, "_refresh_now"):  # every widget refresh goes through it (the timer's too)
                refresh = shown._refresh_now

                def stamped():
                    refresh()
                    p = shown.progress
                    shown.refresh_log.append((time.perf_counter(), getattr(p, "lines", 0) or
                                              getattr(p, "bytes_done", 0)))
                shown._refresh_now = stamped
            spy.displays.append(shown)
            return shown

        self.module.make_display = make
        return self

    def __exit__(self, *exc):
        self.module.make_display = self.original
        return False


class ReadStamps:
    """Wrap APIClient.stream_bytes: the time each chunk came off the socket (``last``)."""

    def __init__(self):
        from podman_nb.api.api_client import APIClient
        self.cls = APIClient
        self.original = APIClient.stream_bytes
        self.last = 0.0
        self.chunks = 0

    def __enter__(self):
        stamps, original = self, self.original

        def stream_bytes(client, response, chunk_size=64 * 1024):
            for chunk in original(client, response, chunk_size):
                stamps.last = time.perf_counter()
                stamps.chunks += 1
                yield chunk
        self.cls.stream_bytes = stream_bytes
        return self

    def __exit__(self, *exc):
        self.cls.stream_bytes = self.original
        return False
