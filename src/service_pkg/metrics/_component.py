"""Component factories: ``metrics`` (the registry and the subscriber), pool and election gauges."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from prometheus_client import CollectorRegistry

from service_pkg.app import Priority, RunState, Runtime
from service_pkg.events import ApplicationStateChanged, Event
from service_pkg.exceptions import ConfigError
from service_pkg.leader import LeaderElection
from service_pkg.metrics._pools import pool_families, sqlalchemy_pool_stats
from service_pkg.metrics._registry import KitMetrics, MetricsConfig

__all__ = ("METRICS_PRIORITY", "election_metrics", "metrics", "pool_metrics")

METRICS_PRIORITY = Priority.LOWEST + 1
"""Give it to ``Component(metrics, ...)``: a component stops in priority order and starts in
the reverse, so the metrics component starts before every other component (it sees their
start events) and stops after them (it sees their stop events)."""

_FINAL = frozenset({RunState.STOPPED, RunState.FAILED})


async def metrics(
    runtime: Runtime,
    config: MetricsConfig | None = None,
    *,
    registry: CollectorRegistry | None = None,
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: the application's :class:`KitMetrics`, fed by its event stream.

    ``Component(metrics, runtime, priority=METRICS_PRIORITY)`` with
    ``runtime = providers.Dependency(instance_of=Runtime)``.

    Start subscribes :meth:`KitMetrics.observe` to ``runtime`` and seeds the application
    gauges from ``runtime.state`` and ``runtime.readiness``; nothing else is opened, so the
    start cannot fail. Stop unsubscribes: at once while the application runs (a test, a
    gated group), else right after the application's final state change, so the shutdown
    duration and reason are recorded in-process. Events published before the start are not
    seen (hence ``METRICS_PRIORITY``).

    ``registry``: a registry to fill instead of a new private one (for instance
    ``prometheus_client.REGISTRY`` to expose the process and GC collectors with it; then
    only one application per process can run the component, as the names would clash).
    """
    if not isinstance(runtime, Runtime):
        raise ConfigError("runtime", type(runtime).__name__, "must be the Runtime dependency")
    kit = KitMetrics(config, registry=registry)
    kit.seed(runtime.state, ready=runtime.readiness.is_ready())
    closing = False
    unsubscribe = kit.subscribe_to(runtime)

    def on_state(event: Event) -> None:
        # A second, filtered subscription: the recorder's own stays free of this check.
        if closing and isinstance(event, ApplicationStateChanged) and event.new in _FINAL:
            unsubscribe()
            leave_state()

    leave_state = runtime.subscribe(on_state, ApplicationStateChanged)
    try:
        yield kit
    finally:
        if runtime.state is RunState.STOPPING:
            closing = True
        else:
            unsubscribe()
            leave_state()


async def pool_metrics(
    kit: KitMetrics, engine: Any, *, name: str
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: pool gauges of an SQLAlchemy engine, read at every scrape.

    ``Component(pool_metrics, metrics, db, name="db")``: start registers the reader (the
    pool's public ``size()``, ``checkedout()``, ``overflow()``, ``checkedin()``); stop
    removes it. Its value is ``kit``. For another kind of pool, register
    ``pool_families(name, read)`` with :meth:`KitMetrics.add_source`.

    Raises:
        ConfigError: ``engine`` is not an SQLAlchemy engine, or ``name`` is empty.
    """
    remove = kit.add_source(pool_families(name, sqlalchemy_pool_stats(engine)))
    try:
        yield kit
    finally:
        remove()


async def election_metrics(
    kit: KitMetrics, election: LeaderElection, *, name: str | None = None
) -> AsyncGenerator[KitMetrics, object]:
    """Component factory: read an election's ``is_leader()`` and ``epoch`` at every scrape.

    ``Component(election_metrics, metrics, election)``. Without it the leadership gauges
    follow the election's events, which is exact except for the moment between a missed
    lease deadline and the ``LOST`` it causes. ``name`` defaults to the election's own
    (``config.name`` or ``name``, the one its events carry).

    Raises:
        ConfigError: no name was given and the election has none.
    """
    label = name if name is not None else _election_name(election)
    unwatch = kit.watch_election(election, label)
    try:
        yield kit
    finally:
        unwatch()


def _election_name(election: object) -> str:
    name = getattr(election, "name", None)
    if name is None:
        name = getattr(getattr(election, "config", None), "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError("name", name, "give the election's name: name=...")
    return name
