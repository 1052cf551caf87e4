"""Rule states between the detect stage and its Faust table: compact JSON, decoded once.

A state is written back only when its bytes changed, and kept decoded while the table
still holds the bytes it was decoded from.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from bitacora.processors.alerting.keyed_records import loads
from bitacora.rules.types import State
from bitacora.rules.types.base import bound_samples


def dump_state(value: Any) -> bytes:
    """Compact JSON of a state or event; orjson, unless the result could differ in meaning.

    orjson refuses non-string keys, huge integers and lone surrogates (TypeError) and
    writes NaN and infinities as ``null``; those cases take the json module, whose text
    reads back equal.
    """
    try:
        out = orjson.dumps(value, default=str)
    except TypeError:
        out = b"null"
    if b"null" in out:
        # ASCII escapes keep lone surrogates (from the json module's reading) round-tripping.
        return json.dumps(value, separators=(",", ":"), default=str).encode()
    return out


class StateCache:
    """Decoded states by table key, reused while the table still holds the same bytes."""

    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[bytes, State]] = {}

    def load(self, table: Any, key: bytes) -> tuple[bytes | None, State]:
        """The stored bytes (or None) and a mutable decoded state for ``key``."""
        raw = table.get(key)
        if raw is None:
            self._entries.pop(key, None)
            return None, {}
        cached = self._entries.get(key)
        if cached is not None and cached[0] == raw:
            return raw, cached[1]
        try:
            state: State = loads(raw)
        except ValueError:
            state = {}  # unreadable: the key starts afresh and its next write replaces it
        if not isinstance(state, dict):
            state = {}
        self._entries[key] = (raw, state)
        return raw, state

    def store(self, table: Any, key: bytes, before: bytes | None, state: State, idle: bool) -> None:
        """Write the state back only if it changed; delete it when idle."""
        if idle:
            self._entries.pop(key, None)
            if before is not None:
                del table[key]
            return
        bound_samples(state)
        raw = dump_state(state)
        if raw != before:
            table[key] = raw
        self._entries[key] = (raw, state)
