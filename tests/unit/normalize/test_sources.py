"""OTLP and syslog raw records through ``normalize`` (pure): exact documents."""

from __future__ import annotations

from typing import Any

import pytest

from bitacora.errors import DecodeError
from bitacora.processors.normalize import normalize
from bitacora.rawrecord import RawRecord

RECEIVED = 1_764_936_000_000_000_000  # 2025-12-05T12:00:00Z


def _doc(transport: str, record: dict[str, Any]) -> dict[str, Any]:
    raw = RawRecord(transport, 0, record, RECEIVED, "10.0.0.1:514", transport)
    doc = normalize(raw, 0, 7)
    del doc["event.id"], doc["event.ingested"]
    return doc


def _syslog(line: str) -> dict[str, Any]:
    return _doc("syslog", {"syslog": line})


def test_rfc5424_with_structured_data_escapes_and_bom() -> None:
    line = (
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        '[exampleSDID@32473 iut="3" eventSource="App\\"lication\\]"][meta seq="1"] '
        "\ufeffAn application event"
    )
    assert _syslog(line) == {
        "@timestamp": "2003-10-11T22:14:15.003000000Z",
        "event.dataset": "syslog",
        "event.severity": 9,
        "message": "An application event",
        "log.level": "info",
        "service.name": "evntslog",
        "host.name": "mymachine.example.com",
        "log.syslog.facility": "local4",
        "log.syslog.severity": "notice",
        "labels": {
            "exampleSDID@32473": {"iut": "3", "eventSource": 'App"lication]'},
            "meta": {"seq": "1"},
            "syslog": {"msgid": "ID47"},
        },
    }


def test_rfc5424_nil_fields_fall_back_to_the_tag_and_receive_time() -> None:
    assert _syslog("<0>1 - - - - - -") == {
        "@timestamp": "2025-12-05T12:00:00.000000000Z",
        "event.dataset": "syslog",
        "event.severity": 21,
        "log.level": "fatal",
        "service.name": "syslog",
        "log.syslog.facility": "kern",
        "log.syslog.severity": "emerg",
    }


def test_rfc3164_reads_host_tag_and_pid_and_infers_the_year() -> None:
    assert _syslog("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed") == {
        "@timestamp": "2025-10-11T22:14:15.000000000Z",
        "event.dataset": "syslog",
        "event.severity": 21,
        "message": "'su root' failed",
        "log.level": "fatal",
        "service.name": "su",
        "host.name": "mymachine",
        "log.syslog.facility": "auth",
        "log.syslog.severity": "crit",
        "labels": {"syslog": {"procid": "123"}},
    }
    # Dec 31 received on Jan 1: last year's.
    raw = RawRecord("syslog", 0, {"syslog": "<13>Dec 31 23:59:59 h t: x"}, 1_767_225_600 * 10**9,
                    "p", "syslog")  # fmt: skip
    assert normalize(raw, 0, 0)["@timestamp"] == "2025-12-31T23:59:59.000000000Z"


def test_rfc3164_without_timestamp_takes_a_leading_tag_only() -> None:
    doc = _syslog("<13>just some text: with a colon")
    assert (doc["message"], doc["service.name"]) == ("just some text: with a colon", "syslog")
    assert "host.name" not in doc
    doc = _syslog("<78>cron[5]: job done")
    assert (doc["message"], doc["service.name"], doc["labels"]) == (
        "job done",
        "cron",
        {"syslog": {"procid": "5"}},
    )


def test_the_message_s_own_level_wins_over_pri_and_postgres_lines_are_parsed() -> None:
    line = (
        "<132>1 2026-12-05T10:00:00Z db-1 postgres 42 - - [7-1] 2026-12-05 10:00:00.250 UTC"
        ' [42] ERROR:  relation "x" does not exist'
    )
    doc = _syslog(line)
    assert (doc["log.level"], doc["log.syslog.severity"], doc["message"]) == (
        "error",
        "warning",
        'relation "x" does not exist',
    )
    assert doc["labels"] == {"syslog": {"procid": "42"}, "postgresql": {"pid": 42}}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("no pri here", "bad_syslog: no <PRI> at the start of the line"),
        ("<192>x", "bad_syslog: PRI <192> is not 0-191"),
        ("<013>x", "bad_syslog: PRI <013> is not 0-191"),
        ("<13>1 - - -", "bad_syslog: RFC 5424 header has fewer than 6 fields"),
        ("<13>1 yesterday h a - - - m", "bad_syslog: bad TIMESTAMP 'yesterday'"),
        ('<13>1 - h a - - [id k="v" m', "bad_syslog: structured data ends early"),
        ("<13>1 - h a - - x m", "bad_syslog: structured data must be '-' or start with '['"),
        ("<13>1 - h a - - [id k=v] m", "bad_syslog: bad SD-PARAM in [id]"),
        ('<13>1 - h a - - [id k="v"]m', "bad_syslog: no space between structured data and MSG"),
    ],
)
def test_lines_that_are_not_syslog_raise_with_the_reason(line: str, reason: str) -> None:
    with pytest.raises(DecodeError) as failed:
        _syslog(line)
    assert str(failed.value) == reason


def test_otlp_map_body_severity_text_fallback_and_observed_time() -> None:
    record = {
        "resource": {
            "service.name": "shop",
            "service.namespace": "flores",
            "k8s.container.name": "app",
            "k8s.node.name": "n1",
        },
        "scope": {"name": "shop.api", "version": "3"},
        "observed_time_unix_nano": 1764320000000000001,
        "severity_text": "Warning",
        "body": {"msg": "slow", "duration_ms": 12, "user": "ana"},
        "attributes": {"http.method": "GET", "user": "attr-wins"},
        "event_name": "request",
    }
    assert _doc("otlp", record) == {
        "@timestamp": "2025-11-28T08:53:20.000000001Z",
        "event.dataset": "otlp",
        "event.severity": 13,
        "message": "slow",
        "log.level": "warn",
        "log.logger": "shop.api",
        "service.name": "shop",
        "kubernetes.container.name": "app",
        "http.request.method": "GET",
        "event.duration": 12_000_000,
        "labels": {
            "user": "attr-wins",
            "service": {"namespace": "flores"},
            "resource": {"k8s_node_name": "n1"},
            "scope": {"version": "3"},
            "event_name": "request",
        },
    }


def test_otlp_without_time_body_or_service_uses_receive_time_and_the_tag() -> None:
    assert _doc("otlp", {"severity_number": 21, "body": [1, "two"]}) == {
        "@timestamp": "2025-12-05T12:00:00.000000000Z",
        "event.dataset": "otlp",
        "event.severity": 21,
        "message": '[1, "two"]',
        "log.level": "fatal",
        "service.name": "otlp",
    }
