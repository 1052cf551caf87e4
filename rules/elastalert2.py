"""ElastAlert2 rule files as they are: sort their keys before the model validates them.

A key is either a Bitácora option (validated by ``rules.model.Rule``), an option
ElastAlert2 knows that Bitácora does not use (dropped with a warning naming it), or a
mistake (an error naming the nearest valid key). The names ElastAlert2 knows come from its
2.19 schema and loader (``elastalert2_names.json``). An alerter ElastAlert2 has and
Bitácora has not registered is dropped from ``alert`` with a warning: the rule still runs
and its alerts are indexed in ``bitacora-alerts``; that alerter's options are then
ElastAlert2 options Bitácora ignores.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

_NAMES = Path(__file__).parent / "elastalert2_names.json"

# Options of ElastAlert2's polling loop: on the stream they have no meaning.
POLLING_OPTIONS = frozenset(
    {
        "es_host",
        "es_port",
        "es_username",
        "es_password",
        "es_url_prefix",
        "es_conn_timeout",
        "use_ssl",
        "verify_certs",
        "doc_type",
        "timestamp_type",
        "timestamp_format",
        "run_every",
        "query_delay",
        "use_count_query",
        "use_terms_query",
        "scan_entire_timeframe",
        "max_query_size",
        "max_scrolling_count",
        "use_run_every_query_size",
        "allow_buffer_time_overlap",
        "terms_size",
        "window_step_size",
        "use_keyword_postfix",
        "use_local_time",
    }
)


@lru_cache(maxsize=1)
def _known() -> tuple[frozenset[str], frozenset[str]]:
    data = json.loads(_NAMES.read_text(encoding="utf-8"))
    return frozenset(data["options"]) | POLLING_OPTIONS, frozenset(data["alerters"])


def elastalert2_options() -> frozenset[str]:
    """Every rule option name ElastAlert2 2.19 knows."""
    return _known()[0]


def elastalert2_alerters() -> frozenset[str]:
    """Every alerter name ElastAlert2 2.19 knows (``alert: [...]``)."""
    return _known()[1]


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a mistyped ``name``, if one is close enough."""
    found = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return found[0] if found else None


@dataclass
class Sorted:
    """A rule mapping split into what the model validates, warnings and errors.

    Warnings and errors are ``(key path, message)`` pairs; the loader adds file and line.
    """

    data: dict[str, Any]
    warnings: list[tuple[tuple[str | int, ...], str]] = field(default_factory=list)
    errors: list[tuple[tuple[str | int, ...], str]] = field(default_factory=list)


def sort_options(
    data: dict[str, Any], accepted: Collection[str], alerters: Collection[str]
) -> Sorted:
    """Keep the ``accepted`` keys; warn on ElastAlert2-only ones; refuse the others.

    ``alerters`` are the alerter names Bitácora delivers to.
    """
    options, ea2_alerters = _known()
    out = Sorted({})
    for key, value in data.items():
        name = str(key)
        if name in accepted:
            out.data[name] = value
        elif name in options:
            why = (
                "Bitácora evaluates rules on the stream, without polling"
                if name in POLLING_OPTIONS
                else "Bitácora does not use it"
            )
            out.warnings.append(((name,), f"ElastAlert2 option {name!r} ignored: {why}"))
        else:
            guess = nearest(name, {*accepted, *options})
            hint = f" (did you mean {guess!r}?)" if guess else ""
            out.errors.append(((name,), f"unknown key {name!r}{hint}"))
    raw_alert = out.data.get("alert")
    if raw_alert is None:
        return out
    names = [raw_alert] if isinstance(raw_alert, str) else raw_alert
    if not isinstance(names, list):
        return out  # the model reports the wrong shape
    kept: list[Any] = []
    for index, item in enumerate(names):
        if not isinstance(item, str) or item in alerters:
            kept.append(item)
        elif item in ea2_alerters:
            out.warnings.append(
                (
                    ("alert", index),
                    f"alerter {item!r} is not available in Bitácora yet: the rule runs and "
                    "its alerts are only indexed in bitacora-alerts",
                )
            )
        else:
            guess = nearest(item, {*alerters, *ea2_alerters})
            hint = f" (did you mean {guess!r}?)" if guess else ""
            out.errors.append((("alert", index), f"unknown alerter {item!r}{hint}"))
    out.data["alert"] = kept
    return out
