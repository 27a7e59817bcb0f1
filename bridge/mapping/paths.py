"""Addressing inside records and events: decoded key chains, event property paths, pointers.

Shared by the mapper (apply.py) and the key builder (keys.py), so both read and place a value
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def subscripted(path: str, subscripts: tuple[tuple[str, int], ...]) -> str:
    """``REC.HIST.AMT`` with (("REC.HIST", 2),) -> ``REC.HIST[2].AMT``."""
    out = path
    for table, index in reversed(subscripts):
        if out == table or out.startswith(table + "."):
            out = f"{table}[{index}]{out[len(table) :]}"
    return out


def lookup(source: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, value) at the end of a key chain; only mappings are walked into."""
    node: Any = source
    for key in keys:
        if type(node) is not dict and not isinstance(node, Mapping):
            return False, None
        if key not in node:
            return False, None
        node = node[key]
    return True, node


def put(target: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    """Set an event property; the objects on its path are created as needed."""
    if len(parts) == 1:
        target[parts[0]] = value
        return
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def escape(token: str) -> str:
    """A JSON pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def pointer_suffix(target: tuple[str, ...]) -> str:
    """The JSON pointer of a property path within its scope."""
    return "".join("/" + escape(p) for p in target)
