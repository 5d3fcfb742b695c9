"""Keeping registry passwords out of what a notebook keeps: credentials parsing and history scrubbing."""

from __future__ import annotations

import getpass
from typing import Any, Dict, Iterable, List, Optional

from IPython.core.error import UsageError
from IPython.utils.process import arg_split

MASK = "********"


def creds_passwords(line: str) -> List[str]:
    """The passwords a magic's line gives to ``--creds USER:PASS`` (or ``--creds=USER:PASS``, or any
    abbreviation argparse would also take: ``--cred``, ``--cr=``).

    Read from the raw line before the arguments are parsed, so a line that fails to parse is scrubbed too.
    """
    try:
        words = arg_split(line)
    except ValueError:  # unbalanced quotes: fall back to blanks
        words = line.split()
    passwords = []
    for index, word in enumerate(words):
        option, equals, value = word.partition("=")
        if not (len(option) > 2 and "--creds".startswith(option)):
            continue
        if not equals:
            value = words[index + 1] if index + 1 < len(words) else ""
        if value and _split(value)[2]:
            passwords.append(_split(value)[2])
    return passwords


def _split(creds: str):
    """``USER:PASS`` -> (user, ":", password): the one reading of a --creds value."""
    return creds.partition(":")


def parse_creds(creds: Optional[str], prompt=None) -> Optional[Dict[str, str]]:
    """``USER:PASS`` or ``USER`` (then the password is asked at a hidden prompt) -> an auth_config dict."""
    if creds is None:
        return None
    user, sep, password = _split(creds)
    if not user:
        raise UsageError("--creds needs a user name: --creds USER (asks for the password) or USER:PASSWORD")
    if not sep:  # getpass looked up now, so a replaced getpass.getpass (tests, front ends) is used
        password = (prompt or getpass.getpass)(f"Password for {user}: ")
    if not password:
        raise UsageError(f"no password given for {user}")
    return {"username": user, "password": password}


def mask(text: Any, secrets: Iterable[str]) -> Any:
    """``text`` with every one of ``secrets`` replaced by ``********`` (anything but a string as it is)."""
    if isinstance(text, str):
        for secret in secrets:
            if secret and secret in text:
                text = text.replace(secret, MASK)
    return text


def scrub_history(shell: Any, secret: Optional[str]) -> None:
    """Replace ``secret`` wherever IPython has kept the cell's text: In/_ih, _i variables, the history database."""
    if not secret or shell is None:
        return
    history = getattr(shell, "history_manager", None)
    if history is None:
        return
    for lines in (history.input_hist_parsed, history.input_hist_raw):
        for index, line in enumerate(lines):
            lines[index] = mask(line, (secret,))
    for name in ("_i", "_ii", "_iii", "_i00"):  # the manager's own copies, shifted into _i/_ii/_iii later
        if isinstance(getattr(history, name, None), str):
            setattr(history, name, mask(getattr(history, name), (secret,)))
    namespace = shell.user_ns
    for name in [n for n in namespace if n.startswith("_i")]:
        namespace[name] = mask(namespace[name], (secret,))
    with history.db_input_cache_lock:
        history.db_input_cache[:] = [tuple(mask(v, (secret,)) for v in entry) for entry in history.db_input_cache]
    try:
        with history.db:
            history.db.execute("UPDATE history SET source = replace(source, ?, ?), "
                               "source_raw = replace(source_raw, ?, ?) WHERE session = ?",
                               (secret, MASK, secret, MASK, history.session_number))
    except Exception:  # an in-memory or disabled history database has nothing to scrub
        pass
