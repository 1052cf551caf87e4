"""`bitacora retention status` on the real stack: backing indices after a rollover."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.retention import NO_ISM_NOTE, ism_available
from tests.helpers import seed

pytestmark = pytest.mark.stack


def test_status_lists_backing_indices(search_client: OpenSearch, opensearch_url: str) -> None:
    with seed.installed(search_client, seed.new_streams()) as streams:
        now = datetime.now(UTC)
        seed.index_logs(search_client, streams, [seed.event(now, service="ret") for _ in range(7)])
        stream = streams.logs_stream("ret")
        search_client.indices.rollover(alias=stream)
        seed.index_logs(search_client, streams, [seed.event(now, service="ret") for _ in range(2)])
        env = {"BITACORA_OPENSEARCH_URL": opensearch_url}
        result = CliRunner().invoke(
            main, ["retention", "status", "--pattern", streams.logs], env=env
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        installed = ism_available(search_client)
        assert lines[0].split() == ["STREAM", "BACKING", "INDEX", "AGE", "SIZE", "DOCS", "ISM"]
        first = rf"^{stream}  \.ds-{stream}-000001 +\d+m +[\d.]+ (B|KiB) +7  "
        second = rf"^{stream}  \.ds-{stream}-000002 \(write\) +\d+m +[\d.]+ (B|KiB) +2  "
        assert re.match(first, lines[1]), lines[1]
        assert re.match(second, lines[2]), lines[2]
        if installed:
            assert len(lines) == 3
        else:
            assert lines[1].endswith("  -")
            assert lines[3:] == [NO_ISM_NOTE]
        as_json = CliRunner().invoke(
            main, ["retention", "status", "--pattern", streams.logs, "-o", "json"], env=env
        )
        payload = json.loads(as_json.output)
        assert payload["ism_installed"] is installed
        assert [(i["index"], i["docs"], i["write_index"]) for i in payload["indices"]] == [
            (f".ds-{stream}-000001", 7, False),
            (f".ds-{stream}-000002", 2, True),
        ]


def test_status_unreachable() -> None:
    result = CliRunner().invoke(
        main, ["retention", "status"], env={"BITACORA_OPENSEARCH_URL": "http://127.0.0.1:9"}
    )
    assert result.exit_code == 3
    assert "bitacora stack up" in result.output


def test_apply_rolls_over_by_the_settings(search_client: OpenSearch, opensearch_url: str) -> None:
    with seed.installed(search_client, seed.new_streams()) as streams:
        seed.index_logs(search_client, streams, [seed.event(datetime.now(UTC), service="ret")])
        stream = streams.logs_stream("ret")
        env = {"BITACORA_OPENSEARCH_URL": opensearch_url, "BITACORA_ROLLOVER_MAX_AGE": "1d"}
        young = CliRunner().invoke(main, ["retention", "apply", "--pattern", streams.logs], env=env)
        assert young.exit_code == 0, young.output
        assert young.output == "1 data streams checked, 0 indices deleted\n"
        env["BITACORA_ROLLOVER_MAX_AGE"] = "0s"
        due = CliRunner().invoke(main, ["retention", "apply", "--pattern", streams.logs], env=env)
        assert due.exit_code == 0, due.output
        assert due.output == (
            f"rolled over {stream} → .ds-{stream}-000002\n"
            "1 data streams checked, 0 indices deleted\n"
        )
