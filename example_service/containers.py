"""The service's one container: every piece of infrastructure as a component.

Settings arrive through ``config`` (``config.from_pydantic(load_settings())``, see
:func:`create_app`); tests override ``config`` values, ``clock`` or any component with
dependency-injector's own API. Priorities order the stop (a smaller number stops earlier):
the servers first, then the rollup's election, the analytics, the databases, Redis last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import containers, providers
from service_pkg import Application, Component, Priority
from service_pkg.app import Runtime
from service_pkg.clock import SystemClock
from service_pkg.grpc import GrpcServerConfig, grpc_server
from service_pkg.http import HttpServerConfig, http_server
from service_pkg.metrics import (
    METRICS_PRIORITY,
    election_metrics,
    metrics,
    pool_metrics,
    scheduler_metrics,
)
from service_pkg.migrations import schema_migrations
from service_pkg.postgres import postgres_engine
from service_pkg.scheduler import Every, JobConfig, SchedulerConfig, scheduler

from example_service.components import (
    click_analytics,
    grpc_instruments,
    http_metrics_routes,
    http_metrics_wrappers,
    migrated_sessions,
    optional_clickhouse,
    optional_redis,
    optional_tracing,
    rollup_election,
)
from example_service.grpc_api import LINKS_DESCRIPTORS, LinksService
from example_service.http_api import build_app
from example_service.links import Links
from example_service.rollup import Rollup
from example_service.settings import Settings, load_settings

__all__ = ("MIGRATIONS", "Container", "create_app")

MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic"
"""The top-level ``alembic/`` folder (next to the package in the repository)."""


class Container(containers.DeclarativeContainer):
    """Everything the shortener runs; the same plan in the embedded and the real mode."""

    config = providers.Configuration(strict=True)
    runtime = providers.Dependency(instance_of=Runtime)  # filled in by the Application
    clock = providers.Singleton(SystemClock)

    # Observability first to start and last to stop (they see every other component's
    # events). Tracing is off unless LINKS_TRACING_EXPORTER says where spans go; tests give
    # their own provider through ``tracer_provider``.
    metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
    tracer_provider: providers.Object[Any] = providers.Object(None)
    tracing = Component(
        optional_tracing,
        runtime,
        config.tracing_exporter,
        config.tracing_sample_ratio,
        tracer_provider,
        # = service_pkg.tracing.TRACING_PRIORITY, named here without importing OpenTelemetry.
        priority=METRICS_PRIORITY,
    )

    # Storage: PostgreSQL or the embedded SQLite, with the schema migrated (embedded) or
    # checked to be at the head revision (production) before anything uses it.
    db = Component(postgres_engine, url=config.database_url_str, priority=Priority.LOW)
    schema = Component(
        schema_migrations,
        db,
        script_location=config.migrations_path,
        apply=config.apply_migrations,
        priority=Priority.LOW,
    )
    sessions = providers.Singleton(migrated_sessions, db, schema)
    db_pool_metrics = Component(pool_metrics, metrics, db, name="db", priority=Priority.LOW)

    redis = Component(optional_redis, config.redis_url, priority=Priority.LOWEST)
    clickhouse = Component(optional_clickhouse, config.clickhouse_url, priority=Priority.LOW)
    analytics = Component(
        click_analytics,
        clickhouse,
        config.analytics_flush_interval,
        clock,
        priority=Priority.MEDIUM,
    )
    links = providers.Singleton(Links, sessions, analytics)

    # The leader-only rollup: gated on the election, and every run carries its epoch into
    # the fenced transaction (example_service/rollup.py).
    election = Component(
        rollup_election,
        redis,
        config.election_name,
        config.leader_expiration,
        config.lock_prefix,
        clock,
        priority=Priority.MEDIUM,
    )
    election_gauges = Component(election_metrics, metrics, election, priority=Priority.MEDIUM)
    rollup = providers.Singleton(Rollup, sessions, config.rollup_batch)
    rollup_jobs = providers.List(
        providers.Factory(
            JobConfig,
            name="rollup",
            func=rollup.provided.run,
            trigger=providers.Factory(Every, config.rollup_interval),
            deadline=60.0,
        )
    )
    jobs = Component(
        scheduler,
        providers.Factory(SchedulerConfig, name="rollup"),
        rollup_jobs,
        election,
        clock=clock,
        leader=election,
        priority=Priority.HIGH,
    )
    # Its job series, read from the scheduler's own counters at every scrape (no event per
    # run); gated as the scheduler it reads, whose figures it keeps across restarts.
    job_metrics = Component(
        scheduler_metrics, metrics, jobs, leader=election, priority=Priority.HIGH
    )

    # The two front ends over the same Links service.
    # With tracing on (its value is then the provider), Litestar's server spans too.
    web_app = providers.Singleton(build_app, links, tracer_provider=tracing)
    http = Component(
        http_server,
        web_app,
        runtime,
        providers.Factory(HttpServerConfig, host=config.http_host, port=config.http_port),
        service=config.service_name,
        routes=providers.Factory(http_metrics_routes, metrics, config.metrics_path),
        wrappers=providers.Factory(http_metrics_wrappers, metrics),
        priority=Priority.HIGH,
    )
    grpc = Component(
        grpc_server,
        providers.List(providers.Singleton(LinksService, links)),
        runtime,
        providers.Factory(
            GrpcServerConfig, host=config.grpc_host, port=config.grpc_port, reflection=True
        ),
        descriptors=[LINKS_DESCRIPTORS],
        instrument=providers.Factory(grpc_instruments, metrics, tracing),
        priority=Priority.HIGH,
    )


def configure(container: Container, settings: Settings) -> Container:
    """Feed ``settings`` into ``container.config`` (dependency-injector's pydantic support).

    ``from_pydantic`` copies every field; the derived values the providers need (the
    effective database URL, whether to migrate, where the migrations are) are set after it.
    """
    container.config.from_pydantic(settings)
    container.config.database_url_str.from_value(settings.database)
    container.config.apply_migrations.from_value(settings.apply_migrations)
    container.config.migrations_path.from_value(str(MIGRATIONS))
    return container


def create_app(
    settings: Settings | None = None, *, install_signals: bool = True
) -> tuple[Application, Container]:
    """The application of the service: the container configured from ``settings``.

    ``settings`` defaults to :func:`load_settings` (the ``LINKS_*`` environment). The
    application drains for ``settings.drain_delay`` seconds between SIGTERM and the stop.
    """
    settings = settings if settings is not None else load_settings()
    container = configure(Container(), settings)
    app = Application(container, install_signals=install_signals, drain_delay=settings.drain_delay)
    return app, container
