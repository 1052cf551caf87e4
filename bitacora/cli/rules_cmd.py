"""``bitacora rules validate|test``: check rule files; replay stored logs through a rule.

``test`` runs the same engine code as the detect agent (``rules.replay.run_rules_over``)
over events from OpenSearch (``logs-*``, oldest first, paged with ``search_after``) or
from a JSON-lines file, and prints the alerts the rule would have sent.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from bitacora import schema
from bitacora.errors import RuleError
from bitacora.settings import Settings

PAGE_SIZE = 2000


def _rule_paths(paths: tuple[Path, ...], settings: Settings) -> list[Path]:
    from bitacora.rules.loader import rules_dir_paths

    return list(paths) or rules_dir_paths(settings.rules_dir)


@click.group("rules")
def rules_group() -> None:
    """Check alert rules and replay stored logs through them."""


@rules_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: BITACORA_RULES_DIR, else the shipped rules).

    Every problem is printed as FILE:LINE: key 'KEY': what is wrong. Exit 1 on errors.
    Warnings (ElastAlert2 options Bitácora ignores, alerters it lacks) go to stderr.
    """
    from bitacora.rules.loader import load_rules

    try:
        loaded = load_rules(_rule_paths(paths, Settings()))
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for item in loaded:
        click.echo(f"ok  {item.rule.name:<32} {item.rule.type:<18} {item.path}")
        for warning in item.warnings:
            click.echo(f"warning: {warning}", err=True)
    click.echo(f"{len(loaded)} rule(s) valid")


@rules_group.command("migrate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="ElastAlert2's config.yaml: its rule options become defaults of every rule.",
)
@click.option(
    "--write",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the converted rules that load into this folder.",
)
def migrate(folder: Path, config_path: Path | None, out: Path | None) -> None:
    """Report what each ElastAlert2 rule file in FOLDER becomes in Bitácora.

    Each file loads, loads with warnings (ignored options, alerters Bitácora lacks) or
    is refused; "differs:" lines say where the rule behaves differently on the stream.
    Exit 1 when a file is refused.
    """
    import yaml

    from bitacora.rules.migrate import migrate_folder

    config: dict[str, Any] = {}
    if config_path is not None:
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            click.echo(f"error: {config_path}: cannot read the config: {exc}", err=True)
            sys.exit(2)
        config = loaded if isinstance(loaded, dict) else {}
    results, ignored = migrate_folder(folder, config)
    if ignored:
        click.echo(f"config: ElastAlert2 options ignored: {', '.join(ignored)}")
    for result in results:
        click.echo(f"{result.status:<8} {result.path}")
        for message in result.messages:
            click.echo(f"  {message}")
        for difference in result.differences:
            click.echo(f"  differs: {difference}")
        if out is not None and result.converted is not None:
            target = out / result.path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(result.converted, encoding="utf-8")
    counts = {
        status: sum(r.status == status for r in results)
        for status in ("loads", "warned", "refused")
    }
    written = f"; written to {out}" if out is not None else ""
    click.echo(
        f"{len(results)} file(s): {counts['loads']} load, {counts['warned']} load with "
        f"warnings, {counts['refused']} refused{written}"
    )
    if counts["refused"]:
        sys.exit(1)


def _find_rule(spec: str, settings: Settings) -> Any:
    from bitacora.rules.loader import load_rule_file, load_rules

    path = Path(spec)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_rule_file(path)
    for item in load_rules(_rule_paths((), settings)):
        if item.rule.name == spec:
            return item.rule
    raise RuleError(f"no rule named {spec!r} (give a rule name or a .yaml path)")


def _data_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as probe:
        head = probe.read(4096).lstrip()
    if head.startswith("["):
        # elastalert-test-rule's --data: one JSON array of documents.
        try:
            docs = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RuleError(f"{path}: not a JSON array: {exc}") from exc
        for doc in docs:
            yield doc.get("_source", doc) if isinstance(doc, dict) else {}
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as exc:
                raise RuleError(f"{path}:{number}: not a JSON line: {exc}") from exc
            # Accept OpenSearch hits as exported by other tools, too.
            yield doc.get("_source", doc) if isinstance(doc, dict) else {}


