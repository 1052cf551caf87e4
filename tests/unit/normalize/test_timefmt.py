"""Time formatting (nanoseconds kept) and the record time formats understood."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitacora.processors.normalize.timefmt import format_ms, format_ns, parse_time, valid_ns

T = 1_795_856_400_123_456_789


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (T, "2026-11-28T09:00:00.123456789Z"),
        (T + 1, "2026-11-28T09:00:00.123456790Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (2**63 - 1, "2262-04-11T23:47:16.854775807Z"),
    ],
)
def test_format_ns(ns: int, text: str) -> None:
    assert format_ns(ns) == text


def test_format_ms() -> None:
    assert format_ms(T) == "2026-11-28T09:00:00.123Z"


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("2026-11-28T09:00:00.123456789Z", T),
        ("2026-11-28T09:00:00.123456789123Z", T),
        ("2026-11-28T10:00:00.123456789+01:00", T),
        ("2026-11-28T04:00:00.123456789-0500", T),
        ("2026-11-28 09:00:00.123456789 UTC", T),
        ("2026-11-28 09:00:00,123", T - 456_789),
        ("2026-11-28T09:00:00", T - 123_456_789),
        ("28/Nov/2026:10:00:00 +0100", T - 123_456_789),
        (1795856400, T - 123_456_789),
        (1795856400123, T - 456_789),
        (1795856400123456, T - 789),
        (T, T),
        (1795856400.5, T - 123_456_789 + 500_000_000),
        ("1795856400123", T - 456_789),
        ({"$date": "2026-11-28T09:00:00.123Z"}, T - 456_789),
        ({"$date": 1795856400123}, T - 456_789),
        ({"$date": {"$numberLong": "1795856400123"}}, T - 456_789),
        ("2026-13-28T09:00:00Z", None),
        ("2026-02-30T09:00:00Z", None),
        ("yesterday", None),
        ("nan", None),
        ("inf", None),
        (float("inf"), None),
        (-5, None),
        (0, None),
        (None, None),
        (["2026-11-28T09:00:00Z"], None),
        ("28/Foo/2026:10:00:00 +0100", None),
        ("9999-12-31T23:59:59Z", None),  # beyond date_nanos
    ],
)
def test_parse_time(value: object, ns: int | None) -> None:
    assert parse_time(value) == ns


def test_formatting_alternating_seconds_and_past_the_prefix_cache_is_exact() -> None:
    base = 1_795_856_400_123_456_789
    for i in range(10_000):  # more distinct seconds than the cache holds
        event_ns, ingest_ns = base + i * 1_000_000_007, base - i * 999_999_937
        for ns, fmt, digits in ((event_ns, format_ns, 9), (ingest_ns, format_ms, 3)):
            when = datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            fraction = f"{ns % 10**9:09d}"[:digits]
            assert fmt(ns) == f"{when}.{fraction}Z"


def _reference(ns: int, digits: int) -> str:
    when = datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{when}.{f'{ns % 10**9:09d}'[:digits]}Z"


# Times near each other (one second, or the next) as well as anywhere in range, in any
# order: the one-entry caches must never hand out another time's text.
_NEAR = st.integers(min_value=0, max_value=3 * 10**9).map(lambda d: T + d)
_ANY = st.integers(min_value=1, max_value=2**63 - 1)


@given(st.lists(st.one_of(_NEAR, _ANY), max_size=30))
def test_format_ns_and_ms_match_the_reference_in_any_order(values: list[int]) -> None:
    for ns in values + values[::-1]:
        assert format_ns(ns) == _reference(ns, 9)
        assert format_ms(ns) == _reference(ns, 3)


@pytest.mark.parametrize(
    ("ns", "valid"),
    [
        (1, True),
        (1_795_856_400_123_456_789, True),
        (2**62 - 1, True),
        (2**62, True),
        (2**63 - 1, True),
        (2**63, False),
        (2**64, False),
        (0, False),
        (-1, False),
        (-(2**63), False),
        (True, False),
        (1.0, False),
        ("1", False),
        (None, False),
    ],
)
def test_valid_ns_is_the_date_nanos_range_of_ints(ns: object, valid: bool) -> None:
    assert valid_ns(ns) is valid
