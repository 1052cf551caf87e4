"""The results table of the fault suite in ``docs/reliability.md``.

Each test is named ``test_NN_...`` after its RELIABILITY.md scenario and prints one line
``scenario NN: <numbers>``; after a run the table between the markers is updated with
those outcomes (scenarios not run keep their last row).
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SCENARIOS = {
    1: "kill -9 the collector mid-chunk, clients resend",
    2: "kill -9 a processor between bulk and offset commit",
    3: "Kafka stopped 60 s under load",
    4: "OpenSearch stopped 2+ min under load",
    5: "bulk items rejected with 429",
    6: "field type conflict inside a batch",
    7: "5,000 keys, 50 levels, a 10 MB field",
    8: "malformed msgpack/JSON fuzzing",
    9: "oversized frame/body, gzip bombs",
    10: "connection flood and slow clients",
    11: "wrong shared key, bad token, plaintext to TLS",
    12: "invalid UTF-8, NUL bytes",
    13: "planted secrets",
    14: "template injection, failing destination",
    15: "rule engine restarted mid-window",
}
HEADER = "| # | scenario | result | numbers | date |\n|---|---|---|---|---|"


def scenario_of(test_name: str) -> int | None:
    """``test_08_malformed...`` → 8."""
    match = re.match(r"test_(\d\d)_", test_name)
    return int(match.group(1)) if match else None


def numbers_from(stdout: str, scenario: int) -> str:
    """The ``scenario N: ...`` line a test printed, without the prefix."""
    for line in stdout.splitlines():
        match = re.match(rf"scenario {scenario}: (.*)", line.strip())
        if match:
            return match.group(1).replace("|", "/")
    return ""


def _parse(text: str) -> dict[int, str]:
    rows: dict[int, str] = {}
    for line in text.splitlines():
        match = re.match(r"\| (\d+) \|", line)
        if match:
            rows[int(match.group(1))] = line
    return rows


def update(outcomes: dict[int, tuple[str, str, str]]) -> None:
    """Merge (result, numbers, date) per scenario into the table of ``docs/reliability.md``."""
    text = DOC.read_text() if DOC.exists() else f"# Reliability results\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    table, tail = rest.split(END, 1)
    rows = _parse(table)
    for number, (result, numbers, date) in outcomes.items():
        rows[number] = (
            f"| {number} | {SCENARIOS.get(number, '?')} | {result} | {numbers} | {date} |"
        )
    for number, name in SCENARIOS.items():
        rows.setdefault(number, f"| {number} | {name} | not run yet | | |")
    body = "\n".join(rows[n] for n in sorted(rows))
    DOC.write_text(f"{head}{START}\n{HEADER}\n{body}\n{END}{tail}")
