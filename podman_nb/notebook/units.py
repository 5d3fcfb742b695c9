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


def format_elapsed(seconds: float, ticking: bool = False) -> str:
    """``4.2s``, ``1m 05s``, ``1h 02m``; ``ticking`` (a clock that changes at every refresh) keeps the tenths
    under an hour: ``1m 05.2s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if ticking and seconds < 3600:
        minutes, secs = divmod(seconds, 60)
        return f"{int(minutes)}m {secs:04.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


_SHORT_UNITS = {"second": "s", "minute": "min", "hour": "h", "day": "d", "week": "wk", "month": "mo", "year": "yr"}


def human_age(seconds: Any, compact: bool = False) -> str:
    """How long ago, as ``podman images`` says it (go-units' HumanDuration): ``3 minutes ago``.

    ``less than a second ago``, ``about a minute ago``, ``5 hours ago``, ``2 weeks ago``, ``3 years ago``;
    None or NaN gives ``""``, a time in the future (clock skew) ``in the future``. ``compact`` (for a
    narrow window) says ``now``, ``1 min ago``, ``5 h ago``, ``2 wk ago``: ten characters at most.
    """
    count, unit = _age(seconds)
    if unit is None:
        return count
    if count == 0:
        return "now" if compact else "less than a second ago"
    if compact:
        return f"{count} {_SHORT_UNITS[unit]} ago"
    if count == 1 and unit in ("minute", "hour"):
        return f"about {'an' if unit == 'hour' else 'a'} {unit} ago"
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def _age(seconds: Any) -> tuple:
    """(count, unit) of an age in go-units' steps, or (the whole text, None) for none and the future."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return "", None
    if math.isnan(value):
        return "", None
    if value < -1:
        return "in the future", None
    if value < 1:
        return 0, "second"
    if value < 60:
        return int(value), "second"
    minutes = int(round(value / 60))
    if minutes < 60:
        return minutes, "minute"
    hours = int(round(value / 3600))
    if hours < 48:
        return hours, "hour"
    for limit, unit, size in ((24 * 14, "day", 24), (24 * 60, "week", 24 * 7), (24 * 365 * 2, "month", 24 * 30)):
        if hours < limit:
            return hours // size, unit
    return hours // (24 * 365), "year"
