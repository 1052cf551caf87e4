"""``bitacora rules validate|test``: check rule files; replay stored logs through a rule.

``test`` runs the same engine code as the detect stage (``rules.replay.run_rules_over``)
over events from OpenSearch or a file (``bitacora.search.replay``) and prints the alerts
the rule would have sent. ``migrate`` reports what an ElastAlert2 rules folder becomes.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from bitacora.cli.options import output_option
from bitacora.settings import Settings


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
    from bitacora.errors import RuleError
    from bitacora.rules.loader import load_rules, rules_dir_paths

    settings = Settings()
    try:
        loaded = load_rules(
            list(paths) or rules_dir_paths(settings.rules_dir),
            env=os.environ,
            destinations_file=settings.destinations_file,
        )
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for item in loaded:
        click.echo(f"ok  {item.rule.name:<32} {item.rule.type:<18} {item.path}")
        for warning in item.warnings:
            click.echo(f"warning: {warning}", err=True)
    click.echo(f"{len(loaded)} rule(s) valid")


def _instant(text: str | None, option: str) -> float | None:
    from bitacora.durations import parse_timestamp

    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give a time like 2026-11-15T08:00:00 (UTC) or RFC 3339",
            param_hint=option,
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
@output_option("table", "jsonl", deprecated_json=True)
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
    output: str,
    no_realert: bool,
    schema_only: bool,
    count_only: bool,
    send: bool,
    progress: bool | None,
) -> None:
    """Print the alerts RULE (a name or a .yaml file) would have fired over stored logs.

    Events come from the rule's index (or --index, else logs-*) between --start (or
    --since ago) and --end. A new_term rule first reads terms_window_size of history
    before the start, as ElastAlert2 does, and so needs no warmup. With -o jsonl each
    alert is one JSON line and the summary goes to stderr.
    """
    from bitacora.durations import parse_duration, parse_timestamp
    from bitacora.rules.replay import run_rules_over
    from bitacora.search.client import make_client
    from bitacora.search.replay import (
        Counted,
        fetched_clauses,
        file_events,
        find_rule,
        rule_index,
        stored_events,
        timed,
    )

    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    now = time.time()
    until = _instant(end, "--end") or now
    from_s = _instant(start, "--start") or until - seconds
    settings = Settings()
    rule = find_rule(
        rule_spec,
        settings.rules_dir,
        env=os.environ,
        destinations_file=settings.destinations_file,
    )
    if schema_only:
        click.echo(f"ok  {rule.name}  {rule.type}")
        return
    client = None
    history: Any = ()
    seeded = False
    if data is not None:
        events: Any = file_events(data)
    else:
        client = make_client(settings)
        where = rule_index(rule, index)
        field = rule.timestamp_field
        fetched = fetched_clauses(rule.filter, rule.resolve_filter)
        events = stored_events(client, fetched, from_s, until, where, field)
        if rule.type == "new_term":
            # As ElastAlert2: the terms of terms_window_size before the start are known
            # (read from the index), so no warmup is needed.
            history = stored_events(
                client, rule.filter, from_s - rule.terms_window_size, from_s, where, field
            )
            rule = rule.model_copy(update={"warmup": 0.0})
            seeded = True
    show = sys.stderr.isatty() if progress is None else progress
    counted = Counted(
        timed(itertools.chain(history, events), rule.timestamp_field),
        (lambda n: click.echo(f"\r{n} events read…", err=True, nl=False)) if show else None,
    )
    try:
        if count_only:
            from bitacora.rules.filters import compile_filters

            selects = compile_filters(rule.filter).match
            matching = sum(1 for event in counted if selects(event))
            click.echo(f"{matching} event(s) match the filter")
            return
        alerts = run_rules_over(
            counted,
            [rule],
            until if data is None else None,
            lateness_s=settings.allowed_lateness_s,
            search_url_base=settings.search_url_base,
            apply_realert=not no_realert,
        )
    finally:
        if client is not None:
            client.close()
        if show and counted.count >= counted.every:
            click.echo("", err=True)
    if seeded:
        # Matches among the history events only taught the rule its terms.
        alerts = [a for a in alerts if parse_timestamp(a.first_event_time) >= from_s]
    for alert in alerts:
        if output == "jsonl":
            click.echo(alert.model_dump_json())
        else:
            click.echo(
                f"{alert.last_event_time}  {alert.status:<8} {alert.rule}  key={alert.key}  "
                f"count={alert.count}  first={alert.first_event_time}"
                + "".join(f"  {k}={v}" for k, v in sorted(alert.extra.items()))
            )
    failed = False
    if send:
        import asyncio

        from bitacora.rules.notify.notifier import deliver_all

        for report in asyncio.run(deliver_all(settings, rule, alerts)):
            failed = failed or bool(report.failed)
            problems = f"; failed {report.failed}" if report.failed else ""
            click.echo(f"sent to {sorted(report.sent)}{problems}", err=True)
    click.echo(f"{len(alerts)} alert(s) from {counted.count} event(s)", err=output == "jsonl")
    if failed:
        sys.exit(1)


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
        except yaml.YAMLError as exc:
            raise click.BadParameter(
                f"{config_path}: not YAML: {exc}", param_hint="--config"
            ) from None
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
    counts = {s: sum(r.status == s for r in results) for s in ("loads", "warned", "refused")}
    written = f"; written to {out}" if out is not None else ""
    click.echo(
        f"{len(results)} file(s): {counts['loads']} load, {counts['warned']} load with "
        f"warnings, {counts['refused']} refused{written}"
    )
    if counts["refused"]:
        sys.exit(1)


COMMANDS: list[click.Command] = [rules_group]
