"""Realistic traffic from simulated Flores Victoria services, sent with the real fluent-logger.

The generator is pure (a seeded RNG and a clock in, ``(tag, record)`` pairs out); the sender
is a thin loop over fluent-logger's ``FluentSender`` with nanosecond EventTime, so the demo
exercises exactly the client the services use. With the OTLP and syslog ports, a tenth of
the rate each also comes from an OpenTelemetry-instrumented service over OTLP/HTTP and from
a node logging to syslog over UDP (``bitacora.demo_sources``).
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bitacora.demo_sources import OtelCheckout, SyslogNode

APP_SERVICES = (
    "user-service",
    "contact-service",
    "review-service",
    "product-service",
    "order-service",
)
PATHS = (
    ("GET", "/api/products"),
    ("GET", "/api/products/{id}"),
    ("POST", "/api/orders"),
    ("GET", "/api/reviews/{id}"),
    ("POST", "/api/contact"),
    ("POST", "/api/users/login"),
    ("GET", "/api/users/me"),
)
UPSTREAMS = {
    "products": "product-service",
    "orders": "order-service",
    "reviews": "review-service",
    "contact": "contact-service",
    "users": "user-service",
}
INFO_MESSAGES = {
    "user-service": ("user {id} logged in", "profile {id} updated", "session {id} refreshed"),
    "contact-service": ("contact form {id} received", "confirmation mail {id} queued"),
    "review-service": (
        "review {id} published",
        "review {id} moderated",
        "rating recomputed for {id}",
    ),
    "product-service": ("catalog page served", "stock for {id} updated", "price list cached"),
    "order-service": (
        "order {id} created",
        "payment for order {id} captured",
        "order {id} shipped",
    ),
}
ERRORS = {
    "user-service": ("AuthenticationError", "invalid credentials for user {id}"),
    "contact-service": ("SMTPServerDisconnected", "mail relay closed the connection"),
    "review-service": ("ValidationError", "review {id} exceeds 5000 characters"),
    "product-service": ("OperationalError", "could not connect to server: Connection refused"),
    "order-service": ("TimeoutError", "payment gateway timed out after 30s for order {id}"),
}


@dataclass
class DemoTraffic:
    """Generates a second's worth of log records at a time, with periodic error bursts."""

    rate: int = 50  # events per second across all services
    burst_every_s: float = 60.0
    burst_length_s: float = 8.0
    seed: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def bursting_service(self, now: float) -> str | None:
        """The service in an error burst at ``now`` (one burst per period, rotating)."""
        period = int(now // self.burst_every_s)
        if now - period * self.burst_every_s < self.burst_length_s:
            return APP_SERVICES[period % len(APP_SERVICES)]
        return None

    def records(self, now: float, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """``count`` (tag, record) pairs as they would be logged at ``now``."""
        burst = self.bursting_service(now)
        for _ in range(count):
            roll = self.rng.random()
            if roll < 0.25:
                yield "ingress.nginx", {"log": self._access_line(burst)}
            elif roll < 0.30:
                yield "postgresql.db", {"log": self._postgres_line(burst)}
            elif roll < 0.35:
                yield "mongodb.db", self._mongo_record()
            else:
                service = self.rng.choice(APP_SERVICES)
                yield f"{service}.app", self._app_record(service, burst == service)

    def _id(self) -> str:
        return str(self.rng.randint(1000, 99999))

    def _app_record(self, service: str, bursting: bool) -> dict[str, Any]:
        trace_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        record: dict[str, Any] = {
            "service": service,
            "logger": f"{service.split('-')[0]}.handlers",
            "trace_id": trace_id,
            "span_id": trace_id[:16],
            "env": "demo",
            "host": f"{service}-7d9f{self.rng.randint(10, 99)}",
        }
        if bursting or self.rng.random() < 0.02:
            error_type, text = ERRORS[service]
            message = text.format(id=self._id())
            record.update(
                level="ERROR",
                message=message,
                exc_type=error_type,
                exc_message=message,
                stack_trace=(
                    "Traceback (most recent call last):\n"
                    f'  File "/app/{service.split("-")[0]}/handlers.py", line 42, in handle\n'
                    "    result = process(request)\n"
                    f"{error_type}: {message}"
                ),
            )
        elif self.rng.random() < 0.05:
            record.update(
                level="WARNING", message=f"slow request: {self.rng.randint(500, 3000)} ms"
            )
        else:
            template = self.rng.choice(INFO_MESSAGES[service])
            record.update(level="INFO", message=template.format(id=self._id()))
        return record

    def _access_line(self, burst: str | None) -> str:
        method, path = self.rng.choice(PATHS)
        path = path.replace("{id}", self._id())
        status = 200 if self.rng.random() > 0.03 else self.rng.choice((404, 400, 500))
        if burst in ("order-service", "product-service") and path.startswith("/api/"):
            status = 503 if self.rng.random() < 0.5 else status
        ip = f"10.0.{self.rng.randint(0, 3)}.{self.rng.randint(1, 254)}"
        duration = self.rng.uniform(0.002, 0.4)
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        upstream = UPSTREAMS[path.split("/")[2]]
        size = self.rng.randint(200, 9000)
        # The ingress-nginx log format: combined, then request length, time and upstream.
        return (
            f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} '
            f'"-" "Mozilla/5.0 (FloresVictoria demo)" {self.rng.randint(300, 900)} {duration:.3f} '
            f"[shop-{upstream}-80] [] 10.1.0.{self.rng.randint(2, 60)}:8080 {size} "
            f"{max(0.001, duration - 0.001):.3f} {status} {self.rng.getrandbits(128):032x}"
        )

    def _postgres_line(self, burst: str | None) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + ".123 UTC"
        pid = self.rng.randint(100, 999)
        if burst == "product-service":
            return f'{stamp} [{pid}] FATAL:  too many connections for role "shop"'
        if self.rng.random() < 0.1:
            return (
                f"{stamp} [{pid}] ERROR:  duplicate key value violates unique constraint "
                '"orders_pkey"\n'
                f"{stamp} [{pid}] DETAIL:  Key (id)=({self._id()}) already exists.\n"
                f"{stamp} [{pid}] STATEMENT:  INSERT INTO orders (id) VALUES ($1)"
            )
        return (
            f"{stamp} [{pid}] LOG:  checkpoint complete: wrote {self.rng.randint(1, 900)} buffers"
        )

    def _mongo_record(self) -> dict[str, Any]:
        line = {
            "t": {"$date": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())},
            "s": "I",
            "c": "NETWORK",
            "id": 22943,
            "ctx": "listener",
            "msg": "Connection accepted",
            "attr": {
                "remote": f"10.0.1.{self.rng.randint(1, 254)}:5{self.rng.randint(1000, 9999)}",
                "connectionCount": self.rng.randint(1, 80),
            },
        }
        return {"log": json.dumps(line, separators=(",", ":"))}


