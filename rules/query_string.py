"""The one Lucene ``query_string`` reading of Bitácora: rule filters and ``bitacora search``.

Both use :data:`DEFAULT_FIELDS` for bare terms and :data:`DEFAULT_OPERATOR` between
adjacent clauses (OpenSearch's and ElastAlert2's OR); ``bitacora search`` sends the text
to OpenSearch with these defaults after :func:`parse_query_string` accepted it, rule
filters compile the parsed tree. Boosts (``^2``) are accepted and ignored (they change
scores, not which events match); fuzzy and proximity searches (``~``) and regular
expressions (``/…/``) are refused with an error saying how to write the query instead.

Supported: ``field:value``, ``field:"a phrase"``, wildcards ``*``/``?``, ``AND``/``OR``/``NOT``
(also ``&&``, ``||``, ``!``), ``+``/``-`` prefixes, parentheses (also ``field:(a OR b)``),
ranges ``[a TO b]``/``{a TO b}`` (``*`` open), ``>=``/``>``/``<=``/``<``, ``_exists_:field``
and bare terms (matched against the default fields). Adjacent clauses combine with
``default_operator`` (OR unless the clause says AND), as in OpenSearch.

The tree is tuples: ``("term", field, text, phrase)``, ``("range", field, lo, hi, lo_incl,
hi_incl)``, ``("exists", field)``, ``("and", [..])``, ``("or", [..])``, ``("not", node)``,
``("bool", must, should, must_not)``, ``("all",)``.
"""

from __future__ import annotations

import re
from typing import Any

from bitacora.errors import RuleError

Node = tuple[Any, ...]
#: Fields a bare term (``timeout``) is searched in.
DEFAULT_FIELDS: tuple[str, ...] = ("message", "error.message", "error.type")
#: How adjacent clauses combine when no operator is written.
DEFAULT_OPERATOR = "OR"
_BOOST = re.compile(r"(?<!\\)\^\d+(\.\d+)?$")
_SPECIAL = set(' \t\r\n()"[]{}')
_OPS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT", "!": "NOT"}


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append((char, None))
            i += 1
        elif char == '"':
            end, buf = i + 1, []
            while end < n and text[end] != '"':
                if text[end] == "\\" and end + 1 < n:
                    end += 1
                buf.append(text[end])
                end += 1
            if end >= n:
                raise RuleError(f"query_string: unclosed quote in {text!r}")
            tokens.append(("PHRASE", "".join(buf)))
            i = end + 1
            i = _after_phrase(text, i)
        elif char in "[{":
            end = i + 1
            while end < n and text[end] not in "]}":
                end += 1
            if end >= n:
                raise RuleError(f"query_string: unclosed range in {text!r}")
            parts = text[i + 1 : end].split(" TO ")
            if len(parts) != 2:
                raise RuleError(
                    f"query_string: a range reads [low TO high], got {text[i : end + 1]!r}"
                )
            low, high = (p.strip().strip('"') for p in parts)
            tokens.append(
                (
                    "RANGE",
                    (
                        None if low == "*" else low,
                        None if high == "*" else high,
                        char == "[",
                        text[end] == "]",
                    ),
                )
            )
            i = end + 1
        elif (
            char in "+-"
            and i + 1 < n
            and not text[i + 1].isspace()
            and (not tokens or tokens[-1][0] != "FIELD")
        ):
            tokens.append((char, None))
            i += 1
        else:
            end, buf, field = i, [], None
            while end < n and text[end] not in _SPECIAL:
                if text[end] == "\\" and end + 1 < n:
                    buf.append("\\" + text[end + 1])
                    end += 2
                    continue
                if text[end] == ":" and field is None:
                    field = "".join(buf)
                    buf = []
                    end += 1
                    break
                buf.append(text[end])
                end += 1
            word = _plain(text, "".join(buf))
            if field is not None:
                tokens.append(("FIELD", field.replace("\\", "")))
            elif word in _OPS:
                tokens.append((_OPS[word], None))
            else:
                tokens.append(("WORD", word))
            i = end
    return tokens


