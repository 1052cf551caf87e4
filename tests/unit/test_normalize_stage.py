"""The normalize stage: outputs and acknowledgements, including CRI partial runs."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from bitacora import bundles, rawrecord
from bitacora.bundles import EVENTS_HEADER
from bitacora.processors.normalize.ids import event_id
from bitacora.processors.normalize.stage import NormalizeStage, Output
from bitacora.processors.storage.bulk import Doc, parse_bulk_body, record_sources
from bitacora.rawrecord import RawRecord
from bitacora.settings import Settings

T1 = "2026-11-28T09:00:00.000000001Z"
KUBE = {"namespace_name": "shop", "pod_name": "review-1", "container_name": "app"}


@dataclass(frozen=True)
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def encoded(offset: int, record: object, tag: str = "kube.review") -> bytes:
    raw = RawRecord(tag, 1764320000 * 10**9 + offset, record, 1, "peer", "forward")  # type: ignore[arg-type]
    return rawrecord.encode(raw)


def msg(offset: int, record: object, tag: str = "kube.review") -> Msg:
    return Msg("logs.raw", 0, offset, b"review", encoded(offset, record, tag))


def bundle(offset: int, *records: object) -> Msg:
    """A logs.raw bundle at ``offset`` (as the collector writes them)."""
    value = b"".join(encoded(offset, record) for record in records)
    return Msg("logs.raw", 0, offset, b"review", value, tuple(bundles.header(len(records))))


def stage() -> NormalizeStage[int]:
    return NormalizeStage(Settings(topic_normalized="n", topic_deadletter="d"))


def documents(outputs: list[Output]) -> list[dict[str, object]]:
    """The normalized documents of a step's logs.normalized records, in order."""
    return [
        json.loads(doc)
        for o in outputs
        if o.topic == "n"
        for doc in record_sources(o.value, o.headers or [])
    ]


def test_plain_records_are_normalized_and_done_in_order() -> None:
    s = stage()
    step = s.process([(1, msg(10, {"message": "a"})), (2, msg(11, {"message": "b"}))], now_ns=0)
    assert step.done == [1, 2]
    [out] = step.outputs
    assert (out.topic, out.key, out.headers, step.events) == (
        "n",
        b"kube",
        [(EVENTS_HEADER, b"2")],
        2,
    )
    docs = documents(step.outputs)
    assert [d["message"] for d in docs] == ["a", "b"]
    # The record is a _bulk body: each document's create action names its stream and id.
    assert parse_bulk_body(out.value) == [
        Doc("logs-kube", str(d["event.id"]), json.dumps(d, separators=(",", ":")).encode())
        for d in docs
    ]


def test_a_batch_makes_one_record_per_service_in_input_order() -> None:
    s = stage()
    inputs = [
        (1, msg(10, {"message": "a1"}, "alpha.app")),
        (2, msg(11, {"message": "b1"}, "beta.app")),
        (3, msg(12, {"message": "a2"}, "alpha.app")),
    ]
    step = s.process(inputs, now_ns=0)
    assert [(o.key, o.headers) for o in step.outputs] == [
        (b"alpha", [(EVENTS_HEADER, b"2")]),
        (b"beta", [(EVENTS_HEADER, b"1")]),
    ]
    assert [d["message"] for d in documents(step.outputs)] == ["a1", "a2", "b1"]
    assert step.events == 3


def test_a_bundle_is_split_where_it_would_pass_the_record_limit() -> None:
    settings = Settings(topic_normalized="n", topic_deadletter="d", kafka_max_batch_bytes=8192)
    s: NormalizeStage[int] = NormalizeStage(settings)
    inputs = [(i, msg(10 + i, {"message": f"{i:03d}" + "x" * 600})) for i in range(20)]
    step = s.process(inputs, now_ns=0)
    assert all(len(o.value) <= settings.kafka_record_limit for o in step.outputs)
    assert len(step.outputs) > 1
    # Each record is as full as the limit allows: the next one's first line did not fit.
    for record, following in zip(step.outputs, step.outputs[1:], strict=False):
        first = following.value.split(b"\n", 2)
        assert len(record.value) + len(first[0]) + len(first[1]) + 2 > settings.kafka_record_limit
    assert [str(d["message"])[:3] for d in documents(step.outputs)] == [
        f"{i:03d}" for i in range(20)
    ]
    assert sum(int(dict(o.headers or [])[EVENTS_HEADER]) for o in step.outputs) == 20


