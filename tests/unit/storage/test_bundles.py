"""logs.normalized bundles: records of ``_bulk`` lines, read back, and planned into requests."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitacora import bundles
from bitacora.bundles import EVENTS_HEADER, action_head, bulk_line
from bitacora.processors.storage.bulk import (
    BadBundle,
    Doc,
    Request,
    build_bulk_body,
    bundle_problem,
    parse_bulk_body,
    plan_requests,
    record_sources,
)

# Sources are single-line JSON, as the normalizer writes them (any text, escaped).
sources = st.text(max_size=40).map(lambda t: json.dumps({"message": t}).encode())
docs = st.lists(st.builds(Doc, st.text(min_size=1, max_size=12), st.text(max_size=12), sources))


@given(docs)
def test_a_body_parses_back_into_its_documents(batch: list[Doc]) -> None:
    assert parse_bulk_body(build_bulk_body(batch)) == batch


@given(docs, st.integers(min_value=1, max_value=400))
def test_bundles_hold_every_line_in_order_within_the_limit(batch: list[Doc], limit: int) -> None:
    lines = [bulk_line(action_head(d.stream), d.id, d.source) for d in batch]
    fitting = [line for line in lines if len(line) <= limit]
    joined = list(bundles.join(fitting, limit))
    assert b"".join(value for value, _ in joined) == b"".join(fitting)
    assert sum(events for _, events in joined) == len(fitting)
    assert all(len(value) <= limit for value, _ in joined)
    assert all(events >= 1 for _, events in joined)
    # Greedy: a bundle ends only where the next line would not fit.
    for (value, _), (following, _) in itertools.pairwise(joined):
        first = following.split(b"\n", 2)
        assert len(value) + len(first[0]) + len(first[1]) + 2 > limit


def test_a_bundle_and_a_one_document_record_are_read_alike() -> None:
    batch = [Doc("logs-a", "1", b'{"message":"x"}'), Doc("logs-a", "2", b'{"message":"y"}')]
    header = [(EVENTS_HEADER, b"2")]
    assert bundles.events_in(header) == 2
    assert record_sources(build_bulk_body(batch), header) == [
        b'{"message":"x"}',
        b'{"message":"y"}',
    ]
    # A record from before bundles: one document, its id in the "id" header.
    legacy = [("id", b"1")]
    assert bundles.events_in(legacy) is None
    assert record_sources(b'{"message":"x"}', legacy) == [b'{"message":"x"}']


def test_a_header_that_is_not_a_count_still_marks_a_bundle_of_one() -> None:
    assert [bundles.events_in([(EVENTS_HEADER, v)]) for v in (b"3", b"0", b"-2", b"x")] == [
        3,
        1,
        1,
        1,
    ]
    assert bundles.header(3) == [(EVENTS_HEADER, b"3")]


def test_requests_bound_documents_and_never_split_a_bundle() -> None:
    singles = [Doc("logs-a", f"d{i}", b"{}") for i in range(5)]
    bundle = [Doc("logs-b", f"b{i}", b"{}") for i in range(3)]
    body = build_bulk_body(bundle)
    requests = plan_requests(
        singles, [(body, 3), (body, 3), (body, 3)], max_docs=7, max_bytes=10**6
    )
    assert [r.count for r in requests] == [5, 6, 3]
    assert requests[0].docs() == singles
    assert requests[1].parts == [body, body]
    assert requests[1].body() == body + body
    assert requests[1].docs() == bundle + bundle
    # A bundle above a bound still goes, alone.
    alone = plan_requests([], [(body, 3), (body, 3)], max_docs=2, max_bytes=10**6)
    assert [(r.count, r.parts) for r in alone] == [(3, [body]), (3, [body])]
    by_bytes = plan_requests([], [(body, 3)] * 3, max_docs=100, max_bytes=2 * len(body))
    assert [r.count for r in by_bytes] == [6, 3]


def test_a_request_of_documents_builds_its_body_once() -> None:
    batch = [Doc("logs-a", "1", b"{}")]
    request = Request.of(batch)
    assert (request.body(), request.count, request.docs()) == (build_bulk_body(batch), 1, batch)


@given(docs)
def test_a_bundle_the_normalizer_writes_has_no_structure_problem(batch: list[Doc]) -> None:
    assert bundle_problem(build_bulk_body(batch), len(batch)) is None


GOOD = build_bulk_body([Doc("logs-a", "1", b'{"m":1}'), Doc("logs-a", "2", b'{"m":2}')])


@pytest.mark.parametrize(
    ("body", "events", "problem"),
    [
        (GOOD, 3, "4 lines for 3 events"),
        (GOOD, 1, "4 lines for 1 events"),
        (GOOD[:-1], 2, "3 lines for 2 events"),
        (GOOD + b"x", 2, "4 lines for 2 events"),  # the last line is not ended
        (b"", 1, "0 lines for 1 events"),
    ],
)
def test_bundle_problem_names_a_line_count_that_does_not_fit(
    body: bytes, events: int, problem: str
) -> None:
    assert bundle_problem(body, events) == problem


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json\n{}\n", "line 1 is not a create action: JSONDecodeError"),
        (b'{"index":{"_index":"a","_id":"1"}}\n{}\n', "line 1 is not a create action: KeyError"),
        (b'["create"]\n{}\n', "line 1 is not a create action: TypeError"),
        (GOOD + b'{"create":{"_index":"a","_id":7}}\n{}\n', "line 5 names no index and id"),
        (GOOD[:-1], "3 lines, not document pairs each ended by a newline"),
        (GOOD + b"{}", "4 lines, not document pairs each ended by a newline"),
    ],
)
def test_lines_that_are_not_create_actions_raise_bad_bundle(body: bytes, message: str) -> None:
    with pytest.raises(BadBundle) as caught:
        parse_bulk_body(body)
    assert str(caught.value).startswith(message)