def _after_phrase(text: str, i: int) -> int:
    """Skip a boost after a phrase; refuse a proximity search."""
    if i < len(text) and text[i] == "~":
        raise RuleError(
            f'query_string: proximity searches ("…"~N) are not supported in {text!r}: '
            "search the phrase, or the words with AND"
        )
    found = re.match(r"\^\d+(\.\d+)?", text[i:])
    return i + found.end() if found else i


def _plain(text: str, word: str) -> str:
    """A word without its boost; fuzzy terms and regular expressions are refused."""
    if re.search(r"(?<!\\)~", word):
        raise RuleError(
            f"query_string: fuzzy searches (~) are not supported in {text!r}: "
            "use a wildcard (timeo*) or list the spellings with OR"
        )
    if word.startswith("/"):
        raise RuleError(
            f"query_string: regular expressions (/…/) are not supported in {text!r}: "
            'use wildcards, or quote a value that starts with "/" (url.path:"/api")'
        )
    return _BOOST.sub("", word)


class _Parser:
    def __init__(self, text: str, default_operator: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.default_and = default_operator.upper() == "AND"

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        if self.pos >= len(self.tokens):
            raise RuleError(f"query_string: unexpected end of {self.text!r}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            return ("all",)
        node = self.or_expr(None)
        if self.pos != len(self.tokens):
            raise RuleError(
                f"query_string: unexpected {self.tokens[self.pos][0]!r} in {self.text!r}"
            )
        return node

    def or_expr(self, field: str | None) -> Node:
        items = [self.and_expr(field)]
        while self.peek() == "OR":
            self.take()
            items.append(self.and_expr(field))
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self, field: str | None) -> Node:
        items = [self.implicit(field)]
        while self.peek() == "AND":
            self.take()
            items.append(self.implicit(field))
        return items[0] if len(items) == 1 else ("and", items)

    def implicit(self, field: str | None) -> Node:
        must: list[Node] = []
        should: list[Node] = []
        must_not: list[Node] = []
        while self.peek() not in (None, ")", "AND", "OR"):
            kind = self.peek()
            if kind in ("+", "-"):
                self.take()
                (must if kind == "+" else must_not).append(self.unary(field))
            elif kind == "NOT":
                self.take()
                must_not.append(self.unary(field))
            else:
                (must if self.default_and else should).append(self.unary(field))
        if not (must or should or must_not):
            raise RuleError(f"query_string: empty clause in {self.text!r}")
        if len(must) + len(should) == 1 and not must_not:
            return (must or should)[0]
        return ("bool", must, should, must_not)

    def unary(self, field: str | None) -> Node:
        kind, value = self.take()
        if kind == "NOT":
            return ("not", self.unary(field))
        if kind == "(":
            node = self.or_expr(field)
            if self.take()[0] != ")":
                raise RuleError(f"query_string: missing ')' in {self.text!r}")
            return node
        if kind == "FIELD":
            if value == "_exists_":
                _, name = self.take()
                return ("exists", str(name))
            return self.unary(value)
        if kind == "PHRASE":
            return ("term", field, value, True)
        if kind == "RANGE":
            low, high, low_incl, high_incl = value
            return ("range", field, low, high, low_incl, high_incl)
        if kind == "WORD":
            return self.word(field, value)
        raise RuleError(f"query_string: unexpected {kind!r} in {self.text!r}")

    def word(self, field: str | None, word: str) -> Node:
        for op in (">=", "<=", ">", "<"):
            if word.startswith(op) and field is not None:
                bound = word[len(op) :]
                if op[0] == ">":
                    return ("range", field, bound, None, op == ">=", False)
                return ("range", field, None, bound, False, op == "<=")
        if word == "*" and field is not None:
            return ("exists", field)
        return ("term", field, word, False)


def parse_query_string(text: str, default_operator: str = DEFAULT_OPERATOR) -> Node:
    """Parse ``text`` into the tuple tree described in the module docstring."""
    if default_operator.upper() not in ("AND", "OR"):
        raise RuleError(
            f"query_string: default_operator must be AND or OR, got {default_operator!r}"
        )
    return _Parser(text, default_operator).parse()
