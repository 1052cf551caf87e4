"""The console in a real browser (headless Debian chromium) over planted data.

Every page is screenshotted and checked for its elements; a typed query shows exactly
the matching rows; every dashboard panel draws data; a silence is created and deleted
through the page and read back from Kafka as `bitacora alerts silences` reads it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fluent.sender import FluentSender
from opensearchpy import OpenSearch
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from bench import services
from bitacora.processors.alerting.silences import read_silences
from bitacora.rules.alerts import discover_url
from bitacora.settings import Settings
from bitacora.ui.config import UiConfig
from tests.e2e.ui.conftest import screenshot
from tests.helpers import png, seed
from tests.helpers.console import running_console
from tests.reliability.harness import Pipeline

NOW = datetime.now(UTC).replace(microsecond=0)
WAIT_S = 30


def _events() -> list[dict[str, Any]]:
    def at(minutes: int) -> datetime:
        return NOW - timedelta(minutes=minutes)

    return [
        seed.event(at(50), service="order-service", level="error", message="payment timeout",
                   event_id="ev-1", error__type="TimeoutError", kubernetes__namespace="shop",
                   trace__id="trace-1", url__path="/api/orders", event__duration=120_000_000,
                   http__response__status_code=504, kubernetes__pod__name="order-1"),
        seed.event(at(49), service="order-service", message="order created", event_id="ev-2",
                   trace__id="trace-1", url__path="/api/orders", event__duration=30_000_000,
                   http__response__status_code=201, kubernetes__namespace="shop",
                   kubernetes__pod__name="order-1"),
        seed.event(at(40), service="user-service", level="warn", message="slow login",
                   event_id="ev-3", url__path="/api/login", event__duration=900_000_000,
                   http__response__status_code=200, kubernetes__namespace="auth"),
        seed.event(at(30), service="user-service", level="error", message="db down",
                   event_id="ev-4", error__type="ConnectionError", kubernetes__namespace="auth",
                   http__response__status_code=500, url__path="/api/login",
                   event__duration=5_000_000),
        seed.event(at(20), service="order-service", level="error", message="payment timeout again",
                   event_id="ev-5", error__type="TimeoutError", kubernetes__namespace="shop",
                   kubernetes__pod__name="order-1"),
        seed.event(at(10), service="user-service", message="login ok", event_id="ev-6",
                   kubernetes__namespace="auth"),
    ]  # fmt: skip


def _alerts() -> list[dict[str, Any]]:
    def alert(minutes: int, rule: str, status: str) -> dict[str, Any]:
        at = (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        first = (NOW - timedelta(minutes=51)).isoformat().replace("+00:00", "Z")
        return {"@timestamp": at, "created_at": at, "id": uuid.uuid4().hex, "rule": rule,
                "key": "all", "dedup_key": rule, "status": status, "severity": "error",
                "count": 2, "first_event_time": first, "last_event_time": at,
                "search_query": 'error.type:"TimeoutError"'}  # fmt: skip

    return [alert(45, "payment-timeouts", "firing"), alert(25, "db-errors", "firing"),
            alert(15, "db-errors", "resolved")]  # fmt: skip


@pytest.fixture(scope="module")
def console(settings: Settings) -> Iterator[tuple[str, UiConfig]]:
    client = OpenSearch(hosts=[settings.opensearch_url], timeout=60)
    topic = f"test-silences-{uuid.uuid4().hex[:8]}"
    with seed.installed(client, seed.new_streams()) as streams:
        seed.index_logs(client, streams, _events())
        seed.bulk(client, _alerts(), lambda _: streams.alerts)
        dead = {"@timestamp": (NOW - timedelta(minutes=5)).isoformat(),
                "deadletter.stage": "normalize", "deadletter.reason": "invalid json"}  # fmt: skip
        seed.bulk(client, [dead], lambda _: streams.deadletter)
        client.indices.refresh(index=f"{streams.alerts},{streams.deadletter}")
        config = UiConfig(
            logs_pattern=streams.logs,
            alerts_pattern=streams.alerts + "*",
            deadletter_pattern=streams.deadletter + "*",
            silences_topic=topic,
        )
        try:
            with running_console(settings, config) as url:
                yield url, config
        finally:
            asyncio.run(services.delete_topics(settings.kafka_bootstrap, [topic], None))
            client.close()


def _ids(browser: webdriver.Chrome, table: str = "results") -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr.event")
    return [str(r.get_attribute("data-id")) for r in rows]


def _cells(row: WebElement) -> list[str]:
    return [td.text for td in row.find_elements(By.TAG_NAME, "td")]


def _not_blank(path: Path) -> None:
    image = png.decode(path.read_bytes())
    assert image.width == 1280
    assert len(image.colours()) > 8  # text, charts and borders, not an empty page


def test_explore_typed_query_shows_exactly_the_matching_rows(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url, _ = console
    browser.get(url + "/?since=2h")
    assert _ids(browser) == ["ev-6", "ev-5", "ev-4", "ev-3", "ev-2", "ev-1"]
    bars = browser.find_elements(By.CSS_SELECTOR, "#histogram svg rect[data-count]")
    assert sum(int(str(b.get_attribute("data-count"))) for b in bars) == 6
    tops = {
        t.get_attribute("data-field"): [a.text for a in t.find_elements(By.CSS_SELECTOR, "li a")]
        for t in browser.find_elements(By.CSS_SELECTOR, "#tops .top")
    }
    assert tops == {
        "service.name": ["order-service", "user-service"],
        "log.level": ["error", "info", "warn"],
        "kubernetes.namespace": ["auth", "shop"],
        "error.type": ["TimeoutError", "ConnectionError"],
    }
    _not_blank(screenshot(browser, tmp_path, "explore"))
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map((r) => r.name)"
    )
    assert sorted(resources) == [url + "/static/app.css", url + "/static/app.js"]

    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "q"
    box.send_keys('timeout AND service.name:"order-service"' + Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda b: "q=timeout" in b.current_url)
    assert _ids(browser) == ["ev-5", "ev-1"]
    assert "since=2h" in browser.current_url

    # A top value is one click from a filter; the URL carries the whole search.
    browser.get(url + "/?since=2h")
    browser.find_element(By.LINK_TEXT, "ConnectionError").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "ConnectionError" in b.current_url)
    assert _ids(browser) == ["ev-4"]


def test_json_context_and_trace_pivot(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url, _ = console
    browser.get(url + "/?q=" + "payment&since=2h")
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-id='ev-1']")
    row.find_element(By.TAG_NAME, "summary").click()
    assert '"error.type": "TimeoutError"' in row.find_element(By.CSS_SELECTOR, "pre.json").text
    row.find_element(By.CSS_SELECTOR, "a.trace").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "trace=trace-1" in b.current_url)
    assert _ids(browser) == ["ev-1", "ev-2"]  # the whole trace, oldest first

    browser.get(url + "/context?id=ev-2&n=5")
    assert _ids(browser, "context") == ["ev-1", "ev-2", "ev-5"]  # same service and pod
    focus = browser.find_element(By.CSS_SELECTOR, "#context tr.focus")
    assert focus.get_attribute("data-id") == "ev-2"
    _not_blank(screenshot(browser, tmp_path, "context"))


@pytest.mark.parametrize(
    "dashboard", ["bitacora-dash-operations", "bitacora-dash-service", "bitacora-dash-weekly"]
)
def test_every_dashboard_panel_draws_data(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path, dashboard: str
) -> None:
    url, _ = console
    browser.get(f"{url}/dashboards/{dashboard}?since=24h")
    panels = browser.find_elements(By.CSS_SELECTOR, "section.panel")
    assert panels
    points = {
        p.get_attribute("data-panel"): int(str(p.get_attribute("data-points"))) for p in panels
    }
    assert all(n > 0 for n in points.values()), points
    assert not browser.find_elements(By.CSS_SELECTOR, "p.empty")
    _not_blank(screenshot(browser, tmp_path, dashboard))


def test_dashboard_list_and_service_filter(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url, _ = console
    browser.get(url + "/dashboards")
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "ul.dashboards a")]
    assert titles == ["Operations overview", "Service detail", "Weekly review", "Health checks"]
    _not_blank(screenshot(browser, tmp_path, "dashboards"))
    browser.get(url + "/dashboards/bitacora-dash-health")
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.panel")) == 2
    start = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    browser.get(f"{url}/dashboards/bitacora-dash-operations?from={start}&to=now")
    panels = browser.find_elements(By.CSS_SELECTOR, "section.panel")
    assert [int(str(p.get_attribute("data-points"))) > 0 for p in panels] == [True] * 7
    browser.get(f"{url}/dashboards/bitacora-dash-operations?from=2020-01-01&to=2020-01-02")
    assert len(browser.find_elements(By.CSS_SELECTOR, "p.empty")) == 7
    browser.get(url + "/dashboards/bitacora-dash-service?since=24h&service=user-service")
    table = browser.find_element(
        By.CSS_SELECTOR, "[data-panel='bitacora-vis-top-error-types'] table"
    )
    cells = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody td")]
    assert cells == ["ConnectionError", "user-service", "1"]


def test_alert_history_and_silence_create_delete(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path, settings: Settings
) -> None:
    url, config = console
    browser.get(url + "/alerts")
    rows = browser.find_elements(By.CSS_SELECTOR, "#open-alerts tbody tr")
    open_rules = [_cells(r)[1] for r in rows]
    assert open_rules == ["payment-timeouts"]  # db-errors was resolved since
    rows = browser.find_elements(By.CSS_SELECTOR, "#alert-history tbody tr")
    history = [_cells(r)[1] for r in rows]
    assert history == ["resolved", "firing", "firing"]
    browser.find_element(By.CSS_SELECTOR, "#open-alerts a.events-link").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "TimeoutError" in b.current_url)
    assert _ids(browser) == ["ev-1"]  # the alert's query over its events' span, not ev-5

    browser.get(url + "/alerts")
    form = browser.find_element(By.CSS_SELECTOR, "form.silence")
    form.find_element(By.NAME, "rule").send_keys("payment-timeouts")
    form.find_element(By.NAME, "comment").send_keys("deploy in progress")
    form.find_element(By.ID, "create-silence").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "silenced" in b.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#silences tbody tr[data-silence]")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == ["payment-timeouts"]
    stored = asyncio.run(read_silences(settings, config.silences_topic))
    (silence,) = stored.values()
    assert (silence["rule"], silence["key"], silence["comment"]) == (
        "payment-timeouts",
        None,
        "deploy in progress",
    )
    assert 7190 < silence["until"] - time.time() <= 7200
    _not_blank(screenshot(browser, tmp_path, "alerts"))

    rows[0].find_element(By.CSS_SELECTOR, "button.delete").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "removed" in b.current_url)
    assert not browser.find_elements(By.CSS_SELECTOR, "#silences tbody tr[data-silence]")
    assert asyncio.run(read_silences(settings, config.silences_topic)) == {}


def test_weekly_report_is_reachable(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url, _ = console
    browser.get(url + "/")
    browser.find_element(By.LINK_TEXT, "Weekly report").click()
    WebDriverWait(browser, 120).until(lambda b: "/report" in b.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Weekly review ")
    year, week, _ = (NOW - timedelta(minutes=30)).isocalendar()  # the week of ev-4
    label = f"{year}-W{week:02d}"
    browser.get(f"{url}/report?week={label}")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Weekly review {label}"
    assert "order-service ev-1: payment timeout" in browser.page_source  # a pattern's sample
    _not_blank(screenshot(browser, tmp_path, "report"))


async def test_live_tail_shows_events_sent_to_the_collector_once(
    pipeline: Pipeline, browser: webdriver.Chrome, settings: Settings, tmp_path: Path
) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    service = f"{pipeline.prefix}-tail-service"
    marker = f"tailmark{pipeline.rid}"
    config = UiConfig(logs_pattern=pipeline.pattern)
    with running_console(settings, config) as url:
        browser.get(f"{url}/?q={marker}&since=15m")
        assert _ids(browser) == []
        browser.find_element(By.ID, "live").click()
        WebDriverWait(browser, WAIT_S).until(
            lambda b: b.find_element(By.ID, "live-status").text == "live"
        )
        sender = FluentSender(service, port=pipeline.forward_port, nanosecond_precision=True)
        try:
            assert sender.emit("app", {"level": "ERROR", "message": f"{marker} first"})
            # The processor joins its group on its own time: the first event waits for it.
            WebDriverWait(browser, 120).until(lambda b: len(_ids(b)) == 1)
            assert sender.emit("app", {"level": "INFO", "message": f"{marker} second"})
            assert sender.emit("app", {"level": "INFO", "message": "not matching the query"})
            WebDriverWait(browser, WAIT_S).until(lambda b: len(_ids(b)) == 2)
        finally:
            sender.close()
        summaries = [
            s.text for s in browser.find_elements(By.CSS_SELECTOR, "#results tbody summary")
        ]
        assert summaries == [f"{marker} second", f"{marker} first"]
        assert len(set(_ids(browser))) == 2
        assert browser.find_element(By.ID, "shown").text == "2"
        _not_blank(screenshot(browser, tmp_path, "live-tail"))


def test_dark_scheme_is_followed(
    console: tuple[str, UiConfig], browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url, _ = console
    features = [{"name": "prefers-color-scheme", "value": "dark"}]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})
    try:
        browser.get(url + "/?since=2h")
        image = png.decode(screenshot(browser, tmp_path, "explore-dark").read_bytes())
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    background = png.hex_rgb("#0f172a")
    assert image.rows[-1][-1] == background
    assert image.colours()[background] > image.width * image.height // 2
    assert _ids(browser) == ["ev-6", "ev-5", "ev-4", "ev-3", "ev-2", "ev-1"]


def test_alert_links_made_for_discover_open_in_explore(
    console: tuple[str, UiConfig], browser: webdriver.Chrome
) -> None:
    url, _ = console
    start, end = (
        (NOW - timedelta(minutes=55)).timestamp(),
        (NOW - timedelta(minutes=40)).timestamp(),
    )
    browser.get(discover_url(url, 'error.type:"TimeoutError"', start, end))
    WebDriverWait(browser, WAIT_S).until(lambda b: "from=" in b.current_url)
    assert _ids(browser) == ["ev-1"]  # ev-5 matches the query but is outside the range
    assert browser.find_element(By.ID, "q").get_attribute("value") == 'error.type:"TimeoutError"'
