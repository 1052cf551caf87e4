"""OpenSearch error bodies shortened to what the user must fix."""

from __future__ import annotations

from bitacora.search.errors import shorten_reason

PARSE_ERROR = {
    "error": {
        "root_cause": [
            {"type": "query_shard_exception", "reason": "Failed to parse query [foo AND]"}
        ],
        "type": "search_phase_execution_exception",
        "reason": "all shards failed",
        "phase": "query",
        "failed_shards": [
            {
                "shard": 0,
                "index": "logs-a",
                "reason": {
                    "type": "query_shard_exception",
                    "reason": "Failed to parse query [foo AND]",
                    "caused_by": {
                        "type": "parse_exception",
                        "reason": "Cannot parse 'foo AND': Encountered \"<EOF>\" at line 1.\n"
                        "Was expecting one of:\n    <NOT> ...",
                        "caused_by": {
                            "type": "parse_exception",
                            "reason": 'Encountered "<EOF>" at line 1',
                        },
                    },
                },
            }
        ],
    },
    "status": 400,
}


def test_the_parse_reason_wins() -> None:
    assert shorten_reason(PARSE_ERROR) == "Cannot parse 'foo AND': Encountered \"<EOF>\" at line 1."


def test_otherwise_the_deepest_reason() -> None:
    body = {
        "error": {
            "reason": "all shards failed",
            "caused_by": {"reason": "No mapping found for [x]"},
        }
    }
    assert shorten_reason(body) == "No mapping found for [x]"


def test_root_cause_without_caused_by() -> None:
    body = {"error": {"root_cause": [{"reason": "no mapping found for [x] in order to sort on"}]}}
    assert shorten_reason(body) == "no mapping found for [x] in order to sort on"


def test_long_reasons_are_cut_to_one_line() -> None:
    reason = shorten_reason({"error": {"reason": "a\n  b " + "x" * 500}}, limit=20)
    assert reason == "a b " + "x" * 15 + "…"
    assert len(reason) == 20


def test_plain_strings_and_empty() -> None:
    assert shorten_reason("illegal_argument_exception") == "illegal_argument_exception"
    assert shorten_reason({}) == "bad request"
