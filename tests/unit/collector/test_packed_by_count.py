"""A PackedForward request that counts its entries (``option.size``, as Fluentd and Fluent Bit
send it) is read without building its records when the decoder is told the records only
leave as raw records (``key_fields_only``, the collector's case): the raw records, Kafka
keys and rejections are those of the entry-by-entry read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora import rawrecord
from bitacora.collector.forward.decode import ForwardDecoder
from bitacora.collector.forward.request import Request
from bitacora.collector.records import raw_records, service_of
from bitacora.errors import DecodeError
from tests.helpers.forward_entries import WIDE, drawn_entries, event_time, time_bytes

CAP = 1 << 22
GOLDEN = Path(__file__).parents[2] / "data" / "forward"
SECONDS = 1_795_000_000
PLAIN = {"message": "GET /cart 200", "level": "info", "service": "cart", "seq": 7}


def frame(entries: list[tuple[bytes, bytes]], size: Any = None, tag: str = "app.svc") -> bytes:
    """A PackedForward frame of ``(time bytes, record bytes)`` entries, counted in
    ``option.size`` (their number unless ``size`` says otherwise)."""
    payload = b"".join(b"\x92" + when + record for when, record in entries)
    return bytes(msgpack.packb([tag, payload, {"size": len(entries) if size is None else size}]))


def decoded(data: bytes, key_fields_only: bool) -> Request:
    [req] = ForwardDecoder(CAP, CAP, key_fields_only).feed(data)
    return req


def outcome(req: Request) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, bytes]]]:
    """What leaves the collector: the (key, raw record) Kafka records and the rejections."""
    records = raw_records(
        req.tag, req.entries, 7, "peer", "forward", "c", services=req.services, packed=req.packed
    )
    return records, [(r.reason, r.original) for r in req.rejected]


def both(data: bytes) -> tuple[Request, Request]:
    """The request read by count (if it can be) and entry by entry."""
    return decoded(data, True), decoded(data, False)


def plain(count: int) -> list[tuple[bytes, bytes]]:
    return [
        (time_bytes("fixext8", SECONDS + i, i), msgpack.packb({**PLAIN, "seq": i}))
        for i in range(count)
    ]


@pytest.mark.parametrize("name", ["packed_bin", "packed_str32_fluentd", "compressed_gzip_members"])
def test_golden_frames_that_count_their_entries_give_the_same_raw_records(name: str) -> None:
    fast, slow = both((GOLDEN / f"{name}.bin").read_bytes())
    assert fast.services is not None
    assert slow.services is None
    assert fast.entries != slow.entries  # the records were not built...
    assert outcome(fast) == outcome(slow)  # ...and the raw records are byte for byte the same
    assert (fast.mode, fast.chunk) == (slow.mode, slow.chunk)


def test_a_plain_request_is_read_by_count_byte_for_byte() -> None:
    fast, slow = both(frame(plain(40)))
    assert fast.services == ["cart"] * 40
    assert fast.packed == slow.packed
    assert outcome(fast) == outcome(slow)


@given(st.data(), st.booleans())
@settings(max_examples=300)
def test_read_by_count_or_not_the_raw_records_and_rejections_are_the_same(
    data: st.DataObject, single_floats: bool
) -> None:
    drawn = data.draw(drawn_entries(single_floats, 6))
    entries = [
        (time_bytes(form, seconds, nanos), msgpack.packb(record, use_single_float=single_floats))
        for form, seconds, nanos, record in drawn
    ]
    fast, slow = both(frame(entries))
    fast_records, fast_rejected = outcome(fast)
    slow_records, slow_rejected = outcome(slow)
    assert fast_rejected == slow_rejected
    read = [(key, rawrecord.decode(value)) for key, value in fast_records]
    assert read == [(key, rawrecord.decode(value)) for key, value in slow_records]
    # Taken exactly when every entry reads alike both ways: no bad time (a rejection), no
    # msgpack timestamp as the time (msgspec reads another type), only string keys.
    expected = (
        not slow_rejected
        and all(form != "timestamp" for form, *_ in drawn)
        and all(type(key) is str for *_, record in drawn for key in record)
    )
    assert (fast.services is not None) == expected


NAMES = st.sampled_from(["", "cart", {"name": "orders"}, {"name": ""}, {"id": 1}, 5, None])
KEY_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "service": NAMES,
        "service.name": NAMES,
        "service_name": NAMES,
        "kubernetes": st.fixed_dictionaries(
            {},
            optional={
                "labels": st.none()
                | st.fixed_dictionaries(
                    {},
                    optional={
                        "app": NAMES,
                        "app.kubernetes.io/name": NAMES,
                        "app_kubernetes_io/name": NAMES,
                        "team": NAMES,
                    },
                ),
                "pod_name": st.just("p-1"),
            },
        )
        | st.none(),
        "message": st.just("hello"),
    },
)


@given(st.lists(KEY_FIELDS, min_size=1, max_size=5), st.sampled_from(["web.access", "web", ""]))
def test_the_kafka_key_of_a_record_read_by_count_is_service_of_the_whole_record(
    fields: list[dict[str, Any]], tag: str
) -> None:
    entries = [(time_bytes("int", SECONDS, 0), msgpack.packb(record)) for record in fields]
    fast, slow = both(frame(entries, tag=tag or "x"))
    assert fast.services == [service_of(tag or "x", record) for record in fields]
    assert outcome(fast) == outcome(slow)


DECLINED = {
    "count too low": frame(plain(3), size=2),
    "count too high": frame(plain(3), size=4),
    "count zero": frame(plain(3), size=0),
    "count not an integer": frame(plain(3), size="3"),
    "count beyond the bytes": frame(plain(3), size=2**31),
    "a boolean time": frame([(b"\xc3", msgpack.packb(PLAIN))]),
    "a msgpack timestamp time": frame([(time_bytes("timestamp", SECONDS, 1), b"\x80")]),
    "a time out of range": frame([(msgpack.packb(-1), msgpack.packb(PLAIN))]),
    "another extension as the time": frame([(b"\xd7\x05" + bytes(8), msgpack.packb(PLAIN))]),
    "a record that is a list": frame([(time_bytes("int", SECONDS, 0), msgpack.packb([1]))]),
    "an integer key": frame([(time_bytes("int", SECONDS, 0), msgpack.packb({1: "a"}))]),
    "kubernetes not a map": frame(
        [(time_bytes("int", SECONDS, 0), msgpack.packb({"kubernetes": "k8s"}))]
    ),
    "a service name of invalid UTF-8": frame(
        [(time_bytes("int", SECONDS, 0), b"\x81\xa7service\xa2\xff\xfe")]
    ),
    "an entry that is no pair": frame([(time_bytes("int", SECONDS, 0), b"\x80\x01")]),
    "bytes that stop being msgpack": frame([*plain(2), (b"", b"\xc1")]),
}


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_what_the_fast_read_cannot_vouch_for_is_read_entry_by_entry(name: str) -> None:
    fast, slow = both(DECLINED[name])
    assert fast.services is None
    assert outcome(fast) == outcome(slow)


def test_a_record_nested_deeper_than_msgspec_reads_is_read_entry_by_entry() -> None:
    # 990 nested arrays: msgpack reads them (its stack holds 1024 levels); msgspec refuses
    # them at the interpreter's default recursion limit (1000, less the stack in use).
    assert sys.getrecursionlimit() == 1000
    deep = b"\x81\xa1x" + b"\x91" * 990 + b"\xc0"
    fast, slow = both(frame([(time_bytes("int", SECONDS, 0), deep), *plain(2)]))
    assert fast.services is None
    assert outcome(fast) == outcome(slow)
    assert len(outcome(slow)[0]) == 3


def test_a_record_that_may_hold_an_event_time_is_decoded_and_packed_again_alone() -> None:
    inner = msgpack.packb({"at": event_time(SECONDS, 3), "service": "billing"})
    entries = [*plain(1), (time_bytes("int", SECONDS, 0), inner), *plain(1)]
    fast, slow = both(frame(entries))
    assert fast.services == ["cart", "billing", "cart"]
    assert fast.packed is not None
    assert fast.packed[1] is None
    assert fast.entries[1] == slow.entries[1]  # this one record was built
    assert outcome(fast) == outcome(slow)


def test_a_record_msgpack_cannot_build_is_dead_lettered_by_the_normalize_role() -> None:
    # The one difference (packed._packed_by_count): a map keyed by an array is skipped by
    # the fast read and kept as its bytes; the entry-by-entry read rejects it and the rest
    # of the payload in the collector. Either way it ends in a dead letter with its bytes.
    bad = b"\x81\xa1m\x81\x91\x01\x02"  # {"m": {[1]: 2}}
    entries = [*plain(1), (time_bytes("int", SECONDS, 0), bad), *plain(1)]
    fast, slow = both(frame(entries))
    assert [reason for reason, _ in outcome(slow)[1]] == ["bad_packed_entries"]
    assert len(outcome(slow)[0]) == 1
    records, rejected = outcome(fast)
    assert rejected == []
    assert fast.packed is not None
    assert fast.packed[1] == bad
    bundle = b"".join(value for _, value in records)
    read = rawrecord.events_of(bundle, [("events", b"3")])
    assert isinstance(read[0][1], rawrecord.RawRecord)
    assert isinstance(read[1][1], DecodeError)
    assert read[1][0] == records[1][1] + records[2][1]  # its own bytes, and those after it


def test_every_time_form_the_fast_read_takes() -> None:
    taken = ["int", "float", "fixext8", "ext8", *WIDE]
    entries = [(time_bytes(form, SECONDS, 5), msgpack.packb(PLAIN)) for form in taken]
    fast, slow = both(frame(entries))
    assert fast.services == ["cart"] * len(taken)
    assert [ns for ns, _ in fast.entries] == [ns for ns, _ in slow.entries]
