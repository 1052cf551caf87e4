"""Hostile input: invalid UTF-8, NUL, huge records, deep nesting, odd keys and types."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bitacora.errors import DecodeError
from bitacora.processors.normalize import NormalizeConfig, normalize, to_json_bytes
from bitacora.processors.normalize.fields import truncate
from bitacora.rawrecord import RawRecord
from tests.unit.normalize.support import RECEIVED, T, head, raw


def roundtrip(doc: dict[str, Any]) -> Any:
    """The document as OpenSearch will read it: strict UTF-8 JSON."""
    return json.loads(to_json_bytes(doc).decode("utf-8", "strict"))


@pytest.mark.parametrize(
    ("record", "message", "labels"),
    [
        ({"message": b"caf\xc3\xa9 \xff\xfe ok"}, "café \ufffd\ufffd ok", None),
        ({"message": "bad \udcff\udcfe byte"}, "bad \ufffd\ufffd byte", None),
        ({"message": "lone \ud800 surrogate"}, "lone \ufffd surrogate", None),
        ({"message": "nul\x00byte"}, "nul\ufffdbyte", None),
        ({"message": "m", b"k\xffey": b"v\x00\xff"}, "m", {"k\ufffdey": "v\ufffd\ufffd"}),
        (
            {"message": "m", "k\udcffey": ["a\udcff", {"n\x00": "\x00"}]},
            "m",
            {"k\ufffdey": ["a\ufffd", {"n\ufffd": "\ufffd"}]},
        ),
    ],
)
def test_invalid_utf8_and_nul_become_replacement_chars(
    record: dict[Any, Any], message: str, labels: dict[str, Any] | None
) -> None:
    doc = normalize(raw(record), 0, 0)
    assert doc["message"] == message
    assert doc.get("labels") == labels
    assert roundtrip(doc) == doc


def test_invalid_utf8_in_the_tag_and_in_parsed_json() -> None:
    record = {"log": '{"msg":"x\\ud800y","level":"info","k":"\\u0000"}'}
    doc = normalize(raw(record, tag="svc\udcff.app"), 0, 0)
    assert doc["event.dataset"] == "svc\ufffd.app"
    assert doc["service.name"] == "svc\ufffd"
    assert doc["message"] == "x\ufffdy"
    assert doc["labels"] == {"k": "\ufffd"}
    assert roundtrip(doc) == doc


def test_five_thousand_keys_are_capped_with_a_count() -> None:
    record: dict[str, Any] = {f"k{i}": i for i in range(5000)}
    record["message"] = "wide"
    doc = normalize(raw(record), 0, 0)
    assert doc["message"] == "wide"
    labels = doc["labels"]
    assert len(labels) == 1001
    assert labels["_truncated_keys"] == 4000
    assert [labels[f"k{i}"] for i in range(1000)] == list(range(1000))
    assert "k1000" not in labels
    assert roundtrip(doc) == doc


def test_key_budget_counts_nested_keys_and_list_items() -> None:
    config = NormalizeConfig(max_label_keys=5)
    record = {"a": {"b": 1, "c": 2}, "d": [1, 2, 3], "e": 5}
    doc = normalize(raw(record), 0, 0, config)
    assert doc["labels"] == {"a": {"b": 1, "c": 2}, "d": [1, 2], "_truncated_keys": 2}


def nest(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"l": value}
    return value


def test_fifty_levels_of_nesting_become_json_text_below_max_depth() -> None:
    doc = normalize(raw({"message": "deep", "deep": nest(50)}), 0, 0)
    node = doc["labels"]
    depth = 1
    node = node["deep"]
    while isinstance(node, dict):
        node = node["l"]
        depth += 1
    assert depth == 20  # labels itself counts as level 1
    assert isinstance(node, str)
    assert json.loads(node) == nest(50 - 19)
    assert roundtrip(doc) == doc


def test_deep_subtree_text_is_capped_and_redacted() -> None:
    secret = {"password": "hunter2-canary", "note": "x" * 40_000}
    deep: Any = secret
    for _ in range(30):
        deep = [deep]
    doc = normalize(raw({"message": "m", "deep": deep}), 0, 0)
    data = to_json_bytes(doc)
    assert b"hunter2-canary" not in data
    assert b"[REDACTED:password]" in data
    assert b"\xe2\x80\xa6[truncated " in data
    assert roundtrip(doc) == doc


def test_ten_megabyte_message_is_truncated_with_marker() -> None:
    big = "a" * (10 * 1024 * 1024)
    doc = normalize(raw({"message": big, "field": big}), 0, 0)
    message = doc["message"]
    removed = 10 * 1024 * 1024 - (32 * 1024 - len("…[truncated 10452992 bytes]".encode()))
    assert message == "a" * (10 * 1024 * 1024 - removed) + f"…[truncated {removed} bytes]"
    assert len(message.encode()) == 32 * 1024
    label = doc["labels"]["field"]
    assert len(label.encode()) <= 16 * 1024
    assert label.endswith("bytes]")
    assert roundtrip(doc) == doc


def test_a_redacted_message_keeps_its_own_cap() -> None:
    # Over the keyword cap (16 KiB) and under max_field_bytes (32 KiB): redacting it must
    # not cut it to a keyword's size.
    text = "login password=hunter2 " + "x" * 20_000
    doc = normalize(raw({"message": text}), 0, 0)
    assert doc["message"] == "login password=[REDACTED:password] " + "x" * 20_000


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 256, "short"),
        ("x" * 256, 256, "x" * 256),
        ("x" * 300, 256, "x" * 232 + "…[truncated 68 bytes]"),
        ("é" * 200, 256, "é" * 116 + "…[truncated 168 bytes]"),
        ("€" * 100, 256, "€" * 77 + "…[truncated 69 bytes]"),
    ],
)
def test_truncate_cuts_on_character_boundaries(text: str, limit: int, expected: str) -> None:
    result = truncate(text, limit)
    assert result == expected
    assert len(result.encode()) <= limit


def test_label_keys_are_made_safe() -> None:
    record: dict[Any, Any] = {
        "message": "m",
        "a.b.c": 1,
        "": 2,
        "   ": 3,
        7: "int key",
        b"bytes": "bytes key",
        "k" * 300: "long",
        None: "none key",
    }
    doc = normalize(raw(record), 0, 0)
    assert doc["labels"] == {
        "a_b_c": 1,
        "_empty": 3,
        "7": "int key",
        "bytes": "bytes key",
        "k" * 128: "long",
        "None": "none key",
    }


def test_values_of_any_type_are_stored_safely() -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd\x00"

    record: dict[str, Any] = {
        "message": "m",
        "none": None,
        "empty_map": {},
        "empty_list": [],
        "nan": float("nan"),
        "inf": float("-inf"),
        "float": 1.5,
        "bool": True,
        "huge": 2**80,
        "tuple": (1, "a"),
        "odd": Odd(),
        "nested_none": {"x": None, "y": 1},
    }
    doc = normalize(raw(record), 0, 0)
    assert doc["labels"] == {
        "nan": "nan",
        "inf": "-inf",
        "float": 1.5,
        "bool": True,
        "huge": 2**80,
        "tuple": [1, "a"],
        "odd": "odd\ufffd",
        "nested_none": {"y": 1},
    }
    json.loads(to_json_bytes(doc))


def test_input_record_is_not_modified() -> None:
    record = {
        "log": '{"msg":"x","service":{"name":"s"}}',
        "kubernetes": {"pod_name": "p", "labels": {"app": "a"}},
        "service": {"name": "s2", "version": "1"},
    }
    before = copy.deepcopy(record)
    normalize(raw(record), 0, 0)
    assert record == before


@pytest.mark.parametrize(
    ("raw_record", "reason"),
    [
        (raw(["not", "a", "map"]), "record is a list, not a map"),
        (raw("text"), "record is a str, not a map"),
        (RawRecord(None, T, {}, RECEIVED, "p", "forward"), "tag is a NoneType"),  # type: ignore[arg-type]
        (raw({"msg": "no time"}, time_ns=0, received_ns=0), "no usable time"),
    ],
)
def test_unusable_records_raise_decode_error(raw_record: RawRecord, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        normalize(raw_record, 0, 0)


def test_empty_record_still_gives_a_document() -> None:
    assert normalize(raw({}), 0, 0) == head(**{"service.name": "review-service"})


def test_out_of_range_client_time_falls_back_to_received_time() -> None:
    doc = normalize(raw({"msg": "m"}, time_ns=2**64), 0, 0)
    assert doc["@timestamp"] == "2026-11-28T09:00:00.128456789Z"


LONG = "y" * 20_000


@pytest.mark.parametrize(
    ("record", "labels"),
    [
        # A long string (to be capped) replaced by a float, with a secret to redact...
        (
            {"message": "m", "a.b": LONG, "a_b": 1.5, "c.d": "x", "c_d": {"e": "password=p1"}},
            {"a_b": 1.5, "c_d": {"e": "password=[REDACTED:password]"}},
        ),
        # ... and with nothing to redact: the stale slot is skipped either way.
        ({"message": "m", "a.b": LONG, "a_b": 1.5}, {"a_b": 1.5}),
        # A number replaced by a long string: the string is capped.
        (
            {"message": "m", "a_b": 7, "a.b": LONG},
            {"a_b": truncate(LONG, NormalizeConfig().keyword_bytes)},
        ),
    ],
)
def test_keys_that_clean_to_the_same_name_keep_the_later_value(
    record: dict[str, Any], labels: dict[str, Any]
) -> None:
    doc = normalize(raw(record), 0, 0)
    assert doc["labels"] == labels
    assert roundtrip(doc) == doc
