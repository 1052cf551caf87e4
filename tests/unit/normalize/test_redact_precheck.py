"""The redaction pre-check is sound: whenever ``redact`` would change a text,
``may_need_redaction`` says so (it may say so for more texts, never for fewer)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitacora.processors.normalize import NormalizeConfig, normalize
from bitacora.redact import hex_beyond_rules, may_need_redaction, redact
from tests.unit.normalize.support import raw
from tests.unit.normalize.test_redact import CONFIG, SECRETS

PLAIN = NormalizeConfig()
# Neighbours a secret may touch: ASCII punctuation, non-ASCII letters and symbols whose
# UTF-8 bytes include Latin-1 letters (lead bytes 0xC3-0xE2, continuation 0xAA/0xB5/0xBA).
NEIGHBOURS = [
    "",
    " ",
    "\n",
    "=",
    ":",
    "€",
    "é",
    "Ū",
    "ŵ",
    "ź",
    "ª",
    "µ",
    "中",
    "\x00",
    "%",
    "\ud800",
]
CARDS = ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"]


@pytest.mark.parametrize("card", CARDS)
@pytest.mark.parametrize("before", NEIGHBOURS)
@pytest.mark.parametrize("after", NEIGHBOURS)
def test_a_card_next_to_any_character_is_caught(card: str, before: str, after: str) -> None:
    text = f"paid {before}{card}{after} ok"
    if redact(text, PLAIN) != text:
        assert may_need_redaction(text, PLAIN)


@pytest.mark.parametrize("neighbour", ["€", "é", "Ū", "中"])
def test_a_card_glued_to_a_non_ascii_character_is_redacted_in_the_document(
    neighbour: str,
) -> None:
    for message in (
        f"paid with 4111111111111111{neighbour} ok",
        f"paid {neighbour}4111111111111111",
    ):
        doc = normalize(raw({"message": message}), 0, 0)
        assert "4111111111111111" not in doc["message"]
        assert "[REDACTED:card]" in doc["message"]


@pytest.mark.parametrize(("text", "canary", "kind"), SECRETS)
@pytest.mark.parametrize("before", NEIGHBOURS)
def test_every_secret_kind_passes_the_precheck(
    text: str, canary: str, kind: str, before: str
) -> None:
    planted = f"{before}{text}{before}"
    if before in ("", " ", "\n"):  # glued to a letter, some rules rightly do not apply
        assert redact(planted, CONFIG) != planted
    if redact(planted, CONFIG) != planted:
        assert may_need_redaction(planted, CONFIG)


fragments = st.sampled_from(
    [
        *(text for text, _, _ in SECRETS),
        *CARDS,
        *NEIGHBOURS,
        "1795856400123",
        "2026-11-28 09:00:00",
        "token",
        "Bearer",
        "%3D",
        "%20",
        "eyJ",
        "AKIA",
        "4111",
        "-",
        " ",
    ]
)


@settings(max_examples=600, deadline=None)
@given(parts=st.lists(fragments | st.text(max_size=6), max_size=8))
def test_redact_never_changes_a_text_the_precheck_passes(parts: list[str]) -> None:
    text = "".join(parts)
    for config in (PLAIN, CONFIG):
        if not may_need_redaction(text, config):
            assert redact(text, config) == text


def test_the_spelled_out_words_are_the_word_list() -> None:
    import ast
    from pathlib import Path

    from bitacora import redact as redact_module

    # The source file, not inspect.getsource: the installed module may be compiled (mypyc).
    path = Path(__file__).resolve().parents[3] / "bitacora" / "redact.py"
    text = path.read_text(encoding="utf-8")
    (function,) = (
        node
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name == "may_need_redaction"
    )
    source = ast.get_source_segment(text, function) or ""
    for word in redact_module._WORDS:
        assert f'"{word}" in lowered' in source
    for word in redact_module._WORDS:
        assert may_need_redaction(f"x {word.upper()} y", PLAIN)


hex_texts = st.text(alphabet="0123456789abcdefABCDEF", min_size=20, max_size=64)


@settings(max_examples=600, deadline=None)
@given(text=hex_texts | st.sampled_from(["4" * 20, "4111111111111111" + "0" * 4, "e" * 32]))
def test_a_hex_text_beyond_the_rules_passes_the_precheck_and_redaction(text: str) -> None:
    assert hex_beyond_rules(text)
    assert not may_need_redaction(text, PLAIN)
    assert redact(text, PLAIN) == text
    for before in NEIGHBOURS:  # and with any neighbour in a joined pre-check text
        joined = f"{before}\x00{text}\x00{before}"
        assert may_need_redaction(joined, PLAIN) == may_need_redaction(before, PLAIN)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",  # a card, and shorter than 20
        "0123456789abcdef012",  # 19 hex digits
        "0123456789abcdef0123456789abcdeg",  # one letter beyond f
        "0x23456789abcdef0123456789abcdef",
        "01234567-89ab-cdef-0123-456789abcdef",  # a UUID: dashes
        "0123456789abcdef 0123456789abcdef",
        "\uff10" * 20,  # fullwidth digits are not ASCII
        "",
    ],
)
def test_anything_else_is_not_beyond_the_rules(text: str) -> None:
    assert not hex_beyond_rules(text)


def test_a_hex_trace_id_is_still_redacted_by_a_custom_pattern_that_matches_it() -> None:
    trace = "0123456789abcdef0123456789abcdef"
    config = NormalizeConfig(redact_patterns=(r"0123456789abcdef0123\w+",))
    doc = normalize(raw({"message": "hi", "trace_id": trace}), 0, 0, config)
    assert doc["trace.id"] == "[REDACTED:custom]"
    assert normalize(raw({"message": "hi", "trace_id": trace}), 0, 0)["trace.id"] == trace


def test_a_hex_trace_id_beside_a_secret_elsewhere_is_stored_as_it_is() -> None:
    trace = "0123456789abcdef0123456789abcdef"
    doc = normalize(raw({"message": "login password=hunter2", "trace_id": trace}), 0, 0)
    assert doc["message"] == "login password=[REDACTED:password]"
    assert doc["trace.id"] == trace
