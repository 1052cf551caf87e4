"""``any_may_need_redaction``: the cached pre-check over an event's strings answers exactly
like the pre-check of their NUL-joined text, cold or warm."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora import redact as redact_module
from bitacora.processors.normalize import NormalizeConfig
from bitacora.redact import any_may_need_redaction, may_need_redaction
from tests.unit.normalize.test_redact import SECRETS
from tests.unit.normalize.test_redact_precheck import CARDS, NEIGHBOURS

PLAIN = NormalizeConfig()
CUSTOM = NormalizeConfig(redact_patterns=(r"^CUST-\d{2}$", r"a\x00b"))

pieces = st.sampled_from(
    [
        *(text for text, _, _ in SECRETS),
        *CARDS,
        *NEIGHBOURS,
        "review-service",
        "node-1",
        "1795856400123",
        "GET",
        "%41%4B%49%41",
        "%E2%82",
        "%AC",
        "pass",
        "word",
        "CUST-12",
        "a",
        "b",
    ]
)
texts = st.lists(st.lists(pieces | st.text(max_size=5), max_size=3).map("".join), max_size=6)


@settings(max_examples=500, deadline=None)
@given(batches=st.lists(texts, min_size=1, max_size=4))
def test_matches_the_joined_precheck_cold_and_warm(batches: list[list[str]]) -> None:
    redact_module.CLEAN.clear()
    for config in (PLAIN, CUSTOM):
        for texts_ in [*batches, *batches]:  # the second pass runs on a warm cache
            expected = may_need_redaction("\x00".join(texts_), config)
            assert any_may_need_redaction(texts_, config) is expected


def test_strings_found_clean_are_remembered_and_secrets_never() -> None:
    redact_module.CLEAN.clear()
    assert not any_may_need_redaction(["node-1", "shop"], PLAIN)
    assert set(redact_module.CLEAN) == {"node-1", "shop"}
    assert any_may_need_redaction(["node-1", "password=x"], PLAIN)
    assert "password=x" not in redact_module.CLEAN
    assert any_may_need_redaction(["password=x"], PLAIN)


def test_custom_patterns_bypass_the_cache() -> None:
    redact_module.CLEAN.clear()
    assert not any_may_need_redaction(["CUST-12 x"], CUSTOM)
    assert redact_module.CLEAN == {}
    # Anchored pattern: only the joined text's start and end count (as before the cache).
    assert any_may_need_redaction(["CUST-12"], CUSTOM)
    assert not any_may_need_redaction(["x", "CUST-12"], CUSTOM)


def test_the_cache_is_bounded() -> None:
    redact_module.CLEAN.clear()
    for start in range(0, 3 * redact_module._CLEAN_MAX, 100):
        any_may_need_redaction([f"value {n}" for n in range(start, start + 100)], PLAIN)
        assert len(redact_module.CLEAN) <= redact_module._CLEAN_MAX
    long_text = "x" * (redact_module._CLEAN_MAX_CHARS + 1)
    assert not any_may_need_redaction([long_text], PLAIN)
    assert long_text not in redact_module.CLEAN


@pytest.mark.parametrize("config", [PLAIN, CUSTOM])
def test_a_non_string_raises_type_error_like_join(config: NormalizeConfig) -> None:
    with pytest.raises(TypeError):
        any_may_need_redaction(["a", 1], config)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        any_may_need_redaction(["a", {"b": 1}], config)  # type: ignore[list-item]


def test_a_document_with_known_clean_strings_still_redacts_a_fresh_secret() -> None:
    from bitacora.processors.normalize import normalize
    from tests.unit.normalize.support import raw

    redact_module.CLEAN.clear()
    record = {"message": "user logged in", "host": "node-1", "env": "prod"}
    assert normalize(raw(record), 0, 0)["message"] == "user logged in"
    assert "user logged in" in redact_module.CLEAN  # remembered as clean
    doc = normalize(raw(dict(record, detail="password=hunter2")), 0, 0)
    assert doc["message"] == "user logged in"
    assert doc["labels"]["detail"] == "password=[REDACTED:password]"
