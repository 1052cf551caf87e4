"""The bulk-indexing core, pure: request bodies, response classification, backoff.

A document travels as ``(index, id, source_json_bytes)``: the normalizer already produced
the JSON, so the body is built by concatenation, never by re-serializing the event.
Every action is ``create`` with ``_id = event.id``: a re-delivered event meets its own
earlier copy and gets a 409, which counts as done (ARCHITECTURE.md guarantees).

``logs.normalized`` records are such bodies (:mod:`bitacora.bundles`): one record carries
the events one normalize batch made for one service, so the index role posts record values
as they are and Kafka's per-record work is paid once per bundle, not per event. A record without
the ``events`` header is one document, as records were before bundles; those are still
read (:func:`record_sources`), so records an upgrade finds in the topic are neither lost
nor stuck.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import orjson

from bitacora import bundles
from bitacora.bundles import action_head, bulk_line


class Doc(NamedTuple):
    """One document to index: target data stream, ``_id`` and the JSON source."""

    stream: str  # "index" would shadow tuple.index
    id: str
    source: bytes


@dataclass(frozen=True, slots=True)
class Rejection:
    """A document OpenSearch refused for good (it would fail again): dead-letter it."""

    position: int  # index into the batch that was sent
    status: int
    error_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What became of each item of one bulk request, by position in the request."""

    done: list[int] = field(default_factory=list)  # created (201) or already there (409)
    duplicates: int = 0  # how many of ``done`` were 409s
    retry: list[int] = field(default_factory=list)  # 429/5xx: send these again, later
    rejected: list[Rejection] = field(default_factory=list)


# Per-item error types that say "this document can never be indexed as it is".
PERMANENT_ERROR_TYPES: Final = frozenset(
    {
        "mapper_parsing_exception",
        "document_parsing_exception",
        "illegal_argument_exception",
        "strict_dynamic_mapping_exception",
        "parse_exception",
        "json_parse_exception",
        "x_content_parse_exception",
        "not_x_content_exception",
        "invalid_index_name_exception",
        "action_request_validation_exception",
        "document_source_missing_exception",
    }
)
# Per-item error types that are about the cluster, not the document: wait, then retry.
TRANSIENT_ERROR_TYPES: Final = frozenset(
    {
        "es_rejected_execution_exception",
        "opensearch_rejected_execution_exception",
        "rejected_execution_exception",
        "cluster_block_exception",  # e.g. flood-stage disk watermark: retry, do not drop
        "unavailable_shards_exception",
        "no_shard_available_action_exception",
        "process_cluster_event_timeout_exception",
        "circuit_breaking_exception",
        "timeout_exception",
        "node_closed_exception",
    }
)


def build_bulk_body(docs: Sequence[tuple[str, str, bytes]]) -> bytes:
    """The NDJSON ``_bulk`` body: a ``create`` action line then the source, per document.

    Sources must be single-line JSON (``json.dumps`` output is): a newline inside one would
    split it into two bulk lines.
    """
    parts: list[bytes] = []
    append = parts.append
    headers: dict[str, bytes] = {}  # a batch has few distinct streams: encode each once
    for index, doc_id, source in docs:
        head = headers.get(index)
        if head is None:
            head = headers[index] = action_head(index)
        append(bulk_line(head, doc_id, source))
    return b"".join(parts)


def record_sources(value: bytes, headers: Sequence[tuple[str, bytes]]) -> list[bytes]:
    """The documents (JSON) of a logs.normalized record, in order."""
    if bundles.events_in(headers) is None:
        return [value]
    return value.split(b"\n")[1::2]


class BadBundle(ValueError):
    """A logs.normalized record that is not ``_bulk`` lines of ``create`` actions."""


def bundle_problem(body: bytes, events: int) -> str | None:
    """Why ``body`` cannot be a bundle of ``events`` documents (two lines each, the last
    one ended), or None. Only the line structure: the lines are read when needed."""
    lines = body.count(b"\n")
    if lines != 2 * events or (body and not body.endswith(b"\n")):
        return f"{lines} lines for {events} events"
    return None


def parse_bulk_body(body: bytes) -> list[Doc]:
    """The documents of a body of ``create`` actions (:func:`build_bulk_body`'s inverse).

    Raises BadBundle when a line is not what :func:`build_bulk_body` writes.
    """
    lines = body.split(b"\n")
    if len(lines) % 2 == 0 or lines[-1]:
        raise BadBundle(f"{len(lines) - 1} lines, not document pairs each ended by a newline")
    docs = []
    for pos in range(0, len(lines) - 1, 2):
        try:
            action = orjson.loads(lines[pos])["create"]
            index, doc_id = action["_index"], action["_id"]
        except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
            raise BadBundle(f"line {pos + 1} is not a create action: {exc!r}") from exc
        if type(index) is not str or type(doc_id) is not str:
            raise BadBundle(f"line {pos + 1} names no index and id")
        docs.append(Doc(index, doc_id, lines[pos + 1]))
    return docs


@dataclass(slots=True)
class Request:
    """The items of one bulk request: bodies already encoded, the documents on demand.

    Bundles are posted as they are; only when some of their items must be sent again or
    were rejected are they parsed into documents (:meth:`docs`).
    """

    parts: list[bytes]
    count: int
    parsed: list[Doc] | None = None

    @classmethod
    def of(cls, docs: list[Doc]) -> Request:
        """A request of ``docs``."""
        return cls([build_bulk_body(docs)], len(docs), docs)

    def body(self) -> bytes:
        """The NDJSON body."""
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)

    def docs(self) -> list[Doc]:
        """The documents, in the body's order."""
        if self.parsed is None:
            self.parsed = [doc for part in self.parts for doc in parse_bulk_body(part)]
        return self.parsed