def test_partial_pieces_stay_pending_until_the_run_is_joined() -> None:
    s = stage()
    first = s.process([(1, msg(10, {"log": f"{T1} stdout P hello ", "kubernetes": KUBE}))], 0)
    assert (first.outputs, first.done, len(s)) == ([], [], 1)
    second = s.process([(2, msg(11, {"log": f"{T1} stdout F world", "kubernetes": KUBE}))], 0)
    assert second.done == [1, 2]
    assert [d["message"] for d in documents(second.outputs)] == ["hello world"]
    assert len(s) == 0


def test_a_stale_partial_run_is_flushed_alone() -> None:
    s = stage()
    assert (
        s.process([(1, msg(10, {"log": f"{T1} stdout P lonely", "kubernetes": KUBE}))], 0).done
        == []
    )
    step = s.process([], now_ns=6_000_000_000)
    assert step.done == [1]
    assert [d["message"] for d in documents(step.outputs)] == ["lonely"]


def test_undecodable_and_unnormalizable_inputs_are_dead_lettered_and_done() -> None:
    s = stage()
    garbage = Msg("logs.raw", 2, 7, b"k", b"\xc1not msgpack")
    step = s.process([(1, garbage), (2, msg(12, ["not", "a", "map"]))], now_ns=0)
    assert step.done == [1, 2]
    assert [o.topic for o in step.outputs] == ["d", "d"]
    first, second = (json.loads(o.value)["deadletter"] for o in step.outputs)
    assert (first["stage"], first["partition"], first["offset"]) == ("normalize", 2, 7)
    assert "not msgpack" in first["reason"]
    assert (second["partition"], second["offset"]) == (0, 12)


def test_held_is_the_lowest_offset_inside_an_open_run_per_partition() -> None:
    s = stage()
    s.process(
        [
            (1, msg(10, {"message": "plain"})),
            (2, msg(11, {"log": f"{T1} stdout P one ", "kubernetes": KUBE})),
            (3, msg(12, {"log": f"{T1} stdout P two ", "kubernetes": KUBE})),
            (4, msg(13, {"message": "plain again"})),
        ],
        0,
    )
    assert s.held() == {("logs.raw", 0): 11}
    s.process([(5, msg(14, {"log": f"{T1} stdout F three", "kubernetes": KUBE}))], 0)
    assert s.held() == {}


def test_held_is_released_when_a_stale_run_is_flushed() -> None:
    s = stage()
    s.process([(1, msg(10, {"log": f"{T1} stdout P alone", "kubernetes": KUBE}))], 0)
    assert s.held() == {("logs.raw", 0): 10}
    step = s.process([], now_ns=s.joiner.stale_ns)
    assert (step.done, s.held()) == ([1], {})


def test_an_event_too_large_for_kafka_once_normalized_is_dead_lettered() -> None:
    s = NormalizeStage(
        Settings(topic_normalized="n", topic_deadletter="d", kafka_max_batch_bytes=8192)
    )
    step = s.process([(1, msg(10, {"message": "x" * 3000, "extra": "y" * 3000}))], 0)
    [out] = step.outputs
    assert (out.topic, step.done) == ("d", [1])
    reason = json.loads(out.value)["deadletter"]["reason"]
    assert reason.startswith("record_too_large: normalized to ")
    assert reason.endswith(" bytes, over 4096")


def test_a_bundles_events_are_normalized_with_ids_from_their_place() -> None:
    s = stage()
    step = s.process([(1, bundle(10, {"message": "a"}, {"message": "b"}, {"message": "c"}))], 0)
    assert step.done == [1]
    docs = documents(step.outputs)
    assert [d["message"] for d in docs] == ["a", "b", "c"]
    assert [d["event.id"] for d in docs] == [event_id(None, 0, 0, 10, i) for i in range(3)]
    # A record of one event, as before bundles, keeps the first event's id.
    [alone] = documents(s.process([(2, msg(10, {"message": "a"}))], 0).outputs)
    assert alone["event.id"] == docs[0]["event.id"]


