"""``KitMetrics``: one Prometheus registry per application and every instrument of the kit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from service_pkg._checks import bucket_bounds
from service_pkg.exceptions import ConfigError
from service_pkg.metrics._aggregate import FastFamilies, HistogramFamily, ValueFamily, rendering
from service_pkg.metrics._events import KINDS, PREFIX, EventRecorder
from service_pkg.metrics._stats_families import SchedulerFamilies
from service_pkg.scheduler import DEFAULT_JOB_BUCKETS

log = logging.getLogger("service_pkg.metrics")

if TYPE_CHECKING:
    from service_pkg.app import RunState
    from service_pkg.events import Event
    from service_pkg.leader import LeaderElection


__all__ = (
    "DEFAULT_BUCKETS",
    "KitMetrics",
    "MetricsConfig",
)


DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
"""The OTel semantic conventions' advisory buckets (seconds) for request durations."""


class _Stream(Protocol):
    def subscribe(self, fn: Callable[[Event], object], *kinds: type[Event]) -> Callable[[], None]:
        """Subscribe ``fn`` to the events of ``kinds``."""
        ...


_FAST_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """How the kit's histograms are bucketed.

    Raises:
        ConfigError: a bucket tuple is empty, not strictly increasing or not finite numbers.

    .. versionadded:: 0.3.0
    """

    request_buckets: tuple[float, ...] = DEFAULT_BUCKETS
    """HTTP request and gRPC call durations (the semconv advisory buckets)."""
    job_buckets: tuple[float, ...] = DEFAULT_JOB_BUCKETS
    """Component start and stop durations. The job histograms are bucketed by the scheduler
    itself, which counts them: ``SchedulerConfig(job_buckets=...)`` (same default)."""
    fast_buckets: tuple[float, ...] = _FAST_BUCKETS
    """Election renew latency and health-check durations."""
    margin_buckets: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0)
    """What was left of the lease deadline when a renewal answered."""

    def __post_init__(self) -> None:
        """Validate the buckets."""
        for name in ("request_buckets", "job_buckets", "fast_buckets", "margin_buckets"):
            bucket_bounds(name, getattr(self, name))


class _Live(Collector):
    """Gauges read at scrape time from whatever sources are registered now."""

    def __init__(self) -> None:
        self._sources: list[Callable[[], Iterable[Metric]]] = []

    def add(self, source: Callable[[], Iterable[Metric]]) -> Callable[[], None]:
        self._sources.append(source)

        def remove() -> None:
            if source in self._sources:
                self._sources.remove(source)

        return remove

    def collect(self) -> Iterator[Metric]:
        # Several sources may feed one family (two engines): merge them by name, so the
        # exposition has each family once.
        merged: dict[str, Metric] = {}
        for source in tuple(self._sources):
            try:
                families = list(source())
            except Exception:  # one broken reader must not take the whole scrape down
                log.exception("metrics source failed; its gauges are left out of this scrape")
                continue
            for family in families:
                known = merged.get(family.name)
                if known is None:
                    merged[family.name] = family
                else:
                    known.samples.extend(family.samples)
        yield from merged.values()

    def describe(self) -> Iterator[Metric]:
        # Nothing up front: the families depend on the sources present at scrape time.
        return iter(())


