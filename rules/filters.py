"""Compile a rule's ``filter`` (query DSL clauses, ANDed) once into a Python matcher.

Accepted clauses: ``query`` (wrapper), ``query_string``, ``term``, ``terms``, ``wildcard``,
``prefix``, ``range``, ``exists``, ``match``, ``match_phrase``, ``match_all``, ``bool``
(must/filter/should/must_not/minimum_should_match) and ElastAlert2's ``type`` (OpenSearch has
no document types: it matches everything).

Matching follows OpenSearch where it matters for alerting: ``term`` and keyword fields
compare whole values (``500`` equals ``"500"``); words and phrases on text fields
(``message``, ``error.message``, ``error.stack_trace``) and bare query_string terms match
whole words case-insensitively; a missing field never matches (so ``NOT`` of it does).

Besides the matcher, compiling yields *requirements*: clauses every matching event
satisfies, each a tuple of alternatives ``(field, values)`` (``values`` None: the field is
present). ``log.level:error AND (status:401 OR message:denied)`` requires
``(("log.level", {"error"}),)`` and ``(("status", {"401"}), ("message", None))``. The
rule set indexes each rule by its most selective clause, so an event only reaches rules
that can match it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bitacora.errors import RuleError
from bitacora.fields import getter
from bitacora.rules.fields import TEXT_FIELDS, norm, norm_variants
from bitacora.rules.matchers import (
    Compiled,
    all_of,
    any_of,
    bool_of,
    everything,
    none_of,
)
from bitacora.rules.query_string import (
    DEFAULT_FIELDS,
    DEFAULT_OPERATOR,
    Node,
    parse_query_string,
)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _wildcard_regex(text: str, words: bool) -> str:
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(
            (r"\w*" if words else ".*")
            if char == "*"
            else (r"\w" if words else ".")
            if char == "?"
            else re.escape(char)
        )
        i += 1
    return "".join(out)


def _has_wildcard(text: str) -> bool:
    return bool(re.search(r"(?<!\\)[*?]", text))


def _equals(field_name: str, values: list[Any]) -> Compiled:
    wanted: set[str] = set()
    for value in values:
        wanted |= norm_variants(value)
    frozen = frozenset(wanted)
    get = getter(field_name)

    def match(event: Mapping[str, Any]) -> bool:
        value = get(event)
        if value is None:
            return False
        if type(value) is str:
            return value in frozen
        if isinstance(value, list):
            return any(norm(item) in frozen for item in value)
        return norm(value) in frozen

    condition = (field_name, frozen)
    return Compiled(match, [(condition,)], conditions=(condition,))


def _regex_on(field_name: str, pattern: re.Pattern[str], full: bool) -> Compiled:
    test = pattern.fullmatch if full else pattern.search
    get = getter(field_name)

    def match(event: Mapping[str, Any]) -> bool:
        value = get(event)
        if value is None:
            return False
        if isinstance(value, list):
            return any(test(norm(item)) is not None for item in value)
        return test(norm(value)) is not None

    return Compiled(match, [((field_name, None),)])


def _words(field_name: str, text: str, phrase: bool) -> Compiled:
    """Whole-word (or phrase) match on a text field, case-insensitive, wildcards per word."""
    tokens = re.findall(r"[\w*?\\]+", text) if phrase or not _has_wildcard(text) else [text]
    if not tokens:
        return everything()
    parts = [_wildcard_regex(token, words=True) for token in tokens]
    pattern = re.compile(r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)", re.IGNORECASE)
    return _regex_on(field_name, pattern, full=False)


def _range(field_name: str, low: Any, high: Any, low_incl: bool, high_incl: bool) -> Compiled:
    def as_number(bound: Any) -> float | None:
        if bound is None or isinstance(bound, bool):
            return None
        try:
            return float(bound)
        except (TypeError, ValueError):
            return None

    low_n, high_n = as_number(low), as_number(high)
    numeric = (low is None or low_n is not None) and (high is None or high_n is not None)

    def inside(value: Any) -> bool:
        lo: Any
        hi: Any
        if numeric and isinstance(value, int | float) and not isinstance(value, bool):
            item: Any = float(value)
            lo, hi = low_n, high_n
        else:
            item = norm(value)
            lo = None if low is None else str(low)
            hi = None if high is None else str(high)
        if lo is not None and (item < lo or (item == lo and not low_incl)):
            return False
        return not (hi is not None and (item > hi or (item == hi and not high_incl)))

    get = getter(field_name)

    def match(event: Mapping[str, Any]) -> bool:
        value = get(event)
        if value is None:
            return False
        if isinstance(value, list):
            return any(inside(item) for item in value)
        return inside(value)

    return Compiled(match, [((field_name, None),)])


def _exists(field_name: str) -> Compiled:
    get = getter(field_name)
    condition = (field_name, None)
    return Compiled(lambda event: get(event) is not None, [(condition,)], conditions=(condition,))


def _term(field_name: str, text: str, phrase: bool) -> Compiled:
    """A query_string leaf: words on text fields, whole values on keyword fields."""
    if field_name in TEXT_FIELDS:
        return _words(field_name, text, phrase)
    if not phrase and _has_wildcard(text):
        return _regex_on(field_name, re.compile(_wildcard_regex(text, words=False)), full=True)
    return _equals(field_name, [_unescape(text) if not phrase else text])


def compile_query_node(node: Node) -> Compiled:
    """Compile a parsed query_string tree (``rules.query_string``)."""
    kind = node[0]
    if kind == "all":
        return everything()
    if kind == "term":
        if node[1] is None:
            return any_of([_term(name, node[2], node[3]) for name in DEFAULT_FIELDS])
        return _term(node[1], node[2], node[3])
    if kind == "range":
        if node[1] is None:
            return any_of([_range(name, *node[2:]) for name in DEFAULT_FIELDS])
        return _range(node[1], node[2], node[3], node[4], node[5])
    if kind == "exists":
        return _exists(node[1])
    if kind == "and":
        return all_of([compile_query_node(child) for child in node[1]])
    if kind == "or":
        return any_of([compile_query_node(child) for child in node[1]])
    if kind == "not":
        return none_of([compile_query_node(node[1])])
    must = [compile_query_node(child) for child in node[1]]
    should = [compile_query_node(child) for child in node[2]]
    must_not = [compile_query_node(child) for child in node[3]]
    # Lucene: with a required clause, optional ones only score; else one must match.
    return bool_of(must, should, must_not, 0 if must else (1 if should else 0))


def _single_field(name: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict) or len(body) != 1:
        raise RuleError(f"{name} takes exactly one field, e.g. {{{name}: {{log.level: error}}}}")
    return next(iter(body.items()))


def _inner(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else value


def _range_clause(body: Any) -> Compiled:
    name, spec = _single_field("range", body)
    if not isinstance(spec, dict) or not set(spec) <= {
        "gte",
        "gt",
        "lte",
        "lt",
        "from",
        "to",
        "format",
    }:
        raise RuleError(
            "range takes gte/gt/lte/lt bounds, "
            "e.g. {range: {http.response.status_code: {gte: 500}}}"
        )
    low = spec.get("gte", spec.get("gt", spec.get("from")))
    high = spec.get("lte", spec.get("lt", spec.get("to")))
    return _range(name, low, high, "gt" not in spec, "lt" not in spec)


def _bool_clause(body: Any) -> Compiled:
    if not isinstance(body, dict) or not set(body) <= {
        "must",
        "filter",
        "should",
        "must_not",
        "minimum_should_match",
    }:
        raise RuleError("bool takes must, filter, should, must_not and minimum_should_match")

    def clauses(key: str) -> list[Compiled]:
        value = body.get(key) or []
        return [compile_clause(item) for item in (value if isinstance(value, list) else [value])]

    must = clauses("must") + clauses("filter")
    should = clauses("should")
    min_should = body.get("minimum_should_match", 0 if must else 1)
    if not isinstance(min_should, int):
        raise RuleError("minimum_should_match must be a whole number")
    return bool_of(must, should, clauses("must_not"), min_should if should else 0)


def compile_clause(clause: Any) -> Compiled:
    """Compile one query DSL clause (see the module docstring for the accepted kinds)."""
    if not isinstance(clause, dict) or len(clause) != 1:
        raise RuleError(
            f"a filter clause is a mapping with one kind (term, query_string, …), got {clause!r}"
        )
    kind, body = next(iter(clause.items()))
    if kind == "query":
        return compile_clause(body)
    if kind == "query_string":
        query = _inner(body, "query")
        if not isinstance(query, str):
            raise RuleError("query_string needs a text 'query'")
        operator = (
            body.get("default_operator", DEFAULT_OPERATOR)
            if isinstance(body, dict)
            else DEFAULT_OPERATOR
        )
        return compile_query_node(parse_query_string(query, str(operator)))
    if kind == "term":
        name, value = _single_field("term", body)
        return _equals(name, [_inner(value, "value")])
    if kind == "terms":
        name, values = _single_field("terms", body)
        if not isinstance(values, list):
            raise RuleError(
                "terms takes a list of values, e.g. {terms: {log.level: [error, fatal]}}"
            )
        return _equals(name, values)
    if kind in ("wildcard", "prefix"):
        name, value = _single_field(kind, body)
        pattern = str(_inner(value, "value"))
        pattern = pattern if kind == "wildcard" else re.sub(r"([*?\\])", r"\\\1", pattern) + "*"
        return _regex_on(name, re.compile(_wildcard_regex(pattern, words=False)), full=True)
    if kind == "range":
        return _range_clause(body)
    if kind == "exists":
        return _exists(str(_inner(body, "field")))
    if kind in ("match", "match_phrase"):
        name, value = _single_field(kind, body)
        return _words(name, str(_inner(value, "query")), phrase=kind == "match_phrase")
    if kind in ("match_all", "type"):
        return everything()
    if kind == "bool":
        return _bool_clause(body)
    raise RuleError(
        f"unsupported filter kind {kind!r}: use query_string, term, terms, wildcard, prefix, "
        "range, exists, match, match_phrase, match_all or bool"
    )


def compile_filters(clauses: list[dict[str, Any]]) -> Compiled:
    """Compile a rule's filter list: every clause must match (ElastAlert2 ANDs them)."""
    return all_of([compile_clause(clause) for clause in clauses])
