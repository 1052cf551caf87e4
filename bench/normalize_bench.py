"""Per-event cost of ``normalize`` on a realistic mix (not a timed test).

Run: ``.venv/bin/python -m bench.normalize_bench [--profile]`` (as a module: a script run
from ``bench/`` would import ``bench/profile.py`` instead of the standard library's).
Prints µs of CPU per event per format and for the mix, next to a JSON round-trip baseline
measured in the same run, plus ``to_json_bytes``.
"""

from __future__ import annotations

import json
import sys
import time

from bitacora.rawrecord import RawRecord
from processors.normalize import normalize, to_json_bytes

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
JSON_APP: dict[str, object] = {
    "log": json.dumps(
        {
            "level": 30,
            "time": 1795856400123,
            "pid": 1,
            "hostname": "review-service-7d9f8c-abcde",
            "msg": "review created",
            "review_id": 91822,
            "product_id": "p-1234",
            "user_id": "u-5678",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "00f067aa0ba902b7",
        }
    )
    + "\n",
    "stream": "stdout",
    "kubernetes": KUBE,
}
ACCESS: dict[str, object] = {
    "log": '10.0.3.7 - - [28/Nov/2026:09:00:00 +0000] "GET /api/products/1234?lang=es HTTP/1.1"'
    ' 200 5123 "https://shop.local/" "Mozilla/5.0 (X11; Linux x86_64)" 412 0.023'
    " [shop-product-service-80] [] 10.1.0.5:8080 5123 0.022 200 7f3c2a9b1e\n",
    "stream": "stdout",
    "kubernetes": dict(KUBE, container_name="controller", labels={"app": "ingress-nginx"}),
}
PLAIN: dict[str, object] = {
    "message": "order 5521 shipped to warehouse 3 in 412 ms",
    "level": "info",
    "logger": "order.shipping",
    "host": "order-1",
}
TRACEBACK: dict[str, object] = {
    "message": "failed to charge order 5521\nTraceback (most recent call last):\n"
    '  File "/app/payments.py", line 88, in charge\n    gateway.charge(order)\n'
    '  File "/app/gateway.py", line 12, in charge\n    raise ValueError("card declined")\n'
    "ValueError: card declined",
    "level": "ERROR",
    "logger": "order.payments",
    "service": "order-service",
}
MIX: dict[str, dict[str, object]] = {
    "json app log": JSON_APP,
    "access log": ACCESS,
    "plain": PLAIN,
    "traceback": TRACEBACK,
}


def _raws(record: dict[str, object], count: int) -> list[RawRecord]:
    return [
        RawRecord("app.svc", T0 + i, record, T0 + i + 1000, "127.0.0.1:1", "forward", "ck", i)
        for i in range(count)
    ]


def measure(records: list[RawRecord], repeats: int = 5) -> float:
    """µs of CPU per event for normalize over ``records`` (best of ``repeats`` runs:
    CPU time, so a busy machine inflates it less than wall time)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for index, raw in enumerate(records):
            normalize(raw, 0, index)
        best = min(best, time.process_time() - start)
    return best / len(records) * 1e6


def baseline(records: list[RawRecord], repeats: int = 5) -> float:
    """µs per event of a reference workload measured in the same run: ``json.dumps`` of
    the record plus ``json.loads`` of the result (what any JSON pass-through costs)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for raw in records:
            json.loads(json.dumps(raw.record))
        best = min(best, time.process_time() - start)
    return best / len(records) * 1e6


def main() -> None:
    count = 5_000
    print(f"{'format':<16} {'µs/event':>9} {'baseline':>9} {'ratio':>6}")
    mixed: list[RawRecord] = []
    for name, record in MIX.items():
        raws = _raws(record, count)
        measure(raws[:500], 1)  # warm caches
        cost, base = measure(raws), baseline(raws)
        print(f"{name:<16} {cost:9.2f} {base:9.2f} {cost / base:6.1f}")
        mixed.extend(raws[: count // 4])
    cost, base = measure(mixed), baseline(mixed)
    print(f"{'mix':<16} {cost:9.2f} {base:9.2f} {cost / base:6.1f}")
    docs = [normalize(raw, 0, i) for i, raw in enumerate(mixed)]
    start = time.process_time()
    for doc in docs:
        to_json_bytes(doc)
    print(f"{'to_json_bytes':<16} {(time.process_time() - start) / len(docs) * 1e6:9.2f}")
    if "--profile" in sys.argv:
        # Imported only when asked: profiling is optional.
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(measure, mixed, 1)
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
