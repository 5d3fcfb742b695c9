"""Counters the reliability suites (test_faults, test_bad_input, test_secrets) increment; conftest prints them."""
from __future__ import annotations

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
