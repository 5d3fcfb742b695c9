"""Podman's named connections, read from the same files the podman CLI reads (no podman binary needed).

Podman 5 keeps them in ``podman-connections.json`` (``PODMAN_CONNECTIONS_CONF``, else
``$XDG_CONFIG_HOME/containers/`` or ``~/.config/containers/``); Podman 4 in containers.conf
(``[engine] active_service`` and ``[engine.service_destinations.NAME]``). Podman 5 reads both, the
JSON file first, and so do we. The tests compare this listing with ``podman system connection list``
on Podman 4.3 and 5.4.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..base_errors import Unreachable

from . import toml as _toml


@dataclass(frozen=True)
class Connection:
    """One named destination: ``uri`` (``unix://``, ``ssh://``, ``tcp://``), ``identity`` (an ssh key file or None)."""

    name: str
    uri: str
    identity: Optional[str] = None
    is_machine: bool = False
    default: bool = False


def _config_home() -> str:
    return os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")


def connections_json_path() -> str:
    """Where Podman 5 keeps its connections."""
    return os.environ.get("PODMAN_CONNECTIONS_CONF") or os.path.join(_config_home(), "containers",
                                                                     "podman-connections.json")


def containers_conf_files() -> List[str]:
    """The containers.conf files Podman reads, lowest priority first (CONTAINERS_CONF alone when set)."""
    if os.environ.get("CONTAINERS_CONF"):
        files = [os.environ["CONTAINERS_CONF"]]
    else:
        files = []
        for base in ("/usr/share/containers/containers.conf", "/etc/containers/containers.conf"):
            files += [base, *sorted(glob.glob(base + ".d/*.conf"))]
        if os.geteuid() != 0:  # as root, Podman reads no per-user containers.conf
            user = os.path.join(_config_home(), "containers", "containers.conf")
            files += [user, *sorted(glob.glob(user + ".d/*.conf"))]
    if os.environ.get("CONTAINERS_CONF_OVERRIDE"):
        files.append(os.environ["CONTAINERS_CONF_OVERRIDE"])
    return [f for f in files if os.path.isfile(f)]


def _read_containers_conf() -> Tuple[Dict[str, dict], Optional[str]]:
    destinations: Dict[str, dict] = {}
    active = None
    for path in containers_conf_files():
        try:
            with open(path, "rb") as handle:
                engine = _toml.load(handle).get("engine") or {}
        except (OSError, ValueError) as error:
            raise Unreachable(f"Cannot read Podman's connections from {path}: {error}") from None
        for name, attrs in (engine.get("service_destinations") or {}).items():
            destinations[name] = {"URI": attrs.get("uri", ""), "Identity": attrs.get("identity"),
                                  "IsMachine": bool(attrs.get("is_machine", False))}
        active = engine.get("active_service", active)
    return destinations, active


def _read_connections_json() -> Tuple[Dict[str, dict], Optional[str]]:
    path = connections_json_path()
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as error:
        raise Unreachable(f"Cannot read Podman's connections from {path}: {error}") from None
    section = (document or {}).get("Connection") or {}
    return dict(section.get("Connections") or {}), section.get("Default") or None


def list_connections() -> List[Connection]:
    """Every connection the podman CLI knows (``podman system connection list``), sorted by name."""
    destinations, default = _read_containers_conf()
    newer, newer_default = _read_connections_json()
    destinations.update(newer)
    default = newer_default or default
    found = []
    for name, attrs in sorted(destinations.items()):
        identity = attrs.get("Identity") or None
        found.append(Connection(name=name, uri=attrs.get("URI") or "",
                                identity=os.path.expanduser(identity) if identity else None,
                                is_machine=bool(attrs.get("IsMachine")), default=name == default))
    return found


def get_connection(name: str) -> Connection:
    """The connection called ``name``; Unreachable naming the known ones when there is none."""
    found = list_connections()
    for connection in found:
        if connection.name == name:
            return connection
    known = ", ".join(c.name for c in found) or "none"
    raise Unreachable(f"Podman has no connection named {name!r} (known: {known}); "
                             "see `podman system connection list`")


def default_connection() -> Optional[Connection]:
    for connection in list_connections():
        if connection.default:
            return connection
    return None
