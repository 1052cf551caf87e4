"""``bitacora retention status|apply``: the data streams' backing indices and their fate.

``status`` lists every backing index of each ``logs-*`` data stream with its age, size,
document count and ISM state (when the index-management plugin answers). ``apply`` is a
thin front of ``bitacora.retention.apply_retention`` for clusters without ISM.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from bitacora import schema

NO_ISM_NOTE = "ISM not installed: enforced by `bitacora retention apply`"


@dataclass(frozen=True)
class IndexRow:
    """One backing index as ``status`` shows it."""

    stream: str
    index: str
    write_index: bool
    created: datetime | None
    docs: int
    size_bytes: int
    ism: str | None


def human_bytes(size: int) -> str:
    """``1536`` → ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_age(age: timedelta) -> str:
    """``timedelta(hours=50)`` → ``2d 2h``; under an hour in minutes."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)}m"
    hours, days = minutes // 60, minutes // 1440
    return f"{days}d {hours % 24}h" if days else f"{hours}h {minutes % 60}m"


def ism_state(explain: dict[str, Any] | None) -> str | None:
    """``policy p: hot (rollover)`` from one index of ``_plugins/_ism/explain``."""
    if explain is None:
        return None
    policy = explain.get("policy_id") or explain.get(
        "index.plugins.index_state_management.policy_id"
    )
    if not policy:
        return "not managed"
    state = (explain.get("state") or {}).get("name", "initializing")
    action = explain.get("action") or {}
    suffix = (
        f" ({action['name']}{', failed' if action.get('failed') else ''})"
        if action.get("name")
        else ""
    )
    return f"policy {policy}: {state}{suffix}"


def build_rows(
    streams: list[dict[str, Any]],
    cat: list[dict[str, Any]],
    explain: dict[str, Any] | None,
) -> list[IndexRow]:
    """Rows from ``GET _data_stream``, ``_cat/indices`` (bytes=b) and the ISM explain answer."""
    by_name = {row["index"]: row for row in cat}
    rows = []
    for stream in sorted(streams, key=lambda s: s["name"]):
        names = [entry["index_name"] for entry in stream["indices"]]
        for name in names:
            info = by_name.get(name, {})
            created = info.get("creation.date")
            rows.append(
                IndexRow(
                    stream=stream["name"],
                    index=name,
                    write_index=name == names[-1],
                    created=datetime.fromtimestamp(int(created) / 1000, UTC) if created else None,
                    docs=int(info.get("docs.count") or 0),
                    size_bytes=int(info.get("store.size") or 0),
                    ism=ism_state(explain.get(name, {})) if explain is not None else None,
                )
            )
    return rows


def format_rows(rows: list[IndexRow], now: datetime, ism_installed: bool) -> list[str]:
    """An aligned table, one line per backing index, and the ISM note when it is absent."""
    header = ["STREAM", "BACKING INDEX", "AGE", "SIZE", "DOCS", "ISM"]
    table = [header]
    for row in rows:
        age = human_age(now - row.created) if row.created else "?"
        index = row.index + (" (write)" if row.write_index else "")
        ism = row.ism if ism_installed and row.ism else "-"
        table.append([row.stream, index, age, human_bytes(row.size_bytes), str(row.docs), ism])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    right = {2, 3, 4}
    lines = [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]
    if not rows:
        lines = ["no data streams match"]
    if not ism_installed:
        lines.append(NO_ISM_NOTE)
    return lines


def gather(client: Any, pattern: str) -> tuple[list[IndexRow], bool]:
    """Query the cluster: (rows, whether ISM answers)."""
    from opensearchpy import NotFoundError

    from bitacora.retention import ism_available

    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        streams = []
    names = [entry["index_name"] for s in streams for entry in s["indices"]]
    installed = ism_available(client)
    if not names:
        return [], installed
    joined = ",".join(names)
    cat = client.cat.indices(
        index=joined, format="json", bytes="b", h="index,docs.count,store.size,creation.date"
    )
    explain = None
    if installed:
        explain = client.transport.perform_request("GET", f"/_plugins/_ism/explain/{joined}")
    return build_rows(streams, cat, explain), installed


@click.group("retention")
def retention() -> None:
    """How long logs are kept: rollover and deletion of the data streams' backing indices."""


@retention.command("status")
@click.option(
    "--pattern", default=schema.LOGS_PATTERN, show_default=True, help="Data streams to show."
)
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def status(pattern: str, output: str) -> None:
    """Each data stream's backing indices: age, size, documents and ISM state."""
    from opensearchpy import exceptions as os_exc

    from bitacora.search.client import make_client
    from bitacora.search.errors import CONNECTION_HINT
    from bitacora.settings import Settings

    settings = Settings()
    client = make_client(settings)
    try:
        rows, installed = gather(client, pattern)
    except os_exc.ConnectionError:
        click.echo(
            f"error: cannot reach OpenSearch at {settings.opensearch_url}: {CONNECTION_HINT}",
            err=True,
        )
        sys.exit(1)
    finally:
        client.close()
    now = datetime.now(UTC)
    if output == "json":
        payload = {
            "ism_installed": installed,
            "note": None if installed else NO_ISM_NOTE,
            "indices": [
                {**asdict(r), "created": r.created.isoformat() if r.created else None} for r in rows
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    for line in format_rows(rows, now, installed):
        click.echo(line)


@retention.command("apply")
@click.option("--pattern", default=schema.LOGS_PATTERN, show_default=True)
def apply(pattern: str) -> None:
    """Roll over and delete old backing indices now (for clusters without ISM)."""
    from bitacora.retention import apply_retention
    from bitacora.search.client import make_client
    from bitacora.settings import Settings

    settings = Settings()
    client = make_client(settings)
    try:
        report = apply_retention(
            client,
            pattern,
            timedelta(days=settings.retention_days),
            max_age=settings.rollover_max_age,
            max_size=settings.rollover_max_size,
        )
    finally:
        client.close()
    for stream, new_index in sorted(report.rolled_over.items()):
        click.echo(f"rolled over {stream} → {new_index}")
    for name in report.deleted:
        click.echo(f"deleted {name}")
    click.echo(f"{len(report.kept)} data streams checked, {len(report.deleted)} indices deleted")


COMMANDS: list[click.Command] = [retention]
