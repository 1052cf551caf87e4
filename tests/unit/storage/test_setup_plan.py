"""Setup decisions, pure: which topics to create, which templates to put."""

from __future__ import annotations

from bitacora.settings import Settings
from processors.storage.setup import TopicPlan, desired_topics, plan_topics, template_action
from processors.storage.templates import logs_index_template


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
