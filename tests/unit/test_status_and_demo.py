"""The pure parts of `bitacora run`: the status line and the demo traffic generator."""

from __future__ import annotations

from collections import Counter

from bitacora.demo import APP_SERVICES, DemoTraffic
from bitacora.status import Status, format_status


def test_status_line_shows_what_happened_since_the_start() -> None:
    start = Status(1000, 900, 5000, {"normalize": 0, "index": 0, "alerting": 0}, 3, 1)
    now = Status(3400, 3300, 7300, {"normalize": 100, "index": 20, "alerting": 7}, 5, 2)
    assert format_status(now, start, 65.0) == (
        "[01:05] in 2,400 (37/s) · normalized 2,400 · indexed 2,300 · "
        "lag normalize=100 index=20 alerting=7 · dead letters 2 · alerts 1"
    )


def test_status_line_says_when_opensearch_is_down() -> None:
    start = Status(0, 0, 10, {}, 0, 0)
    now = Status(5, 5, None, {}, 0, 0)
    assert "indexed down" in format_status(now, start, 1.0)


def test_demo_bursts_rotate_through_the_services() -> None:
    traffic = DemoTraffic(burst_every_s=60, burst_length_s=8)
    assert [traffic.bursting_service(60.0 * p + 1) for p in range(5)] == list(APP_SERVICES)
    assert traffic.bursting_service(60.0 * 3 + 8) is None


def test_demo_traffic_is_seeded_and_mixes_every_source() -> None:
    first = list(DemoTraffic(seed=3).records(1000.5, 400))
    again = list(DemoTraffic(seed=3).records(1000.5, 400))
    assert [tag for tag, _ in first] == [tag for tag, _ in again]
    sources = Counter(tag.split(".", 1)[0] for tag, _ in first)
    assert set(sources) == {"ingress", "postgresql", "mongodb", *APP_SERVICES}


def test_a_bursting_service_logs_only_errors() -> None:
    traffic = DemoTraffic(burst_every_s=60, burst_length_s=8)
    during = [r for tag, r in traffic.records(120.0 + 1, 600) if tag == "review-service.app"]
    assert during
    assert {r["level"] for r in during} == {"ERROR"}
