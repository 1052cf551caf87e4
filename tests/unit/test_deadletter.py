"""Dead-letter records: exact shape, text vs base64 originals, truncation, redaction."""

from __future__ import annotations

import base64
import json
import re

from bitacora.deadletter import deadletter_record, encode_original, error_type_of
from bitacora.processors.storage.deadletter import deadletter_id

NOW_NS = 1_764_322_103_123_456_789  # 2025-11-28T09:28:23.123456789Z


def star_passwords(text: str) -> str:
    """A stand-in redactor with a recognisable effect (the real one is tested by normalize)."""
    return re.sub(r"password=\S+", "password=[REDACTED]", text)


def test_index_stage_record_exact() -> None:
    record = deadletter_record(
        stage="index",
        reason="mapper_parsing_exception: failed to parse field [http.response.status_code]",
        original=b'{"http.response.status_code":"abc"}',
        topic="logs.normalized",
        partition=3,
        offset=1234,
        dataset="review-service.app",
        now_ns=NOW_NS,
        event_id="e1",
        redact=star_passwords,
    )
    assert record == {
        "@timestamp": "2025-11-28T09:28:23.123Z",
        "deadletter": {
            "stage": "index",
            "error_type": "mapper_parsing_exception",
            "reason": "mapper_parsing_exception: failed to parse field [http.response.status_code]",
            "original": '{"http.response.status_code":"abc"}',
            "original_encoding": "utf-8",
            "original_bytes": 35,
            "original_truncated": False,
            "topic": "logs.normalized",
            "partition": 3,
            "offset": 1234,
        },
        "event": {"dataset": "review-service.app", "id": "e1"},
    }
    json.dumps(record)  # serializable as is


def test_unknown_location_fields_are_omitted() -> None:
    record = deadletter_record(
        stage="normalize",
        reason="raw record is not msgpack",
        original=b"x",
        topic=None,
        partition=None,
        offset=None,
        dataset=None,
        now_ns=NOW_NS,
        redact=star_passwords,
    )
    assert set(record) == {"@timestamp", "deadletter"}
    assert set(record["deadletter"]) == {
        "stage",
        "error_type",
        "reason",
        "original",
        "original_encoding",
        "original_bytes",
        "original_truncated",
    }
    assert record["deadletter"]["error_type"] == "error"


def test_secrets_are_redacted_in_original_and_reason() -> None:
    record = deadletter_record(
        stage="index",
        reason="mapper_parsing_exception: Preview of field's value: 'password=hunter2'",
        original=b'{"message":"login password=hunter2 ok"}',
        topic="t",
        partition=0,
        offset=0,
        dataset=None,
        now_ns=NOW_NS,
        redact=star_passwords,
    )
    assert "hunter2" not in json.dumps(record)
    assert record["deadletter"]["original"] == '{"message":"login password=[REDACTED] ok"}'


def test_invalid_utf8_is_base64_and_still_redacted() -> None:
    original = b"\x93\xa4tag\xc4\x10password=hunter2 \xff\xfe"
    text, encoding, truncated = encode_original(original, star_passwords)
    assert encoding == "base64"
    assert truncated is False
    assert base64.b64decode(text) == b"\x93\xa4tag\xc4\x10password=[REDACTED] \xff\xfe"


def test_large_text_original_is_truncated_and_flagged() -> None:
    original = ("é" * 1000).encode()  # 2000 bytes of 2-byte characters
    text, encoding, truncated = encode_original(original, star_passwords, max_bytes=1001)
    assert (encoding, truncated) == ("utf-8", True)
    assert text == "é" * 500  # the half character at the cut is dropped


def test_secret_straddling_the_cut_is_still_redacted() -> None:
    original = b"a" * 95 + b" password=hunter2hunter2 " + b"b" * 100
    text, _, truncated = encode_original(original, star_passwords, max_bytes=110)
    assert truncated is True
    assert "hunter" not in text
    assert text == "a" * 95 + " password=[REDA"


