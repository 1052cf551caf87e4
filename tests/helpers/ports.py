"""The ports a stack service derives from its base port (``bitacora.stack.config``), for
``bench.procs.free_port(offsets)`` when a test runs a private Kafka or OpenSearch."""

from __future__ import annotations

KAFKA_OFFSETS = (0, 1, 2, 3)  # broker, controller, SASL_SSL, mTLS
OPENSEARCH_OFFSETS = (0, 100)  # HTTP, transport
