"""NormalizeConfig: built from Settings, validated, patterns compiled once."""

from __future__ import annotations

import pytest

from bitacora.errors import ConfigError
from bitacora.processors.normalize import NormalizeConfig, normalize
from bitacora.settings import Settings
from tests.unit.normalize.support import raw


def test_from_settings() -> None:
    settings = Settings(max_field_bytes=4096, max_label_keys=50, redact_patterns=["ID-\\d+"])
    config = NormalizeConfig.from_settings(settings)
    assert config == NormalizeConfig(
        max_field_bytes=4096, max_label_keys=50, max_depth=20, redact_patterns=("ID-\\d+",)
    )
    assert [p.pattern for p in config.compiled_patterns] == ["ID-\\d+"]
    assert config.label_value_bytes == 4096


def test_label_cap_never_exceeds_the_keyword_limit() -> None:
    assert NormalizeConfig(max_field_bytes=1 << 20).label_value_bytes == 16 * 1024


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"redact_patterns": ("(",)}, "not a valid regular expression"),
        ({"redact_patterns": ("x*",)}, "matches the empty string"),
        ({"max_field_bytes": 100}, "at least 256"),
        ({"max_label_keys": 0}, "at least 1"),
        ({"max_depth": 0}, "at least 1"),
    ],
)
def test_invalid_config_is_a_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NormalizeConfig(**kwargs)  # type: ignore[arg-type]


def test_custom_pattern_applies_everywhere() -> None:
    config = NormalizeConfig(redact_patterns=(r"ID-\d+",))
    doc = normalize(raw({"message": "user ID-42", "ref": ["ID-7"]}), 0, 0, config)
    assert doc["message"] == "user [REDACTED:custom]"
    assert doc["labels"] == {"ref": ["[REDACTED:custom]"]}


def test_small_depth_and_field_limits() -> None:
    config = NormalizeConfig(max_field_bytes=256, max_depth=2)
    doc = normalize(raw({"message": "é" * 1000, "a": {"b": {"c": 1}}}), 0, 0, config)
    assert doc["message"] == "é" * 115 + "…[truncated 1770 bytes]"
    assert doc["labels"] == {"a": {"b": '{"c":1}'}}
