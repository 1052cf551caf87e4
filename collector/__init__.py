"""Sources (Fluentd forward, HTTP) and the Kafka publisher. Never imports faust.

Pure core:
- ``collector.forward.decode``: ``ForwardDecoder(max_frame, max_decompressed).feed(bytes)``
  → ``[Request]``; ``decode_request``. ``collector.forward.request``: the ``Request`` (tag,
  mode, entries ``[(time_ns, record)]``, option, chunk, size, signal, rejected, the records'
  own bytes and Kafka keys where read), ``time_ns``, ``chunk_id``.
  ``collector.forward.packed``: PackedForward entries (``decode_packed``, ``decompress``).
- ``collector.forward.handshake``: HELO/PING/PONG (``new_challenge``, ``helo``,
  ``check_ping``, ``make_ping``, ``check_pong``, ``load_users``).
- ``collector.forward.encode``: what senders put on the wire (``message``, ``forward``,
  ``packed``, ``event_time``, ``packed_forward_frames`` for benchmarks).
- ``collector.records``: Kafka key (``service_of``), raw-record values (``raw_records``),
  dead letters (``deadletter``, ``split_oversized``).
- ``collector.metrics``: the Prometheus registry (``CollectorMetrics``).

Thin shell: ``collector.publisher.Publisher`` (aiokafka, acks=all, idempotent),
``collector.forward.server.ForwardServer``, ``collector.http.HttpSource``, and
``collector.app`` (``Collector`` with start/stop, ``run_collector(settings, ready=)``).
``collector.logging_setup.setup_fluent_logging`` is for the services' own code.
"""
