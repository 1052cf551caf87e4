"""``to_json_bytes`` (orjson fast path) gives exactly the reference ``json.dumps`` bytes."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.normalize_bench import MIX, _raws
from bitacora.processors.normalize import jsonbytes, normalize, to_json_bytes
from bitacora.processors.normalize.jsonbytes import reference_json_bytes
from tests.unit.normalize.support import head


def _outcome(encode: Any, doc: Any) -> Any:
    try:
        return encode(doc)
    except Exception as exc:  # the exception type is part of the contract
        return type(exc)


def assert_same(doc: Any) -> None:
    assert _outcome(to_json_bytes, doc) == _outcome(reference_json_bytes, doc)


def test_reference_is_compact_utf8_json() -> None:
    doc = head(message='é "q" \\ \x01', labels={"a": [1, 2.5, True, None]})
    assert reference_json_bytes(doc) == json.dumps(
        doc, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def test_a_normalized_document_pins_its_bytes() -> None:
    doc = {"@timestamp": "2026-11-28T09:00:00.123456789Z", "event.severity": 9}
    doc["labels"] = {"ratio": 0.25, "ok": True, "n": [1, "ü"], "big": 2**63 - 1}
    assert to_json_bytes(doc) == (
        b'{"@timestamp":"2026-11-28T09:00:00.123456789Z","event.severity":9,'
        b'"labels":{"ratio":0.25,"ok":true,"n":[1,"\xc3\xbc"],"big":9223372036854775807}}'
    )


def test_every_code_point_is_escaped_like_the_reference() -> None:
    # All of Unicode except the surrogates, as values and as keys.
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for start in range(0, len(text), 4096):
        piece = text[start : start + 4096]
        assert_same({"k": piece, piece[:300]: piece[-5:]})


@pytest.mark.parametrize(
    "value",
    [
        "\ud800",  # lone surrogate: the reference writes "?" after encoding with replace
        "a\udcffb",
        2**63 - 1,
        2**64 - 1,
        2**64,
        -(2**63),
        -(2**63) - 1,
        2**70,
        float("nan"),
        float("inf"),
        float("-inf"),
        -0.0,
        1e-05,
        1.5e-07,
        9.99e-09,
        1e-10,
        1e-4,
        1.2e-4,
        1e16,
        1.2345678901234567e17,
        5e-324,
        1.7976931348623157e308,
        0.1 + 0.2,
        None,
        True,
        (1, "t"),
    ],
)
def test_edge_values_match_the_reference(value: Any) -> None:
    assert_same({"labels": {"v": value, "l": [value]}})


@pytest.mark.parametrize(
    "doc",
    [
        {1: "int key"},
        {None: 1, True: 2, 1.5: 3},
        {b"bytes": 1},
        {"a": b"bytes"},
        {"a": {1, 2}},
        {"text": "0.00001 looks like a float"},
        {"text": "e-5 too", "n": 1},
        {"text": "null"},
    ],
)
def test_odd_documents_match_the_reference(doc: Any) -> None:
    assert_same(doc)


def test_deep_nesting_matches_the_reference() -> None:
    doc: Any = "leaf"
    for _ in range(300):  # deeper than orjson's limit
        doc = {"d": [doc]}
    assert_same(doc)


def test_subclasses_match_the_reference() -> None:
    class Text(str):
        pass

    class Mapping(dict[str, Any]):
        pass

    assert_same({"a": Text("x"), "m": Mapping(b=1)})


def test_floats_of_every_magnitude_match_the_reference() -> None:
    values: list[float] = []
    for exponent in range(-323, 308):
        for mantissa in (1.0, 1.5, 2.2250738585072014, 9.999999999999998):
            number = mantissa * 10.0**exponent
            if math.isfinite(number):
                values.extend((number, -number))
    for bits in range(0, 2**64, 2**64 // 20011):
        number = struct.unpack("d", struct.pack("Q", bits))[0]
        values.append(number)
    for number in values:
        assert_same({"x": number})


def _trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON values: ``leaves`` nested in lists and objects."""
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=8), children, max_size=5)
        ),
        max_leaves=30,
    )


float_free_leaves = st.booleans() | st.integers(min_value=-(2**66), max_value=2**66) | st.text()
json_values = _trees(st.none() | float_free_leaves | st.floats(allow_nan=True, allow_infinity=True))
float_free = _trees(float_free_leaves)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=10), json_values, max_size=8))
def test_random_documents_match_the_reference(doc: dict[str, Any]) -> None:
    assert_same(doc)


def test_typical_documents_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [normalize(raw, 0, 0) for make in MIX.values() for raw in _raws(make, 3)]
    expected = [reference_json_bytes(doc) for doc in docs]

    def slow(doc: Any) -> bytes:
        raise AssertionError("fell back to the reference")

    monkeypatch.setattr(jsonbytes, "reference_json_bytes", slow)
    assert [to_json_bytes(doc) for doc in docs] == expected


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=10), float_free, max_size=8))
def test_documents_without_floats_match_the_reference_unsearched(doc: dict[str, Any]) -> None:
    assert _outcome(lambda d: to_json_bytes(d, False), doc) == _outcome(reference_json_bytes, doc)


def test_text_that_looks_like_float_output_is_kept_as_it_is() -> None:
    doc = {"message": "null 0.00001 1e-7", "labels": {"n": "null"}}
    assert to_json_bytes(doc, False) == reference_json_bytes(doc)
    assert to_json_bytes(doc) == reference_json_bytes(doc)


def test_the_builder_says_whether_it_stored_a_float() -> None:
    from bitacora.processors.normalize.config import DEFAULT_CONFIG
    from bitacora.processors.normalize.fields import Builder

    expected = {
        "no float": ({"a": 1, "b": "x", "c": [True, {"d": 2}]}, False),
        "nested float": ({"a": {"b": [1, 2.5]}}, True),
        "NaN becomes text": ({"a": float("nan"), "b": float("inf")}, False),
        "None is left out": ({"a": None, "b": [None]}, False),
    }
    for name, (record, floats) in expected.items():
        builder = Builder(DEFAULT_CONFIG)
        builder.labels(record)
        assert builder.floats is floats, name
