"""OTLP logs: ``/v1/logs`` over HTTP (protobuf or JSON) and ``LogsService/Export`` over gRPC.

``decode`` turns a request into raw records (pure), ``ingest`` publishes them and builds
the answer (shared by both transports), ``http_server`` and ``grpc_server`` only serve.
The mapping to the event table lives in the normalizer (``normalize.sources.otlp``).
"""
