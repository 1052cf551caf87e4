"""JSON objects inside ``log``/``message`` (Docker json-file, Kubernetes, pino, bunyan...)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from bitacora.processors.normalize.parsers.base import LineParser

_decode = json.JSONDecoder().decode


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The object encoded in ``text``, or None when it is not exactly one JSON object.

    Only tried when the text looks like an object (``{`` ... ``}``), so plain lines cost
    two character checks.

    The result is always what ``json`` decodes. orjson is tried first (several times
    faster) and its result kept only when it holds no float: orjson turns integers
    beyond 64 bits into floats, while ``json`` keeps them exact; without floats the two
    agree. Anything orjson rejects (NaN, 1e400, lone surrogate escapes, very deep
    nesting) goes to ``json`` as before.
    """
    if not text or text[0] != "{" or text[-1] != "}":
        return None
    try:
        value = orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, whatever the cause
        pass
    else:
        if type(value) is dict and not _has_float(value):
            return value
    try:
        value = _decode(text)
    except (ValueError, RecursionError):  # also JSONDecodeError; very deep nesting
        return None
    return value if type(value) is dict else None


def _has_float(node: dict[str, Any] | list[Any]) -> bool:
    # True when a float appears anywhere below ``node``; one C-level pass per container.
    items = node.values() if type(node) is dict else node
    kinds = set(map(type, items))
    if float in kinds:
        return True
    if dict in kinds or list in kinds:
        for child in items:
            if (type(child) is dict or type(child) is list) and _has_float(child):
                return True
    return False


def _json_hints(text: str) -> dict[str, Any] | None:
    fields = parse_json_object(text.rstrip())
    return None if fields is None else {"@fields": fields}


PARSER = LineParser("json", "{", _json_hints)
