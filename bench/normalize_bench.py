"""Per-event cost of the processor's pure steps on a realistic mix (not a timed test).

Run: ``.venv/bin/python -m bench.normalize_bench [--profile]`` (as a module: a script run
from ``bench/`` would import ``bench/profile.py`` instead of the standard library's).
Prints µs of CPU per event per format and for the mix for ``rawrecord.decode``,
``normalize`` and ``to_json_bytes`` (the three calls the processor makes per event), next
to a JSON round-trip baseline measured in the same run: the ratio to the baseline is what
to compare between runs on a busy machine.

Every event differs from the one before (ids, numbers, paths, messages) while the
Kubernetes metadata repeats, as it does in a real stream: caches keyed by strings that
repeat help, caches keyed by whole events must not look better than they are.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bitacora import rawrecord
from bitacora.processors.normalize import normalize, to_json_bytes
from bitacora.rawrecord import RawRecord

T0 = 1_795_856_400_123_456_789
KUBE = {
    "pod_name": "review-service-7d9f8c-abcde",
    "namespace_name": "shop",
    "pod_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "labels": {"app.kubernetes.io/name": "review-service", "pod-template-hash": "7d9f8c"},
    "host": "node-1",
    "container_name": "review-service",
    "docker_id": "3f4e8d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a493827160",
    "container_image": "registry.local/review-service:1.4.2",
}
INGRESS_KUBE = dict(KUBE, container_name="controller", labels={"app": "ingress-nginx"})


def _hex(i: int, width: int) -> str:
    # Spread over the whole width like a random id (no long runs of leading zeros).
    return f"{(i + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835 % 16**width:0{width}x}"


def json_app(i: int) -> dict[str, object]:
    """A pino line inside a Docker/Kubernetes record."""
    line = {
        "level": 30,
        "time": 1795856400123 + i,
        "pid": 1,
        "hostname": "review-service-7d9f8c-abcde",
        "msg": f"review {91822 + i} created",
        "review_id": 91822 + i,
        "product_id": f"p-{1234 + i % 97}",
        "user_id": f"u-{5678 + i % 1013}",
        "trace_id": _hex(i, 32),
        "span_id": _hex(i + 7, 16),
    }
    return {"log": json.dumps(line) + "\n", "stream": "stdout", "kubernetes": KUBE}


def access(i: int) -> dict[str, object]:
    """An ingress-nginx access line."""
    line = (
        f'10.0.{i % 7}.{i % 251} - - [28/Nov/2026:09:00:00 +0000] "GET /api/products/{1234 + i}'
        f'?lang=es HTTP/1.1" 200 {5123 + i % 300} "https://shop.local/" "Mozilla/5.0 (X11;'
        f' Linux x86_64)" 412 0.0{23 + i % 50} [shop-product-service-80] [] 10.1.0.5:8080'
        f" {5123 + i % 300} 0.0{22 + i % 50} 200 {_hex(i, 10)}\n"
    )
    return {"log": line, "stream": "stdout", "kubernetes": INGRESS_KUBE}


def plain(i: int) -> dict[str, object]:
    """A structured record (fluent-logger) with a plain message."""
    return {
        "message": f"order {5521 + i} shipped to warehouse {i % 9} in {400 + i % 97} ms",
        "level": "info",
        "logger": "order.shipping",
        "host": "order-1",
    }


def traceback(i: int) -> dict[str, object]:
    """A Python exception logged with its traceback."""
    return {
        "message": f"failed to charge order {5521 + i}\nTraceback (most recent call last):\n"
        '  File "/app/payments.py", line 88, in charge\n    gateway.charge(order)\n'
        '  File "/app/gateway.py", line 12, in charge\n    raise ValueError("card declined")\n'
        f"ValueError: card {i % 13} declined",
        "level": "ERROR",
        "logger": "order.payments",
        "service": "order-service",
    }


MIX: dict[str, Callable[[int], dict[str, object]]] = {
    "json app log": json_app,
    "access log": access,
    "plain": plain,
    "traceback": traceback,
}


def _raws(make: Callable[[int], dict[str, object]], count: int) -> list[RawRecord]:
    return [
        RawRecord("app.svc", T0 + i, make(i), T0 + i + 1000, "127.0.0.1:1", "forward", "ck", i)
        for i in range(count)
    ]


def _best(run: Callable[[], object], count: int, repeats: int) -> float:
    # µs of CPU per item, best of ``repeats``: CPU time, so a busy machine inflates it
    # less than wall time, and the best run is the one least disturbed.
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / count * 1e6


def measure(raws: list[RawRecord], repeats: int = 5) -> dict[str, float]:
    """µs of CPU per event for each processor step over ``raws`` and for the baseline
    (``json.dumps`` of the record plus ``json.loads`` of the result: what any JSON
    pass-through costs)."""
    datas = [rawrecord.encode(raw) for raw in raws]
    docs = [normalize(raw, 0, index) for index, raw in enumerate(raws)]
    count = len(raws)

    def decode() -> None:
        for data in datas:
            rawrecord.decode(data)

    def norm() -> None:
        for index, raw in enumerate(raws):
            normalize(raw, 0, index)

    def encode() -> None:
        for doc in docs:
            to_json_bytes(doc)

    def base() -> None:
        for raw in raws:
            json.loads(json.dumps(raw.record))

    norm()  # warm caches
    return {
        "decode": _best(decode, count, repeats),
        "normalize": _best(norm, count, repeats),
        "to_json": _best(encode, count, repeats),
        "baseline": _best(base, count, repeats),
    }


def main() -> None:
    count = 4_000
    print(
        f"{'format':<13} {'decode':>7} {'normalize':>9} {'to_json':>8} {'sum':>7}"
        f" {'baseline':>8} {'norm/base':>9} {'sum/base':>8}   (µs CPU per event)"
    )
    mixed: list[RawRecord] = []
    rows: list[tuple[str, list[RawRecord]]] = []
    for name, make in MIX.items():
        raws = _raws(make, count)
        rows.append((name, raws))
        mixed.extend(raws[index] for index in range(0, count, len(MIX)))
    rows.append(("mix", mixed))
    for name, raws in rows:
        got = measure(raws)
        total = got["decode"] + got["normalize"] + got["to_json"]
        print(
            f"{name:<13} {got['decode']:7.2f} {got['normalize']:9.2f} {got['to_json']:8.2f}"
            f" {total:7.2f} {got['baseline']:8.2f} {got['normalize'] / got['baseline']:9.2f}"
            f" {total / got['baseline']:8.2f}"
        )
    if "--profile" in sys.argv:
        # Imported only when asked: profiling is optional.
        import cProfile
        import pstats

        profile = cProfile.Profile()
        batch: list[Any] = [rawrecord.encode(raw) for raw in mixed]
        profile.runcall(_pipeline, batch)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def _pipeline(datas: list[bytes]) -> None:
    for index, data in enumerate(datas):
        to_json_bytes(normalize(rawrecord.decode(data), 0, index))


if __name__ == "__main__":
    main()
