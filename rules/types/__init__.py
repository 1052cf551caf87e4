"""Rule types, one module each, and the explicit registry the engine dispatches on."""

from __future__ import annotations

from rules.types.any import AnyRule
from rules.types.base import Match, RuleKind, State
from rules.types.blacklist import BlacklistRule
from rules.types.cardinality import CardinalityRule
from rules.types.change import ChangeRule
from rules.types.flatline import FlatlineRule
from rules.types.frequency import FrequencyRule
from rules.types.metric_aggregation import MetricAggregationRule
from rules.types.new_term import NewTermRule
from rules.types.spike import SpikeRule
from rules.types.whitelist import WhitelistRule

RULE_TYPES: dict[str, type[RuleKind]] = {
    "any": AnyRule,
    "frequency": FrequencyRule,
    "spike": SpikeRule,
    "flatline": FlatlineRule,
    "new_term": NewTermRule,
    "change": ChangeRule,
    "blacklist": BlacklistRule,
    "whitelist": WhitelistRule,
    "cardinality": CardinalityRule,
    "metric_aggregation": MetricAggregationRule,
}

__all__ = ["RULE_TYPES", "Match", "RuleKind", "State"]
