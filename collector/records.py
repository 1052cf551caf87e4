"""Pure helpers turning decoded events into Kafka records: key, raw-record value, dead letter.

The value is the ``bitacora.rawrecord`` format, written here with one reused msgpack Packer
(no dataclass per event) and ``surrogateescape`` so strings holding invalid UTF-8 keep
their exact bytes; ``bitacora.rawrecord.decode`` reads it back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgpack
import msgspec
from msgspec.structs import astuple

from bitacora import bundles
from bitacora.deadletter import deadletter_record
from bitacora.rawrecord import FORMAT_VERSION

# One shared Packer: building one per request costs more than packing a small request, and
# the event loop thread is the only user.
_PACKER = msgpack.Packer(use_bin_type=True, unicode_errors="surrogateescape")
_SERVICE_FIELDS = ("service", "service.name", "service_name")
_LABEL_FIELDS = ("app", "app.kubernetes.io/name", "app_kubernetes_io/name")


# Untyped: msgspec types field() as its default's type (None), which the build would check.
_FIELD: Any = msgspec.field


def _probe(name: str, names: tuple[str, ...], extra: list[tuple[str, Any, Any]]) -> Any:
    # A msgspec Struct decoding just ``names`` of a map (None when absent); the map's other
    # fields are skipped, not built. Defined at run time: the build compiles this module.
    fields: list[tuple[str, Any, Any]] = []
    for at, key in enumerate(names):
        fields.append((f"f{at}", Any, _FIELD(default=None, name=key)))
    return msgspec.defstruct(name, [*fields, *extra])


_KUBERNETES_PROBE = _probe(
    "KubernetesProbe", (), [("labels", _probe("LabelsProbe", _LABEL_FIELDS, []) | None, None)]
)
# What ``service_of`` reads of a record, and nothing else (``probed_service``).
SERVICE_PROBE: Any = _probe(
    "ServiceProbe", _SERVICE_FIELDS, [("kubernetes", _KUBERNETES_PROBE | None, None)]
)


def _named(value: Any) -> str | None:
    # A service field's name: a non-empty string, or a map's non-empty string ``name``.
    if type(value) is str and value:
        return value
    if type(value) is dict:
        inner = value.get("name")
        if type(inner) is str and inner:
            return inner
    return None


def service_of(tag: str, record: dict[Any, Any]) -> str:
    """The service an event belongs to, for the Kafka key (one service stays ordered).

    Record ``service`` (a string, or a map with ``name``), ``service.name``,
    ``service_name``, the Kubernetes labels ``app`` / ``app.kubernetes.io/name``, else the
    tag's first dot-separated part.
    """
    for name in _SERVICE_FIELDS:
        found = _named(record.get(name))
        if found is not None:
            return found
    kube = record.get("kubernetes")
    if type(kube) is dict:
        labels = kube.get("labels")
        if type(labels) is dict:
            for name in _LABEL_FIELDS:
                value = labels.get(name)
                if type(value) is str and value:
                    return value
    return tag.partition(".")[0]


def probed_service(tag: str, probe: Any) -> str:
    """``service_of`` a record, from the record's ``SERVICE_PROBE`` (the same fields, in
    the same order)."""
    values = astuple(probe)
    for at in range(len(_SERVICE_FIELDS)):
        found = _named(values[at])
        if found is not None:
            return found
    kube = values[-1]
    labels = None if kube is None else astuple(kube)[0]
    if labels is not None:
        for value in astuple(labels):
            if type(value) is str and value:
                return str(value)
    return tag.partition(".")[0]


def _key(service: str) -> bytes:
    return service.encode("utf-8", "surrogateescape")


def raw_records(
    tag: str,
    entries: Sequence[tuple[int, dict[Any, Any]]],
    received_ns: int,
    peer: str,
    transport: str,
    chunk: str | None,
    services: Sequence[str] | None = None,
    positions: Sequence[int] | None = None,
    packed: Sequence[bytes | None] | None = None,
) -> list[tuple[bytes, bytes]]:
    """(key, value) Kafka records for the events of one request, in order.

    ``position`` is the event's index in its request, so a retried chunk yields the same
    (chunk, position) pairs and thus the same event ids downstream; ``positions`` replaces
    the index where the source has a stabler one (the file input: the byte offset).
    ``services`` gives each event's Kafka key when the source knows it better than
    ``service_of`` (OTLP resources, syslog peers). ``packed`` holds records as the sender
    packed them (None where not): those bytes go into the raw record as they are, instead
    of packing the decoded record again.
    """
    pack = _PACKER.pack
    out: list[tuple[bytes, bytes]] = []
    append = out.append
    keys: dict[str, bytes] = {}
    head = tail = b""
    if packed is not None:  # the raw record's fields around the time and the record
        head = _PACKER.pack_array_header(9) + pack(FORMAT_VERSION) + pack(tag)
        tail = pack(received_ns) + pack(peer) + pack(transport) + pack(chunk)
    for index, (time_ns, record) in enumerate(entries):
        position = index if positions is None else positions[index]
        service = service_of(tag, record) if services is None else services[index]
        key = keys.get(service)
        if key is None:
            key = keys[service] = _key(service)
        own = None if packed is None else packed[index]
        if own is not None:
            value = b"".join((head, pack(time_ns), own, tail, pack(position)))
        else:
            value = pack(
                [
                    FORMAT_VERSION,
                    tag,
                    time_ns,
                    record,
                    received_ns,
                    peer,
                    transport,
                    chunk,
                    position,
                ]
            )
        append((key, value))
    return out


def bundle(records: Sequence[tuple[bytes, bytes]], limit: int) -> list[tuple[bytes, bytes, int]]:
    """``(key, value, events)``: ``records`` (key, value) joined per key, in order.

    A bundle's value is its events' raw records back to back (``bitacora.rawrecord``,
    ``events_of``), at most ``limit`` bytes (``bitacora.bundles.join``). Each record must
    fit in ``limit`` (``split_oversized``).
    """
    by_key: dict[bytes, list[bytes]] = {}
    for key, value in records:
        values = by_key.get(key)
        if values is None:
            by_key[key] = [value]
        else:
            values.append(value)
    return [
        (key, value, events)
        for key, values in by_key.items()
        for value, events in bundles.join(values, limit)
    ]


def split_oversized(
    records: list[tuple[bytes, bytes]], limit: int
) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """Keep records whose value fits in ``limit`` bytes; return the others' values apart.

    Kafka refuses a record larger than the broker's ``message.max.bytes`` (about 1 MB by
    default) and would refuse it on every retry, so such events go to the dead letter
    (``record_too_large``) instead of blocking their sender forever.
    """
    if not records or max(len(value) for _, value in records) <= limit:
        return records, []  # the usual case: one pass, no copies
    kept = [(key, value) for key, value in records if len(value) <= limit]
    return kept, [value for _, value in records if len(value) > limit]


def deadletter(
    reason: str,
    original: bytes,
    tag: str,
    received_ns: int,
    peer: str,
    transport: str,
) -> bytes:
    """A dead-letter record (JSON) for an event the collector could not accept.

    The one dead-letter shape of the pipeline (bitacora.deadletter), so the
    index role stores it in ``bitacora-deadletter`` as it is: the original (msgpack for
    forward, the body for HTTP) is redacted before it is kept, and cut to a bounded size so
    the dead letter always fits in Kafka. Where it came from goes to ``deadletter.source``.
    """
    record = deadletter_record(
        stage="collector",
        reason=reason,
        original=original,
        topic=None,
        partition=None,
        offset=None,
        dataset=tag,
        now_ns=received_ns,
    )
    record["deadletter"]["source"] = {"peer": peer, "transport": transport}
    return json.dumps(record, ensure_ascii=False).encode("utf-8")
