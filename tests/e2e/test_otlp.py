"""The OpenTelemetry Python SDK (logging handler + OTLP exporters, HTTP and gRPC) through
the whole pipeline: collector → Kafka → processor → OpenSearch, exact field values."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from bench import services
from tests.reliability.harness import Pipeline, all_docs, wait_until

DEADLINE_S = 90


class _Keep(logging.Filter):
    """Keeps the LogRecords the handler saw (their ``created`` is the OTLP time)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return True


def _emit(service: str, exporter: LogRecordExporter) -> tuple[list[logging.LogRecord], str, str]:
    """Log three lines through the SDK's handler; returns (records, trace id, span id)."""
    resource = Resource.create(
        {
            "service.name": service,
            "service.version": "2.1.0",
            "host.name": "web-1",
            "k8s.namespace.name": "shop",
            "k8s.pod.name": "orders-7d9f-abcde",
            "deployment.environment.name": "production",
        }
    )
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's handler is the client
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    keep = _Keep()
    handler.addFilter(keep)
    logger = logging.getLogger(f"shop.orders.{service}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    tracer = TracerProvider().get_tracer("tests")
    try:
        with tracer.start_as_current_span("checkout") as span:
            context = span.get_span_context()
            logger.warning("payment retry %d for order %s", 2, "A-42", extra={"order_id": 42})
            try:
                raise ValueError("card declined")
            except ValueError:
                logger.exception("checkout failed")
        logger.debug("cache warm")
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    return keep.records, f"{context.trace_id:032x}", f"{context.span_id:016x}"


def _ns_text(created: float) -> str:
    ns = int(created * 1e9)  # what the SDK's handler sends as time_unix_nano
    seconds, fraction = divmod(ns, 10**9)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


async def _docs(pipeline: Pipeline, service: str, count: int) -> list[dict[str, Any]]:
    url = pipeline.settings.opensearch_url
    pattern = f"logs-{service}"
    async with aiohttp.ClientSession() as session:

        async def enough() -> bool:
            await services.os_refresh(session, url, pattern)
            return await services.os_count(session, url, pattern) >= count

        await wait_until(enough, DEADLINE_S, f"{count} documents in {pattern}")
        docs = await all_docs(session, url, pattern)
    return sorted(docs, key=lambda d: d["@timestamp"])


def _check(
    docs: list[dict[str, Any]],
    records: list[logging.LogRecord],
    service: str,
    trace_id: str,
    span_id: str,
) -> None:
    assert len(docs) == 3
    warn, failed, debug = docs
    common = {
        "event.dataset": "otlp",
        "log.logger": f"shop.orders.{service}",
        "service.name": service,
        "service.environment": "production",
        "host.name": "web-1",
        "kubernetes.namespace": "shop",
        "kubernetes.pod.name": "orders-7d9f-abcde",
    }
    for doc in docs:
        assert len(doc.pop("event.id")) == 32
        assert doc.pop("event.ingested").endswith("Z")
        labels = doc["labels"]
        assert labels["service"] == {"version": "2.1.0"}
        assert labels["resource"]["telemetry_sdk_language"] == "python"
        assert labels["code_file_path"] == __file__
        assert labels["code_function_name"] == "_emit"
    code = [
        {"code_file_path": __file__, "code_function_name": "_emit", "code_line_number": r.lineno}
        for r in records
    ]
    assert {k: v for k, v in warn.items() if k != "labels"} == {
        **common,
        "@timestamp": _ns_text(records[0].created),
        "event.severity": 13,
        "message": "payment retry 2 for order A-42",
        "log.level": "warn",
        "trace.id": trace_id,
        "span.id": span_id,
    }
    assert {k: v for k, v in warn["labels"].items() if k not in ("service", "resource")} == {
        **code[0],
        "order_id": 42,
    }
    stack = failed.pop("error.stack_trace")
    assert stack.startswith("Traceback (most recent call last):")
    assert stack.rstrip().endswith("ValueError: card declined")
    assert {k: v for k, v in failed.items() if k != "labels"} == {
        **common,
        "@timestamp": _ns_text(records[1].created),
        "event.severity": 17,
        "message": "checkout failed",
        "log.level": "error",
        "trace.id": trace_id,
        "span.id": span_id,
        "error.type": "ValueError",
        "error.message": "card declined",
    }
    assert {k: v for k, v in debug.items() if k != "labels"} == {
        **common,
        "@timestamp": _ns_text(records[2].created),
        "event.severity": 5,
        "message": "cache warm",
        "log.level": "debug",
    }


async def _run(pipeline: Pipeline, service: str, make: Callable[[], LogRecordExporter]) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    records, trace_id, span_id = await asyncio.to_thread(_emit, service, make())
    _check(await _docs(pipeline, service, 3), records, service, trace_id, span_id)


async def test_sdk_otlp_http_exporter_with_gzip(pipeline: Pipeline) -> None:
    endpoint = f"http://127.0.0.1:{pipeline.otlp_http_port}/v1/logs"
    service = f"{pipeline.prefix}-orders-http"
    await _run(pipeline, service, lambda: HttpExporter(endpoint, compression=Compression.Gzip))


async def test_sdk_otlp_grpc_exporter(pipeline: Pipeline) -> None:
    endpoint = f"127.0.0.1:{pipeline.otlp_grpc_port}"
    service = f"{pipeline.prefix}-orders-grpc"
    await _run(pipeline, service, lambda: GrpcExporter(endpoint, insecure=True))
