"""``grpc_channel``: an outbound grpclib ``Channel`` that propagates the correlation id."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Sequence

from grpclib.client import Channel
from grpclib.events import SendRequest, listen
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.grpc._config import GrpcChannelConfig
from service_pkg.grpc._guards import CORRELATION_KEY
from service_pkg.health import default_health
from service_pkg.logs._correlation import CORRELATION_ID

__all__ = ("GrpcChannelConfig", "check_channel", "grpc_channel", "propagate_correlation_id")

logger = logging.getLogger("service_pkg.grpc")

_CONFIGS: dict[int, GrpcChannelConfig] = {}
# The channel is grpclib's object, so the config its health check needs is kept beside it,
# keyed by identity while the component runs.


async def _send_correlation_id(event: SendRequest) -> None:
    correlation_id = CORRELATION_ID.get()
    if correlation_id is not None:
        event.metadata[CORRELATION_KEY] = correlation_id


def propagate_correlation_id(channel: Channel) -> None:
    """Make every call on ``channel`` carry the bound correlation id (``x-correlation-id``).

    The kit's component does it; call it for a channel built by hand.

    .. versionadded:: 0.3.0
    """
    listen(channel, SendRequest, _send_correlation_id)


async def check_channel(channel: Channel) -> None:
    """``grpc_channel``'s default health check: ``grpc.health.v1.Health/Check`` on the server.

    Asks about the config's ``health_service`` (``""`` = overall) within ``health_timeout``;
    with ``health_service=None`` it passes while the channel exists.

    Raises:
        BrokenResourceError: the call failed or the answer is not ``SERVING``; names the
            address.

    .. versionadded:: 0.3.0
    """
    config = _CONFIGS.get(id(channel))
    if config is None or config.health_service is None:
        return
    try:
        reply = await HealthStub(channel).Check(
            HealthCheckRequest(service=config.health_service), timeout=config.health_timeout
        )
    except (GRPCError, StreamTerminatedError, OSError, TimeoutError) as exc:
        raise BrokenResourceError(
            f"grpc: health check of {config.address} failed: {exc}", address=config.address
        ) from exc
    if reply.status != HealthCheckResponse.SERVING:
        status = HealthCheckResponse.ServingStatus.Name(reply.status)
        raise BrokenResourceError(
            f"grpc: {config.address} answers {status}", address=config.address
        )


@default_health(check_channel, affects_readiness=False)
async def grpc_channel(
    config: GrpcChannelConfig | None = None,
    *,
    channel: Channel | None = None,
    instrument: Sequence[Callable[[Channel], None]] = (),
) -> AsyncGenerator[Channel, object]:
    """Component factory: a grpclib ``Channel`` to another service, closed when it stops.

    Every call made on it carries the correlation id bound in the caller's context as
    ``x-correlation-id`` metadata (so a gRPC call made while serving an HTTP request or a
    gRPC call continues its id). grpclib connects lazily: the start does not contact the
    server, the health check does.

    Health (no user code): ``grpc.health.v1.Health/Check`` on the server; it does **not**
    affect readiness by default (an unready downstream should not take this service out of
    rotation); ``Component(..., health=HealthCheck(check_channel, affects_readiness=True))``
    changes that.

    Args:
        config: Where to connect; ``GrpcChannelConfig()`` when ``None``.
        channel: A channel made elsewhere, used as is and **never closed** here (the
            correlation id listener is still added); ``config`` then only names its
            address in logs and sets the health check.
        instrument: Callables given the channel at start, to add listeners (tracing).

    Raises:
        ConfigError: ``channel`` is not a grpclib ``Channel``.

    .. versionadded:: 0.3.0
    """
    if channel is not None and not isinstance(channel, Channel):
        raise ConfigError("channel", type(channel), "must be a grpclib.client.Channel")
    owned = channel is None
    settings = config or GrpcChannelConfig()
    if channel is None:
        channel = Channel(settings.host, settings.port, ssl=True if settings.tls else None)
    propagate_correlation_id(channel)
    for hook in instrument:
        hook(channel)
    _CONFIGS[id(channel)] = settings
    logger.info("grpc channel ready", extra={"address": settings.address, "owned": owned})
    try:
        yield channel
    finally:
        _CONFIGS.pop(id(channel), None)
        if owned:
            channel.close()
            logger.info("grpc channel closed", extra={"address": settings.address})
