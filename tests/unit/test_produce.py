"""Grouping a role's outputs per Kafka partition (the pure part of processors.shell.produce)."""

from __future__ import annotations

from bitacora.partitions import partition_for
from bitacora.processors.normalize.stage import Output
from bitacora.processors.shell.produce import group_by_partition


def test_keyed_outputs_go_to_their_keys_partition_in_order() -> None:
    outs = [Output("t", f"svc-{i % 5}".encode(), b"%d" % i, [("id", b"%d" % i)]) for i in range(40)]
    groups = group_by_partition(outs, {"t": 6}, turn=0)
    expected: dict[tuple[str, int], list[Output]] = {}
    for out in outs:
        assert out.key is not None
        expected.setdefault(("t", partition_for(out.key, 6)), []).append(out)
    assert groups == expected
    assert list(groups) == list(expected)  # groups appear in the order of their first output


def test_unkeyed_outputs_stick_to_the_turns_partition_per_topic() -> None:
    outs = [
        Output("a", None, b"1"),
        Output("b", None, b"2"),
        Output("a", b"k", b"3"),
        Output("a", None, b"4"),
        Output("b", None, b"5"),
    ]
    assert partition_for(b"k", 4) == 0
    groups = group_by_partition(outs, {"a": 4, "b": 3}, turn=5)
    assert groups == {
        ("a", 1): [outs[0], outs[3]],
        ("b", 2): [outs[1], outs[4]],
        ("a", 0): [outs[2]],
    }


def test_the_next_turn_takes_the_next_partition() -> None:
    outs = [Output("t", None, b"%d" % i) for i in range(3)]
    assert group_by_partition(outs, {"t": 3}, turn=0) == {("t", 0): outs}
    assert group_by_partition(outs, {"t": 3}, turn=1) == {("t", 1): outs}
    assert group_by_partition(outs, {"t": 3}, turn=3) == {("t", 0): outs}


def test_no_outputs_no_groups() -> None:
    assert group_by_partition([], {}, turn=0) == {}
