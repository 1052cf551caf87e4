"""What both OTLP transports do with a request body: decode, publish, answer.

The answer (an ``ExportLogsServiceResponse``) is built only once Kafka holds every
accepted record; rejected records are counted in ``partial_success`` and dead-lettered
with their reason. Event ids are deterministic: the chunk id is a hash of the (inflated)
body and the position is the record's index in the request, so a retried export maps to
the same ids and is stored once.
"""

from __future__ import annotations

import asyncio
import time
from hashlib import blake2b
from typing import Final

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
)

from bitacora.collector.budget import ByteBudget
from bitacora.collector.metrics import CollectorMetrics
from bitacora.collector.otlp.decode import Encoding, log_records, parse_request
from bitacora.collector.publisher import KafkaUnavailable, Publisher
from bitacora.collector.records import deadletter, raw_records, split_oversized
from bitacora.deadletter import TOO_LARGE
from bitacora.settings import Settings

TAG: Final = "otlp"  # event.dataset of OTLP events; also their transport


class Unavailable(Exception):
    """Kafka did not take the records in time (HTTP 503, gRPC UNAVAILABLE)."""


def chunk_id(body: bytes) -> str:
    """The request's chunk id: ``otlp:`` and a blake2b-128 hex digest of the body."""
    return "otlp:" + blake2b(body, digest_size=16).hexdigest()


class OtlpIngest:
    """Decodes and publishes OTLP log requests for the HTTP and gRPC servers."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        metrics: CollectorMetrics,
        budget: ByteBudget,
    ) -> None:
        self._settings = settings
        self._publisher = publisher
        self._metrics = metrics
        self.budget = budget

    def reject(self, source: str, reason: str) -> None:
        """Count a request refused before decoding (token, size, content type)."""
        self._metrics.rejections.inc(source, reason)

    async def healthy(self) -> bool:
        """True when Kafka answers."""
        return await self._publisher.healthy()

    async def export(
        self, body: bytes, encoding: Encoding, peer: str, source: str
    ) -> ExportLogsServiceResponse:
        """Publish the records of one request; the response once Kafka holds them.

        Raises ``decode.BadRequest`` for a body that is no logs request and
        ``Unavailable`` when Kafka cannot take the records (the client retries).
        """
        metrics = self._metrics
        metrics.requests.inc(source)
        metrics.bytes.inc(source, TAG, amount=len(body))
        try:
            request = parse_request(body, encoding)
        except ValueError:
            metrics.rejections.inc(source, "bad_body")
            raise
        entries, services, rejects = log_records(request)
        received = time.time_ns()
        records = raw_records(
            TAG,
            [(0, record) for record in entries],  # the time is mapped by the normalizer
            received,
            peer,
            TAG,
            chunk_id(body),
            services,
        )
        records, too_large = split_oversized(records, self._publisher.record_limit)
        rejects += [(TOO_LARGE, value) for value in too_large]
        letters = [deadletter(r, original, TAG, received, peer, source) for r, original in rejects]
        for reason, _ in rejects:
            metrics.rejections.inc(source, reason)
        try:
            async with asyncio.timeout(self._settings.http_publish_timeout_s):
                await self._publisher.publish(records, letters)
        except (KafkaUnavailable, TimeoutError) as exc:
            metrics.publish_failures.inc(source)
            raise Unavailable("Kafka cannot take the records now; retry") from exc
        metrics.events.inc(source, TAG, amount=len(records))
        if letters:
            metrics.deadletters.inc(source, amount=len(letters))
        metrics.acks.inc(source)
        response = ExportLogsServiceResponse()
        if rejects:
            reasons = sorted({reason for reason, _ in rejects})
            response.partial_success.CopyFrom(
                ExportLogsPartialSuccess(
                    rejected_log_records=len(rejects),
                    error_message="dead-lettered: " + ", ".join(reasons),
                )
            )
        return response
