"""File identities and the position store of the file input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitacora.collector.tail import positions
from bitacora.collector.tail.events import build_records, line_record, service_for_path
from bitacora.collector.tail.lines import LineEvent
from bitacora.errors import ConfigError
from bitacora.rawrecord import decode


def test_same_file_detects_truncation_and_new_first_bytes() -> None:
    position = positions.new_position(1, 2, b"hello\n", 6, "/x.log")
    assert positions.same_file(position, b"hello\nworld\n", 12)
    assert not positions.same_file(position, b"hello\n", 3)  # shorter than read: truncated
    assert not positions.same_file(position, b"other\n", 12)  # another file on the inode
    positions.extend_fingerprint(position, b"hello\nworld\n")
    assert position.fp_len == 12
    assert not positions.same_file(position, b"hello\nWORLD\n", 12)


def test_store_round_trips_atomically_and_rejects_garbage(tmp_path: Path) -> None:
    path = positions.store_path(tmp_path, ["/var/log/*.log"])
    assert path.parent == tmp_path / "tail"
    assert positions.load(path) == {}
    entry = positions.new_position(1, 2, b"abc", 3, "/var/log/a.log")
    positions.save(path, {entry.key: entry})
    assert positions.load(path) == {"1:2": entry}
    assert not path.with_name(path.name + ".tmp").exists()
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        positions.load(path)


def test_tokens_differ_so_a_reused_inode_never_shares_event_ids() -> None:
    first = positions.new_position(1, 2, b"same\n", 0, "/a")
    second = positions.new_position(1, 2, b"same\n", 0, "/a")
    assert first.chunk != second.chunk


def test_records_are_raw_records_with_offset_positions_and_the_file_path() -> None:
    events = [LineEvent(0, 4, b"one"), LineEvent(4, 9, b"t\xffo", truncated=True)]
    records, letters = build_records(
        events,
        tag="app.file",
        chunk="file:1:2:ab",
        path="/var/log/app.log",
        as_json=False,
        received_ns=5,
        peer="/var/log/app.log",
        transport="file",
        record_limit=1 << 20,
    )
    assert letters == []
    assert [key for key, _ in records] == [b"app", b"app"]
    raws = [decode(value) for _, value in records]
    assert [(r.chunk, r.position, r.time_ns, r.transport) for r in raws] == [
        ("file:1:2:ab", 0, 0, "file"),
        ("file:1:2:ab", 4, 0, "file"),
    ]
    assert raws[0].record == {"log": "one", "log.file.path": "/var/log/app.log"}
    assert raws[1].record["log"].encode("utf-8", "surrogateescape") == b"t\xffo"
    assert raws[1].record["truncated"] is True


def test_json_lines_become_fields_and_other_lines_dead_letters() -> None:
    assert line_record(LineEvent(0, 9, b'{"a": 1}'), None, as_json=True) == {"a": 1}
    assert line_record(LineEvent(0, 4, b"[1]"), None, as_json=True) is None
    _, letters = build_records(
        [LineEvent(0, 4, b"nope")],
        tag="x.send",
        chunk="send:1",
        path=None,
        as_json=True,
        received_ns=5,
        peer="stdin",
        transport="stdin",
        record_limit=1 << 20,
    )
    ((reason, letter),) = letters
    assert reason == "bad_json"
    assert b'"reason": "bad_json"' in letter


def test_service_for_path_uses_the_file_name() -> None:
    assert service_for_path("/var/log/system-health.log") == "system-health"
    assert service_for_path("/var/log/.hidden") == "file"
