"""Filters: query_string subset and DSL clauses compiled into matchers; requirements."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bitacora.errors import RuleError
from bitacora.rules.filters import compile_clause, compile_filters
from bitacora.rules.query_string import parse_query_string

EVENT: dict[str, Any] = {
    "@timestamp": "2027-01-15T08:00:00.000000000Z",
    "service.name": "order-service",
    "log.level": "error",
    "message": "Payment TIMEOUT after 30s for order 42: connection-refused",
    "http.response.status_code": 503,
    "client.ip": "10.1.2.3",
    "error.type": "TimeoutError",
    "labels": {"team": "payments", "k8s.zone": "a", "nested": {"x": "1"}},
    "tags": ["blue", "canary"],
}


def qs(query: str, **options: Any) -> bool:
    return compile_clause({"query": {"query_string": {"query": query, **options}}}).match(EVENT)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service.name:order-service", True),
        ("service.name:order", False),  # keyword fields compare the whole value
        ('service.name:"order-service"', True),
        ("service.name:order-*", True),
        ("service.name:*-serv?ce", True),
        ("service.name:Order-service", False),  # keywords are case-sensitive
        ("timeout", True),  # bare words search message, case-insensitive, whole words
        ("time", False),
        ("time*", True),
        ('"payment timeout"', True),
        ('"timeout payment"', False),
        ('message:"connection refused"', True),  # phrase across the analysed hyphen
        ("log.level:error AND service.name:order-service", True),
        ("log.level:error AND service.name:user-service", False),
        ("log.level:info OR service.name:order-service", True),
        ("log.level:error AND NOT message:timeout", False),
        ("log.level:error -message:timeout", False),
        ("log.level:error && !(message:timeout)", False),
        ("log.level:(info OR error)", True),
        ("log.level:(info OR warn)", False),
        ("http.response.status_code:503", True),
        ("http.response.status_code:[500 TO 599]", True),
        ("http.response.status_code:[500 TO 503}", False),
        ("http.response.status_code:{503 TO *]", False),
        ("http.response.status_code:>=503", True),
        ("http.response.status_code:>503", False),
        ("http.response.status_code:<600", True),
        ("_exists_:error.type", True),
        ("_exists_:error.stack_trace", False),
        ("error.type:*", True),
        ("NOT error.stack_trace:*", True),
        ("labels.team:payments", True),
        ("labels.k8s.zone:a", True),
        ("labels.nested.x:1", True),
        ("tags:canary", True),
        ("missing.field:x", False),
        ("NOT missing.field:x", True),
        ("log.level:debug payment", True),  # default operator OR
        ("", True),
    ],
)
def test_query_string(query: str, expected: bool) -> None:
    assert qs(query) is expected


def test_default_operator_and() -> None:
    assert qs("log.level:debug payment", default_operator="AND") is False
    assert qs("log.level:error payment", default_operator="AND") is True


def test_plus_marks_required_clauses() -> None:
    assert qs("+log.level:error nothing-here") is True
    assert qs("+log.level:debug payment") is False


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ({"term": {"log.level": "error"}}, True),
        ({"term": {"log.level": {"value": "warn"}}}, False),
        ({"term": {"http.response.status_code": "503"}}, True),
        ({"terms": {"log.level": ["error", "fatal"]}}, True),
        ({"terms": {"log.level": ["info"]}}, False),
        ({"wildcard": {"service.name": "order*"}}, True),
        ({"wildcard": {"service.name": {"value": "user*"}}}, False),
        ({"prefix": {"client.ip": "10.1."}}, True),
        ({"range": {"http.response.status_code": {"gte": 500, "lt": 504}}}, True),
        ({"range": {"http.response.status_code": {"gt": 503}}}, False),
        ({"range": {"@timestamp": {"gte": "2027-01-15T00:00:00Z"}}}, True),
        ({"exists": {"field": "client.ip"}}, True),
        ({"match": {"message": "payment"}}, True),
        ({"match_phrase": {"message": "order 42"}}, True),
        ({"match_all": {}}, True),
        ({"type": {"value": "doc"}}, True),
        (
            {
                "bool": {
                    "must": [{"term": {"log.level": "error"}}],
                    "must_not": [{"term": {"client.ip": "10.1.2.3"}}],
                }
            },
            False,
        ),
        (
            {
                "bool": {
                    "should": [{"term": {"log.level": "info"}}, {"term": {"log.level": "error"}}]
                }
            },
            True,
        ),
        ({"bool": {"should": [{"term": {"log.level": "info"}}], "minimum_should_match": 1}}, False),
        ({"bool": {"filter": {"term": {"log.level": "error"}}}}, True),
    ],
)
def test_dsl_clauses(clause: dict[str, Any], expected: bool) -> None:
    assert compile_clause(clause).match(EVENT) is expected


def test_filter_list_is_anded() -> None:
    compiled = compile_filters([{"term": {"log.level": "error"}}, {"term": {"service.name": "x"}}])
    assert compiled.match(EVENT) is False
    assert compile_filters([]).match(EVENT) is True


def test_requirements_feed_the_prefilter() -> None:
    compiled = compile_filters(
        [{"query": {"query_string": {"query": "log.level:(error OR fatal) AND message:timeout"}}}]
    )
    assert compiled.requires == [
        (("log.level", frozenset({"error", "fatal"})),),
        (("message", None),),
    ]
    assert compile_filters([{"range": {"x": {"gte": 1}}}]).requires == [(("x", None),)]
    assert compile_filters([{"term": {"http.response.status_code": 500}}]).requires == [
        (("http.response.status_code", frozenset({"500"})),)
    ]
    either = compile_filters(
        [
            {
                "query_string": {
                    "query": "http.response.status_code:401 OR (log.level:warn AND message:denied)"
                }
            }
        ]
    )
    assert either.requires == [
        (("http.response.status_code", frozenset({"401"})), ("log.level", frozenset({"warn"})))
    ]


def test_rule_set_decides_by_masks_and_indexes_disjunctions_over_fields() -> None:
    from bitacora.rules.engine import RuleSet, compile_rule
    from bitacora.rules.model import Rule

    def rule(name: str, query: str) -> Rule:
        return Rule.model_validate(
            {"name": name, "type": "any", "filter": [{"query_string": {"query": query}}]}
        )

    rules = [
        rule("either", "http.response.status_code:401 OR log.level:fatal"),
        rule("login-1", 'http.response.status_code:401 AND url.path:"/v1/login"'),
        rule("login-2", 'http.response.status_code:401 AND url.path:"/v2/login" AND denied'),
        rule("wild", "service.name:*postgres*"),
        rule("all", ""),
    ]
    ruleset = RuleSet([compile_rule(r) for r in rules])

    def candidates(event: dict[str, Any]) -> list[str]:
        return sorted(c.name for c in ruleset.candidates(event))

    def matching(event: dict[str, Any]) -> list[str]:
        return [c.name for c in ruleset.matching(event)]

    # Only alternatives over several fields go through the index (under both fields);
    # rules with one-field requirements are decided by masks (rules.decide).
    assert candidates({"log.level": "fatal"}) == ["either"]
    assert candidates({"http.response.status_code": 401}) == ["either"]
    assert candidates({"service.name": "x"}) == []
    # Decided rules come first, in their order; a filter that says more than its
    # conditions (a word, a wildcard) still runs its matcher once they hold.
    assert matching({"service.name": "pg-postgres-0", "log.level": "fatal"}) == [
        "wild",
        "all",
        "either",
    ]
    assert matching({"service.name": "pg-mongo-0"}) == ["all"]
    login = {"http.response.status_code": 401, "url.path": "/v2/login"}
    assert matching(login) == ["all", "either"]
    assert matching({**login, "message": "access denied"}) == ["login-2", "all", "either"]
    assert matching({**login, "url.path": "/v1/login"}) == ["login-1", "all", "either"]


@pytest.mark.parametrize(
    "clause",
    [
        {"query_string": {"query": 'message:"unclosed'}},
        {"query_string": {"query": "a:(b OR c"}},
        {"query_string": {"query": "x:[1 2]"}},
        {"geo_distance": {}},
        {"term": {"a": 1, "b": 2}},
        {"terms": {"a": "not-a-list"}},
        {"range": {"a": {"above": 1}}},
        {"bool": {"must": [], "unknown": 1}},
        "not a mapping",
    ],
)
def test_invalid_clauses_raise_rule_errors(clause: Any) -> None:
    with pytest.raises(RuleError):
        compile_clause(clause)


def test_conditions_only_where_they_are_the_whole_filter() -> None:
    one_condition = [
        [{"term": {"service.name": "user-service"}}],
        [{"terms": {"log.level": ["error", "fatal"]}}],
        [{"exists": {"field": "error.type"}}],
        [{"bool": {"must": [{"term": {"http.response.status_code": 500}}]}}],
        [{"bool": {"should": [{"term": {"a": "1"}}, {"term": {"a": "2"}}]}}],
    ]
    more_than_conditions = [
        [{"range": {"http.response.status_code": {"gte": 500}}}],
        [{"wildcard": {"service.name": "user-*"}}],
        [{"query_string": {"query": "boom"}}],
    ]
    assert [len(compile_filters(f).conditions or ()) for f in one_condition] == [1] * 5
    assert [compile_filters(f).conditions for f in more_than_conditions] == [None] * 3
    both = [{"term": {"service.name": "a"}}, {"term": {"log.level": "error"}}]
    assert compile_filters(both).conditions == (
        ("service.name", frozenset({"a"})),
        ("log.level", frozenset({"error"})),
    )
    assert compile_filters([]).conditions == ()


def test_bare_terms_search_the_default_fields_with_or() -> None:
    assert qs("TimeoutError") is True  # error.type, a keyword: the whole value
    assert qs("nothing TimeoutError") is True  # OR, as OpenSearch and ElastAlert2 read it


def test_boost_is_ignored_and_fuzzy_proximity_regex_are_refused() -> None:
    assert qs("log.level:error^2") is True
    assert qs('"payment failed"^3') is qs('"payment failed"')
    for text, what in (
        ("timeot~", "fuzzy searches (~) are not supported"),
        ('"payment failed"~2', "proximity searches"),
        ("url.path:/api.*/", "regular expressions (/…/) are not supported"),
    ):
        with pytest.raises(RuleError, match=re.escape(what)):
            parse_query_string(text)
