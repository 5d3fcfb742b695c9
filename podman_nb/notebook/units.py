"""Numbers as people read them: sizes in powers of 1000 (as podman prints them) and elapsed times."""

from __future__ import annotations

import math
from typing import Any

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(n: Any) -> str:
    """Bytes as podman shows them, in powers of 1000: ``0 B``, ``999 B``, ``1.2 MB``, ``5.59 GB``.

    None, NaN or pandas' NA gives ``""``.
    """
    try:
        value = float(n)
    except (TypeError, ValueError):
        return ""
    if math.isnan(value):
        return ""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in _UNITS:
        if value < 999.5 or unit == _UNITS[-1]:
            break
        value /= 1000.0
    if unit == "B":
        return f"{sign}{int(value)} B"
    return f"{sign}{value:.3g} {unit}"


def format_elapsed(seconds: float) -> str:
    """``4.2s``, ``1m 05s``, ``1h 02m``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
