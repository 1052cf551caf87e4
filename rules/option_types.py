"""Value types rule options share: durations in seconds, one-or-many strings, scalars."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from bitacora.durations import parse_duration

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|w|d|h|m|s)\s*$"},
        {"type": "number", "minimum": 0},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                unit: {"type": "number", "minimum": 0}
                for unit in ("weeks", "days", "hours", "minutes", "seconds", "milliseconds")
            },
        },
    ],
    "description": "ElastAlert2 mapping like {minutes: 5} or text like '5m' (seconds)",
}
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
StrList = Annotated[
    list[str],
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
Scalar = str | int | float | bool
