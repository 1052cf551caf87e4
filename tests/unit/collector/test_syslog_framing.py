"""Syslog TCP framing: octet counting, LF, both mixed, split reads, oversized frames."""

from __future__ import annotations

from bitacora.collector.syslog.framing import FRAME_TOO_LARGE, Framer


def test_octet_counting_and_lf_framing_mix_on_one_stream() -> None:
    framer = Framer(1000)
    assert framer.feed(b"5 <13>a<14>b\n11 <15>c d e f\r\n") == (
        [b"<13>a", b"<14>b", b"<15>c d e f"],
        [],
    )
    assert framer.close() == []


def test_frames_split_across_reads_are_joined() -> None:
    framer = Framer(1000)
    stream = b"12 <13>hello yo<14>line two\n3"
    out: list[bytes] = []
    for i in range(len(stream)):
        messages, rejects = framer.feed(stream[i : i + 1])
        assert rejects == []
        out += messages
    assert out == [b"<13>hello yo", b"<14>line two"]
    assert framer.close() == [b"3"]  # an unterminated tail is the last message


def test_a_line_starting_with_digits_but_no_count_is_lf_framed() -> None:
    framer = Framer(1000)
    assert framer.feed(b"2026-12-05 no pri\n12345678901 x\n") == (
        [b"2026-12-05 no pri", b"12345678901 x"],
        [],
    )


def test_oversized_frames_are_rejected_skipped_and_the_stream_goes_on() -> None:
    framer = Framer(10)
    messages, rejects = framer.feed(b"20 <13>0123456789012")
    assert messages == []
    assert [r for r, _ in rejects] == [FRAME_TOO_LARGE]
    messages, rejects = framer.feed(b"345<13>ok\n<13>far too long a line")
    assert messages == [b"<13>ok"]
    assert [r for r, _ in rejects] == [FRAME_TOO_LARGE]
    assert framer.feed(b" still the long line\n<14>next\n") == ([b"<14>next"], [])


def test_blank_lines_are_ignored() -> None:
    assert Framer(100).feed(b"\n\r\n  \n<13>x\n") == ([b"<13>x"], [])