def send_demo(
    host: str,
    port: int,
    *,
    rate: int = 50,
    duration_s: float | None = None,
    burst_every_s: float = 60.0,
    on_tick: Any = None,
    otlp_port: int | None = None,
    syslog_port: int | None = None,
) -> int:
    """Send demo traffic until ``duration_s`` elapses; returns events sent.

    fluent-logger to the forward ``port``; with ``otlp_port`` and ``syslog_port``, a tenth
    of the rate each goes over OTLP/HTTP and syslog/UDP too.
    """
    from fluent.sender import FluentSender

    traffic = DemoTraffic(rate=rate, burst_every_s=burst_every_s)
    otel, node = OtelCheckout(), SyslogNode()
    side = max(1, rate // 10)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    senders: dict[str, FluentSender] = {}
    sent = 0
    start = time.monotonic()
    next_tick = start
    try:
        while duration_s is None or time.monotonic() - start < duration_s:
            now = time.time()
            for tag, record in traffic.records(now, rate):
                prefix, label = tag.split(".", 1)
                sender = senders.get(prefix)
                if sender is None:
                    sender = FluentSender(prefix, host=host, port=port, nanosecond_precision=True)
                    senders[prefix] = sender
                if sender.emit(label, record):
                    sent += 1
            if otlp_port is not None:
                bursting = traffic.bursting_service(now) == "order-service"
                sent += _post_otlp(
                    host, otlp_port, otel.request(time.time_ns(), side, bursting), side
                )
            if syslog_port is not None:
                for line in node.lines(now, side):
                    udp.sendto(line, (host, syslog_port))
                    sent += 1
            if on_tick is not None:
                on_tick(sent)
            next_tick += 1.0
            time.sleep(max(0.0, next_tick - time.monotonic()))
    finally:
        udp.close()
        for sender in senders.values():
            sender.close()
    return sent


def _post_otlp(host: str, port: int, body: bytes, count: int) -> int:
    request = urllib.request.Request(
        f"http://{host}:{port}/v1/logs",
        data=body,
        headers={"Content-Type": "application/x-protobuf"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return count if response.status == 200 else 0
    except OSError:  # the collector is busy or down: the demo goes on
        return 0
