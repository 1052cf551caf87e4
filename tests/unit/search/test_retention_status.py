"""`bitacora retention status`: rows and table from OpenSearch answers (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bitacora.retention import (
    NO_ISM_NOTE,
    build_rows,
    format_rows,
    human_age,
    human_bytes,
    ism_state,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STREAMS = [
    {
        "name": "logs-order-service",
        "indices": [
            {"index_name": ".ds-logs-order-service-000001"},
            {"index_name": ".ds-logs-order-service-000002"},
        ],
    },
    {"name": "logs-a", "indices": [{"index_name": ".ds-logs-a-000001"}]},
]
CAT = [
    {
        "index": ".ds-logs-order-service-000001",
        "docs.count": "1200",
        "store.size": "3145728",
        "creation.date": str(int((NOW - timedelta(days=3, hours=2)).timestamp() * 1000)),
    },
    {
        "index": ".ds-logs-order-service-000002",
        "docs.count": "5",
        "store.size": "2048",
        "creation.date": str(int((NOW - timedelta(minutes=7)).timestamp() * 1000)),
    },
    {
        "index": ".ds-logs-a-000001",
        "docs.count": "0",
        "store.size": "208",
        "creation.date": str(int((NOW - timedelta(hours=5, minutes=3)).timestamp() * 1000)),
    },
]


def test_humans() -> None:
    assert human_bytes(208) == "208 B"
    assert human_bytes(2048) == "2.0 KiB"
    assert human_bytes(3 * 1024**3) == "3.0 GiB"
    assert human_age(timedelta(minutes=7)) == "7m"
    assert human_age(timedelta(hours=5, minutes=3)) == "5h 3m"
    assert human_age(timedelta(days=3, hours=2)) == "3d 2h"


def test_ism_state() -> None:
    assert ism_state(None) is None
    assert ism_state({"index.plugins.index_state_management.policy_id": None}) == "not managed"
    assert ism_state(
        {"policy_id": "p", "state": {"name": "hot"}, "action": {"name": "rollover"}}
    ) == ("policy p: hot (rollover)")
    failed = {
        "policy_id": "p",
        "state": {"name": "delete"},
        "action": {"name": "delete", "failed": True},
    }
    assert ism_state(failed) == "policy p: delete (delete, failed)"
    assert ism_state({"policy_id": "p"}) == "policy p: initializing"


def test_table_without_ism() -> None:
    rows = build_rows(STREAMS, CAT, None)
    assert [(r.stream, r.index, r.write_index, r.docs, r.size_bytes) for r in rows] == [
        ("logs-a", ".ds-logs-a-000001", True, 0, 208),
        ("logs-order-service", ".ds-logs-order-service-000001", False, 1200, 3145728),
        ("logs-order-service", ".ds-logs-order-service-000002", True, 5, 2048),
    ]
    assert format_rows(rows, NOW, ism_installed=False) == [
        "STREAM              BACKING INDEX                            AGE     SIZE  DOCS  ISM",
        "logs-a              .ds-logs-a-000001 (write)              5h 3m    208 B     0  -",
        "logs-order-service  .ds-logs-order-service-000001          3d 2h  3.0 MiB  1200  -",
        "logs-order-service  .ds-logs-order-service-000002 (write)     7m  2.0 KiB     5  -",
        NO_ISM_NOTE,
    ]


def test_table_with_ism() -> None:
    explain = {
        ".ds-logs-a-000001": {"policy_id": "bitacora-logs-retention", "state": {"name": "hot"}},
        ".ds-logs-order-service-000001": {"policy_id": None},
    }
    rows = build_rows(STREAMS, CAT, explain)
    assert [r.ism for r in rows] == [
        "policy bitacora-logs-retention: hot",
        "not managed",
        "not managed",
    ]
    lines = format_rows(rows, NOW, ism_installed=True)
    assert lines[1].endswith("policy bitacora-logs-retention: hot")
    assert NO_ISM_NOTE not in lines


def test_no_streams() -> None:
    assert format_rows([], NOW, ism_installed=False) == ["no data streams match", NO_ISM_NOTE]
