"""MongoDB 4.4+ structured logs: ``{"t":{"$date":..},"s":"E","c":"NETWORK","id":..,
"ctx":..,"msg":..,"attr":{..}}``."""

from __future__ import annotations

from typing import Any

_CONSUMED = ("t", "s", "c", "id", "ctx", "msg", "attr", "tags", "truncated", "size")


def is_mongodb(fields: dict[str, Any]) -> bool:
    """True for a MongoDB structured log entry."""
    time = fields.get("t")
    return (
        type(time) is dict
        and "$date" in time
        and type(fields.get("s")) is str
        and type(fields.get("c")) is str
        and "msg" in fields
    )


def parse_mongodb(fields: dict[str, Any]) -> dict[str, Any]:
    """Hints for a MongoDB entry; its own keys are removed from ``fields``.

    ``s`` is the level (F, E, W, I, D1-D5), ``c`` the component (``log.logger``), ``msg``
    the message; ``id``, ``ctx``, ``attr``, ``tags`` go to ``labels.mongodb``;
    ``attr.durationMillis`` becomes ``event.duration`` and ``attr.error`` (``codeName``,
    ``errmsg``) becomes ``error.type`` / ``error.message``.
    """
    info = {k: fields.pop(k) for k in _CONSUMED if k in fields}
    hints: dict[str, Any] = {
        "@level": info.pop("s"),
        "@time": info.pop("t"),
        "log.logger": info.pop("c"),
        "message": info.pop("msg"),
        "@labels": {"mongodb": info},
    }
    attr = info.get("attr")
    if type(attr) is dict:
        millis = attr.get("durationMillis")
        if type(millis) is int or type(millis) is float:
            hints["event.duration"] = round(millis * 1_000_000)
        error = attr.get("error")
        if type(error) is dict:
            if type(error.get("codeName")) is str:
                hints["error.type"] = error["codeName"]
            if type(error.get("errmsg")) is str:
                hints["error.message"] = error["errmsg"]
    return hints
