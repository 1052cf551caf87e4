"""Scenario 5: bulk items rejected with 429 on the whole pipeline.

A real HTTP proxy in front of the real OpenSearch (tests/integration/storage/bulkproxy.py)
takes some items out of the first bulk requests and answers them with OpenSearch's 429
``es_rejected_execution_exception``; the processor's index role talks to the proxy. Passes
when only the failed items are sent again and every acknowledged record is stored once.
"""

from __future__ import annotations

from collections import Counter

import aiohttp

from bitacora.collector.forward.encode import event_time, forward
from tests.integration.storage.bulkproxy import BulkProxy, Step
from tests.reliability.clients import send_raw
from tests.reliability.harness import Pipeline, indexed_seqs, loss_and_duplicates, wait_until

RECORDS = 600


async def test_05_bulk_items_rejected_with_429(pipeline: Pipeline) -> None:
    """Only the rejected items are retried (with backoff); 0 lost, 0 duplicated."""
    script = [
        Step(reject=lambda pos, _id: pos % 3 == 0),  # a third of the first bulk
        Step(reject=lambda pos, _id: pos % 2 == 0),  # half of what is retried
    ]
    async with BulkProxy(pipeline.settings.opensearch_url, script) as proxy:
        pipeline.extra_env["BITACORA_OPENSEARCH_URL"] = proxy.url
        pipeline.start_collector()
        pipeline.start_processor()
        source = f"bulk5-{pipeline.rid}"
        tag = f"{pipeline.prefix}-bulk.app"
        entries = [
            (event_time(1_700_000_000, i), {"source": source, "seq": i, "message": f"line {i}"})
            for i in range(RECORDS)
        ]
        outcome = await send_raw(
            pipeline.forward_port, forward(tag, entries, {"chunk": "bulk5"}), wait_s=30
        )
        assert {"ack": "bulk5"} in outcome.replies

        url = pipeline.settings.opensearch_url
        async with aiohttp.ClientSession() as session:

            async def stored() -> Counter[int] | None:
                pipeline.assert_alive()
                seen = await indexed_seqs(session, url, pipeline.pattern, source)
                return seen if len(seen) == RECORDS else None

            seen = await wait_until(stored, 120, f"{RECORDS} records stored", every_s=1.0)
        lost, duplicated = loss_and_duplicates(range(RECORDS), seen)
        assert (lost, duplicated) == ([], {})

    first, retry, again = proxy.seen[0], proxy.seen[1], proxy.seen[2]
    rejected_first = [doc_id for pos, doc_id in enumerate(first) if pos % 3 == 0]
    assert retry == rejected_first  # only the failed items, in order
    assert again == [doc_id for pos, doc_id in enumerate(retry) if pos % 2 == 0]
    sent = Counter(doc_id for request in proxy.seen for doc_id in request)
    print(
        f"scenario 5: {RECORDS} acked, 0 lost, 0 duplicated; bulk requests "
        f"{[len(r) for r in proxy.seen]}, item sends {sum(sent.values())}"
    )
