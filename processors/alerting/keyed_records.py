"""Records of the keyed topic between the detect stages: many (rule, key) items per record.

The router writes one record per keyed-topic partition per batch of events, holding each
event's JSON once, and the items that refer to it grouped per state (one Kafka record per
matching rule and event would be read back through faust's per-message path, which costs
more than rule matching)::

    {"r": [rule, ...], "k": [key, ...],
     "g": [[rule index, key index, [weight, event index, weight, event index, ...]], ...],
     "e": [event, ...]}

Rules and keys are named once per record, and a group holds one (rule, key)'s items in
order, so the evaluator loads each state once per group and walks its events in a tight
loop. Every item's partition is the one the producer's partitioner (bitacora.partitions)
gives its query key, whatever the rule (:func:`table_partitioner`); the state table writes
the changelog of ``rule␟key`` to that same partition, so a (rule, key) still lives on
exactly one worker, its items stay in order, and an event matching several rules about
one key value is carried once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import orjson

from bitacora.partitions import partition_for

SEP = "\x1f"
# The weight of an item whose event matched the rule's resolve_filter, not its filter
# (rules.engine.settle): it ends the key's firing alert instead of counting.
RESOLVE_WEIGHT = 0
SEP_BYTES = SEP.encode()
# Seal a partition's record past this size (Kafka's default message limit is 1 MiB).
MAX_RECORD_BYTES = 512 * 1024


class Group(NamedTuple):
    """A state's items in one record, in order."""

    rule: str
    key: str
    members: list[int]  # [weight, event position, ...]; weight RESOLVE_WEIGHT: a recovery
    events: list[Any]  # the record's events (shared by its groups)
    times: list[float | None]  # their event times, parsed on first use (shared)


def table_key(rule: str, key: str) -> bytes:
    """The state table key (and single-record Kafka key) of ``rule`` and ``key``."""
    return f"{rule}{SEP}{key}".encode()


def rule_of(tkey: bytes) -> str:
    """The rule a state table key belongs to (:func:`table_key`'s first part)."""
    return tkey.decode("utf-8", "replace").split(SEP, 1)[0]


def table_partitioner(partitions: int) -> Callable[[bytes], int]:
    """The partition of a table key ``rule␟key``: the producer's partition of its query key.

    Every rule's state for one key value lives on one partition, so an event that matches
    several rules about the same key (a service's error feeds its burst, spike and new-term
    rules) travels in one record, once, and is decoded once.
    """
    return lambda tkey: partition_for(tkey.partition(SEP_BYTES)[2], partitions)


def item_partitioner(partitions: int) -> Callable[[str, str], int]:
    """The partition of an item (rule, key): its table key's (:func:`table_partitioner`),
    which depends on the key alone; cached by the key, without encoding it again."""
    known: dict[str, int] = {}

    def partition_of_item(_rule: str, key: str) -> int:
        found = known.get(key)
        if found is None:
            if len(known) > 65536:
                known.clear()
            found = known[key] = partition_for(key.encode(), partitions)
        return found

    return partition_of_item


class _Pending:
    """One partition's record under construction."""

    __slots__ = ("events", "groups", "index", "keys", "rules", "size")

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.index: dict[int, int] = {}  # id(event JSON) -> position in ``events``
        self.rules: dict[str, int] = {}  # rule name -> position in the record's rule list
        self.keys: dict[str, int] = {}  # key -> position in the record's key list
        # (rule, key) -> [rule position, key position, [weight, event position, ...]]
        self.groups: dict[tuple[str, str], list[Any]] = {}
        self.size = 0

    def group(self, rule: str, key: str) -> list[int]:
        """The flat [weight, event position, ...] list of (rule, key) in this record."""
        rules, keys = self.rules, self.keys
        rule_at = rules.get(rule)
        if rule_at is None:
            rule_at = rules[rule] = len(rules)
            self.size += len(rule) + 3
        key_at = keys.get(key)
        if key_at is None:
            key_at = keys[key] = len(keys)
            self.size += len(key) + 3
        members: list[int] = []
        self.groups[(rule, key)] = [rule_at, key_at, members]
        self.size += 16
        return members


class KeyedBatch:
    """Items to forward, grouped per partition; each event's JSON stored once per record."""

    def __init__(self, partition_for: Callable[[str, str], int]) -> None:
        self._partition_for = partition_for
        self._pending: dict[int, _Pending] = {}
        self._sealed: list[tuple[int, bytes]] = []

    def add(self, rule: str, key: str, weight: int, event_json: bytes) -> None:
        """Forward ``event_json`` (an encoded event object) to the state of (rule, key).

        Pass the same bytes object for every rule an event matches: it is stored once.
        """
        self.add_event(event_json, ((rule, key),), weight)

    def add_event(
        self, event_json: bytes, pairs: Iterable[tuple[str, str]], weight: int = 1
    ) -> None:
        """:meth:`add` the event for each (rule, key) of ``pairs``, in order."""
        partition_of = self._partition_for
        last = -1
        pending: _Pending | None = None
        position = 0
        for rule, key in pairs:
            partition = partition_of(rule, key)
            if pending is None or partition != last:
                pending, position = self._place(partition, event_json)
                last = partition
            found = pending.groups.get((rule, key))
            members = found[2] if found is not None else pending.group(rule, key)
            members.append(weight)
            members.append(position)
            pending.size += 8

    def _place(self, partition: int, event_json: bytes) -> tuple[_Pending, int]:
        """The partition's record and the event's position in it (stored once per record;
        a record past ``MAX_RECORD_BYTES`` is sealed first)."""
        pending = self._pending.get(partition)
        if pending is None:
            pending = self._pending[partition] = _Pending()
        position = pending.index.get(id(event_json))
        if position is None or pending.events[position] is not event_json:
            if pending.size + len(event_json) > MAX_RECORD_BYTES and pending.groups:
                self._sealed.append((partition, _encode(pending)))
                pending = self._pending[partition] = _Pending()
            position = len(pending.events)
            pending.events.append(event_json)
            pending.index[id(event_json)] = position
            pending.size += len(event_json) + 1
        return pending, position

    def __len__(self) -> int:
        return len(self._sealed) + len(self._pending)

    def records(self) -> list[tuple[int, bytes]]:
        """(partition, value) of every record, in the order items were added; then empty."""
        out = self._sealed + [(p, _encode(pending)) for p, pending in self._pending.items()]
        self._sealed = []
        self._pending = {}
        return out


def _encode(pending: _Pending) -> bytes:
    return b"".join(
        (b'{"r":', _names(pending.rules), b',"k":', _names(pending.keys), b',"g":',
         orjson.dumps(list(pending.groups.values())), b',"e":[', b",".join(pending.events),
         b"]}")
    )  # fmt: skip


def _names(names: dict[str, int]) -> bytes:
    try:
        return orjson.dumps(list(names))
    except TypeError:  # a lone surrogate in a key: ASCII escapes read back equal
        return json.dumps(list(names), separators=(",", ":")).encode()


def loads(value: bytes) -> Any:
    """JSON bytes as Python: orjson, and the json module for what orjson rejects (NaN
    literals, huge integers; invalid UTF-8 is replaced, as it always was)."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value.decode("utf-8", "replace"))


def decode_groups(value: bytes) -> list[Group]:
    """The groups of a keyed record with its events decoded."""
    record = loads(value)
    events = record["e"]
    rules, keys = record["r"], record["k"]
    times: list[float | None] = [None] * len(events)
    return [Group(rules[r], keys[k], flat, events, times) for r, k, flat in record["g"]]
