"""gRPC for services: the ``grpc_server`` component (grpclib + betterproto) and ``grpc_channel``.

A port of the Go ``server/grpc.go`` (extra ``grpc``). Go → Python:

.. code-block:: text

    CreateGRPCServer(ctx, register, Configs{Port, Network, Reflection})
                                  Component(grpc_server, services, runtime, GrpcServerConfig(...))
    PanicHandler (recovery)       every unexpected exception → INTERNAL
                                  "internal server error (<full method>)", logged once
    EnforceMaxSendSize(max)       GrpcServerConfig(max_send_size=...) → RESOURCE_EXHAUSTED
                                  "response too large: N > M; use paging/streaming"
    MaxRecvMsgSize                GrpcServerConfig(max_receive_size=...)
    TimeoutUnaryInterceptor(t)    GrpcServerConfig(call_timeout=t) → DEADLINE_EXCEEDED
    GracefulStop, 5 s, then Stop  graceful_timeout (after the drain delay), then cancel
    (none)                        grpc.health.v1 from the runtime view, x-correlation-id,
                                  one access log line per call, the grpc_channel client

Deviations and limits are in ``docs/grpc.md``.

.. versionadded:: 0.3.0
"""

try:
    import betterproto as _betterproto
    import grpclib as _grpclib
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.grpc", "grpc") from exc

from service_pkg.grpc._channel import GrpcChannelConfig as GrpcChannelConfig
from service_pkg.grpc._channel import check_channel as check_channel
from service_pkg.grpc._channel import grpc_channel as grpc_channel
from service_pkg.grpc._config import DEFAULT_MAX_MESSAGE_SIZE as DEFAULT_MAX_MESSAGE_SIZE
from service_pkg.grpc._config import GrpcServerConfig as GrpcServerConfig
from service_pkg.grpc._guards import CORRELATION_KEY as CORRELATION_KEY
from service_pkg.grpc._reflection import load_descriptor_pool as load_descriptor_pool
from service_pkg.grpc._server import GrpcServer as GrpcServer
from service_pkg.grpc._server import grpc_server as grpc_server

del _betterproto, _grpclib

__all__ = (
    "CORRELATION_KEY",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "GrpcChannelConfig",
    "GrpcServer",
    "GrpcServerConfig",
    "check_channel",
    "grpc_channel",
    "grpc_server",
    "load_descriptor_pool",
)
