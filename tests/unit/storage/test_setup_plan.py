"""Setup decisions, pure: which topics to create, which templates to put."""

from __future__ import annotations

from typing import Any

from bitacora.processors.storage.ism import ism_action, ism_answers, ism_request
from bitacora.processors.storage.setup import (
    TopicPlan,
    desired_topics,
    plan_topics,
    streams_to_roll,
    template_action,
)
from bitacora.processors.storage.templates import logs_index_template
from bitacora.settings import Settings


def test_desired_topics_follow_settings() -> None:
    settings = Settings(topic_raw="r", topic_normalized="n", topic_partitions=3)
    assert desired_topics(settings) == {"r": 3, "n": 3, "logs.deadletter": 3, "alerts": 3}


def test_plan_topics() -> None:
    plan = plan_topics({"a": 6, "b": 6, "c": 6, "d": 6}, {"a": 6, "b": 3, "d": 12, "x": 1})
    assert plan == TopicPlan(create={"c": 6}, ok=["a", "d"], fewer_partitions={"b": (3, 6)})


def test_plan_topics_nothing_exists() -> None:
    assert plan_topics({"a": 2}, {}) == TopicPlan(create={"a": 2})


def test_template_action() -> None:
    body = logs_index_template(Settings())
    assert template_action(body, None) == "create"
    assert template_action(body, {"index_patterns": ["logs-*"]}) == "update"
    assert template_action(body, {"_meta": {"bitacora_hash": "0" * 16}}) == "update"
    echoed = {"index_patterns": ["logs-*"], "_meta": dict(body["_meta"])}
    assert template_action(body, echoed) == "unchanged"


def test_ism_answers() -> None:
    no_handler = {"error": "no handler found for uri [/_plugins/_ism/policies/x] and method [GET]"}
    assert ism_answers(400, no_handler) is False
    assert ism_answers(404, no_handler) is False
    assert ism_answers(200, {"_id": "x", "policy": {}}) is True
    missing = {"error": {"type": "status_exception", "reason": "Policy not found"}, "status": 404}
    assert ism_answers(404, missing) is True
    assert ism_answers(503, {"error": "x"}) is False


def test_ism_request_uses_the_retention_builder_and_carries_its_digest() -> None:
    settings = Settings(retention_days=7, rollover_max_age="12h", rollover_max_size="5gb")
    body = ism_request(settings)
    policy = body["policy"]
    assert policy["ism_template"] == [{"index_patterns": ["logs-*"], "priority": 100}]
    assert policy["states"][0]["actions"] == [
        {"rollover": {"min_index_age": "12h", "min_size": "5gb"}}
    ]
    assert policy["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "7d"}
    assert policy["description"].startswith(
        "Bitácora logs: roll over at 12h or 5gb, delete after 7d [bitacora-hash "
    )
    assert ism_request(settings) == body
    assert ism_request(Settings(retention_days=8))["policy"]["description"] != policy["description"]


def test_ism_action() -> None:
    body = ism_request(Settings())
    assert ism_action(body, None) == "create"
    echoed: dict[str, Any] = {
        "_id": "bitacora-logs-retention",
        "_seq_no": 3,
        "_primary_term": 1,
        "policy": {**body["policy"], "last_updated_time": 1, "schema_version": 21},
    }
    assert ism_action(body, echoed) == "unchanged"
    older = {**echoed, "policy": {**echoed["policy"], "description": "old"}}
    assert ism_action(body, older) == "update"


def test_streams_to_roll() -> None:
    def stream(name: str, template: str, *indices: str) -> dict[str, Any]:
        return {
            "name": name,
            "template": template,
            "indices": [{"index_name": i, "index_uuid": "u"} for i in indices],
        }

    streams = [
        stream("logs-a", "bitacora-logs", ".ds-logs-a-000001", ".ds-logs-a-000002"),
        stream("logs-b", "bitacora-logs", ".ds-logs-b-000001"),
        stream("logs-c", "bitacora-logs", ".ds-logs-c-000001"),
        stream("logs-t1-x", "test-logs-t1", ".ds-logs-t1-x-000001"),
    ]
    hashes = {
        ".ds-logs-a-000001": "old",
        ".ds-logs-a-000002": "new",
        ".ds-logs-b-000001": "old",
        ".ds-logs-c-000001": None,
        ".ds-logs-t1-x-000001": "other",
    }
    assert streams_to_roll("bitacora-logs", "new", streams, hashes) == ["logs-b", "logs-c"]
    assert streams_to_roll("bitacora-logs", "new", [], {}) == []
