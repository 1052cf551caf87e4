"""The per-event work ``python -m bench.instructions`` counts under callgrind."""

from __future__ import annotations

import pytest

from bench.instructions import floor_document, main, raw_messages, stage_batches
from bitacora.rawrecord import RawRecord


def test_the_floor_document_carries_the_record_unchecked() -> None:
    raw = RawRecord(
        tag="shop.app",
        time_ns=1,
        record={"message": "x", "seq": 2},
        received_ns=3,
        peer="127.0.0.1",
        transport="forward",
    )
    assert floor_document(raw, 7) == {
        "@timestamp": 1,
        "event.ingested": 3,
        "event.id": 7,
        "event.dataset": "shop.app",
        "labels": {"message": "x", "seq": 2},
    }


@pytest.mark.parametrize("mode", [[], ["--stage"], ["--floor"], ["--collector"], ["--rules", "50"]])
def test_each_mode_does_its_work_outside_callgrind(mode: list[str]) -> None:
    assert main(["--events", "20", "--work", "1", *mode]) == 0


@pytest.mark.parametrize("modes", [["--stage", "--floor"], ["--floor", "--rules", "1"]])
def test_the_modes_exclude_each_other(modes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(modes)
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_stage_batches_take_whole_bundles_up_to_the_limit_in_order() -> None:
    messages = raw_messages(
        [(b"a", b"v0", 3), (b"a", b"v1", 3), (b"b", b"v2", 5), (b"a", b"v3", 1), (b"a", b"v4", 1)]
    )
    assert [m.offset for m in messages] == [0, 1, 2, 3, 4]
    batches = list(stage_batches(messages, 6))
    # A batch closes before the bundle that would take it over the limit; each message is
    # its own token.
    assert [[token.offset for token, _ in batch] for batch in batches] == [[0, 1], [2, 3], [4]]
    assert all(token is message for batch in batches for token, message in batch)
