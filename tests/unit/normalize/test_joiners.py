"""CRI partial lines and PostgreSQL continuation records joined across events."""

from __future__ import annotations

from bitacora.processors.normalize import CriJoiner, PostgresJoiner, normalize
from tests.unit.normalize.support import raw

T1 = "2026-11-28T09:00:00.100000000Z"
T2 = "2026-11-28T09:00:00.200000000Z"


def test_partial_lines_are_joined_with_the_first_time() -> None:
    joiner: CriJoiner[int] = CriJoiner()
    assert joiner.feed("pod-a", f"{T1} stdout P " + '{"msg":"long ') is None
    assert joiner.feed("pod-a", f"{T2} stdout P " + "line, still ") is None
    joined = joiner.feed("pod-a", f"{T2} stdout F " + 'going","level":"warn"}')
    assert joined == f"{T1} stdout F " + '{"msg":"long line, still going","level":"warn"}'
    assert len(joiner) == 0
    doc = normalize(raw({"log": joined}, tag="kube.a"), 0, 0)
    assert (doc["message"], doc["log.level"]) == ("long line, still going", "warn")


def test_full_and_foreign_lines_pass_through() -> None:
    joiner: CriJoiner[int] = CriJoiner()
    assert joiner.feed("k", f"{T1} stderr F whole") == f"{T1} stderr F whole"
    assert joiner.feed("k", "not a cri line") == "not a cri line"


def test_streams_and_keys_are_joined_independently() -> None:
    joiner: CriJoiner[int] = CriJoiner()
    assert joiner.feed("a", f"{T1} stdout P out1 ") is None
    assert joiner.feed("a", f"{T1} stderr P err1 ") is None
    assert joiner.feed("b", f"{T1} stdout P b1 ") is None
    assert joiner.feed("a", f"{T2} stderr F err2") == f"{T1} stderr F err1 err2"
    assert joiner.feed("a", f"{T2} stdout F out2") == f"{T1} stdout F out1 out2"
    assert joiner.feed("b", f"{T2} stdout F b2") == f"{T1} stdout F b1 b2"


def test_oversized_runs_are_emitted_early() -> None:
    joiner: CriJoiner[int] = CriJoiner(max_bytes=10)
    assert joiner.feed("k", f"{T1} stdout P 123456") is None
    assert joiner.feed("k", f"{T1} stdout P 7890") == f"{T1} stdout F 1234567890"
    assert joiner.feed("k", f"{T2} stdout F tail") == f"{T2} stdout F tail"


def test_stale_and_evicted_runs_come_out_of_flush() -> None:
    joiner: CriJoiner[int] = CriJoiner(max_streams=2, stale_ns=1_000)
    assert joiner.feed("a", f"{T1} stdout P a", now_ns=100) is None
    assert joiner.feed("b", f"{T1} stdout P b", now_ns=500) is None
    assert joiner.feed("c", f"{T1} stdout P c", now_ns=600) is None  # evicts "a"
    assert joiner.flush_stale(now_ns=1_200) == [(("a", "stdout"), f"{T1} stdout F a")]
    assert joiner.flush_stale(now_ns=1_550) == [(("b", "stdout"), f"{T1} stdout F b")]
    assert joiner.flush_stale(now_ns=1_599) == []
    assert joiner.flush_stale(now_ns=1_600) == [(("c", "stdout"), f"{T1} stdout F c")]


def test_records_are_joined_and_carry_every_piece_token() -> None:
    joiner: CriJoiner[tuple[int, int]] = CriJoiner()
    kube = {"namespace_name": "shop", "pod_name": "p", "container_name": "c"}
    first = raw({"log": f"{T1} stdout P hello ", "kubernetes": kube}, tag="kube.c", position=0)
    last = raw({"log": f"{T2} stdout F world", "kubernetes": kube}, tag="kube.c", position=1)
    assert joiner.feed_record(first, (0, 10)) is False
    result = joiner.feed_record(last, (0, 11))
    assert not isinstance(result, bool)
    joined, tokens = result
    assert tokens == [(0, 10), (0, 11)]
    assert joined.record == {"log": f"{T1} stdout F hello world", "kubernetes": kube}
    assert joined.position == 1
    assert normalize(joined, 0, 11)["message"] == "hello world"


def test_fluent_bit_logtag_shape_is_joined() -> None:
    joiner: CriJoiner[int] = CriJoiner()
    part = raw({"logtag": "P", "stream": "stdout", "message": "abc"}, tag="kube.x")
    done = raw({"logtag": "F", "stream": "stdout", "message": "def"}, tag="kube.x")
    other = raw({"message": "plain"}, tag="kube.x")
    assert joiner.feed_record(other, 1) is True
    assert joiner.feed_record(part, 2) is False
    result = joiner.feed_record(done, 3)
    assert not isinstance(result, bool)
    assert result[0].record == {"logtag": "F", "stream": "stdout", "message": "abcdef"}
    assert result[1] == [2, 3]


def test_stale_record_runs_are_flushed_as_records() -> None:
    joiner: CriJoiner[int] = CriJoiner(stale_ns=10)
    part = raw({"log": f"{T1} stdout P lonely"}, tag="kube.x")
    assert joiner.feed_record(part, 7, now_ns=0) is False
    [(_, (record, tokens))] = joiner.flush_stale(now_ns=10)
    assert tokens == [7]
    assert record.record == {"log": f"{T1} stdout F lonely"}


PG_PRIMARY = '2026-11-28 09:00:00.123 UTC [42] ERROR:  relation "x" does not exist'
PG_STATEMENT = "2026-11-28 09:00:00.123 UTC [42] STATEMENT:  SELECT *"
PG_NEXT = "2026-11-28 09:00:01.000 UTC [42] LOG:  checkpoint starting"


def test_postgres_continuation_records_are_glued() -> None:
    joiner = PostgresJoiner()
    assert joiner.feed("pg", PG_PRIMARY) is None
    assert joiner.feed("pg", PG_STATEMENT) is None
    assert joiner.feed("pg", "\tFROM x") is None
    block = joiner.feed("pg", PG_NEXT)
    assert block == f"{PG_PRIMARY}\n{PG_STATEMENT}\n\tFROM x"
    assert joiner.flush("pg") == PG_NEXT
    assert joiner.flush("pg") is None
    doc = normalize(raw({"log": block}, tag="postgres.db"), 0, 0)
    assert doc["message"] == 'relation "x" does not exist'
    assert doc["labels"] == {"postgresql": {"pid": 42, "statement": "SELECT *\nFROM x"}}


def test_postgres_joiner_evicts_without_losing_blocks() -> None:
    joiner = PostgresJoiner(max_streams=1)
    assert joiner.feed("a", PG_PRIMARY) is None
    assert joiner.feed("b", PG_NEXT) is None
    assert joiner.drain_evicted() == [("a", PG_PRIMARY)]
    assert joiner.drain_evicted() == []
    assert joiner.flush("b") == PG_NEXT
