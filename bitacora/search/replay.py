"""Events to replay through a rule (``bitacora rules test``): stored ones or a file.

``stored_events`` pages ``logs-*`` oldest first with ``search_after``, narrowed by the part
of the rule's filter OpenSearch matches the same way the engine does
(``rules.fields.search_filter``);
the engine filters every event again. ``file_events`` reads a JSON-lines file instead.
``find_rule`` resolves a rule name or a ``.yaml`` path.
Files may also hold one JSON array of documents (``elastalert-test-rule --data``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bitacora import schema
from bitacora.durations import format_timestamp
from bitacora.errors import RuleError
from bitacora.rules.fields import search_filter
from bitacora.rules.loader import load_rule_file, load_rules, rules_dir_paths
from bitacora.rules.model import Rule

PAGE_SIZE = 2000


def find_rule(
    spec: str,
    rules_dir: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    destinations_file: Path | None = None,
) -> Rule:
    """The rule ``spec`` names: a ``.yaml``/``.yml`` file, else a rule under ``rules_dir``.

    ``env`` resolves ``${NAME}`` references; ``destinations_file`` gives default options.
    """
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_rule_file(path, env=env)
    rules = load_rules(rules_dir_paths(rules_dir), env=env, destinations_file=destinations_file)
    for item in rules:
        if item.rule.name == spec:
            return item.rule
    raise RuleError(f"no rule named {spec!r} (give a rule name or a .yaml path)")


def file_events(path: Path) -> Iterator[dict[str, Any]]:
    """Events from a JSON-lines file or one JSON array (OpenSearch hits give ``_source``)."""
    with path.open(encoding="utf-8") as probe:
        head = probe.read(4096).lstrip()
    if head.startswith("["):
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
            yield doc.get("_source", doc) if isinstance(doc, dict) else {}


def fetched_clauses(
    filter_: list[dict[str, Any]], resolve_filter: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """What a replay fetches: the filter's events, and with a ``resolve_filter`` its
    recovery events too (either side pushed down as by :func:`search_filter`)."""
    if resolve_filter is None:
        return filter_
    sides = [{"bool": {"filter": search_filter(side)}} for side in (filter_, resolve_filter)]
    return [{"bool": {"should": sides, "minimum_should_match": 1}}]


def stored_events(
    client: OpenSearch,
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


def rule_index(rule: Rule, given: str | None) -> str:
    """Where a replay reads: ``given``, else the rule's ``index`` (ElastAlert2 strftime
    patterns such as ``logs-%Y.%m.%d`` widened to ``*``), else ``logs-*``."""
    if given:
        return given
    if not rule.index:
        return schema.LOGS_PATTERN
    return re.sub(r"%[a-zA-Z]", "*", rule.index)


def timed(events: Iterable[dict[str, Any]], field: str) -> Iterator[dict[str, Any]]:
    """Events with ``@timestamp`` taken from the rule's ``timestamp_field``."""
    for event in events:
        if field != "@timestamp" and field in event:
            event = {**event, "@timestamp": event[field]}
        yield event


class Counted:
    """Counts events while passing them through; ``progress`` is called every ``every``."""

    def __init__(
        self,
        events: Iterable[dict[str, Any]],
        progress: Callable[[int], None] | None = None,
        every: int = 10_000,
    ) -> None:
        self.events = events
        self.count = 0
        self.progress = progress
        self.every = every

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            self.count += 1
            if self.progress is not None and self.count % self.every == 0:
                self.progress(self.count)
            yield event
