"""Retention on the real OpenSearch: ISM where the plugin is installed, core APIs where not.

The local stack has no index-management plugin (its zip is not published where the stack
fetches from; see docs/stack.md), so on this machine the ISM test asserts that truth and
then proves the fallback that replaces ISM (``bitacora.retention.apply_retention``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from bitacora.processors.storage.ism import ism_policy
from bitacora.retention import apply_retention, ism_available

ISM_PLUGIN = "opensearch-index-management"


@pytest.fixture
def client(opensearch_url: str) -> Iterator[OpenSearch]:
    os_client = OpenSearch(hosts=[opensearch_url])
    yield os_client
    os_client.close()


@pytest.fixture
def stream(client: OpenSearch) -> Iterator[str]:
    """A fresh data stream ``bitacora-rt-<uuid>`` (template + stream), deleted afterwards."""
    name = f"bitacora-rt-{uuid.uuid4().hex[:12]}"
    client.indices.put_index_template(
        name=name,
        body={
            "index_patterns": [f"{name}*"],
            "data_stream": {},
            "priority": 500,
            "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0}},
        },
    )
    client.indices.create_data_stream(name=name)
    yield name
    client.indices.delete_data_stream(name=name, ignore=[404])
    client.indices.delete_index_template(name=name, ignore=[404])


def _add_doc(client: OpenSearch, stream: str) -> None:
    client.index(
        index=stream,
        body={"@timestamp": datetime.now(UTC).isoformat(), "message": "x"},
        op_type="create",
        refresh=True,
    )


def _backing(client: OpenSearch, stream: str) -> list[str]:
    answer = client.indices.get_data_stream(name=stream)
    return [i["index_name"] for i in answer["data_streams"][0]["indices"]]


def _plugins(client: OpenSearch) -> set[str]:
    return {p["component"] for p in client.cat.plugins(format="json")}


def _prove_fallback_retention(client: OpenSearch, stream: str) -> None:
    gen = [f".ds-{stream}-{n:06d}" for n in (1, 2, 3)]
    pattern = f"{stream}*"

    # Empty write index: the max_docs condition does not hold, nothing rolls, nothing goes.
    report = apply_retention(client, pattern, timedelta(hours=1), max_docs=1)
    assert (report.rolled_over, report.deleted, report.kept) == ({}, [], {stream: [gen[0]]})

    _add_doc(client, stream)
    report = apply_retention(client, pattern, timedelta(hours=1), max_docs=1)
    assert report.rolled_over == {stream: gen[1]}
    assert report.deleted == []  # gen 1 stopped receiving writes just now: kept for 1 h
    assert _backing(client, stream) == [gen[0], gen[1]]

    _add_doc(client, stream)
    two_hours_later = datetime.now(UTC) + timedelta(hours=2)
    report = apply_retention(client, pattern, timedelta(hours=1), max_docs=1, now=two_hours_later)
    assert report.rolled_over == {stream: gen[2]}
    assert report.deleted == [gen[0], gen[1]]
    assert report.kept == {stream: [gen[2]]}
    assert _backing(client, stream) == [gen[2]]  # the write index always stays
    assert not client.indices.exists(index=gen[0])
    assert not client.indices.exists(index=gen[1])
    assert client.count(index=stream)["count"] == 0


def test_retention_without_ism_uses_core_apis(client: OpenSearch, stream: str) -> None:
    """Runs on every cluster: rollover with conditions + deletion of old backing indices."""
    _prove_fallback_retention(client, stream)


def test_ism_policy_attaches_rolls_over_and_deletes(client: OpenSearch, stream: str) -> None:
    """With ISM: the policy's ism_template attaches to a new index, rollover and delete run.

    Without ISM (this machine): assert that the plugin really is absent and that retention
    is enforced by the fallback instead — never a silent pass.
    """
    if not ism_available(client):
        assert ISM_PLUGIN not in _plugins(client)
        _prove_fallback_retention(client, stream)
        return

    assert ISM_PLUGIN in _plugins(client)
    policy_id = f"{stream}-policy"
    body = ism_policy(1, "1m", "10gb", [f"{stream}*"])
    # Short timings so the test sees both actions: roll over after 1 minute, delete the
    # rolled-over index when it is 2 minutes old (job_interval is 1 minute in the stack).
    body["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"] = "2m"
    client.transport.perform_request("PUT", f"/_plugins/_ism/policies/{policy_id}", body=body)
    try:
        client.indices.delete_data_stream(name=stream)
        client.indices.create_data_stream(name=stream)  # new backing index: template applies
        first = _backing(client, stream)[0]
        _add_doc(client, stream)
        explain_path = f"/_plugins/_ism/explain/{first}"
        deadline = time.monotonic() + 60
        while True:
            explained = client.transport.perform_request("GET", explain_path).get(first, {})
            attached = explained.get("policy_id") or explained.get(
                "index.plugins.index_state_management.policy_id"
            )
            if attached:
                break
            assert time.monotonic() < deadline, f"policy never attached: {explained}"
            time.sleep(1)
        assert attached == policy_id
        deadline = time.monotonic() + 600
        while client.indices.exists(index=first):
            assert time.monotonic() < deadline, "ISM did not roll over and delete in 10 min"
            time.sleep(5)
        assert first not in _backing(client, stream)
        assert len(_backing(client, stream)) >= 1
    finally:
        client.transport.perform_request(
            "DELETE", f"/_plugins/_ism/policies/{policy_id}", params={"ignore": 404}
        )
