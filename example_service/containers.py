"""The service's one container: every piece of infrastructure as a component.

Settings arrive through ``config`` (``config.from_pydantic(load_settings())``, see
:func:`create_app`); tests override ``config`` values, ``clock`` or any component with
dependency-injector's own API. Priorities order the stop (a smaller number stops earlier):
the servers first, then the rollup's election, the analytics, the databases, Redis last.
"""

from __future__ import annotations

from pathlib import Path

from dependency_injector import containers, providers
from service_pkg import Application, Component, Priority
from service_pkg.app import Runtime
from service_pkg.clock import SystemClock
from service_pkg.grpc import GrpcServerConfig, grpc_server
from service_pkg.http import HttpServerConfig, http_server
from service_pkg.migrations import schema_migrations
from service_pkg.postgres import postgres_engine
from service_pkg.scheduler import Every, JobConfig, SchedulerConfig, scheduler

from example_service.components import (
    click_analytics,
    migrated_sessions,
    optional_clickhouse,
    optional_redis,
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

    # The two front ends over the same Links service.
    web_app = providers.Singleton(build_app, links)
    http = Component(
        http_server,
        web_app,
        runtime,
        providers.Factory(HttpServerConfig, host=config.http_host, port=config.http_port),
        service=config.service_name,
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
