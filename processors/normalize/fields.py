"""Making any value safe to store: UTF-8 repair, size caps, and the ``labels`` tree.

Choices (documented in the package docstring too):

- invalid UTF-8 (raw bytes, or the surrogate escapes the raw-record decoder leaves) and
  lone surrogates become U+FFFD; NUL becomes U+FFFD as well;
- a string over its cap keeps a prefix of whole characters plus ``…[truncated N bytes]``
  (N = UTF-8 bytes removed); prefix plus marker never exceed the cap;
- label keys: ``.`` becomes ``_`` (nesting is the only path separator inside the
  flat_object), an empty key becomes ``_empty``, keys are cut at 128 characters; when two
  keys clean to the same name the later one wins;
- ``None`` values, empty objects and empty lists are left out of ``labels``;
  non-finite floats become strings; unknown types become ``str(value)``;
- at most ``max_label_keys`` keys and list items are kept (depth-first, in record order);
  the rest are counted in ``labels["_truncated_keys"]``;
- objects nested deeper than ``max_depth`` become their JSON text (then capped);
- a field whose *name* says it holds a secret is replaced whole by ``[REDACTED:<kind>]``.

Every string placed in ``labels`` is registered as a *slot* ``(container, key, cap)`` so
that redaction and truncation run once over the whole event afterwards (see ``finish``);
the document's own text fields are found again by name there (a slot per field would cost
a tuple per string of every event). All of them go to ``texts`` too, for the redaction's
pre-check, and those over a quarter of their cap to ``long``.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, Final

from bitacora.processors.normalize.config import MAX_KEY_CHARS, NormalizeConfig
from bitacora.redact import (
    CLEAN,
    any_may_need_redaction,
    fresh_may_need_redaction,
    is_ascii,
    redact,
    secret_kind_for_key,
)

_SURROGATE = re.compile(f"[{chr(0xD800)}-{chr(0xDFFF)}]")  # mypyc: no surrogate literals
_MARKER: Final = "…[truncated {} bytes]"
TRUNCATED_KEYS: Final = "_truncated_keys"

Slot = tuple[Any, Any, int]  # (dict or list, key or index, cap in bytes)


def repair(text: str) -> str:
    """``text`` with surrogates (invalid UTF-8) and NUL replaced by U+FFFD."""
    if not is_ascii(text) and _SURROGATE.search(text) is not None:
        text = _SURROGATE.sub("\ufffd", text)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text


def to_text(value: object) -> str | None:
    """A repaired string for a scalar (str, bytes, int, finite float), else None."""
    kind = type(value)
    if kind is str:
        return repair(value)  # type: ignore[arg-type]
    if kind is bytes or kind is bytearray:
        return repair(value.decode("utf-8", "replace"))  # type: ignore[attr-defined]
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return repr(value)
    return None


def truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, marker included."""
    if len(text) <= max_bytes and (text.isascii() or len(text) * 4 <= max_bytes):
        return text
    data = text.encode("utf-8", "replace")
    total = len(data)
    if total <= max_bytes:
        return text
    room = max_bytes - len(_MARKER.format(total).encode("utf-8"))
    head = data[: max(room, 0)].decode("utf-8", "ignore")
    removed = total - len(head.encode("utf-8"))
    return head + _MARKER.format(removed)


@lru_cache(maxsize=16384)
def _clean_str_key(key: str) -> str:
    key = repair(key)
    if "." in key:
        key = key.replace(".", "_")
    if len(key) > MAX_KEY_CHARS:
        key = key[:MAX_KEY_CHARS]
    return key if key.strip() else "_empty"


def clean_key(key: object) -> str:
    """A label key OpenSearch accepts inside a flat_object (see module docstring)."""
    if type(key) is str:
        return _clean_str_key(key)
    text = to_text(key)
    if text is None:
        text = repair(str(key))
    return _clean_str_key(text)


_KEY_INFO: dict[Any, tuple[str, str | None]] = {}


def key_info(key: object) -> tuple[str, str | None]:
    """``(clean label key, secret kind or None)``, cached: field names repeat."""
    info = _KEY_INFO.get(key) if type(key) is str else None
    if info is None:
        name = clean_key(key)
        info = (name, secret_kind_for_key(name))
        if type(key) is str:
            if len(_KEY_INFO) >= 16384:  # bounded: hostile records may invent names
                _KEY_INFO.clear()
            _KEY_INFO[key] = info
    return info


def _jsonable(value: Any, depth: int) -> Any:
    # Plain JSON data for a subtree below max_depth; secrets by key name already hidden.
    kind = type(value)
    if kind is dict:
        if depth > 200:
            return "…"
        out = {}
        for key, item in value.items():
            name = clean_key(key)
            secret = secret_kind_for_key(name)
            out[name] = f"[REDACTED:{secret}]" if secret else _jsonable(item, depth + 1)
        return out
    if kind is list or kind is tuple:
        return "…" if depth > 200 else [_jsonable(item, depth + 1) for item in value]
    if value is None or kind is bool or kind is int:
        return value
    text = to_text(value)
    return text if text is not None else repair(str(value))


def _may_need_redaction(texts: list[str], config: NormalizeConfig) -> bool:
    # any_may_need_redaction over the stored strings, known-clean ones skipped in the
    # same pass.
    if config.compiled_patterns:
        return any_may_need_redaction(texts, config)
    clean = CLEAN
    return fresh_may_need_redaction([text for text in texts if text not in clean], config)


