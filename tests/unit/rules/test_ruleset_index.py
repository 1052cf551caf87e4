"""The rule set's prefilter index never changes which rules match: property and cases.

``RuleSet.matching`` reaches rules through an index of the values their filters require;
evaluating every rule's matcher on every event (brute force) must give exactly the same
rules, for filters with and without indexable terms, bool must/should/must_not/filter,
wildcards, ranges, exists and query_string.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitacora.rules.engine import CompiledRule, RuleSet, compile_rule
from bitacora.rules.model import Rule

FIELDS = ("service.name", "log.level", "event.dataset", "http.response.status_code", "message")
VALUES = ("user-service", "order-service", "error", "fatal", "info", "500", "401", "boom")

field_names = st.sampled_from(FIELDS)
values = st.sampled_from(VALUES)


def term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


leaf_clauses = st.one_of(
    st.builds(term, field_names, values),
    st.builds(
        lambda f, vs: {"terms": {f: vs}}, field_names, st.lists(values, min_size=1, max_size=3)
    ),
    st.builds(lambda f, v: {"wildcard": {f: v[:3] + "*"}}, field_names, values),
    st.builds(lambda f: {"exists": {"field": f}}, field_names),
    st.builds(
        lambda low: {"range": {"http.response.status_code": {"gte": low, "lt": low + 100}}},
        st.sampled_from((200, 400, 500)),
    ),
    st.builds(
        lambda f, v, op, g, w: {"query_string": {"query": f"{f}:{v} {op} {g}:{w}"}},
        field_names,
        values,
        st.sampled_from(("AND", "OR", "AND NOT")),
        field_names,
        values,
    ),
    st.builds(lambda v: {"query": {"query_string": {"query": f"{v}"}}}, values),
    st.builds(lambda f, v: {"query_string": {"query": f"NOT {f}:{v}"}}, field_names, values),
)


def bool_of(parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"bool": {k: v for k, v in parts.items() if v}}


clauses = st.recursive(
    leaf_clauses,
    lambda inner: st.builds(
        bool_of,
        st.fixed_dictionaries(
            {
                "must": st.lists(inner, max_size=2),
                "should": st.lists(inner, max_size=3),
                "must_not": st.lists(inner, max_size=2),
                "filter": st.lists(inner, max_size=1),
            }
        ),
    ),
    max_leaves=6,
)

filters = st.lists(clauses, max_size=3)


def field_value(field: str) -> st.SearchStrategy[Any]:
    if field == "http.response.status_code":
        return st.sampled_from((200, 401, 404, 500, 503, "500", 500.0, [], [401, "500"]))
    return st.one_of(values, st.lists(values, max_size=2))


events = st.dictionaries(field_names, st.just(None), max_size=len(FIELDS)).flatmap(
    lambda shape: st.fixed_dictionaries({f: field_value(f) for f in shape})
)


def compiled(rule_filters: list[list[dict[str, Any]]]) -> list[CompiledRule]:
    rules = [
        Rule.model_validate({"name": f"r{i}", "type": "any", "filter": rule_filter})
        for i, rule_filter in enumerate(rule_filters)
    ]
    return [compile_rule(rule) for rule in rules]


def nested(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a stored ``_source`` may hold it: dotted names as nested mappings."""
    out: dict[str, Any] = {}
    for name, value in event.items():
        *path, last = name.split(".")
        inner = out
        for part in path:
            inner = inner.setdefault(part, {})
        inner[last] = value
    return out


def brute_force(rules: list[CompiledRule], event: dict[str, Any]) -> list[str]:
    return sorted(crule.name for crule in rules if crule.matcher(event))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(filters, min_size=1, max_size=12), st.lists(events, min_size=1, max_size=8))
def test_indexed_rule_set_matches_exactly_what_brute_force_matches(
    rule_filters: list[list[dict[str, Any]]], sample: list[dict[str, Any]]
) -> None:
    rules = compiled(rule_filters)
    ruleset = RuleSet(rules)
    for event in sample:
        assert sorted(c.name for c in ruleset.matching(event)) == brute_force(rules, event)
        deep = nested(event)
        assert sorted(c.name for c in ruleset.matching(deep)) == brute_force(rules, deep)


def test_hand_picked_filters_with_and_without_indexable_terms() -> None:
    rule_filters: list[list[dict[str, Any]]] = [
        [term("service.name", "user-service")],
        [{"terms": {"log.level": ["error", "fatal"]}}, term("service.name", "order-service")],
        [{"bool": {"should": [term("log.level", "fatal"), {"exists": {"field": "message"}}]}}],
        [{"bool": {"must_not": [term("log.level", "info")]}}],
        [{"wildcard": {"service.name": "user-*"}}],
        [{"query": {"query_string": {"query": "log.level:error AND NOT service.name:user"}}}],
        [{"query_string": {"query": "boom"}}],
        [{"query_string": {"query": "log.level:fatal OR service.name:order-service"}}],
        [{"bool": {"should": [term("log.level", "fatal"), {"exists": {"field": "x.y"}}]}}],
        [],
    ]
    rules = compiled(rule_filters)
    ruleset = RuleSet(rules)
    assert ruleset.always  # rules without an indexable requirement are always checked
    sample: list[dict[str, Any]] = [
        {"service.name": "user-service", "log.level": "info", "message": "boom"},
        {"service.name": "order-service", "log.level": "fatal"},
        {"service.name": ["user-service", "order-service"], "log.level": "error"},
        {"log.level": "ERROR"},
        {"log.level": "fatal", "x.y": 1},
        {},
    ]
    for event in sample:
        assert sorted(c.name for c in ruleset.matching(event)) == brute_force(rules, event)
