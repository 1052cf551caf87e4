"""Which partition a record key goes to: Kafka's default partitioner, computed once per key.

aiokafka's murmur2 is pure Python (several µs a key); the keys of a log pipeline are few
(service names, rule and query keys), so the answer is cached.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


@lru_cache(maxsize=65536)
def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default (Java-compatible murmur2) partition of ``key`` among ``partitions``."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions
