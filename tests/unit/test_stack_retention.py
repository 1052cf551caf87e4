"""The ISM policy body and retention planning without ISM (bitacora/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitacora.processors.storage.ism import ism_policy, parse_duration, parse_size
from bitacora.retention import BackingIndex, indices_to_delete, rollover_body

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_ism_policy_exact_shape() -> None:
    assert ism_policy(14, "1d", "10gb", ["logs-*"]) == {
        "policy": {
            "description": "Bitácora logs: roll over at 1d or 10gb, delete after 14d",
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [{"rollover": {"min_index_age": "1d", "min_size": "10gb"}}],
                    "transitions": [
                        {"state_name": "delete", "conditions": {"min_index_age": "14d"}}
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": ["logs-*"], "priority": 100}],
        }
    }


def test_ism_policy_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="duration"):
        ism_policy(14, "one day", "10gb", ["logs-*"])
    with pytest.raises(ValueError, match="size"):
        ism_policy(14, "1d", "ten gigs", ["logs-*"])
    with pytest.raises(ValueError, match="retention_days"):
        ism_policy(0, "1d", "10gb", ["logs-*"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30), ("15m", 900), ("12h", 43200), ("14d", 1209600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "size"),
    [("100", 100), ("1kb", 1024), ("512mb", 512 << 20), ("10GB", 10 << 30), ("1.5gb", 3 << 29)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_rollover_body() -> None:
    assert rollover_body() == {}
    assert rollover_body(max_age="1d", max_docs=10, max_size="5gb") == {
        "conditions": {"max_age": "1d", "max_docs": 10, "max_size": "5gb"}
    }
    assert rollover_body(max_docs=1) == {"conditions": {"max_docs": 1}}


def _stream(*hours: int) -> list[BackingIndex]:
    return [
        BackingIndex(f".ds-logs-a-{n:06d}", T0 + timedelta(hours=h)) for n, h in enumerate(hours, 1)
    ]


def test_indices_to_delete_counts_from_the_successors_creation() -> None:
    backing = _stream(0, 24, 48)  # rolled over daily; the third is the write index
    now = T0 + timedelta(hours=48 + 1)
    # index 1 stopped receiving writes at hour 24 (25 h ago), index 2 at hour 48 (1 h ago)
    assert indices_to_delete(backing, timedelta(hours=2), now) == [".ds-logs-a-000001"]
    assert indices_to_delete(backing, timedelta(hours=1), now) == [
        ".ds-logs-a-000001",
        ".ds-logs-a-000002",
    ]
    assert indices_to_delete(backing, timedelta(hours=26), now) == []


def test_indices_to_delete_never_returns_the_write_index() -> None:
    backing = _stream(0)
    assert indices_to_delete(backing, timedelta(0), T0 + timedelta(days=365)) == []
    assert indices_to_delete([], timedelta(0), T0) == []
