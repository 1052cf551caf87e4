"""The pure line reader of the file and pipe inputs: splitting, caps, multiline, offsets."""

from __future__ import annotations

import re

from bitacora.collector.tail.lines import LineEvent, LineReader


def test_lines_carry_their_byte_offsets_and_a_partial_line_waits() -> None:
    reader = LineReader(100)
    assert reader.feed(b"one\r\ntwo\nthr") == [
        LineEvent(100, 105, b"one"),
        LineEvent(105, 109, b"two"),
    ]
    assert reader.safe_offset == 109
    assert reader.pending
    assert reader.flush() == []  # not final: the partial line keeps waiting
    assert reader.feed(b"ee\n") == [LineEvent(109, 115, b"three")]
    assert reader.safe_offset == 115
    assert not reader.pending


def test_final_flush_sends_the_partial_last_line() -> None:
    reader = LineReader()
    assert reader.feed(b"a\nno newline") == [LineEvent(0, 2, b"a")]
    assert reader.flush(final=True) == [LineEvent(2, 12, b"no newline")]
    assert reader.safe_offset == 12


def test_a_line_over_the_cap_is_cut_marked_and_its_rest_skipped() -> None:
    reader = LineReader(max_line_bytes=4)
    assert reader.feed(b"abcdefgh\nok\n") == [
        LineEvent(0, 9, b"abcd", truncated=True),
        LineEvent(9, 12, b"ok"),
    ]


def test_a_long_line_arriving_in_pieces_is_emitted_once_and_skipped_to_its_newline() -> None:
    reader = LineReader(max_line_bytes=4)
    assert reader.feed(b"abcdef") == [LineEvent(0, 6, b"abcd", truncated=True)]
    assert reader.safe_offset == 6
    assert reader.feed(b"ghij") == []
    assert reader.feed(b"kl\nnext\n") == [LineEvent(13, 18, b"next")]


def test_multiline_joins_continuation_lines_to_the_start_line() -> None:
    start = re.compile(rb"^\d{4}-")
    reader = LineReader(multiline_start=start)
    data = (
        b"2026-12-05 ERROR boom\n"
        b"Traceback (most recent call last):\n"
        b'  File "x.py", line 1\n'
        b"ValueError: bad\n"
        b"2026-12-05 INFO next\n"
    )
    events = reader.feed(data)
    assert events == [
        LineEvent(
            0,
            95,
            b"2026-12-05 ERROR boom\nTraceback (most recent call last):\n"
            b'  File "x.py", line 1\nValueError: bad',
        )
    ]
    # The open event is not safe yet: a restart must read it again.
    assert reader.safe_offset == 95
    assert reader.flush() == [LineEvent(95, 116, b"2026-12-05 INFO next")]
    assert reader.safe_offset == 116


def test_multiline_event_is_capped_as_a_whole() -> None:
    reader = LineReader(max_line_bytes=10, multiline_start=re.compile(rb"^S"))
    reader.feed(b"S1234\n  continued\n")
    assert reader.flush() == [LineEvent(0, 18, b"S1234\n  co", truncated=True)]


def test_invalid_utf8_is_passed_on_as_bytes() -> None:
    reader = LineReader()
    assert reader.feed(b"caf\xe9\n") == [LineEvent(0, 5, b"caf\xe9")]
