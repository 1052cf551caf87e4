"""The pure parts of the paging comparison with ElastAlert2 (bench/ea2_bench.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bench.ea2_bench import (
    BITACORA,
    ELASTALERT2,
    Arrival,
    Page,
    PagingError,
    ea2_config,
    key_of,
    latencies,
    page_counts,
    pages_of,
    paging_rows,
    system_of,
)
from bitacora.settings import Settings

KEYS = ["burst-ab12-1", "burst-ab12-10"]


def test_the_side_is_told_by_the_user_agent() -> None:
    assert system_of("python-requests/2.32.3") == ELASTALERT2
    assert system_of("Python/3.11 aiohttp/3.10.5") == BITACORA
    assert system_of("curl/8.5.0") == "unknown"
    assert system_of("") == "unknown"


def test_the_key_is_a_whole_string_value_nested_or_dotted() -> None:
    nested = {"trace": {"id": "burst-ab12-10"}, "message": "bench burst-ab12-1 failed"}
    assert key_of(nested, KEYS) == "burst-ab12-10"
    assert key_of({"trace.id": "burst-ab12-1", "num_hits": 5}, KEYS) == "burst-ab12-1"
    # A key inside a longer string (the message) or another key is not the page's key.
    assert key_of({"message": "bench burst-ab12-1 failed", "trace": {"id": "warm-0"}}, KEYS) is None
    assert key_of("not json", KEYS) is None


def test_pages_of_attributes_each_post() -> None:
    arrivals = [
        Arrival(1.5, "python-requests/2.32.3", {"trace": {"id": "burst-ab12-1"}}),
        Arrival(2.0, "Python/3.11 aiohttp/3.10.5", {"trace": {"id": "warm-ab12-0"}}),
    ]
    assert pages_of(arrivals, KEYS) == [
        Page(1.5, ELASTALERT2, "burst-ab12-1"),
        Page(2.0, BITACORA, None),
    ]


SENT = {"burst-ab12-1": 10.0, "burst-ab12-10": 20.0}
PAGES = [
    Page(10.25, BITACORA, "burst-ab12-1"),
    Page(14.5, ELASTALERT2, "burst-ab12-1"),
    Page(20.5, BITACORA, "burst-ab12-10"),
    Page(21.0, ELASTALERT2, None),  # a warm-up burst's late page: not counted
    Page(28.75, ELASTALERT2, "burst-ab12-10"),
]


def test_latencies_are_last_send_to_page_in_burst_order() -> None:
    assert latencies(SENT, PAGES, ELASTALERT2) == [4.5, 8.75]
    assert latencies(SENT, PAGES, BITACORA) == [0.25, 0.5]
    assert page_counts(PAGES, list(SENT), ELASTALERT2) == {"burst-ab12-1": 1, "burst-ab12-10": 1}


def test_a_double_page_or_a_missing_one_fails_the_run() -> None:
    doubled = [*PAGES, Page(30.0, ELASTALERT2, "burst-ab12-10")]
    with pytest.raises(PagingError, match=r"elastalert2: pages per burst \{'burst-ab12-10': 2\}"):
        latencies(SENT, doubled, ELASTALERT2)
    missing = [p for p in PAGES if p.at != 20.5]
    with pytest.raises(PagingError, match=r"bitacora: pages per burst \{'burst-ab12-10': 0\}"):
        latencies(SENT, missing, BITACORA)


def test_paging_rows() -> None:
    sent = {"a": 0.0, "b": 10.0, "c": 20.0}
    pages = [
        Page(6.0, ELASTALERT2, "a"),
        Page(11.5, ELASTALERT2, "b"),
        Page(29.0, ELASTALERT2, "c"),
        Page(0.5, BITACORA, "a"),
        Page(10.25, BITACORA, "b"),
        Page(20.75, BITACORA, "c"),
    ]
    got = {row.name: (row.value, row.unit) for row in paging_rows(sent, pages, 10)}
    assert got == {
        "ea2_paging_latency_p50_s": (6.0, "s"),
        "ea2_paging_latency_min_s": (1.5, "s"),
        "ea2_paging_latency_max_s": (9.0, "s"),
        "ea2_pages_per_burst": (1.0, "pages"),
        "bitacora_paging_latency_p50_s": (0.5, "s"),
        "bitacora_paging_latency_min_s": (0.25, "s"),
        "bitacora_paging_latency_max_s": (0.75, "s"),
        "bitacora_pages_per_burst": (1.0, "pages"),
        "ea2_vs_bitacora_paging_latency_p50": (12.0, "x"),
        "ea2_bursts": (3.0, "bursts"),
        "ea2_run_every_s": (10, "s"),
    }


def test_elastalert2_config_points_at_bitacoras_opensearch() -> None:
    settings = Settings(opensearch_url="http://127.0.0.1:9200")
    assert ea2_config(settings, Path("/tmp/r/rules"), "bench1-ea2-writeback") == {
        "rules_folder": "/tmp/r/rules",
        "run_every": {"seconds": 10},
        "buffer_time": {"minutes": 15},
        "es_host": "127.0.0.1",
        "es_port": 9200,
        "writeback_index": "bench1-ea2-writeback",
        "alert_time_limit": {"days": 2},
    }


def test_elastalert2_config_with_tls_and_a_user() -> None:
    settings = Settings(
        opensearch_url="https://search.internal",
        opensearch_user="bench",
        opensearch_password=SecretStr("s3cret"),
        opensearch_verify_certs=False,
        opensearch_ca_file=Path("/etc/ca.pem"),
    )
    config = ea2_config(settings, Path("/r"), "w")
    assert {k: config[k] for k in config if k not in ("rules_folder", "run_every")} == {
        "buffer_time": {"minutes": 15},
        "es_host": "search.internal",
        "es_port": 443,
        "writeback_index": "w",
        "alert_time_limit": {"days": 2},
        "use_ssl": True,
        "verify_certs": False,
        "ca_certs": "/etc/ca.pem",
        "es_username": "bench",
        "es_password": "s3cret",
    }
