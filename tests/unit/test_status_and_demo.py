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


def test_demo_otel_service_sends_otlp_the_normalizer_maps() -> None:
    from bitacora.collector.otlp.decode import log_records, parse_request
    from bitacora.demo_sources import OtelCheckout
    from bitacora.processors.normalize import normalize
    from bitacora.rawrecord import RawRecord

    body = OtelCheckout(seed=1).request(1_764_320_000_000_000_000, 5, bursting=True)
    records, services, rejects = log_records(parse_request(body, "protobuf"))
    assert (len(records), set(services), rejects) == (5, {"checkout-service"}, [])
    doc = normalize(RawRecord("otlp", 0, records[0], 1, "p", "otlp"), 0, 0)
    assert doc["@timestamp"] == "2025-11-28T08:53:20.000000000Z"
    assert (doc["service.name"], doc["log.level"], doc["error.type"]) == (
        "checkout-service",
        "error",
        "PaymentDeclined",
    )
    assert doc["message"].startswith("payment for order ")
    assert (doc["kubernetes.namespace"], doc["service.environment"]) == ("shop", "demo")


def test_demo_syslog_node_lines_are_all_valid_syslog() -> None:
    from bitacora.demo_sources import SyslogNode
    from bitacora.processors.normalize import normalize
    from bitacora.rawrecord import RawRecord

    lines = SyslogNode(seed=2).lines(1_764_320_000.0, 200)
    docs = [
        normalize(RawRecord("syslog", 0, {"syslog": line.decode()}, 1, "p", "syslog"), 0, 0)
        for line in lines
    ]
    assert {d["host.name"] for d in docs} == {"node-3"}
    assert {d["service.name"] for d in docs} == {"kubelet", "sshd", "cron", "postgres"}
    postgres = [d for d in docs if d["service.name"] == "postgres"]
    assert {(d["log.level"], d["log.logger"]) for d in postgres} == {("error", "postgresql")}
    assert postgres[0]["message"] == "canceling statement due to timeout"
