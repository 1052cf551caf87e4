"""The demo's OpenTelemetry-instrumented service and its syslog host (pure generators).

``checkout-service`` logs through OpenTelemetry: its records are encoded with the official
OTLP messages (``opentelemetry-proto``), resource and scope as the Python SDK sets them,
and sent to ``/v1/logs``. ``node-3`` is a Kubernetes node whose kubelet, sshd, cron and
PostgreSQL log to syslog (RFC 5424 over UDP).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

OTEL_SERVICE = "checkout-service"
SYSLOG_HOST = "node-3"
_SEVERITY = {"INFO": 9, "WARN": 13, "ERROR": 17}


def _attributes(values: dict[str, str | int]) -> list[KeyValue]:
    return [
        KeyValue(
            key=key,
            value=AnyValue(int_value=value)
            if isinstance(value, int)
            else AnyValue(string_value=value),
        )
        for key, value in values.items()
    ]


@dataclass
class OtelCheckout:
    """``checkout-service``: OTLP log requests, errors in bursts of the payment gateway."""

    seed: int = 11
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def request(self, now_ns: int, count: int, bursting: bool) -> bytes:
        """One serialized ``ExportLogsServiceRequest`` with ``count`` records at ``now_ns``."""
        records = []
        for index in range(count):
            order = self.rng.randint(1000, 99999)
            if bursting or self.rng.random() < 0.02:
                level, body = "ERROR", f"payment for order {order} declined by the gateway"
                extra: dict[str, str | int] = {"exception.type": "PaymentDeclined"}
            elif self.rng.random() < 0.05:
                level, body, extra = "WARN", f"cart {order} held for stock check", {}
            else:
                level, body, extra = "INFO", f"checkout {order} completed", {}
            trace = self.rng.getrandbits(128).to_bytes(16, "big")
            records.append(
                LogRecord(
                    time_unix_nano=now_ns + index * 1000,
                    observed_time_unix_nano=now_ns + index * 1000,
                    severity_number=_SEVERITY[level],  # type: ignore[arg-type]
                    severity_text=level,
                    body=AnyValue(string_value=body),
                    attributes=_attributes({"order_id": order, **extra}),
                    trace_id=trace,
                    span_id=trace[:8],
                )
            )
        resource = Resource(
            attributes=_attributes(
                {
                    "service.name": OTEL_SERVICE,
                    "service.version": "1.4.2",
                    "deployment.environment.name": "demo",
                    "k8s.namespace.name": "shop",
                    "k8s.pod.name": f"{OTEL_SERVICE}-6c8d{self.rng.randint(10, 99)}",
                    "telemetry.sdk.language": "python",
                    "telemetry.sdk.name": "opentelemetry",
                }
            )
        )
        scope = ScopeLogs(scope=InstrumentationScope(name="checkout.api"), log_records=records)
        message = ExportLogsServiceRequest(
            resource_logs=[ResourceLogs(resource=resource, scope_logs=[scope])]
        )
        return message.SerializeToString()


@dataclass
class SyslogNode:
    """``node-3``: RFC 5424 lines from kubelet, sshd, cron and PostgreSQL."""

    seed: int = 13
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def lines(self, now: float, count: int) -> list[bytes]:
        """``count`` syslog messages as sent at ``now``."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".000Z"
        out = []
        for _ in range(count):
            pid = self.rng.randint(100, 9999)
            roll = self.rng.random()
            if roll < 0.4:
                pri, app, text = 30, "kubelet", f"pod shop/order-service-{pid} probe succeeded"
            elif roll < 0.6:
                ip = f"10.0.2.{self.rng.randint(1, 254)}"
                pri, app, text = 84, "sshd", f"Failed password for invalid user admin from {ip}"
            elif roll < 0.8:
                pri, app, text = 78, "cron", "(root) CMD (/usr/local/bin/backup-orders)"
            else:
                pg = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
                pri, app = 131, "postgres"
                text = f"[1-1] {pg}.250 UTC [{pid}] ERROR:  canceling statement due to timeout"
            out.append(f"<{pri}>1 {stamp} {SYSLOG_HOST} {app} {pid} - - {text}".encode())
        return out
