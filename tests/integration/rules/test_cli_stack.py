"""``bitacora rules test --since`` over OpenSearch, ``bitacora alerts`` over Kafka/OpenSearch."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.rules.alerts import build_alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.index import AlertIndexer
from bitacora.rules.types import Match
from bitacora.settings import Settings
from tests.helpers import seed


@pytest.fixture
def env(kafka_bootstrap: str, opensearch_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITACORA_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("BITACORA_OPENSEARCH_URL", opensearch_url)


def test_rules_test_replays_stored_logs(env: None, opensearch_url: str, tmp_path: Path) -> None:
    client = OpenSearch(hosts=[opensearch_url])
    service = f"rt-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    docs = [
        seed.event(now - timedelta(minutes=30, seconds=-i), service=service, level="error")
        for i in range(25)
    ]
    docs += [seed.event(now - timedelta(minutes=20), service=service, level="info")]
    docs += [
        seed.event(now - timedelta(days=2, seconds=-i), service=service, level="error")
        for i in range(25)
    ]
    rule = tmp_path / "burst.yaml"
    rule.write_text(
        "name: replay-burst\ntype: frequency\nnum_events: 10\ntimeframe: 1m\n"
        "query_key: service.name\nrealert: 1h\nfilter:\n"
        f"  - term: {{service.name: {service}}}\n  - term: {{log.level: error}}\n"
    )
    with seed.installed(client, seed.new_streams()) as streams:
        seed.index_logs(client, streams, docs)
        result = CliRunner().invoke(
            main, ["rules", "test", str(rule), "--since", "1h", "-o", "jsonl"]
        )
        assert result.exit_code == 0, result.output
        alerts = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(a["status"], a["key"], a["count"]) for a in alerts] == [
            ("firing", service, 10),
            ("resolved", service, 5),  # the 5 events counted since the last match
        ]
        assert result.stderr.strip() == "2 alert(s) from 25 event(s)"
        every = CliRunner().invoke(
            main, ["rules", "test", str(rule), "--since", "3d", "--no-realert"]
        )
        assert every.exit_code == 0, every.output
        assert every.stdout.splitlines()[-1] == "6 alert(s) from 50 event(s)"


def test_silence_commands_on_real_kafka(env: None, kafka_bootstrap: str) -> None:
    topic = f"test-silences-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    try:
        made = runner.invoke(
            main,
            [
                "alerts",
                "silence",
                "error-burst",
                "--key",
                "svc-a",
                "--for",
                "2h",
                "--comment",
                "deploy",
                "--topic",
                topic,
            ],
        )
        assert made.exit_code == 0, made.output
        silence_id = made.stdout.strip().rsplit("id=", 1)[1]
        other = runner.invoke(
            main, ["alerts", "silence", "service-silent", "--for", "30m", "--topic", topic]
        )
        assert other.exit_code == 0, other.output
        listed = runner.invoke(main, ["alerts", "silences", "-o", "jsonl", "--topic", topic])
        records = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(r["rule"], r["key"], r["comment"]) for r in records] == [
            ("service-silent", None, ""),
            ("error-burst", "svc-a", "deploy"),
        ]
        assert abs(records[1]["until"] - (time.time() + 7200)) < 60
        removed = runner.invoke(main, ["alerts", "unsilence", silence_id, "--topic", topic])
        assert removed.exit_code == 0
        listed = runner.invoke(main, ["alerts", "silences", "--topic", topic])
        assert "error-burst" not in listed.stdout
        assert "service-silent" in listed.stdout
        bad = runner.invoke(main, ["alerts", "silence", "x", "--for", "soon", "--topic", topic])
        assert bad.exit_code == 2
        unknown = runner.invoke(
            main, ["alerts", "silence", "no-such-rule", "--for", "1m", "--topic", topic]
        )
        assert unknown.exit_code == 0
        assert unknown.stderr == "warning: no rule named 'no-such-rule' in the configured rules\n"
    finally:

        async def drop() -> None:
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([topic])
            finally:
                await admin.close()

        asyncio.run(drop())


def test_alerts_list_reads_indexed_alerts(env: None, opensearch_url: str) -> None:
    client = OpenSearch(hosts=[opensearch_url])
    rule = Rule(name="listed-rule", type="any")
    match = Match(
        "listed-rule", "svc-x", "firing", {"service.name": "svc-x"}, 4, time.time() - 5, time.time()
    )
    alert = build_alert(match, rule, "http://dash")
    with seed.installed(client, seed.new_streams()) as streams:

        async def put() -> None:
            async with aiohttp.ClientSession() as session:
                doc = alert.to_document()
                doc["notify"] = {"action": "send", "sent": ["post"], "failed": {}, "silence": None}
                await AlertIndexer(
                    Settings(opensearch_url=opensearch_url), session, streams.alerts
                ).index(alert.id, doc)
                # Indexing twice is harmless (409 counts as done).
                await AlertIndexer(
                    Settings(opensearch_url=opensearch_url), session, streams.alerts
                ).index(alert.id, doc)

        asyncio.run(put())
        client.indices.refresh(index=streams.alerts)
        result = CliRunner().invoke(
            main, ["alerts", "list", "--since", "1h", "--index", streams.alerts]
        )
        assert result.exit_code == 0, result.output
        [line] = result.stdout.splitlines()
        assert line.endswith("firing   send         listed-rule  key=svc-x  count=4")