class KitMetrics:
    """The metrics of one application: a private registry and the kit's instruments in it.

    Build one per application (the ``metrics`` component does); two applications in one
    process never share series. The lifecycle, health and leader instruments are plain
    ``prometheus_client`` objects; the hot ones (HTTP requests, RPCs) are kept by hand
    (:attr:`fast`) and render themselves, as the job series do, read from the schedulers
    handed to :meth:`watch_scheduler`. All are collectors of :attr:`registry`, where service
    code may add its own. :meth:`observe` is the event-stream subscriber; :meth:`add_source`
    registers a scrape-time gauge source (pools, elections) and returns its removal handle; a
    source that raises is logged and left out of that scrape.

    It owns nothing to close: dropping it is enough.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        config: MetricsConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.config = config or MetricsConfig()
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        c, r = self.config, self.registry
        p = PREFIX
        # lifecycle
        self.component_start = Histogram(
            f"{p}component_start_duration_seconds",
            "Time a component's start took, by outcome (ok, failed, timed_out).",
            ("component", "outcome"),
            buckets=c.job_buckets,
            registry=r,
        )
        self.component_stop = Histogram(
            f"{p}component_stop_duration_seconds",
            "Time a component's (or shutdown hook's) stop took, by outcome and reason.",
            ("component", "outcome", "reason"),
            buckets=c.job_buckets,
            registry=r,
        )
        self.component_state = Gauge(
            f"{p}component_state",
            "1 for the state each component is in (starting, running, stopping, stopped, "
            "failed), 0 for the others.",
            ("component", "state"),
            registry=r,
        )
        self.application_state = Gauge(
            f"{p}application_state",
            "1 for the state the application is in, 0 for the others.",
            ("state",),
            registry=r,
        )
        self.start_duration = Gauge(
            f"{p}application_start_duration_seconds",
            "Time the application's last start took (STARTING to RUNNING).",
            registry=r,
        )
        self.shutdown_duration = Gauge(
            f"{p}shutdown_duration_seconds",
            "Time the application's last stop took (STOPPING to STOPPED or FAILED), by reason.",
            ("reason",),
            registry=r,
        )
        self.shutdowns = Counter(
            f"{p}shutdowns",
            "Stops of the application, by reason and final state.",
            ("reason", "state"),
            registry=r,
        )
        self.start_aborts = Counter(
            f"{p}start_aborts",
            "Starts that failed and were rolled back, by the component that failed.",
            ("component",),
            registry=r,
        )
        self.readiness = Gauge(
            f"{p}readiness",
            "The lifecycle's readiness barrier: 1 ready, 0 not.",
            registry=r,
        )
        self.health_ready = Gauge(
            f"{p}health_ready",
            "The verdict of the last health round (what /readyz answers): 1 ready, 0 not.",
            registry=r,
        )
        self.health_checks = Counter(
            f"{p}health_checks",
            "Health-check results per component (ok, failed, standby, stopped).",
            ("component", "status"),
            registry=r,
        )
        self.health_duration = Histogram(
            f"{p}health_check_duration_seconds",
            "Time one component's health check took.",
            ("component",),
            buckets=c.fast_buckets,
            registry=r,
        )
        # leader
        self.leader_transitions = Counter(
            f"{p}leader_transitions",
            "Leadership transitions per election, by event (taken, lost) and reason.",
            ("election", "event", "reason"),
            registry=r,
        )
        self.leader_resignations = Counter(
            f"{p}leader_resignations",
            "Times a leader resigned (a gated group failed to start, or code called resign).",
            ("election",),
            registry=r,
        )
        self.leader_renew = Histogram(
            f"{p}leader_renew_duration_seconds",
            "Round trip of a lease renewal, by outcome (extended, not_owner, failed, timed_out).",
            ("election", "outcome"),
            buckets=c.fast_buckets,
            registry=r,
        )
        self.leader_margin = Histogram(
            f"{p}leader_renew_margin_seconds",
            "What was left of the local lease deadline when a renewal answered.",
            ("election",),
            buckets=c.margin_buckets,
            registry=r,
        )
        self.store_reconnects = Counter(
            f"{p}store_reconnects",
            "Connections to a store re-established after an error, per component.",
            ("component",),
            registry=r,
        )
        # Hot paths, kept by hand (_aggregate.py): HTTP requests, RPCs; and the job series,
        # read from the schedulers' stats at scrape time (no event per run).
        self.fast = FastFamilies()
        self.scheduler_stats = SchedulerFamilies(PREFIX)
        self.fast.groups.append(self.scheduler_stats)
        # edges (OTel semantic-convention names)
        self.http_duration = HistogramFamily(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests.",
            ("http_request_method", "http_route", "http_response_status_code", "error_type"),
            c.request_buckets,
        )
        self.http_active = ValueFamily(
            "http_server_active_requests",
            "Number of HTTP server requests in flight.",
            ("http_request_method",),
            counter=False,
        )
        self.rpc_duration = HistogramFamily(
            "rpc_server_call_duration_seconds",
            "Duration of RPCs the server handled, by status code.",
            ("rpc_system_name", "rpc_method", "rpc_status_code", "error_type"),
            c.request_buckets,
        )
        self.rpc_active = ValueFamily(
            "rpc_server_active_calls",
            "Number of RPCs the server is handling.",
            ("rpc_system_name",),
            counter=False,
        )
        for family in (self.http_duration, self.http_active, self.rpc_duration, self.rpc_active):
            self.fast.add(family)
        r.register(self.fast)
        self._live = _Live()
        r.register(self._live)
        self._recorder = EventRecorder(self)

    def __repr__(self) -> str:
        """Show the number of scrape-time sources."""
        return f"<KitMetrics sources={len(self._live._sources)}>"  # noqa: SLF001 - own helper

    def add_source(self, source: Callable[[], Iterable[Metric]]) -> Callable[[], None]:
        """Read ``source()`` at every scrape; returns the handle that removes it (idempotent).

        ``source`` returns metric families (``GaugeMetricFamily``); families of one name from
        several sources are merged. It must be quick and must not block: it runs in the scrape.
        """
        if not callable(source):
            raise ConfigError("source", source, "must be callable")
        return self._live.add(source)

    def observe(self, event: Event) -> None:
        """The event-stream subscriber: record one event (``runtime.subscribe(m.observe)``)."""
        self._recorder(event)

    def subscribe_to(self, stream: _Stream) -> Callable[[], None]:
        """Subscribe :meth:`observe` to ``stream`` (a Runtime, an Application, an EventBus).

        Returns the unsubscribe handle. The subscription names the kinds the recorder handles,
        which ``JobRun`` is not: the metrics never make the scheduler build its per-run event
        (the job series come from :meth:`watch_scheduler`).
        """
        return stream.subscribe(self._recorder, *KINDS)

    def watch_scheduler(self, scheduler: object) -> Callable[[], None]:
        """Read the job series from ``scheduler.stats()`` at every scrape; returns the undo.

        The undo (idempotent) keeps the scheduler's figures: it is read until it has stopped,
        then its counts stay, and a later scheduler of the same name counts on from them.

        Raises:
            ConfigError: ``scheduler`` has no ``stats()``.
        """
        read = getattr(scheduler, "stats", None)
        if not callable(read):
            raise ConfigError("scheduler", type(scheduler).__name__, "must be a Scheduler")
        return self.scheduler_stats.add(read)

    def seed(self, state: RunState, *, ready: bool) -> None:
        """Set the application gauges to what the runtime says now (before any event)."""
        self._recorder.set_application_state(state, ready=ready)

    def watch_election(self, election: LeaderElection, name: str) -> Callable[[], None]:
        """Read ``election.is_leader()`` and ``.epoch`` at every scrape, as election ``name``.

        Without it the leadership gauges follow the election's events. Returns the undo
        (idempotent), which keeps the last values read.
        """
        return self._recorder.watch_election(name, election)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (what ``/metrics`` serves).

        ``generate_latest`` renders the registry but the hand-kept families, which render
        themselves from cached label strings (a scrape of 500 HTTP series takes a few ms, not
        70). Instruments service code added to :attr:`registry` are included.
        """
        flag = rendering()
        token = flag.set(True)
        try:
            head = generate_latest(self.registry)
        finally:
            flag.reset(token)
        return head + self.fast.render().encode()

    def names(self) -> Sequence[str]:
        """Every metric family name the registry exposes now (``_total``/``_bucket`` aside)."""
        return sorted({m.name for m in self.registry.collect()})
