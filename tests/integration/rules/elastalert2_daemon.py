"""Run ElastAlert2 2.19's own daemon loop over stored events, on a simulated clock.

Test-only, run with ``.venv-elastalert2/bin/python`` (never imported by Bitácora)::

    python elastalert2_daemon.py --config C --rule R --start S --end E --run-every 60 \
        [--drain-until D]

``elastalert-test-rule`` mocks the writeback index, so ElastAlert2's aggregation groups
never surface there. This driver builds ElastAlert2's ``ElastAlerter`` with the real
writeback indices (``<writeback_index>``, ``_status``, ``_silence``, ``_error``,
``_past`` in the real OpenSearch, created by ElastAlert2's own ``create_index_mappings``)
and does what its scheduler does every ``run_every``: ``handle_pending_alerts`` (sends
aggregation groups whose time has come) then ``handle_rule_execution`` (queries
``(now - buffer_time, now]``, applies realert, aggregates, alerts). ElastAlert2 reads
"now" from ``elastalert.util.ts_now``; the driver replaces it by a clock stepping from
``S + run_every`` to ``E`` in steps of ``run_every``, and on to ``D`` (default ``E``)
sending pending alerts only. The writeback indices are refreshed before each step, as the
``run_every`` seconds between two real runs would have let OpenSearch do.

Prints one JSON object: ``alerts`` (each: ``alert_time`` and its ``matches`` with their
event time, ``num_hits``, ``num_matches``, ``query_key``/``aggregation_key`` values and
the alerter's summary text), ``runs`` (each query's ``matches``/``hits`` from
``elastalert_status``) and ``errors`` (exceptions ElastAlert2 caught and logged).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import sys
from typing import Any

import elastalert.elastalert as daemon
import elastalert.ruletypes as ruletypes
from elastalert.create_index import create_index_mappings
from elastalert.util import lookup_es_key, ts_to_dt

_NOW: list[datetime.datetime] = []


def _now(*_args: Any, **_kwargs: Any) -> datetime.datetime:
    return _NOW[-1]


def _value(match: dict[str, Any], rule: dict[str, Any], option: str) -> Any:
    if option not in rule:
        return None
    names = rule[option] if isinstance(rule[option], list) else [rule[option]]
    return ", ".join(str(lookup_es_key(match, name)) for name in names)


def main(argv: list[str]) -> int:
    """Run the loop and print the outcome as JSON."""
    parser = argparse.ArgumentParser()
    for name in ("--config", "--rule", "--start", "--end", "--drain-until"):
        parser.add_argument(name)
    parser.add_argument("--run-every", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    daemon.ts_now = _now
    ruletypes.ts_now = _now
    start, end = ts_to_dt(args.start), ts_to_dt(args.end)
    drain = ts_to_dt(args.drain_until) if args.drain_until else end
    step = datetime.timedelta(seconds=args.run_every)
    _NOW.append(start)
    ea = daemon.ElastAlerter(["--config", args.config, "--rule", args.rule, "--pin_rules"])
    writeback = ea.writeback_index
    with contextlib.redirect_stdout(sys.stderr):  # it prints what it reads and creates
        create_index_mappings(ea.writeback_es, writeback)
    [rule] = ea.rules
    alerts: list[dict[str, Any]] = []
    errors: list[str] = []
    original_alert = ea.alert

    def alert(matches: list[dict[str, Any]], rule: dict[str, Any], **kwargs: Any) -> Any:
        summary = rule["alert"][0].get_aggregation_summary_text(matches)
        shown = [
            {
                "at": str(lookup_es_key(m, rule["timestamp_field"])),
                "num_hits": m.get("num_hits"),
                "num_matches": m.get("num_matches"),
                "query_key": _value(m, rule, "query_key"),
                "aggregation_key": _value(m, rule, "aggregation_key"),
                "match": m,
            }
            for m in matches
        ]
        alerts.append({"alert_time": str(_now()), "matches": shown, "summary": summary})
        return original_alert(matches, rule, **kwargs)

    ea.alert = alert
    ea.handle_error = lambda message, data=None: errors.append(str(message))
    ea.handle_uncaught_exception = lambda exc, rule: errors.append(f"{type(exc).__name__}: {exc}")
    clock = start
    while clock + step <= drain:
        clock += step
        _NOW.append(clock)
        ea.writeback_es.indices.refresh(index=f"{writeback}*")
        ea.handle_pending_alerts()
        if clock <= end:
            ea.handle_rule_execution(rule)
    ea.writeback_es.indices.refresh(index=f"{writeback}*")
    found = ea.writeback_es.search(
        index=f"{writeback}_status", body={"size": 10000, "query": {"match_all": {}}}
    )["hits"]["hits"]
    runs = [{"matches": h["_source"]["matches"], "hits": h["_source"]["hits"]} for h in found]
    outcome = {"alerts": alerts, "runs": runs, "errors": errors}
    print(json.dumps(outcome, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
