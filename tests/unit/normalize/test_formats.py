"""Every supported input format, record in → exact document out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bitacora.processors.normalize import normalize
from tests.unit.normalize.support import head, raw

KUBE = {
    "pod_name": "review-service-7d9f8c-abcde",
    "namespace_name": "shop",
    "pod_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "labels": {"app.kubernetes.io/name": "review-service", "pod-template-hash": "7d9f8c"},
    "host": "node-1",
    "container_name": "review",
    "container_image": "registry.local/review-service:1.4.2",
}
KUBE_LEFT = {
    "pod_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "labels": {"app_kubernetes_io/name": "review-service", "pod-template-hash": "7d9f8c"},
    "host": "node-1",
    "container_image": "registry.local/review-service:1.4.2",
}
KUBE_FIELDS = {
    "host.name": "node-1",
    "kubernetes.namespace": "shop",
    "kubernetes.pod.name": "review-service-7d9f8c-abcde",
    "kubernetes.container.name": "review",
}
PINO = {
    "level": 30,
    "time": 1795856400123,
    "pid": 1,
    "hostname": "review-service-7d9f8c-abcde",
    "msg": "review created",
    "review_id": 91822,
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "req": {"method": "POST", "url": "/api/reviews?lang=es", "remoteAddress": "10.0.3.7"},
    "res": {"statusCode": 201},
    "responseTime": 12,
}
PY_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/app/payments.py", line 88, in charge\n'
    "    gateway.charge(order)\n"
    '  File "/app/gateway.py", line 12, in charge\n'
    '    raise ValueError("card declined")\n'
    "ValueError: card declined"
)
JAVA_TRACE = (
    "java.lang.IllegalStateException: stock negative for p-1234\n"
    "\tat shop.product.Stock.take(Stock.java:42)\n"
    "\tat shop.product.Api.order(Api.java:17)\n"
    "Caused by: java.sql.SQLException: deadlock\n"
    "\tat org.postgresql.Driver.run(Driver.java:1)\n"
    "\t... 2 more"
)
PG = (
    "2026-11-28 09:00:00.123 UTC [4242] ERROR:  "
    'duplicate key value violates unique constraint "users_pkey"\n'
    "2026-11-28 09:00:00.123 UTC [4242] DETAIL:  Key (id)=(7) already exists.\n"
    "2026-11-28 09:00:00.123 UTC [4242] STATEMENT:  INSERT INTO users (id, name)\n"
    "\tVALUES (7, 'ana')"
)
INGRESS = (
    '10.0.3.7 - - [28/Nov/2026:09:00:00 +0000] "GET /api/products/1234?lang=es HTTP/1.1" 503 '
    '5123 "https://shop.local/" "Mozilla/5.0 (X11)" 412 0.023 [shop-product-80] [] '
    "10.1.0.5:8080 5123 0.022 503 7f3c2a9b1e"
)
MONGO = {
    "t": {"$date": "2026-11-28T09:00:00.120+00:00"},
    "s": "W",
    "c": "COMMAND",
    "id": 51803,
    "ctx": "conn42",
    "msg": "Slow query",
    "attr": {"ns": "shop.orders", "durationMillis": 250, "planSummary": "COLLSCAN"},
}

CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "fluent-logger plain record",
        "review-service.app",
        {"message": "review saved", "level": "WARNING", "logger": "reviews.api", "review_id": 5},
        head(
            level="warn",
            message="review saved",
            **{"log.logger": "reviews.api", "service.name": "review-service"},
            labels={"review_id": 5},
        ),
    ),
    (
        "docker/k8s json-file line holding pino JSON",
        "kube.var.log.containers.review",
        {"log": json.dumps(PINO) + "\n", "stream": "stdout", "kubernetes": KUBE},
        head(
            tag="kube.var.log.containers.review",
            message="review created",
            **{
                **KUBE_FIELDS,
                "host.name": "review-service-7d9f8c-abcde",
                "service.name": "review-service",
                "trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "span.id": "00f067aa0ba902b7",
                "http.request.method": "POST",
                "http.response.status_code": 201,
                "url.path": "/api/reviews",
                "client.ip": "10.0.3.7",
                "event.duration": 12_000_000,
            },
            labels={
                "stream": "stdout",
                "kubernetes": KUBE_LEFT,
                "time": 1795856400123,
                "pid": 1,
                "review_id": 91822,
                "req": {"url": "/api/reviews?lang=es"},
            },
        ),
    ),
    (
        "CRI full line with JSON payload",
        "kube.review",
        {
            "log": '2026-11-28T09:00:00.100000000Z stderr F {"level":"error","msg":"db down"}',
            "kubernetes": KUBE,
        },
        head(
            tag="kube.review",
            level="error",
            message="db down",
            **KUBE_FIELDS,
            **{"service.name": "review-service"},
            labels={"kubernetes": KUBE_LEFT, "stream": "stderr"},
        ),
    ),
    (
        "CRI partial line alone is marked partial",
        "kube.review",
        {"log": "2026-11-28T09:00:00.100000000Z stdout P first half of a long li"},
        head(
            tag="kube.review",
            message="first half of a long li",
            **{"service.name": "kube"},
            labels={"stream": "stdout", "partial": True},
        ),
    ),
    (
        "logfmt line",
        "user-service.app",
        {"log": 'time=2026-11-28T09:00:00Z level=warn msg="login failed" user=ana attempt=3'},
        head(
            tag="user-service.app",
            level="warn",
            message="login failed",
            **{"service.name": "user-service"},
            labels={"time": "2026-11-28T09:00:00Z", "user": "ana", "attempt": "3"},
        ),
    ),
    (
        "Apache combined access log",
        "apache.access",
        {
            "message": '192.168.1.20 - bob [28/Nov/2026:10:00:00 +0100] "POST /login HTTP/1.0"'
            ' 404 0 "-" "curl/8.5.0"'
        },
        head(
            tag="apache.access",
            level="warn",
            message='192.168.1.20 - bob [28/Nov/2026:10:00:00 +0100] "POST /login HTTP/1.0"'
            ' 404 0 "-" "curl/8.5.0"',
            **{
                "service.name": "apache",
                "http.request.method": "POST",
                "http.response.status_code": 404,
                "url.path": "/login",
                "client.ip": "192.168.1.20",
            },
            labels={
                "http_version": "1.0",
                "bytes_sent": 0,
                "remote_user": "bob",
                "user_agent": "curl/8.5.0",
            },
        ),
    ),
    (
        "common log format without referrer/agent",
        "nginx.access",
        {"log": '::1 - - [28/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 612'},
        head(
            tag="nginx.access",
            message='::1 - - [28/Nov/2026:09:00:00 +0000] "GET / HTTP/1.1" 200 612',
            **{
                "service.name": "nginx",
                "http.request.method": "GET",
                "http.response.status_code": 200,
                "url.path": "/",
                "client.ip": "::1",
            },
            labels={"http_version": "1.1", "bytes_sent": 612},
        ),
    ),
    (
        "ingress-nginx access log with request_time and upstream",
        "ingress-nginx.controller",
        {"log": INGRESS},
        head(
            tag="ingress-nginx.controller",
            level="error",
            message=INGRESS,
            **{
                "service.name": "ingress-nginx",
                "http.request.method": "GET",
                "http.response.status_code": 503,
                "url.path": "/api/products/1234",
                "client.ip": "10.0.3.7",
                "event.duration": 23_000_000,
            },
            labels={
                "url_query": "lang=es",
                "http_version": "1.1",
                "bytes_sent": 5123,
                "referrer": "https://shop.local/",
                "user_agent": "Mozilla/5.0 (X11)",
                "request_length": 412,
                "upstream": {
                    "name": "shop-product-80",
                    "addr": "10.1.0.5:8080",
                    "response_length": "5123",
                    "response_time": "0.022",
                    "status": "503",
                },
                "request_id": "7f3c2a9b1e",
            },
        ),
    ),
    (
        "PostgreSQL error with DETAIL and multi-line STATEMENT",
        "postgres.db",
        {"log": PG},
        head(
            tag="postgres.db",
            level="error",
            message='duplicate key value violates unique constraint "users_pkey"',
            **{"log.logger": "postgresql", "service.name": "postgres"},
            labels={
                "postgresql": {
                    "pid": 4242,
                    "detail": "Key (id)=(7) already exists.",
                    "statement": "INSERT INTO users (id, name)\nVALUES (7, 'ana')",
                }
            },
        ),
    ),
    (
        "PostgreSQL duration line with user@db",
        "postgres.db",
        {
            "log": "2026-11-28 09:00:00.123 UTC [77] shop@orders LOG:  duration: 1234.5 ms"
            "  statement: SELECT 1"
        },
        head(
            tag="postgres.db",
            message="duration: 1234.5 ms  statement: SELECT 1",
            **{
                "log.logger": "postgresql",
                "service.name": "postgres",
                "event.duration": 1_234_500_000,
            },
            labels={"postgresql": {"pid": 77, "user": "shop", "database": "orders"}},
        ),
    ),
    (
        "PostgreSQL FATAL and PANIC are fatal",
        "postgres.db",
        {"log": "2026-11-28 09:00:00.123 UTC [9] FATAL:  the database system is starting up"},
        head(
            tag="postgres.db",
            level="fatal",
            message="the database system is starting up",
            **{"log.logger": "postgresql", "service.name": "postgres"},
            labels={"postgresql": {"pid": 9}},
        ),
    ),
    (
        "MongoDB structured log as the record",
        "mongodb.log",
        MONGO,
        head(
            tag="mongodb.log",
            level="warn",
            message="Slow query",
            **{"log.logger": "COMMAND", "service.name": "mongodb", "event.duration": 250_000_000},
            labels={
                "mongodb": {
                    "id": 51803,
                    "ctx": "conn42",
                    "attr": {"ns": "shop.orders", "durationMillis": 250, "planSummary": "COLLSCAN"},
                }
            },
        ),
    ),
    (
        "MongoDB structured log inside a container line, with an error",
        "kube.mongo",
        {
            "log": json.dumps(
                {
                    "t": {"$date": "2026-11-28T09:00:00.120+00:00"},
                    "s": "E",
                    "c": "NETWORK",
                    "id": 22944,
                    "ctx": "conn7",
                    "msg": "Connection ended",
                    "attr": {"error": {"code": 6, "codeName": "HostUnreachable", "errmsg": "x"}},
                }
            )
        },
        head(
            tag="kube.mongo",
            level="error",
            message="Connection ended",
            **{
                "log.logger": "NETWORK",
                "service.name": "kube",
                "error.type": "HostUnreachable",
                "error.message": "x",
            },
            labels={
                "mongodb": {
                    "id": 22944,
                    "ctx": "conn7",
                    "attr": {"error": {"code": 6, "codeName": "HostUnreachable", "errmsg": "x"}},
                }
            },
        ),
    ),
    (
        "Python traceback after a message line",
        "order-service.app",
        {"message": "failed to charge order 5521\n" + PY_TRACE, "level": "ERROR"},
        head(
            tag="order-service.app",
            level="error",
            message="failed to charge order 5521",
            **{
                "service.name": "order-service",
                "error.type": "ValueError",
                "error.message": "card declined",
                "error.stack_trace": PY_TRACE,
            },
        ),
    ),
    (
        "Python traceback alone: level error, message is the exception line",
        "order-service.app",
        {"log": PY_TRACE + "\n"},
        head(
            tag="order-service.app",
            level="error",
            message="ValueError: card declined",
            **{
                "service.name": "order-service",
                "error.type": "ValueError",
                "error.message": "card declined",
                "error.stack_trace": PY_TRACE,
            },
        ),
    ),
    (
        "Python logging exc_text field (fluent-logger formatter)",
        "order-service.app",
        {"message": "charge failed", "levelname": "ERROR", "exc_text": PY_TRACE},
        head(
            tag="order-service.app",
            level="error",
            message="charge failed",
            **{
                "service.name": "order-service",
                "error.type": "ValueError",
                "error.message": "card declined",
                "error.stack_trace": PY_TRACE,
            },
        ),
    ),
    (
        "Java stack trace with Caused by",
        "product-service.app",
        {
            "log": "2026-11-28 09:00:00.123 ERROR [main] shop.product.Api - order failed\n"
            + JAVA_TRACE
        },
        head(
            tag="product-service.app",
            level="error",
            message="2026-11-28 09:00:00.123 ERROR [main] shop.product.Api - order failed",
            **{
                "service.name": "product-service",
                "error.type": "java.lang.IllegalStateException",
                "error.message": "stock negative for p-1234",
                "error.stack_trace": JAVA_TRACE,
            },
        ),
    ),
    (
        "Node.js stack in a pino err object",
        "contact-service.app",
        {
            "level": 50,
            "msg": "send failed",
            "err": {
                "type": "TypeError",
                "message": "x is not a function",
                "stack": "TypeError: x is not a function\n    at send (/app/mail.js:3:9)",
            },
        },
        head(
            tag="contact-service.app",
            level="error",
            message="send failed",
            **{
                "service.name": "contact-service",
                "error.type": "TypeError",
                "error.message": "x is not a function",
                "error.stack_trace": "TypeError: x is not a function\n"
                "    at send (/app/mail.js:3:9)",
            },
        ),
    ),
    (
        "Go panic",
        "order-service.worker",
        {"log": "panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.main()"},
        head(
            tag="order-service.worker",
            level="fatal",
            message="panic: runtime error: index out of range",
            **{
                "service.name": "order-service",
                "error.type": "panic",
                "error.message": "runtime error: index out of range",
                "error.stack_trace": "panic: runtime error: index out of range\n\n"
                "goroutine 1 [running]:\nmain.main()",
            },
        ),
    ),
    (
        "klog line from a Kubernetes component",
        "kube.system",
        {"log": "W1128 09:00:00.123456       1 reflector.go:424] watch closed\n"},
        head(
            tag="kube.system",
            level="warn",
            message="watch closed",
            **{"service.name": "kube"},
            labels={"source": "reflector.go:424", "thread": 1},
        ),
    ),
    (
        "nginx error log: level from [error]",
        "nginx.error",
        {"log": "2026/11/28 09:00:00 [error] 12#12: *1 connect() failed"},
        head(
            tag="nginx.error",
            level="error",
            message="2026/11/28 09:00:00 [error] 12#12: *1 connect() failed",
            **{"service.name": "nginx"},
        ),
    ),
    (
        "ECS-shaped nested record and structured error",
        "user-service.app",
        {
            "@timestamp": "2026-11-28T09:00:00.100Z",
            "log": {"level": "crit", "logger": "users.db"},
            "service": {"name": "user-service", "environment": "prod", "version": "2.1"},
            "error": {"type": "DBError", "message": "gone", "code": 57},
            "message": "db lost",
        },
        head(
            tag="user-service.app",
            level="fatal",
            message="db lost",
            **{
                "log.logger": "users.db",
                "service.name": "user-service",
                "service.environment": "prod",
                "error.type": "DBError",
                "error.message": "gone",
            },
            labels={
                "@timestamp": "2026-11-28T09:00:00.100Z",
                "service": {"version": "2.1"},
                "error": {"code": 57},
            },
        ),
    ),
    (
        "journald numeric PRIORITY is syslog",
        "node.journal",
        {"MESSAGE": "kubelet restarted", "PRIORITY": "3", "_HOSTNAME": "node-2"},
        head(
            tag="node.journal",
            level="error",
            message="kubelet restarted",
            **{"service.name": "node", "host.name": "node-2"},
        ),
    ),
    (
        "unknown level: info, original kept in labels",
        "review-service.app",
        {"msg": "hello", "level": "chatty", "status": "ok"},
        head(
            message="hello",
            **{"service.name": "review-service"},
            labels={"level": "chatty", "status": "ok"},
        ),
    ),
    (
        "a field's first candidate fails its check: the next one wins, the first is a label",
        "review-service.app",
        {"msg": "hi", "level": "chatty", "severity": "warn", "status": "ok", "statusCode": 503},
        head(
            level="warn",
            message="hi",
            **{"service.name": "review-service", "http.response.status_code": 503},
            labels={"level": "chatty", "status": "ok"},
        ),
    ),
    (
        "the same candidates in the other order choose the same",
        "review-service.app",
        {"statusCode": 503, "status": "ok", "severity": "warn", "level": "chatty", "msg": "hi"},
        head(
            level="warn",
            message="hi",
            **{"service.name": "review-service", "http.response.status_code": 503},
            labels={"status": "ok", "level": "chatty"},
        ),
    ),
    (
        "of two valid candidates the lower priority wins wherever it is; the other stays",
        "review-service.app",
        {"severity": "error", "msg": "hi", "level": "debug", "hostname": "a", "host": "b"},
        head(
            level="debug",
            message="hi",
            **{"service.name": "review-service", "host.name": "a"},
            labels={"severity": "error", "host": "b"},
        ),
    ),
    (
        "service from the record wins over Kubernetes labels and tag",
        "kube.x",
        {"message": "m", "service_name": "order-service", "kubernetes": {"labels": {"app": "o"}}},
        head(
            tag="kube.x",
            message="m",
            **{"service.name": "order-service"},
            labels={"kubernetes": {"labels": {"app": "o"}}},
        ),
    ),
]


@pytest.mark.parametrize(
    ("tag", "record", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_format(tag: str, record: dict[str, Any], expected: dict[str, Any]) -> None:
    assert normalize(raw(record, tag=tag), 0, 0) == expected


def test_record_time_used_only_without_client_time() -> None:
    record = {"log": "2026-11-28T09:00:00.100000000Z stdout F plain text here"}
    with_client = normalize(raw(record, tag="kube.a"), 0, 0)
    assert with_client["@timestamp"] == "2026-11-28T09:00:00.123456789Z"
    without = normalize(raw(record, tag="kube.a", time_ns=0), 0, 0)
    assert without["@timestamp"] == "2026-11-28T09:00:00.100000000Z"


@pytest.mark.parametrize(
    ("record", "timestamp"),
    [
        ({"msg": "a", "time": "2026-11-28T10:00:00.5+01:00"}, "2026-11-28T09:00:00.500000000Z"),
        ({"msg": "a", "ts": 1795856400.25}, "2026-11-28T09:00:00.250000000Z"),
        ({"msg": "a", "timestamp": 1795856400123}, "2026-11-28T09:00:00.123000000Z"),
        ({"msg": "a", "time": "not a time"}, "2026-11-28T09:00:00.128456789Z"),
        (MONGO, "2026-11-28T09:00:00.120000000Z"),
        (
            {"log": "2026-11-28 09:00:00.321 UTC [1] LOG:  checkpoint starting: time"},
            "2026-11-28T09:00:00.321000000Z",
        ),
        ({"log": INGRESS}, "2026-11-28T09:00:00.000000000Z"),
    ],
)
def test_record_time_fallback(record: dict[str, Any], timestamp: str) -> None:
    doc = normalize(raw(record, time_ns=0), 0, 0)
    assert doc["@timestamp"] == timestamp
    assert "time" not in doc.get("labels", {}) or record.get("time") == "not a time"


@pytest.mark.parametrize("line", ["-", "null", "None"])
def test_placeholder_looking_lines_are_still_messages(line: str) -> None:
    assert normalize(raw({"log": line}), 0, 0)["message"] == line


def test_none_placeholders_are_not_errors() -> None:
    # fluent-logger's formatter writes exc_text as the string "None" without an exception
    doc = normalize(raw({"message": "ok", "exc_text": "None", "error": "-"}), 0, 0)
    assert doc == head(
        message="ok",
        **{"service.name": "review-service"},
        labels={"exc_text": "None", "error": "-"},
    )
