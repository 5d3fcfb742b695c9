"""Numbers as people read them: sizes in powers of 1000 (as podman prints them), ages and elapsed times."""

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


def human_age(seconds: Any) -> str:
    """How long ago, as ``podman images`` says it (go-units' HumanDuration): ``3 minutes ago``.

    ``less than a second ago``, ``about a minute ago``, ``5 hours ago``, ``2 weeks ago``, ``3 years ago``;
    None or NaN gives ``""``, a time in the future (clock skew) ``in the future``.
    """
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return ""
    if math.isnan(value):
        return ""
    if value < -1:
        return "in the future"
    if value < 1:
        return "less than a second ago"
    if value < 60:
        return "1 second ago" if int(value) == 1 else f"{int(value)} seconds ago"
    minutes = int(round(value / 60))
    if minutes == 1:
        return "about a minute ago"
    if minutes < 60:
        return f"{minutes} minutes ago"
    hours = int(round(value / 3600))
    if hours == 1:
        return "about an hour ago"
    if hours < 48:
        return f"{hours} hours ago"
    for limit, unit, size in ((24 * 14, "days", 24), (24 * 60, "weeks", 24 * 7),
                              (24 * 365 * 2, "months", 24 * 30)):
        if hours < limit:
            return f"{hours // size} {unit} ago"
    return f"{hours // (24 * 365)} years ago"
