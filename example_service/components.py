"""The example's own component factories: the infrastructure each mode needs.

Every component is declared once in the container; a factory picks the implementation from
the settings, so the plan is the same in both modes:

* ``optional_redis`` / ``optional_clickhouse``: the kit's client when the URL is set, else
  ``None`` (nothing is started, the health entry reports ``ok``);
* ``rollup_election``: the Redis election when Redis is configured, else the in-process one;
* ``click_analytics``: buffers clicks and inserts them into ClickHouse in batches, or
  ``None`` without ClickHouse. Its loss never changes a counter: the counters come from SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr
from service_pkg.app import RunState, Runtime
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import ApplicationStateChanged, Event
from service_pkg.exceptions import ConfigError
from service_pkg.health import default_health, factory_health
from service_pkg.leader import (
    LeaderConfig,
    LeaderElection,
    StandaloneElection,
    leader_election,
    standalone_election,
)
from service_pkg.metrics import (
    HttpMetricsMiddleware,
    KitMetrics,
    instrument_grpc_server,
    metrics_asgi_app,
)
from service_pkg.postgres import postgres_sessions
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    # Imported when used: a service without Redis or ClickHouse does not pay for loading
    # their clients at start (about a second together on a busy machine).
    from opentelemetry.trace import TracerProvider
    from redis.asyncio import Redis
    from service_pkg.clickhouse import ClickHouse, ClickHouseConfig

__all__ = (
    "EVENTS_TABLE",
    "ClickAnalytics",
    "click_analytics",
    "clickhouse_config",
    "grpc_instruments",
    "http_metrics_routes",
    "http_metrics_wrappers",
    "migrated_sessions",
    "optional_clickhouse",
    "optional_redis",
    "optional_tracing",
    "rollup_election",
)

log = logging.getLogger("example_service")

_FINAL = frozenset({RunState.STOPPED, RunState.FAILED})

EVENTS_TABLE = "link_clicks"
"""The ClickHouse table of click events (analytics only; SQL keeps the source of truth)."""


def _delegate(module: str, factory: str) -> Callable[[Any], Awaitable[None]]:
    """The kit factory's own health check, skipped while the component's value is ``None``."""

    async def check(value: Any) -> None:
        if value is None:
            return
        spec = factory_health(getattr(importlib.import_module(module), factory))
        if spec is None:
            return
        result = spec.check(value)
        if inspect.isawaitable(result):
            await result

    return check


def _secret(url: SecretStr | str | None) -> str | None:
    if url is None:
        return None
    return url.get_secret_value() if isinstance(url, SecretStr) else url


@default_health(_delegate("service_pkg.redis", "redis_client"), affects_readiness=True)
def optional_redis(url: SecretStr | str | None) -> AbstractAsyncContextManager[Redis | None]:
    """Component factory: a pinged Redis client for ``url``, or ``None`` without one."""
    given = _secret(url)
    if given is None:
        return contextlib.nullcontext(None)
    from service_pkg.redis import RedisConfig, open_redis  # noqa: PLC0415 - only when used

    return open_redis(RedisConfig(url=given))


def migrated_sessions(
    engine: AsyncEngine, schema_revision: str | None
) -> async_sessionmaker[AsyncSession]:
    """The session factory, made once the schema is migrated (or checked) to the head.

    ``schema_revision`` (the ``schema`` component's value) is taken only so that everything
    using sessions starts after the migrations.
    """
    del schema_revision
    return postgres_sessions(engine)


def clickhouse_config(url: str) -> ClickHouseConfig:
    """``clickhouse://user:password@host:9000/database`` (``clickhouse+http://`` for HTTP).

    Raises:
        ConfigError: another scheme, or no host; the message shows no password.
    """
    from service_pkg.clickhouse import ClickHouseConfig  # noqa: PLC0415 - only when used

    parts = urlsplit(url)
    transports = {"clickhouse": "native", "clickhouse+native": "native", "clickhouse+http": "http"}
    masked = f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}{parts.path}"
    if parts.scheme not in transports or not parts.hostname:
        raise ConfigError(
            "LINKS_CLICKHOUSE_URL",
            masked,
            "must be clickhouse://[user[:password]@]host[:port][/database]",
        )
    return ClickHouseConfig(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=parts.path.lstrip("/") or None,
        transport=transports[parts.scheme],  # type: ignore[arg-type]
    )


@default_health(_delegate("service_pkg.clickhouse", "clickhouse_client"), affects_readiness=False)
def optional_clickhouse(url: SecretStr | str | None) -> AbstractAsyncContextManager[Any]:
    """Component factory: a started :class:`ClickHouse`, or ``None`` without a URL.

    Its health does not affect readiness: the service works without its analytics.
    """
    given = _secret(url)
    if given is None:
        return contextlib.nullcontext(None)
    from service_pkg.clickhouse import ClickHouse  # noqa: PLC0415 - only when used

    return ClickHouse(clickhouse_config(given))


_STANDALONE_HEALTH = _delegate("service_pkg.leader", "standalone_election")
_REDIS_ELECTION_HEALTH = _delegate("service_pkg.leader", "leader_election")


async def _election_health(election: LeaderElection) -> None:
    """The kit's check of whichever election runs; it never affects readiness."""
    if isinstance(election, StandaloneElection):
        await _STANDALONE_HEALTH(election)
    else:
        await _REDIS_ELECTION_HEALTH(election)


@default_health(_election_health, affects_readiness=False)
def rollup_election(
    redis: Redis | None,
    name: str,
    expiration: float,
    key_prefix: str,
    clock: Clock | None = None,
) -> AbstractAsyncContextManager[LeaderElection]:
    """Component factory: who runs the rollup. Redis election among replicas, else in-process."""
    if redis is None:
        return standalone_election(name=name, clock=clock)
    return leader_election(
        redis, LeaderConfig(name=name, expiration=expiration), key_prefix=key_prefix, clock=clock
    )


class ClickAnalytics:
    """Click events buffered in memory and inserted into ClickHouse every ``interval``.

    ``record()`` never blocks nor raises: past ``max_buffer`` events a click is dropped and
    counted in ``dropped``; a failed insert drops its batch and counts it in ``failed``. The
    counters of the service do not depend on any of it.
    """

    def __init__(
        self,
        clickhouse: ClickHouse,
        interval: float,
        *,
        max_buffer: int = 100_000,
        clock: Clock | None = None,
    ) -> None:
        self._ch = clickhouse
        self._interval = interval
        self._max_buffer = max_buffer
        self._clock = clock or SystemClock()
        self._buffer: list[tuple[str, datetime]] = []
        self.inserted = 0
        self.dropped = 0
        self.failed = 0

    def record(self, code: str) -> None:
        """Buffer one click (``ClickSink``)."""
        if len(self._buffer) >= self._max_buffer:
            self.dropped += 1
            return
        self._buffer.append((code, datetime.now(UTC).replace(microsecond=0)))

    async def flush(self) -> None:
        """Insert what is buffered now; a failure is logged and the batch dropped."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        try:
            await self._ch.insert(EVENTS_TABLE, batch, columns=["code", "clicked_at"])
        except Exception as error:  # noqa: BLE001 - analytics must never take the service down
            self.failed += len(batch)
            log.warning(
                "click analytics insert failed; batch dropped",
                extra={"events": len(batch), "error": str(error)[:200]},
            )
        else:
            self.inserted += len(batch)

    async def run(self) -> None:
        """Flush every ``interval`` until cancelled."""
        while True:
            await self._clock.sleep(self._interval)
            await self.flush()


async def click_analytics(
    clickhouse: ClickHouse | None, interval: float, clock: Clock | None = None
) -> AsyncIterator[ClickAnalytics | None]:
    """Component factory: the ClickHouse sink of click events, or ``None`` without ClickHouse.

    Start creates the table if needed and starts the flusher in a task group the component
    owns; stop cancels it and makes one last flush (bounded by 2 s).
    """
    if clickhouse is None:
        yield None
        return
    await clickhouse.execute(
        f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (code String, clicked_at DateTime) "
        "ENGINE = MergeTree ORDER BY (code, clicked_at)"
    )
    sink = ClickAnalytics(clickhouse, interval, clock=clock)
    async with asyncio.TaskGroup() as tasks:
        flusher = tasks.create_task(sink.run(), name="example_service:click_analytics")
        yield sink
        flusher.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            await sink.flush()


# --- Observability: the metrics at the server edges, optional tracing -----------------------


def http_metrics_routes(kit: KitMetrics, path: str) -> dict[str, Any]:
    """``routes=`` of the HTTP server: ``/metrics`` (``path``) served before the app."""
    return {path: metrics_asgi_app(kit)}


def http_metrics_wrappers(kit: KitMetrics) -> list[Callable[[Any], Any]]:
    """``wrappers=`` of the HTTP server: the request metrics around the whole kit layer.

    Outside the kit layer the middleware also sees its 504s, 413s and drain 503s.
    """
    return [functools.partial(HttpMetricsMiddleware, kit=kit)]


def grpc_instruments(
    kit: KitMetrics, provider: TracerProvider | None
) -> list[Callable[[Any], None]]:
    """``instrument=`` of the gRPC server: the call metrics, and the server spans if tracing."""
    hooks: list[Callable[[Any], None]] = [functools.partial(instrument_grpc_server, kit=kit)]
    if provider is not None:
        from service_pkg.tracing import instrument_grpc_server_tracing  # noqa: PLC0415

        hooks.append(functools.partial(instrument_grpc_server_tracing, tracer_provider=provider))
    return hooks


async def optional_tracing(
    runtime: Runtime,
    exporter: str,
    sample_ratio: float,
    provider: TracerProvider | None = None,
) -> AsyncIterator[TracerProvider | None]:
    """The tracer provider spans go to, or ``None`` when tracing is off.

    ``exporter="none"`` and no ``provider``: nothing of OpenTelemetry is imported. With
    ``"console"`` a provider of our own (sampling ``sample_ratio`` of the traces, a batch
    processor printing spans to stdout) is built and shut down (flushed) at stop; a
    ``provider`` passed in (tests: an in-memory exporter) is used as is and never shut down.
    The kit's ``tracing`` component runs inside: lifecycle and job spans, ids in the logs.
    """
    if provider is None and exporter == "none":
        yield None
        return
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
    )
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: PLC0415
    from service_pkg.tracing import tracing  # noqa: PLC0415

    own = None
    if provider is None:
        own = SdkProvider(sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
        # out= read now: the default was bound to the stdout of the import (tests capture it).
        own.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
        provider = own
    try:
        async with contextlib.asynccontextmanager(tracing)(runtime, tracer_provider=provider):
            yield provider
    finally:
        if own is not None:
            _shutdown_after_stop(runtime, own.shutdown)


def _shutdown_after_stop(runtime: Runtime, shutdown: Callable[[], None]) -> None:
    """Run ``shutdown`` now, or once the stopping application reached its final state.

    Tracing stops last but ``application stop`` ends after it, with the final state change:
    flushing before that would lose the span.
    """
    if runtime.state is not RunState.STOPPING:
        shutdown()
        return

    def on_state(event: Event) -> None:
        if isinstance(event, ApplicationStateChanged) and event.new in _FINAL:
            unsubscribe()
            shutdown()

    unsubscribe = runtime.subscribe(on_state, ApplicationStateChanged)
