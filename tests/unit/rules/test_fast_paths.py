"""Fast paths in alert building give exactly what the standard library gives."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from bitacora.durations import format_timestamp
from bitacora.rules.alerts import _quote


@given(st.text())
def test_link_quoting_equals_urllib(text: str) -> None:
    try:
        expected = quote(text, safe="(),:")
    except UnicodeEncodeError:
        expected = "refused"
    try:
        got = _quote(text)
    except UnicodeEncodeError:
        got = "refused"
    assert got == expected


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_cached_timestamp_text_equals_strftime(seconds: float) -> None:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    assert format_timestamp(seconds) == expected
    assert format_timestamp(seconds) == expected  # from the cache this time
