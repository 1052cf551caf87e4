"""The decider (rules.decide): one mask lookup per field, the same rules as the matchers."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from bitacora.fields import fallback_keys
from bitacora.rules.decide import Decider, decided
from bitacora.rules.engine import CompiledRule, RuleSet, compile_rule
from bitacora.rules.model import Rule


def rule(name: str, *clauses: dict[str, Any]) -> CompiledRule:
    return compile_rule(Rule.model_validate({"name": name, "type": "any", "filter": clauses}))


def names(rules: list[CompiledRule]) -> list[str]:
    return [crule.name for crule in rules]


def test_conjunctions_are_decided_whole_and_the_rest_by_their_one_field_requirements() -> None:
    whole = rule("whole", {"terms": {"log.level": ["error", "fatal"]}}, {"exists": {"field": "x"}})
    ored = rule("ored", {"query_string": {"query": "log.level:error OR log.level:fatal"}})
    twice = rule("twice", {"term": {"tags": "a"}}, {"term": {"tags": "b"}})
    ranged = rule("ranged", {"range": {"http.response.status_code": {"gte": 500}}})
    across = rule("across", {"query_string": {"query": "log.level:error OR service.name:x"}})

    def taken(crule: CompiledRule) -> tuple[tuple[Any, ...], bool] | None:
        found = decided(crule, crule.matcher, crule.conditions, crule.requires)
        return None if found is None else (found.conditions, found.whole)

    assert taken(whole) == (
        (("log.level", frozenset({"error", "fatal"})), ("x", None)),
        True,
    )
    # Alternatives on one field are one condition on it.
    assert taken(ored) == ((("log.level", frozenset({"error", "fatal"})),), True)
    # Two conditions on one field: two list items could meet them, so the matcher decides.
    assert taken(twice) == ((("tags", frozenset({"a"})),), False)
    assert taken(ranged) == ((("http.response.status_code", None),), False)
    # Alternatives over several fields: no one-field requirement, left to the index.
    assert taken(across) is None


def test_values_compare_as_the_matchers_compare_them() -> None:
    rules = [
        rule("status", {"term": {"http.response.status_code": 500}}),
        rule("level", {"terms": {"log.level": ["error"]}}),
        rule("both", {"term": {"log.level": "error"}}, {"term": {"service.name": "api"}}),
        rule("present", {"exists": {"field": "error.type"}}),
    ]
    taken = [decided(r, r.matcher, r.conditions, r.requires) for r in rules]
    decider = Decider([found for found in taken if found is not None])
    assert len(decider.rules) == len(rules)
    assert names(decider.matching({"http.response.status_code": 500})) == ["status"]
    assert names(decider.matching({"http.response.status_code": "500"})) == ["status"]
    assert names(decider.matching({"http.response.status_code": 500.0})) == ["status"]
    assert names(decider.matching({"http.response.status_code": [404, 500]})) == ["status"]
    assert names(decider.matching({"log.level": ["info", "error"]})) == ["level"]
    assert names(decider.matching({"log.level": "error", "service.name": "api"})) == [
        "level",
        "both",
    ]
    # An empty list is present and holds no value; a null is missing.
    assert names(decider.matching({"error.type": [], "log.level": []})) == ["present"]
    assert names(decider.matching({"error.type": None})) == []
    assert names(decider.matching({})) == []


def test_nested_labelled_and_read_only_events_are_read_like_the_getters_read_them() -> None:
    assert fallback_keys("service.name") == ("service",)
    assert fallback_keys("a.b.c") == ("a", "a.b", "labels")
    assert fallback_keys("username") == ("labels",)
    ruleset = RuleSet(
        [
            rule("service", {"term": {"service.name": "api"}}),
            rule("user", {"term": {"username": "bob"}}),
        ]
    )

    def matching(event: Any) -> list[str]:
        return names(ruleset.matching(event))

    assert matching({"service": {"name": "api"}}) == ["service"]
    assert matching({"labels": {"username": "bob"}}) == ["user"]
    assert matching({"username": "bob", "service.name": "api"}) == ["service", "user"]
    assert matching(MappingProxyType({"service.name": "api"})) == ["service"]
    assert matching({"service": {"name": "web"}, "labels": {"username": "eve"}}) == []
