"""JSON objects inside ``log``/``message`` (Docker json-file, Kubernetes, pino, bunyan...)."""

from __future__ import annotations

import json
from typing import Any

_decode = json.JSONDecoder().decode


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The object encoded in ``text``, or None when it is not exactly one JSON object.

    Only tried when the text looks like an object (``{`` ... ``}``), so plain lines cost
    two character checks.
    """
    if not text or text[0] != "{" or text[-1] != "}":
        return None
    try:
        value = _decode(text)
    except (ValueError, RecursionError):  # also JSONDecodeError; very deep nesting
        return None
    return value if type(value) is dict else None
