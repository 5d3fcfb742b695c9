"""Encoding request parameters the way Podman reads them: filter maps, registry credentials, booleans."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..base_errors import InvalidArgument


def filter_values(key: str, value: Any) -> List[str]:
    """One filter's value as the list of strings the service reads (``{"k": "v"}`` -> ``["k=v"]``)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, Mapping):
        return [str(k) if v is None else f"{k}={v}" for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        values: List[str] = []
        for item in value:
            values.extend(filter_values(key, item))
        return values
    raise InvalidArgument(f"filter {key!r} has a value of type {type(value).__name__}; "
                          "use a string, a boolean, a list or a dict")


def filter_dict(filters: Any) -> Dict[str, Any]:
    """A copy of the caller's filters; anything but a dict is an InvalidArgument (dict(1) raised TypeError)."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidArgument(f"filters must be a dict, not {type(filters).__name__}")
    return dict(filters)


def encode_filters(filters: Optional[Mapping[str, Any]]) -> Optional[str]:
    """``{"label": {"k": "v"}, "dangling": True}`` -> ``'{"label": ["k=v"], "dangling": ["true"]}'``.

    Strings, numbers, booleans, lists and dicts are all understood; ``None`` values are dropped.
    A plain string of JSON is passed through unchanged.
    """
    if filters is None:
        return None
    if isinstance(filters, str):
        return filters
    encoded: Dict[str, List[str]] = {}
    for key, value in filter_dict(filters).items():
        values = filter_values(str(key), value)
        if values:
            encoded[str(key)] = values
    return json.dumps(encoded) if encoded else None


def encode_auth(auth_config: Optional[Mapping[str, Any]], registries: Sequence[str] = ()) -> Optional[str]:
    """The ``X-Registry-Auth`` header value: base64url JSON of username, password and friends; with
    ``registries``, a map of each registry to them, so that Podman uses them for those registries only."""
    if not auth_config:
        return None
    if not isinstance(auth_config, Mapping):
        raise InvalidArgument("auth_config must be a dict with 'username' and 'password'")
    known = ("username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken")
    payload = {key: str(auth_config[key]) for key in known if auth_config.get(key) is not None}
    if not ({"username", "password"} <= payload.keys() or payload.keys() & {"auth", "identitytoken", "registrytoken"}):
        raise InvalidArgument("auth_config needs both 'username' and 'password'")
    scoped = {registry: payload for registry in registries} if registries else payload
    return base64.urlsafe_b64encode(json.dumps(scoped).encode()).decode("ascii")


def clean_params(params: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Drop ``None`` values and spell booleans as Podman expects (``true``/``false``)."""
    cleaned: Dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ["true" if v is True else "false" if v is False else v for v in value]
        cleaned[key] = value
    return cleaned
