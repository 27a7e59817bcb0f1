"""The one message-key builder: an event's Kafka or Redis key from its key fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.mapping.convert import text_form
from bridge.mapping.model import MappingDoc
from bridge.mapping.paths import lookup

__all__ = ["MessageKey"]


class MessageKey:
    """``MessageKey(mapping, "kafka" | "redis")(event)``: the key fields' values as text (no
    value: empty), joined by the mapping's separator (Redis: after its prefix); None when the
    mapping names no such key. Works on a whole event or on an object of its key fields."""

    def __init__(self, mapping: MappingDoc, which: str) -> None:
        paths = mapping.keys.kafka if which == "kafka" else mapping.keys.redis
        targets = []
        for path in paths:
            spec = mapping.field_spec(path)
            assert spec is not None  # mapping lint: every key names a mapped field
            targets.append(tuple(spec.target.split(".")))
        self.targets = tuple(targets)
        self.fields = frozenset(paths)  # the key fields' layout paths
        self.separator = mapping.keys.separator
        self.prefix = mapping.keys.redis_prefix if which == "redis" else ""

    def __call__(self, event: Mapping[str, Any]) -> str | None:
        if not self.targets:
            return None
        parts: list[str] = []
        for target in self.targets:
            if len(target) == 1 and type(event) is dict:
                value = event.get(target[0])  # lookup's answer: None when absent
            else:
                _, value = lookup(event, target)
            parts.append("" if value is None else value if type(value) is str else text_form(value))
        return self.prefix + self.separator.join(parts)
