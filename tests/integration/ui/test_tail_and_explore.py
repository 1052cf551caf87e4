"""The console's HTTP API over planted events: the live tail resumes after Last-Event-ID
without a gap or a repeat, and Explore returns what `bitacora search` prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.search.timeparse import to_nanos
from bitacora.settings import Settings
from bitacora.ui.config import UiConfig
from tests.helpers import seed
from tests.helpers.console import running_console

NOW = datetime.now(UTC).replace(microsecond=0)


def _at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def planted(settings: Settings) -> Iterator[tuple[OpenSearch, seed.Streams]]:
    client = OpenSearch(hosts=[settings.opensearch_url], timeout=60)
    with seed.installed(client, seed.new_streams()) as streams:
        seed.index_logs(
            client,
            streams,
            [
                seed.event(_at(3), service="api", message="tick one", event_id="t-1"),
                seed.event(_at(2), service="api", message="tick two", event_id="t-2"),
                seed.event(_at(1), service="api", message="tick three", event_id="t-3"),
                seed.event(_at(1), service="web", message="other", event_id="o-1"),
            ],
        )
        yield client, streams
    client.close()


async def _read(response: aiohttp.ClientResponse, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The next ``count`` events of an SSE stream as ``(id, data)``."""
    out: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    while len(out) < count:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            out.append((event_id, json.loads(line[6:])))
    return out


async def test_tail_resumes_after_last_event_id_without_gap_or_repeat(
    settings: Settings, planted: tuple[OpenSearch, seed.Streams]
) -> None:
    client, streams = planted
    config = UiConfig(logs_pattern=streams.logs, tail_poll_s=0.2, tail_overlap_s=1.0)
    resume = f"{to_nanos(_at(2))}:t-2"
    with running_console(settings, config) as url:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
            session.get(
                f"{url}/api/tail", params={"q": "tick"}, headers={"Last-Event-ID": resume}
            ) as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/event-stream"
            (first,) = await _read(response, 1)
            assert first == (f"{to_nanos(_at(1))}:t-3", first[1])
            assert first[1]["id"] == "t-3"
            assert first[1]["message"] == "tick three"
            seed.index_logs(
                client,
                streams,
                [
                    seed.event(NOW, service="api", message="tick four", event_id="t-4"),
                    seed.event(NOW, service="web", message="unrelated", event_id="o-2"),
                ],
            )
            (second,) = await _read(response, 1)
            assert second[1]["id"] == "t-4"


async def test_explore_shows_what_bitacora_search_prints(
    settings: Settings, planted: tuple[OpenSearch, seed.Streams], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, streams = planted
    config = UiConfig(logs_pattern=streams.logs)
    # An absolute range (`to` is exclusive) that leaves out what the tail test adds at NOW.
    start, end = _at(10).isoformat(), (NOW - timedelta(seconds=30)).isoformat()
    query = {"q": 'tick AND service.name:"api"', "from": start, "to": end}
    with running_console(settings, config) as url:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + "/", params=query) as response,
        ):
            assert response.status == 200
            page = await response.text()
    result = CliRunner().invoke(
        main,
        [
            "search",
            query["q"],
            "--from",
            start,
            "--to",
            end,
            "--index",
            streams.logs,
            "-o",
            "jsonl",
        ],
        env={"BITACORA_OPENSEARCH_URL": settings.opensearch_url},
    )
    assert result.exit_code == 0, result.output
    cli_ids = [json.loads(line)["event.id"] for line in result.output.splitlines()]
    page_ids = [part.split('"', 1)[0] for part in page.split('data-id="')[1:]]
    assert cli_ids == page_ids == ["t-3", "t-2", "t-1"]


async def test_bad_query_is_a_400_page(
    settings: Settings, planted: tuple[OpenSearch, seed.Streams]
) -> None:
    _, streams = planted
    with running_console(settings, UiConfig(logs_pattern=streams.logs)) as url:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/", params={"q": "message:(unclosed"}) as response:
                assert response.status == 400
                assert "bad query" in await response.text()
            async with session.get(url + "/", params={"since": "yesterday"}) as response:
                assert response.status == 400
                assert "invalid duration &#39;yesterday&#39;" in await response.text()


async def test_token_is_required_when_set(
    settings: Settings, planted: tuple[OpenSearch, seed.Streams]
) -> None:
    _, streams = planted
    config = UiConfig(logs_pattern=streams.logs, token="s3cret")
    with running_console(settings, config) as url:
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address host
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(url + "/") as response:
                assert response.status == 401
            async with session.get(url + "/", params={"token": "wrong"}) as response:
                assert response.status == 401
            async with session.get(url + "/dashboards", params={"token": "s3cret"}) as response:
                assert response.status == 200
            # The cookie set by ?token= lets the page's own links and EventSource through.
            async with session.get(url + "/alerts") as response:
                assert response.status == 200
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": "Bearer s3cret"}
            async with session.get(url + "/dashboards", headers=headers) as response:
                assert response.status == 200


def test_ui_refuses_an_exposed_address_without_a_token() -> None:
    result = CliRunner().invoke(main, ["ui", "--host", "0.0.0.0", "--port", "1"], env={})
    assert result.exit_code == 2
    assert result.output.startswith("error: the console would listen on 0.0.0.0 without a token")


async def test_cross_site_posts_are_refused(
    settings: Settings, planted: tuple[OpenSearch, seed.Streams]
) -> None:
    _, streams = planted
    with running_console(settings, UiConfig(logs_pattern=streams.logs)) as url:
        form = {"rule": "r", "for": "1h"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url + "/alerts/silences", data=form, headers={"Origin": "http://evil.example"}
            ) as response,
        ):
            assert response.status == 403
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + "/context", params={"id": "t-1", "n": "lots"}) as response,
        ):
            assert response.status == 400
            assert "n must be a whole number" in await response.text()
