"""Flag checks of `bitacora search` and `bitacora report weekly` that fail before any request."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bitacora.cli import main

# Nothing listens on port 9: a command that got past its flag checks would exit 3, not 2.
ENV = {"BITACORA_OPENSEARCH_URL": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "1h", "--from", "now-2h"], "use --since or --from, not both"),
        (["--tail", "--count"], "--tail and --count cannot be combined"),
        (["--count", "--histogram"], "--count and --histogram cannot be combined"),
        (["--since", "yesterday"], "invalid duration 'yesterday'"),
        (["--from", "tomorrow"], "bad time 'tomorrow'"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--level", "warning"], "'warning' is not one of"),
        (["--limit", "-1"], "-1 is not in the range x>=0"),
        (["-o", "yaml"], "'yaml' is not one of 'table', 'jsonl', 'raw'"),
    ],
)
def test_bad_flags_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["search", *args], env=ENV)
    assert result.exit_code == 2
    assert message in result.output


def test_good_flags_reach_opensearch() -> None:
    result = CliRunner().invoke(main, ["search", "--since", "15m", "--level", "warn", "x"], env=ENV)
    assert result.exit_code == 3
    assert result.output == (
        "error: cannot reach OpenSearch at http://127.0.0.1:9: is OpenSearch running? start the "
        "local stack with `bitacora stack up` or point BITACORA_OPENSEARCH_URL at your cluster\n"
    )


def test_report_week_flag() -> None:
    result = CliRunner().invoke(main, ["report", "weekly", "--week", "48"], env=ENV)
    assert result.exit_code == 2
    assert "expected an ISO week like 2026-W48" in result.output
    down = CliRunner().invoke(
        main, ["report", "weekly", "--week", "2026-W48", "--out-file", "-"], env=ENV
    )
    assert down.exit_code == 3
    assert "bitacora stack up" in down.output
