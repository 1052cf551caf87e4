"""``bitacora rules test`` flags from elastalert-test-rule, and ``bitacora rules migrate``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bitacora.cli import main

EXAMPLES = Path(__file__).parents[2] / "data" / "elastalert2" / "examples"
RULE = """\
name: raw-burst
type: frequency
num_events: 2
timeframe: {minutes: 5}
query_key: username
timestamp_field: date
filter:
  - term: {status: denied}
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rule = tmp_path / "r.yaml"
    rule.write_text(RULE)
    data = tmp_path / "events.json"
    docs = [
        {"date": f"2026-11-15T08:0{i}:00Z", "username": "bob", "status": s}
        for i, s in enumerate(["denied", "ok", "denied", "denied"])
    ]
    data.write_text(json.dumps(docs))
    return rule, data


def test_json_array_data_and_timestamp_field(tmp_path: Path) -> None:
    rule, data = _files(tmp_path)
    result = CliRunner().invoke(main, ["rules", "test", str(rule), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-11-15T08:02:00.000Z  firing   raw-burst  key=bob  count=2  "
        "first=2026-11-15T08:00:00.000Z",
        "1 alert(s) from 4 event(s)",
    ]


def test_count_only_and_schema_only(tmp_path: Path) -> None:
    rule, data = _files(tmp_path)
    count = CliRunner().invoke(
        main, ["rules", "test", str(rule), "--data", str(data), "--count-only"]
    )
    assert (count.exit_code, count.output) == (0, "3 event(s) match the filter\n")
    schema = CliRunner().invoke(main, ["rules", "test", str(rule), "--schema-only"])
    assert (schema.exit_code, schema.output) == (0, "ok  raw-burst  frequency\n")


def test_progress_on_long_replays(tmp_path: Path) -> None:
    rule = tmp_path / "r.yaml"
    rule.write_text(RULE)
    data = tmp_path / "events.jsonl"
    line = json.dumps({"date": "2026-11-15T08:00:00Z", "username": "bob", "status": "ok"})
    data.write_text((line + "\n") * 20_000)
    result = CliRunner().invoke(
        main, ["rules", "test", str(rule), "--data", str(data), "--progress"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "\r10000 events read…\r20000 events read…\n"


def test_bad_start_says_what_to_give(tmp_path: Path) -> None:
    rule, _ = _files(tmp_path)
    result = CliRunner().invoke(main, ["rules", "test", str(rule), "--start", "yesterday"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Invalid value for --start: 'yesterday': give a time like 2026-11-15T08:00:00 "
        "(UTC) or RFC 3339 (see `main rules test --help`)\n"
    )


def test_migrate_reports_each_file_and_writes_only_with_write(tmp_path: Path) -> None:
    source = tmp_path / "ea2"
    source.mkdir()
    for name in (
        "example_frequency.yaml",
        "example_iris_alert_any.yaml",
        "example_thehive_frequency.yaml",
    ):
        (source / name).write_text((EXAMPLES / name).read_text())
    config = tmp_path / "config.yaml"
    config.write_text(
        "rules_folder: x\nes_host: h\nrun_every: {minutes: 1}\nbuffer_time: {minutes: 15}\n"
    )
    result = CliRunner().invoke(main, ["rules", "migrate", str(source), "--config", str(config)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "config: ElastAlert2 options ignored: es_host, run_every"
    assert lines[1] == f"loads    {source / 'example_frequency.yaml'}"
    assert "  differs: field 'some_field' is read as named, else from labels.some_field" in lines
    assert f"warned   {source / 'example_iris_alert_any.yaml'}" in lines
    assert f"refused  {source / 'example_thehive_frequency.yaml'}" in lines
    assert lines[-1] == "3 file(s): 1 load, 1 load with warnings, 1 refused"
    assert not (tmp_path / "out").exists()
    written = CliRunner().invoke(
        main, ["rules", "migrate", str(source), "--write", str(tmp_path / "out")]
    )
    assert written.output.splitlines()[-1].endswith(f"1 refused; written to {tmp_path / 'out'}")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "example_frequency.yaml",
        "example_iris_alert_any.yaml",
    ]
    again = CliRunner().invoke(main, ["rules", "validate", str(tmp_path / "out")])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == "2 rule(s) valid"