class Builder:
    """Copies values into safe shapes and collects the document's strings (see the module
    docstring) for redaction and truncation."""

    __slots__ = (
        "budget",
        "config",
        "dropped",
        "floats",
        "label_cap",
        "long",
        "slots",
        "texts",
    )

    config: NormalizeConfig
    budget: int
    dropped: int
    floats: bool  # whether a float was stored (to_json_bytes checks its text)
    label_cap: int

    def __init__(self, config: NormalizeConfig) -> None:
        self.slots: list[Slot] = []
        self.long: list[Slot] = []
        # Every string stored (slots and the document's own fields), for the pre-check: a
        # later value under the same cleaned key leaves its predecessor here, which can
        # only make the check say "maybe" (then every string is redacted as it stands).
        self.texts: list[str] = []
        self.reset(config)

    def reset(self, config: NormalizeConfig) -> None:
        """Empty, for an event under ``config``: one Builder serves event after event."""
        self.config = config
        self.budget = config.max_label_keys
        self.dropped = 0
        self.floats = False
        self.label_cap = config.keyword_bytes
        self.slots.clear()
        self.long.clear()
        self.texts.clear()

    def put(self, container: Any, key: Any, text: str, cap: int) -> None:
        """Store an already repaired string and register it for redaction/truncation."""
        container[key] = text
        slot = (container, key, cap)
        self.slots.append(slot)
        self.texts.append(text)
        if len(text) * 4 > cap:
            self.long.append(slot)

    def field(self, doc: dict[str, Any], name: str, text: str, cap: int) -> None:
        """Store an already repaired string as one of the document's own fields, which
        :meth:`finish` is told the names of (no slot)."""
        doc[name] = text
        self.texts.append(text)
        if len(text) * 4 > cap:
            self.long.append((doc, name, cap))

    def labels(self, record: dict[Any, Any]) -> dict[str, Any]:
        """The ``labels`` object for the record fields left after extraction."""
        out = self._mapping(record, 1)
        if self.dropped:
            out[TRUNCATED_KEYS] = self.dropped
        return out

    def _value(self, container: Any, key: Any, value: Any, depth: int) -> bool:
        # Store value under container[key]; False when there is nothing worth storing.
        kind = type(value)
        if kind is str:
            self.put(container, key, repair(value), self.label_cap)
        elif kind is int or kind is bool:
            container[key] = value
        elif value is None:
            return False
        elif kind is float:
            if math.isfinite(value):
                container[key] = value
                self.floats = True
            else:
                container[key] = str(value)
        elif kind is dict:
            if depth >= self.config.max_depth:
                self.put(container, key, self._stringify(value), self.label_cap)
            else:
                inner = self._mapping(value, depth + 1)
                if not inner:
                    return False
                container[key] = inner
        elif kind is list or kind is tuple:
            if depth >= self.config.max_depth:
                self.put(container, key, self._stringify(value), self.label_cap)
            else:
                items = self._sequence(value, depth + 1)
                if not items:
                    return False
                container[key] = items
        else:
            text = to_text(value)
            self.put(
                container, key, text if text is not None else repair(str(value)), self.label_cap
            )
        return True

    def _mapping(self, source: dict[Any, Any], depth: int) -> dict[str, Any]:
        # The hot loop of the normalizer: plain strings and ints are handled inline.
        out: dict[str, Any] = {}
        slots = self.slots
        texts = self.texts
        cap = self.label_cap
        quarter = cap // 4
        for key, value in source.items():
            if self.budget <= 0:
                self.dropped += 1
                continue
            info = _KEY_INFO.get(key) if type(key) is str else None
            if info is None:
                info = key_info(key)
            name, secret = info
            kind = type(value)
            if secret is not None:
                if value is None:
                    continue
                out[name] = f"[REDACTED:{secret}]"
            elif kind is str:
                if not is_ascii(value) or "\x00" in value:
                    value = repair(value)
                out[name] = value
                slots.append((out, name, cap))
                texts.append(value)
                if len(value) > quarter:
                    self.long.append((out, name, cap))
            elif kind is int:
                out[name] = value
            elif not self._value(out, name, value, depth):
                continue
            self.budget -= 1
        return out

    def _sequence(self, source: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        out: list[Any] = []
        for value in source:
            if self.budget <= 0:
                self.dropped += 1
                continue
            out.append(None)
            if self._value(out, len(out) - 1, value, depth):
                self.budget -= 1
            else:
                out.pop()
        return out

    def _stringify(self, value: Any) -> str:
        try:
            text = json.dumps(_jsonable(value, 0), ensure_ascii=False, separators=(",", ":"))
        except (RecursionError, ValueError, TypeError):
            text = "…"
        return repair(text)

    def finish(
        self, doc: dict[str, Any], keyword_fields: tuple[str, ...], text_fields: tuple[str, ...]
    ) -> None:
        """Redact every registered string, then cap the long ones (in that order, so a
        cut can never leave half a secret behind).

        ``keyword_fields`` and ``text_fields`` name the document's own fields stored with
        :meth:`field` (capped at the keyword size and at ``max_field_bytes``). A slot
        that no longer holds a string is stale (two record keys cleaned to the same label
        key, and the later value, not a string, replaced the earlier one): skipped.
        """
        config = self.config
        long = self.long
        if self.texts and _may_need_redaction(self.texts, config):
            own = ((keyword_fields, self.label_cap), (text_fields, config.max_field_bytes))
            for names, cap in own:
                for name in names:
                    if type(doc.get(name)) is str:
                        self._redact(doc, name, cap)
            for container, key, cap in self.slots:
                if type(container[key]) is str:  # else stale
                    self._redact(container, key, cap)
        for container, key, cap in long:
            value = container[key]
            if type(value) is str:  # else stale
                container[key] = truncate(value, cap)

    def _redact(self, container: Any, key: Any, cap: int) -> None:
        before = container[key]
        after = redact(before, self.config)
        if after is not before:
            container[key] = after
            self.long.append((container, key, cap))
