"""OpenTelemetry tracing from the lifecycle event stream and at the edges (extra ``tracing``).

* :func:`tracing`: a component subscribing an :class:`EventTracer` to the runtime's events
  (spans for application start and stop, each component's, each scheduled job run) and
  adding ``trace_id`` / ``span_id`` to the kit's log records while a span records;
* :func:`instrument_grpc_server_tracing` / :func:`instrument_grpc_channel`: grpclib event
  listeners that extract and inject ``traceparent`` (no OpenTelemetry package covers
  grpclib);
* :func:`litestar_tracing`: Litestar's own OpenTelemetry plugin with route-template span
  names.

The kit configures no exporter: set up the SDK's ``TracerProvider`` as the service wants.
Without the extra nothing of this is imported and the log formatters pay nothing.

.. versionadded:: 0.3.0
"""

try:
    import opentelemetry.trace as _otel_trace
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.tracing", "tracing") from exc

from service_pkg.tracing._edges import instrument_grpc_channel as instrument_grpc_channel
from service_pkg.tracing._edges import (
    instrument_grpc_server_tracing as instrument_grpc_server_tracing,
)
from service_pkg.tracing._edges import litestar_tracing as litestar_tracing
from service_pkg.tracing._events import INSTRUMENTATION as INSTRUMENTATION
from service_pkg.tracing._events import TRACING_PRIORITY as TRACING_PRIORITY
from service_pkg.tracing._events import EventTracer as EventTracer
from service_pkg.tracing._events import tracing as tracing
from service_pkg.tracing._logs import current_trace_ids as current_trace_ids
from service_pkg.tracing._logs import install_log_correlation as install_log_correlation

del _otel_trace

__all__ = (
    "INSTRUMENTATION",
    "TRACING_PRIORITY",
    "EventTracer",
    "current_trace_ids",
    "install_log_correlation",
    "instrument_grpc_channel",
    "instrument_grpc_server_tracing",
    "litestar_tracing",
    "tracing",
)
