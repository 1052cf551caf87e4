"""`bitacora search` flags against the real OpenSearch: each returns exactly the planted set."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.schema import SEVERITY
from bitacora.search.command import SearchOptions, run
from bitacora.search.errors import BadQueryError
from bitacora.search.output import OutputFormat, format_event
from bitacora.search.query import SearchParams
from bitacora.search.timeparse import parse_event_time, parse_instant
from tests.integration.search.conftest import Dataset

pytestmark = pytest.mark.stack

Event = dict[str, object]


def _ns(e: Event) -> int:
    return parse_event_time(str(e["@timestamp"]))


def _newest_first(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (_ns(e), str(e["event.id"])), reverse=True)


def _ids(client: OpenSearch, ds: Dataset, params: SearchParams, **options: object) -> list[str]:
    params = replace(params, index=ds.index, fields=("event.id",))
    lines: list[str] = []
    run(client, SearchOptions(params=params, output="raw", **options), lines.append, ds.now)  # type: ignore[arg-type]
    return lines


def _expect(
    ds: Dataset, keep: Callable[[Event], bool], limit: int = 0, forward: bool = False
) -> list[str]:
    chosen = _newest_first([e for e in ds.events if keep(e)])
    if forward:
        chosen.reverse()
    if limit:
        chosen = chosen[:limit]
    return [str(e["event.id"]) for e in chosen]


def test_default_is_newest_first_with_limit(search_client: OpenSearch, dataset: Dataset) -> None:
    assert _ids(search_client, dataset, SearchParams(), limit=25) == _expect(
        dataset, lambda e: True, 25
    )


def test_forward_is_oldest_first(search_client: OpenSearch, dataset: Dataset) -> None:
    got = _ids(search_client, dataset, SearchParams(), limit=30, forward=True)
    assert got == _expect(dataset, lambda e: True, 30, forward=True)


def test_limit_zero_pages_through_everything(search_client: OpenSearch, dataset: Dataset) -> None:
    got = _ids(search_client, dataset, SearchParams(), limit=0)
    assert got == _expect(dataset, lambda e: True)
    assert len(got) == len(set(got)) == 2016


def test_since(search_client: OpenSearch, dataset: Dataset) -> None:
    start = dataset.now - timedelta(days=3)
    got = _ids(search_client, dataset, SearchParams(start=start), limit=0)
    border = int(start.timestamp()) * 10**9
    assert got == _expect(dataset, lambda e: _ns(e) >= border)
    assert 400 < len(got) < 450


def test_from_to_in_a_time_zone(search_client: OpenSearch, dataset: Dataset) -> None:
    day = dataset.start + timedelta(days=5)
    # The same instants written in Madrid time (UTC+1 in winter) without an offset.
    from bitacora.search.timeparse import parse_timezone

    madrid = parse_timezone("Europe/Madrid")
    text_from = day.astimezone(madrid).strftime("%Y-%m-%dT%H:%M:%S")
    text_to = (day + timedelta(hours=6)).astimezone(madrid).strftime("%Y-%m-%dT%H:%M:%S")
    start = parse_instant(text_from, dataset.now, madrid)
    end = parse_instant(text_to, dataset.now, madrid)
    assert start == day
    got = _ids(search_client, dataset, SearchParams(start=start, end=end), limit=0, forward=True)
    lo, hi = int(day.timestamp()) * 10**9, int((day + timedelta(hours=6)).timestamp()) * 10**9
    assert got == _expect(dataset, lambda e: lo <= _ns(e) < hi, forward=True)
    assert len(got) == 36


def test_service_filter(search_client: OpenSearch, dataset: Dataset) -> None:
    params = SearchParams(services=("order-service", "review-service"))
    got = _ids(search_client, dataset, params, limit=0)
    assert got == _expect(
        dataset, lambda e: e["service.name"] in ("order-service", "review-service")
    )


@pytest.mark.parametrize("level", ["warn", "error", "fatal"])
def test_level_and_above(search_client: OpenSearch, dataset: Dataset, level: str) -> None:
    got = _ids(search_client, dataset, SearchParams(level=level), limit=0)
    assert got == _expect(dataset, lambda e: int(str(e["event.severity"])) >= SEVERITY[level])


def test_query_string(search_client: OpenSearch, dataset: Dataset) -> None:
    both = _ids(search_client, dataset, SearchParams(query="timeout AND payment"), limit=0)
    assert both == _expect(
        dataset, lambda e: "timeout" in str(e["message"]) and "payment" in str(e["message"])
    )
    # Adjacent terms combine with OR, as in rule filters (rules.query_string).
    either = _ids(search_client, dataset, SearchParams(query="timeout payment"), limit=0)
    assert either == _expect(
        dataset, lambda e: "timeout" in str(e["message"]) or "payment" in str(e["message"])
    )
    fielded = SearchParams(query='url.path:"/api/users" AND http.response.status_code:500')
    got = _ids(search_client, dataset, fielded, limit=0)
    assert got == _expect(
        dataset, lambda e: e["url.path"] == "/api/users" and e["http.response.status_code"] == 500
    )


def test_trace(search_client: OpenSearch, dataset: Dataset) -> None:
    got = _ids(search_client, dataset, SearchParams(trace_id="trace-0042"), limit=0, forward=True)
    assert got == [f"ev-{i:05d}" for i in range(42 * 6, 43 * 6)]


def test_count(search_client: OpenSearch, dataset: Dataset) -> None:
    lines: list[str] = []
    params = SearchParams(index=dataset.index, level="error", services=("user-service",))
    run(search_client, SearchOptions(params=params, count=True), lines.append, dataset.now)
    expected = sum(
        1
        for e in dataset.events
        if e["service.name"] == "user-service" and int(str(e["event.severity"])) >= 17
    )
    assert lines == [str(expected)]


def test_histogram(search_client: OpenSearch, dataset: Dataset) -> None:
    start = dataset.start
    end = start + timedelta(days=2)
    params = SearchParams(index=dataset.index, start=start, end=end, level="error")
    lines: list[str] = []
    run(search_client, SearchOptions(params=params, histogram=True), lines.append, dataset.now)
    # Two days → 1h buckets aligned on the hour (49 when the range starts mid-hour).
    hour = 3600 * 10**9
    lo, hi = int(start.timestamp()) * 10**9, int(end.timestamp()) * 10**9
    first = lo // hour * hour
    per_hour = [0] * ((hi - 1) // hour - lo // hour + 1)
    for e in dataset.events:
        if lo <= _ns(e) < hi and int(str(e["event.severity"])) >= 17:
            per_hour[(_ns(e) - first) // hour] += 1
    assert len(per_hour) in (48, 49)  # 48 when the dataset starts on the hour
    assert len(lines) == len(per_hour) + 1
    assert [int(line.split()[2]) for line in lines[:-1]] == per_hour
    assert lines[0].startswith(start.astimezone(UTC).strftime("%Y-%m-%d %H:00"))
    assert lines[-1] == f"total {sum(per_hour)} in {len(per_hour)} buckets"
    assert any("█" in line for line in lines)


def test_context(search_client: OpenSearch, dataset: Dataset) -> None:
    params = SearchParams(
        index=dataset.index, query="payment", services=("order-service",), fields=("event.id",)
    )
    lines: list[str] = []
    run(
        search_client,
        SearchOptions(params=params, output="raw", limit=2, context=2),
        lines.append,
        dataset.now,
    )
    hits = _expect(
        dataset,
        lambda e: e["service.name"] == "order-service" and "payment" in str(e["message"]),
        2,
    )
    by_id = {str(e["event.id"]): e for e in dataset.events}
    expected: list[str] = []
    for n, hit in enumerate(hits):
        source = by_id[hit]
        same = [
            e
            for e in dataset.events
            if e["service.name"] == source["service.name"]
            and e["kubernetes.pod.name"] == source["kubernetes.pod.name"]
        ]
        same.sort(key=lambda e: (_ns(e), str(e["event.id"])))
        at = [str(e["event.id"]) for e in same].index(hit)
        if n:
            expected.append("--")
        expected += [str(e["event.id"]) for e in same[max(at - 2, 0) : at + 3]]
    assert lines == expected


def test_fields_and_outputs(search_client: OpenSearch, dataset: Dataset) -> None:
    newest = _newest_first(dataset.events)[:3]
    base = SearchParams(index=dataset.index)
    outputs: tuple[OutputFormat, ...] = ("table", "jsonl", "raw")
    for output in outputs:
        lines: list[str] = []
        run(
            search_client,
            SearchOptions(params=base, output=output, limit=3),
            lines.append,
            dataset.now,
        )
        assert lines == [format_event(e, output) for e in newest]
    fields = ("@timestamp", "url.path", "event.duration")
    lines = []
    params = replace(base, fields=fields)
    run(
        search_client,
        SearchOptions(params=params, output="jsonl", limit=3),
        lines.append,
        dataset.now,
    )
    assert [json.loads(line) for line in lines] == [{f: e[f] for f in fields} for e in newest]


def test_bad_query_raises(search_client: OpenSearch, dataset: Dataset) -> None:
    from bitacora.search.client import translated_errors

    # Refused before sending: the rules' query_string reading cannot parse it.
    params = SearchParams(index=dataset.index, query="message:(unclosed AND")
    with (
        pytest.raises(BadQueryError, match=r"^bad query: query_string: empty clause in"),
        translated_errors(),
    ):
        run(search_client, SearchOptions(params=params), lambda _: None, dataset.now)
    # Parsed here, refused by OpenSearch: its reason is reported.
    params = SearchParams(index=dataset.index, query="@timestamp:notadate")
    with (
        pytest.raises(
            BadQueryError, match=r"^bad query: Failed to parse with all enclosed parsers$"
        ),
        translated_errors(),
    ):
        run(search_client, SearchOptions(params=params), lambda _: None, dataset.now)


def test_cli_exit_codes_and_output(opensearch_url: str, dataset: Dataset) -> None:
    runner = CliRunner()
    env = {"BITACORA_OPENSEARCH_URL": opensearch_url, "NO_COLOR": "1"}
    ok = runner.invoke(
        main,
        [
            "search",
            "--index",
            dataset.index,
            "--trace",
            "trace-0001",
            "-o",
            "raw",
            "--fields",
            "event.id",
        ],
        env=env,
    )
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == [f"ev-{i:05d}" for i in range(6, 12)]
    counted = runner.invoke(
        main, ["search", "--index", dataset.index, "--count", "--level", "fatal"], env=env
    )
    assert counted.output == f"{sum(1 for i in range(2016) if i % 97 == 0)}\n"
    bad = runner.invoke(
        main, ["search", "--index", dataset.index, "message:(unclosed AND"], env=env
    )
    assert bad.exit_code == 2
    assert bad.output.startswith("error: bad query: ")
    assert len(bad.output.splitlines()[0]) < 300
    down = runner.invoke(
        main, ["search", "x"], env={"BITACORA_OPENSEARCH_URL": "http://127.0.0.1:9"}
    )
    assert down.exit_code == 3
    assert "bitacora stack up" in down.output
    assert "BITACORA_OPENSEARCH_URL" in down.output
    flags = runner.invoke(main, ["search", "--since", "3 days"], env=env)
    assert flags.exit_code == 2
    assert "invalid duration" in flags.output
