"""``bitacora rules migrate``: what an ElastAlert2 rules folder becomes in Bitácora.

Per file: ``loads`` (as it is), ``warned`` (loads; ignored options or alerters Bitácora
lacks are named), or ``refused`` (the error says where); plus the places where the rule
*maps differently* on the stream (docs/elastalert2.md). The ElastAlert2 config file's
keys are defaults of every rule, as ElastAlert2 merges them; its own settings (where the
rules and the writeback index are, …) are left out. The converted text is the rule as
Bitácora validated it: imports and config defaults merged, ignored keys dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from bitacora.errors import RuleError
from bitacora.rules.elastalert2 import elastalert2_options
from bitacora.rules.loader import read_rule_text
from bitacora.rules.model import Rule
from bitacora.schema import EVENT_FIELDS

Status = Literal["loads", "warned", "refused"]

_TYPE_NOTES = {
    "new_term": "new_term learns terms from the stream for `warmup` instead of querying "
    "`terms_window_size` of history",
    "metric_aggregation": "buckets are event-time and aligned to the epoch",
    "percentage_match": "buckets are event-time and aligned to the epoch",
    "spike_aggregation": "one metric sample per `buffer_time` bucket, aligned to the epoch",
    "flatline": "a key is watched from its first event (no query finds silent keys)",
}


@dataclass
class Migrated:
    """What one rule file becomes."""

    path: Path
    status: Status
    messages: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    converted: str | None = None


def config_defaults(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config keys that become defaults of every rule (options Bitácora uses), and
    the ElastAlert2 rule options of the config Bitácora ignores (named once, here)."""
    used = {key: value for key, value in config.items() if key in Rule.model_fields}
    ignored = sorted(key for key in config if key in elastalert2_options() and key not in used)
    return used, ignored


def _fields(rule: Rule) -> set[str]:
    named = set(rule.key_fields) | set(rule.compare_fields)
    for clause in rule.filter:
        kind, body = next(iter(clause.items()))
        if kind in ("term", "terms", "range", "wildcard", "prefix") and isinstance(body, dict):
            named |= set(body)
    if rule.cardinality_field:
        named.add(rule.cardinality_field)
    if rule.metric_agg_key:
        named.add(rule.metric_agg_key)
    return named


def differences(rule: Rule) -> list[str]:
    """Where ``rule`` behaves differently on the stream than under ElastAlert2."""
    out = []
    if rule.type in _TYPE_NOTES:
        out.append(_TYPE_NOTES[rule.type])
    for name in sorted(_fields(rule)):
        if name not in EVENT_FIELDS and not name.startswith("labels."):
            out.append(f"field {name!r} is read as named, else from labels.{name}")
    if rule.index:
        out.append(f"index {rule.index!r} is only read by `bitacora rules test`")
    return out


def migrate_file(path: Path, defaults: dict[str, Any]) -> Migrated:
    """Load ``path`` as Bitácora would, with ``defaults`` from the ElastAlert2 config."""
    try:
        text = path.read_text(encoding="utf-8")
        read = read_rule_text(text, str(path), path.parent, dict(defaults), path.stem)
    except (OSError, RuleError) as exc:
        return Migrated(path, "refused", [str(exc)])
    converted = f"# Converted by `bitacora rules migrate` from {path.name}\n" + yaml.safe_dump(
        read.data, sort_keys=False, allow_unicode=True
    )
    status: Status = "warned" if read.warnings else "loads"
    return Migrated(path, status, list(read.warnings), differences(read.rule), converted)


def migrate_folder(
    folder: Path, config: dict[str, Any] | None = None
) -> tuple[list[Migrated], list[str]]:
    """Every ``*.yaml``/``*.yml`` rule file under ``folder``, sorted; and the config's
    ignored rule options."""
    defaults, ignored = config_defaults(config or {})
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
    return [migrate_file(path, defaults) for path in files], ignored