def test_a_bad_event_of_a_bundle_is_dead_lettered_alone_with_its_own_bytes() -> None:
    s = stage()
    step = s.process([(1, bundle(10, {"message": "a"}, ["not", "a", "map"], {"message": "c"}))], 0)
    assert step.done == [1]
    assert [d["message"] for d in documents(step.outputs)] == ["a", "c"]
    [letter] = [json.loads(o.value)["deadletter"] for o in step.outputs if o.topic == "d"]
    assert (letter["partition"], letter["offset"]) == (0, 10)
    assert letter["original_bytes"] == len(encoded(10, ["not", "a", "map"]))


def test_a_bundle_stays_held_until_its_last_partial_run_is_joined() -> None:
    s = stage()
    first = s.process(
        [
            (
                1,
                bundle(
                    10, {"message": "plain"}, {"log": f"{T1} stdout P one ", "kubernetes": KUBE}
                ),
            ),
            (2, bundle(11, {"log": f"{T1} stdout P two ", "kubernetes": KUBE}, {"message": "x"})),
        ],
        0,
    )
    assert (first.done, s.held()) == ([], {("logs.raw", 0): 10})
    assert [d["message"] for d in documents(first.outputs)] == ["plain", "x"]
    second = s.process([(3, bundle(12, {"log": f"{T1} stdout F three", "kubernetes": KUBE}))], 0)
    assert (second.done, s.held()) == ([1, 2, 3], {})
    assert [d["message"] for d in documents(second.outputs)] == ["one two three"]


def test_an_event_of_a_bundle_too_large_once_normalized_is_dead_lettered_with_its_bytes() -> None:
    s = NormalizeStage(
        Settings(topic_normalized="n", topic_deadletter="d", kafka_max_batch_bytes=8192)
    )
    big = {"message": "x" * 3000, "extra": "y" * 3000}
    step = s.process([(1, bundle(10, {"message": "a"}, big, {"message": "c"}))], 0)
    assert step.done == [1]
    assert [d["message"] for d in documents(step.outputs)] == ["a", "c"]
    [letter] = [json.loads(o.value)["deadletter"] for o in step.outputs if o.topic == "d"]
    assert letter["reason"].startswith("record_too_large: normalized to ")
    assert letter["original_bytes"] == len(encoded(10, big))


def test_a_raw_record_with_a_field_int_refuses_is_dead_lettered_not_raised() -> None:
    s = stage()
    bad = rawrecord.encode(RawRecord("kube.review", 1, {}, "soon", "p", "forward"))  # type: ignore[arg-type]
    good = encoded(11, {"message": "fine"})
    step = s.process(
        [
            (1, Msg("logs.raw", 0, 10, b"k", bad)),
            (2, Msg("logs.raw", 0, 11, b"k", bad + good, tuple(bundles.header(2)))),
        ],
        0,
    )
    assert step.done == [1, 2]
    letters = [json.loads(o.value)["deadletter"] for o in step.outputs if o.topic == "d"]
    assert [(x["offset"], x["original_bytes"]) for x in letters] == [(10, len(bad)), (11, len(bad))]
    assert {x["reason"] for x in letters} == {
        "raw record has a bad field: invalid literal for int() with base 10: 'soon'"
    }
    assert [d["message"] for d in documents(step.outputs)] == ["fine"]


def test_a_dead_letter_of_a_bundle_read_in_one_call_keeps_the_events_own_bytes() -> None:
    # No usable time (client, record and received time all absent): normalizing fails.
    timeless = rawrecord.encode(RawRecord("kube.review", 0, {"message": "late"}, 0, "p", "forward"))
    good = encoded(10, {"message": "a"})
    message = Msg("logs.raw", 0, 10, b"k", good + timeless + good, tuple(bundles.header(3)))
    assert rawrecord.bundle_records(message.value, message.headers) is not None  # one call
    step = stage().process([(1, message)], 0)
    assert step.done == [1]
    assert [d["message"] for d in documents(step.outputs)] == ["a", "a"]
    [letter] = [json.loads(o.value)["deadletter"] for o in step.outputs if o.topic == "d"]
    assert letter["reason"].startswith("record has no usable time")
    assert letter["original_encoding"] == "base64"
    assert base64.b64decode(letter["original"]) == timeless