def test_large_binary_original_truncated() -> None:
    original = b"\xff" * 5000
    text, encoding, truncated = encode_original(original, star_passwords, max_bytes=1000)
    assert (encoding, truncated) == ("base64", True)
    assert base64.b64decode(text) == b"\xff" * 1000


def test_record_reports_full_original_size() -> None:
    record = deadletter_record(
        stage="normalize",
        reason="DecodeError: bad",
        original=b"z" * 10_000,
        topic="logs.raw",
        partition=1,
        offset=2,
        dataset=None,
        now_ns=NOW_NS,
        redact=star_passwords,
        max_original_bytes=100,
    )
    assert record["deadletter"]["original_bytes"] == 10_000
    assert record["deadletter"]["original"] == "z" * 100
    assert record["deadletter"]["original_truncated"] is True


def test_error_type_of() -> None:
    assert error_type_of("mapper_parsing_exception: x") == "mapper_parsing_exception"
    assert error_type_of("DecodeError") == "DecodeError"
    assert error_type_of("raw record is not msgpack: x") == "error"
    assert error_type_of("") == "error"


def test_deadletter_id_is_deterministic_by_location() -> None:
    def make(offset: int | None, original: bytes = b"o") -> dict[str, object]:
        return deadletter_record(
            stage="normalize",
            reason="r",
            original=original,
            topic="logs.raw",
            partition=0 if offset is not None else None,
            offset=offset,
            dataset=None,
            now_ns=NOW_NS,
            redact=star_passwords,
        )

    assert deadletter_id(make(5)) == deadletter_id(make(5, b"other"))
    assert deadletter_id(make(5)) != deadletter_id(make(6))
    assert deadletter_id(make(None)) == deadletter_id(make(None))
    assert deadletter_id(make(None)) != deadletter_id(make(None, b"other"))
    assert len(deadletter_id(make(5))) == 32


CANARIES = {
    "password": "password=Hunter2Canary",
    "bearer": "Authorization: Bearer abcdefCanaryToken123",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlQ2FuYXJ5",
    "aws": "AKIAIOSFODNN7CANARY1",
    "card": "4111 1111 1111 1111",
}


def test_the_normalizers_redaction_is_the_default() -> None:
    payload = " | ".join(CANARIES.values())
    for original in (payload.encode(), payload.encode() + b"\xff"):
        record = deadletter_record(
            stage="index",
            reason=f"mapper_parsing_exception: Preview of field's value: '{payload}'",
            original=original,
            topic="logs.normalized",
            partition=0,
            offset=0,
            dataset=None,
            now_ns=NOW_NS,
        )
        dead = record["deadletter"]
        stored = dead["original"]
        if dead["original_encoding"] == "base64":
            stored = base64.b64decode(stored).decode("utf-8", "replace")
        for secret in (
            "Hunter2Canary",
            "abcdefCanaryToken123",
            "c2lnbmF0dXJlQ2FuYXJ5",
            "AKIAIOSFODNN7CANARY1",
            "4111 1111 1111 1111",
        ):
            assert secret not in stored
            assert secret not in dead["reason"]
        assert "[REDACTED:password]" in stored


def test_configured_patterns_apply_through_redactor_for() -> None:
    from bitacora.deadletter import redactor_for
    from bitacora.settings import Settings

    redact = redactor_for(Settings(redact_patterns=[r"EMP-\d{6}"]))
    record = deadletter_record(
        stage="normalize",
        reason="DecodeError: bad",
        original=b"employee EMP-123456 password=x1y2z3",
        topic="logs.raw",
        partition=0,
        offset=1,
        dataset=None,
        now_ns=NOW_NS,
        redact=redact,
    )
    assert record["deadletter"]["original"] == (
        "employee [REDACTED:custom] password=[REDACTED:password]"
    )
