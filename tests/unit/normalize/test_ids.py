"""event.id: deterministic, and distinct for distinct input events."""

from __future__ import annotations

from hashlib import blake2b

from hypothesis import given
from hypothesis import strategies as st

from bitacora.processors.normalize import normalize
from bitacora.processors.normalize.ids import event_id
from tests.unit.normalize.support import CHUNK, raw


def test_chunk_and_position_give_the_id() -> None:
    expected = blake2b(b"c:Y2h1bmstMQ==:3", digest_size=16).hexdigest()
    assert event_id("Y2h1bmstMQ==", 3, 5, 99) == expected
    doc = normalize(raw({"msg": "x"}, position=3), 5, 99)
    assert doc["event.id"] == expected


def test_without_chunk_partition_and_offset_give_the_id() -> None:
    expected = blake2b(b"k:5:99", digest_size=16).hexdigest()
    assert event_id(None, 3, 5, 99) == expected
    assert normalize(raw({"msg": "x"}, chunk=None, position=3), 5, 99)["event.id"] == expected


def test_same_input_same_document() -> None:
    record = {"log": '{"msg":"same","level":"info"}', "n": [1, {"a": "b"}]}
    first = normalize(raw(record, position=7), 1, 10)
    again = normalize(raw(record, position=7), 2, 20)  # re-consumed from elsewhere
    assert first == again


def test_identical_lines_in_one_chunk_stay_distinct() -> None:
    record = {"msg": "duplicate line"}
    ids = {normalize(raw(record, position=p), 0, 0)["event.id"] for p in range(1000)}
    assert len(ids) == 1000


def test_identical_lines_without_chunk_differ_by_offset() -> None:
    record = {"msg": "duplicate line"}
    ids = {
        normalize(raw(record, chunk=None), partition, offset)["event.id"]
        for partition in range(3)
        for offset in range(300)
    }
    assert len(ids) == 900


def test_chunk_ids_do_not_collide_with_kafka_ids() -> None:
    assert event_id("0", 1, 0, 1) != event_id(None, 0, 0, 1)
    assert event_id("a", 12, 0, 0) != event_id("a1", 2, 0, 0)


def test_events_of_one_bundle_differ_by_index_and_the_first_keeps_the_records_id() -> None:
    assert event_id(None, 0, 5, 99, 0) == event_id(None, 0, 5, 99)
    assert event_id(None, 0, 5, 99, 2) == blake2b(b"k:5:99:2", digest_size=16).hexdigest()
    record = {"msg": "duplicate line"}
    ids = [normalize(raw(record, chunk=None), 1, 7, index=i)["event.id"] for i in range(50)]
    assert len(set(ids)) == 50
    assert ids[0] == normalize(raw(record, chunk=None), 1, 7)["event.id"]
    # With a chunk id the sender's position gives the id, wherever the record sits.
    assert normalize(raw(record, position=4), 1, 7, index=3)["event.id"] == event_id(CHUNK, 4, 0, 0)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "a1", "\udcff", "Y2h1bmstMQ=="]), st.integers(0, 10**6)
        ),
        max_size=30,
    )
)
def test_chunk_ids_in_any_order_are_the_hash_of_their_own_key(
    events: list[tuple[str, int]],
) -> None:
    # event_id keeps the last chunk's hash state: whatever came before, an id is the hash
    # of its own chunk and position.
    for chunk, position in events:
        key = f"c:{chunk}:{position}".encode("utf-8", "surrogatepass")
        assert event_id(chunk, position, 0, 0) == blake2b(key, digest_size=16).hexdigest()
