"""The ``Alert``: what the detect agent puts on the ``alerts`` topic and notify delivers.

An alert carries the rule, the query key, the count, first/last event time, a few sample
events (already redacted by the normalizer), and how to see the events: a Lucene query,
a Dashboards Discover link and a ``bitacora search`` command line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shlex
import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bitacora.durations import format_timestamp, parse_timestamp
from bitacora.fields import lookup
from bitacora.rules.model import Rule
from bitacora.rules.types import Match


class Alert(BaseModel):
    """One firing or resolve notice of a rule for one query key."""

    model_config = ConfigDict(extra="forbid")

    id: str
    rule: str
    key: str
    dedup_key: str
    status: Literal["firing", "resolved"]
    severity: str
    count: int
    first_event_time: str
    last_event_time: str
    created_at: str
    description: str | None = None
    event: dict[str, Any] = Field(default_factory=dict)
    samples: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    search_query: str = ""
    search_url: str = ""
    search_command: str = ""

    def to_json(self) -> bytes:
        """Compact JSON bytes for Kafka."""
        return self.model_dump_json().encode()

    def created(self) -> float:
        """``created_at`` in epoch seconds: the time realert is judged on (ValueError when
        it is not a timestamp)."""
        return parse_timestamp(self.created_at)

    def to_document(self, include_match_in_root: bool = False) -> dict[str, Any]:
        """The ``bitacora-alerts`` document: the alert plus ``@timestamp``.

        ``include_match_in_root`` (ElastAlert2's option) also copies the matching event's
        fields to the top level, except names starting with ``_`` and the alert's own.
        """
        doc = self.model_dump()
        doc["@timestamp"] = self.created_at
        if include_match_in_root:
            for name, value in self.event.items():
                if not name.startswith("_") and name not in doc:
                    doc[name] = value
        return doc


def alert_clock(now: float) -> float:
    """``now`` as an alert built at ``now`` records it (``created_at``, milliseconds).

    Realert is judged on this clock on both sides: the detect stage holding matches back
    and the notify policy, so they agree to the millisecond.
    """
    return parse_timestamp(format_timestamp(now))


def dedup_key(rule_name: str, key: str) -> str:
    """ElastAlert2's silence name: the rule name, plus ``.key`` with a query_key."""
    return rule_name if key == "all" else f"{rule_name}.{key}"


def _lucene_value(value: Any) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clause_query(clause: dict[str, Any]) -> str | None:
    kind, body = next(iter(clause.items()))
    if kind == "query":
        return _clause_query(body) if isinstance(body, dict) else None
    if kind == "query_string":
        query = body.get("query") if isinstance(body, dict) else body
        return f"({query})" if isinstance(query, str) and query.strip() else None
    if kind == "term" and isinstance(body, dict) and len(body) == 1:
        name, value = next(iter(body.items()))
        value = value.get("value") if isinstance(value, dict) else value
        return f"{name}:{_lucene_value(value)}"
    if kind == "terms" and isinstance(body, dict) and len(body) == 1:
        name, values = next(iter(body.items()))
        return f"{name}:(" + " OR ".join(_lucene_value(v) for v in values) + ")"
    if kind == "range" and isinstance(body, dict) and len(body) == 1:
        name, spec = next(iter(body.items()))
        low = spec.get("gte", spec.get("gt", "*"))
        high = spec.get("lte", spec.get("lt", "*"))
        opening = "{" if "gt" in spec else "["
        closing = "}" if "lt" in spec else "]"
        return f"{name}:{opening}{low} TO {high}{closing}"
    return None


def search_query(rule: Rule, key_values: dict[str, Any] | None) -> str:
    """A Lucene query for the events behind an alert: the rule's filter and its key."""
    parts = [q for q in (_clause_query(c) for c in rule.filter) if q]
    for name, value in (key_values or {}).items():
        if value is not None:
            parts.append(f"{name}:{_lucene_value(value)}")
    return " AND ".join(parts) or "*"


def _rison(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


# What ``urllib.parse.quote(text, safe="(),:")`` leaves alone; everything else is escaped
# byte by byte. The regex visits only the characters to escape (quote visits them all).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-~(),:]+")


@functools.lru_cache(maxsize=1024)
def _escape_run(run: str) -> str:
    return "".join(f"%{byte:02X}" for byte in run.encode("utf-8"))


def _escape(found: re.Match[str]) -> str:
    # Runs repeat (quotes, spaces, brackets of the same queries): escape each once.
    return _escape_run(found.group())


def _quote(text: str) -> str:
    """``quote(text, safe="(),:")``, faster for the mostly plain text of links."""
    return _UNSAFE.sub(_escape, text)


def discover_url(base: str, query: str, start: float, end: float) -> str:
    """An OpenSearch Dashboards Discover link over ``logs-*`` for the alert's time range."""
    g = f"(time:(from:{_rison(format_timestamp(start))},to:{_rison(format_timestamp(end))}))"
    q = f"(query:(language:lucene,query:{_rison(query)}))"
    return f"{base.rstrip('/')}/app/data-explorer/discover#?_g={_quote(g)}&_q={_quote(q)}"


def included(event: Mapping[str, Any], rule: Rule, computed: Mapping[str, Any]) -> dict[str, Any]:
    """The alert's copy of the matching event: with ElastAlert2's ``include``, only those
    fields plus the query key, compare key, top count keys and ``@timestamp`` (as
    ElastAlert2 fetches them), and what the rule type computed (``metric_*``, …)."""
    if not rule.include:
        return dict(event)
    keep = {
        *rule.include,
        *rule.key_fields,
        *rule.compare_fields,
        *(rule.top_count_keys or []),
        "@timestamp",
    }
    out = {
        name: value
        for name, value in event.items()
        if name in keep or name in computed or any(name.startswith(k + ".") for k in keep)
    }
    for name in keep - set(out):
        value = lookup(event, name)  # nested, or under labels
        if value is not None:
            out[name] = value
    return out


def build_alert(match: Match, rule: Rule, search_url_base: str, now: float | None = None) -> Alert:
    """Turn an engine match into an ``Alert`` (ids are deterministic: a replay maps to the
    same alert id, so indexing it twice is harmless)."""
    created = time.time() if now is None else now
    key_values = (
        {name: match.event.get(name) for name in rule.key_fields} if rule.key_fields else None
    )
    query = search_query(rule, key_values)
    start = match.first_ts - 60.0
    end = match.last_ts + 60.0
    digest = hashlib.sha1(
        json.dumps(
            [rule.name, match.key, match.status, match.first_ts, match.last_ts, match.count]
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()[:24]
    return Alert(
        id=digest,
        rule=rule.name,
        key=match.key,
        dedup_key=dedup_key(rule.name, match.key),
        status=match.status,
        severity=rule.severity,
        count=match.count,
        first_event_time=format_timestamp(match.first_ts),
        last_event_time=format_timestamp(match.last_ts),
        created_at=format_timestamp(created),
        description=rule.description,
        event=included(match.event, rule, match.extra),
        samples=[dict(sample) for sample in match.samples],
        extra=dict(match.extra),
        search_query=query,
        search_url=discover_url(search_url_base, query, start, end),
        search_command=" ".join(
            [
                "bitacora search",
                shlex.quote(query),
                "--from",
                format_timestamp(start),
                "--to",
                format_timestamp(end),
            ]
        ),
    )