def search_filter(clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule's filter as OpenSearch query clauses, to narrow what is fetched.

    Wrappers are unwrapped and doc types dropped. Whole-value clauses on analysed text
    fields are left out: OpenSearch compares them with tokens, the engine with the value,
    so pushing them down could hide events the engine would match (it filters again).
    """
    from bitacora.rules.fields import TEXT_FIELDS

    out = []
    for clause in clauses:
        while "query" in clause and len(clause) == 1 and isinstance(clause["query"], dict):
            clause = clause["query"]
        kind, body = next(iter(clause.items()))
        if kind == "type":
            continue
        whole_value = kind in ("term", "terms", "wildcard", "prefix") and isinstance(body, dict)
        if whole_value and any(name in TEXT_FIELDS for name in body):
            continue
        out.append(clause)
    return out


def stored_events(
    settings: Settings,
    clauses: list[dict[str, Any]],
    start: float,
    end: float,
    index: str = schema.LOGS_PATTERN,
    time_field: str = "@timestamp",
) -> Iterator[dict[str, Any]]:
    """Events in ``index`` matching the filter between ``start`` and ``end``, oldest first.

    The rule's own matcher runs again on every event, so OpenSearch only narrows the
    transfer; paging uses ``search_after`` on (time field, event.id).
    """
    from bitacora.rules.durations import format_timestamp
    from bitacora.search.client import make_client

    client = make_client(settings)
    time_range = {
        "range": {time_field: {"gte": format_timestamp(start), "lt": format_timestamp(end)}}
    }
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        "query": {"bool": {"filter": [*search_filter(clauses), time_range]}},
        "sort": [
            {time_field: "asc"},
            {"event.id": {"order": "asc", "missing": "_last", "unmapped_type": "keyword"}},
        ],
    }
    while True:
        page = client.search(
            index=index,
            body=body,
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield hit["_source"]
        if len(hits) < PAGE_SIZE:
            return
        body["search_after"] = hits[-1]["sort"]


def _rule_index(rule: Any, given: str | None) -> str:
    """Where ``rules test`` reads: --index, else the rule's ``index`` (strftime patterns
    widened to ``*``), else ``logs-*``."""
    import re

    if given:
        return given
    if not rule.index:
        return schema.LOGS_PATTERN
    return (
        re.sub(r"%[a-zA-Z]", "*", rule.index)
        if rule.use_strftime_index or "%" in rule.index
        else rule.index
    )


def _instant(text: str, option: str) -> float:
    from bitacora.rules.durations import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise RuleError(
            f"{option} {text!r}: give a time like 2026-11-15T08:00:00 (UTC) or RFC 3339"
        ) from None


@rules_group.command("test")
@click.argument("rule_spec", metavar="RULE")
@click.option(
    "--since", default="7d", show_default=True, help="Replay this far back: 30m, 24h, 7d."
)
@click.option("--start", help="Replay from this time (YYYY-MM-DDTHH:MM:SS UTC, or RFC 3339).")
@click.option("--end", help="Replay up to this time (default: now).")
@click.option(
    "--index", help="Read events from this index pattern (default: the rule's index, else logs-*)."
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this file (JSON lines, or one JSON array) instead of OpenSearch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each alert as one JSON line.")
@click.option("--no-realert", is_flag=True, help="Show every match, ignoring realert.")
@click.option("--schema-only", is_flag=True, help="Only check the rule file; read no events.")
@click.option(
    "--count-only", is_flag=True, help="Only print how many events the rule's filter selects."
)
@click.option(
    "--alert", "send", is_flag=True, help="Really send the alerts to the rule's alerters."
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show events read so far on stderr (default: when stderr is a terminal).",
)
def test_rule(
    rule_spec: str,
    since: str,
    start: str | None,
    end: str | None,
    index: str | None,
    data: Path | None,
    as_json: bool,
    no_realert: bool,
    schema_only: bool,
    count_only: bool,
    send: bool,
    progress: bool | None,
) -> None:
    """Print the alerts RULE (a name or a .yaml file) would have fired over stored logs.

    Events come from the rule's index (or --index, else logs-*) between --start (or
    --since ago) and --end. A new_term rule first reads terms_window_size of history
    before the start, as ElastAlert2 does, and so needs no warmup.
    """
    from opensearchpy import exceptions as os_exc

    from bitacora.rules.durations import parse_duration, parse_timestamp
    from bitacora.rules.replay import run_rules_over

    settings = Settings()
    try:
        rule = _find_rule(rule_spec, settings)
        if schema_only:
            click.echo(f"ok  {rule.name}  {rule.type}")
            return
        now = time.time()
        until = _instant(end, "--end") if end else now
        since_s = _instant(start, "--start") if start else until - parse_duration(since)
        history: Any = ()
        if data is not None:
            events: Any = _data_events(data)
        else:
            where = _rule_index(rule, index)
            events = stored_events(
                settings, rule.filter, since_s, until, where, rule.timestamp_field
            )
            if rule.type == "new_term":
                # As ElastAlert2: the terms of terms_window_size before the start are
                # known (read from the index), so no warmup is needed.
                history = stored_events(
                    settings,
                    rule.filter,
                    since_s - rule.terms_window_size,
                    since_s,
                    where,
                    rule.timestamp_field,
                )
                rule = rule.model_copy(update={"warmup": 0.0})
        events = _timed(itertools.chain(history, events), rule.timestamp_field)
        show = sys.stderr.isatty() if progress is None else progress
        counted = _Counted(events, show)
        if count_only:
            from bitacora.rules.filters import compile_filters

            selects = compile_filters(rule.filter).match
            click.echo(f"{sum(1 for event in counted if selects(event))} event(s) match the filter")
            return
        alerts = run_rules_over(
            counted,
            [rule],
            until if data is None else None,
            lateness_s=settings.allowed_lateness_s,
            search_url_base=settings.search_url_base,
            apply_realert=not no_realert,
        )
        counted.done()
        if rule.type == "new_term" and data is None:
            # Matches among the history events only taught the rule its terms.
            alerts = [a for a in alerts if parse_timestamp(a.first_event_time) >= since_s]
        reports = _deliver(settings, rule, alerts) if send else []
    except (RuleError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (OSError, os_exc.TransportError) as exc:
        click.echo(f"error: cannot read events: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    for alert in alerts:
        if as_json:
            click.echo(alert.model_dump_json())
        else:
            click.echo(
                f"{alert.last_event_time}  {alert.status:<8} {alert.rule}  key={alert.key}  "
                f"count={alert.count}  first={alert.first_event_time}"
                + "".join(f"  {k}={v}" for k, v in sorted(alert.extra.items()))
            )
    for report in reports:
        click.echo(
            f"sent to {sorted(report.sent)}"
            + (f"; failed {report.failed}" if report.failed else ""),
            err=True,
        )
    click.echo(f"{len(alerts)} alert(s) from {counted.count} event(s)", err=as_json)
    if any(report.failed for report in reports):
        sys.exit(1)


def _timed(events: Any, field: str) -> Iterator[dict[str, Any]]:
    """Events with ``@timestamp`` taken from the rule's ``timestamp_field``."""
    for event in events:
        if field != "@timestamp" and field in event:
            event = {**event, "@timestamp": event[field]}
        yield event


def _deliver(settings: Settings, rule: Any, alerts: list[Any]) -> list[Any]:
    import asyncio

    from bitacora.rules.notify.notifier import deliver_all

    return asyncio.run(deliver_all(settings, rule, alerts))


class _Counted:
    """Counts events while passing them through (with a progress line on stderr)."""

    EVERY = 10_000

    def __init__(self, events: Any, show: bool = False) -> None:
        self.events = events
        self.count = 0
        self.show = show

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            self.count += 1
            if self.show and self.count % self.EVERY == 0:
                click.echo(f"\r{self.count} events read…", err=True, nl=False)
            yield event

    def done(self) -> None:
        """End the progress line."""
        if self.show and self.count >= self.EVERY:
            click.echo("", err=True)


COMMANDS: list[click.Command] = [rules_group]
