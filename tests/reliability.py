"""What the reliability suites (test_faults, test_bad_input, test_secrets) share: counters conftest prints, and an IPython shell."""
from __future__ import annotations

import contextlib
import threading

COUNTS = {"faults injected": 0, "bad inputs tried": 0, "leaks found": 0}
LEAKS: list = []  # (where, excerpt) for every place a secret was found
NOTES: list = []  # honest observations worth reading in the summary (e.g. what Podman kept doing)
_lock = threading.Lock()


def count(name: str, n: int = 1) -> None:
    with _lock:
        COUNTS[name] = COUNTS.get(name, 0) + n


def leak(where: str, excerpt: str) -> None:
    with _lock:
        COUNTS["leaks found"] += 1
        LEAKS.append((where, excerpt))


def note(text: str) -> None:
    with _lock:
        NOTES.append(text)


def summary() -> str:
    return "reliability: " + ", ".join(f"{k}: {v}" for k, v in COUNTS.items())


@contextlib.contextmanager
def ipython_shell():
    """The running in-process IPython shell, or one made for this module (history in memory) and cleared after,
    so that a later module can still make its own TerminalInteractiveShell singleton."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    created = not InteractiveShell.initialized()
    config = Config({"HistoryManager": {"hist_file": ":memory:"}})
    ip = InteractiveShell.instance(config=config) if created else InteractiveShell.instance()
    try:
        yield ip
    finally:
        if created:
            ip.history_manager.end_session()
            InteractiveShell.clear_instance()