def plan_requests(
    docs: Sequence[Doc], bodies: Sequence[tuple[bytes, int]], max_docs: int, max_bytes: int
) -> list[Request]:
    """Requests for ``docs`` then ``bodies`` (bundles: ``(body, events)``) within both bounds.

    A bundle is never split: one larger than a bound gets a request of its own.
    """
    requests = [
        Request.of(list(docs[span.start : span.stop]))
        for span in split_by_size(docs, max_docs, max_bytes)
    ]
    current: Request | None = None
    size = 0
    for body, events in bodies:
        if current is None or current.count + events > max_docs or size + len(body) > max_bytes:
            current, size = Request([], 0), 0
            requests.append(current)
        current.parts.append(body)
        current.count += events
        size += len(body)
    return requests


def split_by_size(
    docs: Sequence[tuple[str, str, bytes]], max_docs: int, max_bytes: int
) -> Iterator[range]:
    """Consecutive position ranges of ``docs`` whose bodies stay within both bounds.

    A single document larger than ``max_bytes`` still gets a range of its own: OpenSearch
    decides (it may accept it or answer 413, which rejects that one document).
    """
    start = 0
    size = 0
    for pos, (index, doc_id, source) in enumerate(docs):
        # {"create":{"_index":"…","_id":"…"}}\n then the source and \n: 35 bytes of syntax
        item = len(source) + len(index) + len(doc_id) + 35
        if pos > start and (pos - start >= max_docs or size + item > max_bytes):
            yield range(start, pos)
            start, size = pos, 0
        size += item
    if start < len(docs):
        yield range(start, len(docs))


def _reason(error: Mapping[str, Any]) -> str:
    """``type: reason`` plus the innermost ``caused_by`` (where the actual value is named)."""
    text = f"{error.get('type', 'unknown')}: {error.get('reason', '')}"
    innermost: Mapping[str, Any] | None = None
    cause = error.get("caused_by")
    while isinstance(cause, Mapping):
        innermost, cause = cause, cause.get("caused_by")
    if innermost is not None:
        text += f" (caused by {innermost.get('type', 'unknown')}: {innermost.get('reason', '')})"
    return text


def item_verdict(status: int, error: Mapping[str, Any] | None) -> str:
    """``"done"``, ``"retry"`` or ``"reject"`` for one bulk item's status and error."""
    if status < 300 or status == 409:
        return "done"
    error_type = str(error.get("type", "")) if error else ""
    if status == 429 or status >= 500 or error_type in TRANSIENT_ERROR_TYPES:
        return "retry"
    # Any other 4xx (mapping conflicts, bad JSON, invalid names, ...) fails the same way on
    # every attempt: retrying would block the partition forever, so it is dead-lettered.
    return "reject"


def classify_bulk_response(response: Mapping[str, Any], sent: int) -> BulkOutcome:
    """Sort the items of a ``_bulk`` response into done, retry and rejected positions.

    ``sent`` is the number of documents in the request. Positions follow the request order
    (OpenSearch answers items in order). A response that does not account for every item
    (it should never happen) sends the unaccounted ones to retry rather than losing them.
    """
    items = response.get("items") or []
    if not response.get("errors") and len(items) == sent:
        return BulkOutcome(done=list(range(sent)))
    done: list[int] = []
    retry: list[int] = []
    rejected: list[Rejection] = []
    duplicates = 0
    for pos, item in enumerate(items[:sent]):
        result = next(iter(item.values())) if item else {}
        status = int(result.get("status", 500))
        error = result.get("error")
        verdict = item_verdict(status, error)
        if verdict == "done":
            done.append(pos)
            duplicates += status == 409
        elif verdict == "retry":
            retry.append(pos)
        else:
            err = error if isinstance(error, Mapping) else {"type": str(error), "reason": ""}
            rejected.append(Rejection(pos, status, str(err.get("type", "unknown")), _reason(err)))
    retry.extend(range(len(items), sent))
    return BulkOutcome(done=done, duplicates=duplicates, retry=retry, rejected=rejected)


def request_verdict(status: int) -> str:
    """What to do when the whole ``_bulk`` request failed with HTTP ``status``.

    ``"retry"`` (429, 5xx, or any unexpected status: nothing is dropped on a guess),
    ``"split"`` (413 or 400: the body is too large or one line breaks it, so halve the
    batch to isolate it; a single document that still fails is rejected by the caller).
    """
    if status in (400, 413):
        return "split"
    return "retry"


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Capped exponential backoff with "equal jitter".

    Half of each delay is fixed (so retries never hammer a struggling cluster with
    near-zero waits), the other half random (so many workers rejected together spread out).
    """

    base_s: float = 0.1
    # Short enough that a recovered cluster is used again within seconds, long enough that
    # a down one sees a handful of requests a minute.
    cap_s: float = 10.0
    multiplier: float = 2.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay before retry number ``attempt`` (1-based)."""
        # The exponent is clamped: retries are unbounded and a float power would overflow.
        exponent = min(max(0, attempt - 1), 64)
        return min(self.cap_s, self.base_s * self.multiplier**exponent)

    def delay(self, attempt: int, jitter: float) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); ``jitter`` in [0, 1)."""
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + ceiling / 2 * jitter
