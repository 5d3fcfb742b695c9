"""dive's CI rules, as ``dive --ci`` applies them: lowestEfficiency, highestWastedBytes, highestUserWastedPercent,
with dive's defaults, its ``.dive-ci`` file (``rules:`` and one ``name: value`` line per rule) and its verdicts."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..errors import InvalidArgument, RulesBroken

DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}
CONFIG = ".dive-ci"
# humanize.ParseBytes's units, which dive reads highestWastedBytes with
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "ki": 2**10, "kib": 2**10, "m": 10**6, "mb": 10**6, "mi": 2**20,
          "mib": 2**20, "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30, "t": 10**12, "tb": 10**12,
          "ti": 2**40, "tib": 2**40}
Verdict = Tuple[str, str, str]  # rule, PASS/FAIL/SKIP, sentence


def read_config(path: Path) -> Dict[str, str]:
    """The rules a ``.dive-ci`` file sets (its ``rules:`` mapping), values as written."""
    found: Dict[str, str] = {}
    inside = False
    for line in path.read_text(errors="replace").splitlines():
        text = line.split(" #", 1)[0].rstrip()
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if not text[0].isspace():
            inside = text.strip() == "rules:"
            continue
        name, colon, value = text.strip().partition(":")
        if inside and colon:
            found[name.strip()] = value.strip().strip("'\"")
    unknown = sorted(set(found) - set(DEFAULTS))
    if unknown:
        raise InvalidArgument(f"{path} sets {unknown[0]}, which is not one of dive's rules "
                              f"({', '.join(DEFAULTS)})")
    return found


def thresholds(given: Dict[str, object], folder: Optional[Path] = None) -> Dict[str, str]:
    """dive's defaults, then the ``.dive-ci`` in ``folder`` (the current one), then ``given`` (None: not given)."""
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise InvalidArgument(f"{unknown[0]} is not one of dive's rules ({', '.join(DEFAULTS)})")
    config = Path(folder or ".") / CONFIG
    rules = {**DEFAULTS, **(read_config(config) if config.is_file() else {})}
    rules.update({name: str(value) for name, value in given.items() if value is not None})
    return rules


def _bytes(text: str) -> int:
    found = re.fullmatch(r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not found or found.group(2).lower() not in _UNITS:
        raise InvalidArgument(f"highestWastedBytes must be a size such as 20MB, 20MiB or 20000000, or disabled; "
                              f"not {text!r}")
    return int(float(found.group(1).replace(",", "")) * _UNITS[found.group(2).lower()])


def _ratio(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number such as 0.9, or disabled; not {text!r}") from None


def verdicts(efficiency: float, wasted: int, user_size: int, rules: Dict[str, str]) -> List[Verdict]:
    """Each rule's verdict on an image with dive's figures (``user_size``: the bytes of every layer but the first)."""
    user = wasted / user_size if user_size else (math.inf if wasted else math.nan)  # as dive's float division
    found: List[Verdict] = []
    for name in DEFAULTS:
        value = rules[name].strip()
        if value.lower() == "disabled":
            found.append((name, "SKIP", f"{name} is disabled"))
        elif name == "lowestEfficiency":
            limit = _ratio(name, value)
            broken = efficiency < limit
            found.append((name, "FAIL" if broken else "PASS", f"The efficiency is {100 * efficiency:.1f} % "
                          f"({efficiency:.4f}), {'below' if broken else 'not below'} lowestEfficiency {limit:g}."))
        elif name == "highestWastedBytes":
            limit_bytes = _bytes(value)
            broken = wasted > limit_bytes
            found.append((name, "FAIL" if broken else "PASS", f"{wasted:,} bytes are wasted, "
                          f"{'above' if broken else 'not above'} highestWastedBytes {value} ({limit_bytes:,})."))
        else:
            limit = _ratio(name, value)
            broken = user > limit
            found.append((name, "FAIL" if broken else "PASS", f"The wasted bytes are {100 * user:.1f} % of the "
                          f"bytes the image's own layers add ({user:.4f}), {'above' if broken else 'not above'} "
                          f"highestUserWastedPercent {limit:g}."))
    return found


def enforce(image: str, found: List[Verdict]) -> None:
    """Raise RulesBroken with one sentence per broken rule, if any is."""
    broken = [sentence for _, verdict, sentence in found if verdict == "FAIL"]
    if broken:
        raise RulesBroken(f"{image}: " + " ".join(broken), found)
