"""``parse_json_object`` (orjson first) returns exactly what ``json`` decodes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora.processors.normalize.parsers.json_line import parse_json_object

_decode = json.JSONDecoder().decode


def reference(text: str) -> dict[str, Any] | None:
    if not text or text[0] != "{" or text[-1] != "}":
        return None
    try:
        value = _decode(text)
    except (ValueError, RecursionError):
        return None
    return value if type(value) is dict else None


def assert_same(text: str) -> None:
    got, expected = parse_json_object(text), reference(text)
    # repr: types count (1 vs 1.0 vs True), and so does key order.
    assert repr(got) == repr(expected)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"b":2,"a":3}',
        '{"a":123456789012345678901234567890}',
        '{"a":18446744073709551615,"b":18446744073709551616}',
        '{"a":-9223372036854775808,"b":-9223372036854775809}',
        '{"a":[1,{"b":[2,{"c":99999999999999999999999}]}]}',
        '{"a":1e400}',
        '{"a":NaN,"b":Infinity,"c":-Infinity}',
        '{"a":"\\ud800"}',
        '{"a":"\\ud83d\\ude00","b":"\\u00e9","c":"\\/"}',
        '{"a":-0,"b":-0.0,"c":1E2,"d":0.1}',
        '{"a":"\t"}',
        '{"a":"\x00"}',
        '{"a":1} ',
        '{"a":[1,]}',
        '{"a":01}',
        '{"a":true,"b":false,"c":null}',
        '{"a":1}{"b":2}',
        '{"a":"\ud800"}',
        "{}",
        "{",
        '{"a":' * 3000 + "1" + "}" * 3000,
        '{"a":[' * 600 + "]" * 600 + "}",
    ],
)
def test_edge_cases_match_json(text: str) -> None:
    assert_same(text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_any_object_decodes_like_json(value: dict[str, Any]) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert_same(text)
