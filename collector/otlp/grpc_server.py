"""OTLP/gRPC: ``opentelemetry.proto.collector.logs.v1.LogsService/Export``.

The request arrives as bytes (no generated stubs: one generic handler) and goes through the
same ``OtlpIngest`` as OTLP/HTTP, so both give the same records and event ids. gRPC
inflates gzip itself; ``max_http_body_bytes`` caps the message (RESOURCE_EXHAUSTED). The
bearer token is the ``authorization`` metadata. Kafka unavailable is UNAVAILABLE (the
exporters retry it); a body that is no logs request is INVALID_ARGUMENT.
"""

from __future__ import annotations

import hmac
from typing import Final

import grpc
from grpc import aio

from bitacora.collector.otlp.decode import BadRequest
from bitacora.collector.otlp.ingest import OtlpIngest, Unavailable
from bitacora.settings import Settings

SOURCE: Final = "otlp_grpc"
SERVICE: Final = "opentelemetry.proto.collector.logs.v1.LogsService"
_STOP_GRACE_S: Final = 5.0


class OtlpGrpcServer:
    """A grpc.aio server with the LogsService ``Export`` method."""

    def __init__(self, settings: Settings, ingest: OtlpIngest) -> None:
        self._settings = settings
        self._ingest = ingest
        token = settings.http_token
        self._token = f"Bearer {token.get_secret_value()}".encode() if token else None
        self._server: aio.Server | None = None
        self.port = settings.otlp_grpc_port

    async def start(self) -> None:
        """Listen on ``bind_host:otlp_grpc_port`` (0: any free port)."""
        limit = self._settings.max_http_body_bytes
        server = aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.so_reuseport", 0),  # a port in use is an error, not a shared port
            ]
        )
        # No (de)serializers: the method gets and returns bytes.
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self.export
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Export": handler}),)
        )
        address = f"{self._settings.bind_host}:{self._settings.otlp_grpc_port}"
        self.port = server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen for OTLP/gRPC on {address}")
        await server.start()
        self._server = server

    async def stop(self) -> None:
        """Finish running calls (a few seconds at most) and close."""
        if self._server is not None:
            await self._server.stop(_STOP_GRACE_S)

    async def export(self, body: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
        """``Export``: the serialized response once Kafka holds the records."""
        if self._token is not None:
            offered = dict(context.invocation_metadata() or ()).get("authorization", "")
            offered_bytes = offered.encode() if isinstance(offered, str) else offered
            if not hmac.compare_digest(offered_bytes, self._token):
                self._ingest.reject(SOURCE, "unauthorized")
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token")
        budget = self._ingest.budget
        taken = await budget.acquire(len(body))
        try:
            response = await self._ingest.export(body, "protobuf", context.peer(), SOURCE)
        except BadRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Unavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        finally:
            budget.release(taken)
        return response.SerializeToString()
