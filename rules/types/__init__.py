"""Rule types, one module each, and the explicit registry the engine dispatches on."""

from __future__ import annotations

from bitacora.rules.types.any import AnyRule
from bitacora.rules.types.base import Match, RuleKind, State
from bitacora.rules.types.blacklist import BlacklistRule
from bitacora.rules.types.cardinality import CardinalityRule
from bitacora.rules.types.change import ChangeRule
from bitacora.rules.types.flatline import FlatlineRule
from bitacora.rules.types.frequency import FrequencyRule
from bitacora.rules.types.metric_aggregation import MetricAggregationRule
from bitacora.rules.types.new_term import NewTermRule
from bitacora.rules.types.percentage_match import PercentageMatchRule
from bitacora.rules.types.spike import SpikeRule
from bitacora.rules.types.spike_aggregation import SpikeAggregationRule
from bitacora.rules.types.whitelist import WhitelistRule

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
    "percentage_match": PercentageMatchRule,
    "spike_aggregation": SpikeAggregationRule,
}

__all__ = ["RULE_TYPES", "Match", "RuleKind", "State"]
