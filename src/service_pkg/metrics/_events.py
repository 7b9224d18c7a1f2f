"""The event-stream subscriber: lifecycle, health and leader metrics from events.

The job series are not among them: ``JobRun`` is not subscribed to (see ``_stats_families``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily

from service_pkg.app import RunState
from service_pkg.events import (
    ApplicationStateChanged,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStarting,
    ComponentStopFailed,
    ComponentStopped,
    ComponentStopping,
    ElectionRenewed,
    Event,
    HealthChecked,
    LeadershipChanged,
    ReadinessChanged,
    StartAborted,
    StoreReconnected,
)
from service_pkg.leader import LeaderElection, LeaderEvent

if TYPE_CHECKING:
    from prometheus_client import Gauge

    from service_pkg.metrics._registry import KitMetrics

__all__ = ("KINDS", "PREFIX", "EventRecorder")

PREFIX = "service_pkg_"
"""The prefix of every metric the kit defines itself (the HTTP and gRPC ones use the OTel
semantic-convention names instead)."""

_COMPONENT_STATES = ("starting", "running", "stopping", "stopped", "failed")


def _one_hot(gauge: Gauge, labels: tuple[str, ...], states: tuple[str, ...], now: str) -> None:
    for state in states:
        gauge.labels(*labels, state).set(1.0 if state == now else 0.0)


KINDS: tuple[type[Event], ...] = (
    ComponentStarting,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStopping,
    ComponentStopped,
    ComponentStopFailed,
    ApplicationStateChanged,
    StartAborted,
    ReadinessChanged,
    HealthChecked,
    LeadershipChanged,
    ElectionRenewed,
    StoreReconnected,
)
"""Every kind the recorder handles (not :class:`~service_pkg.events.JobRun`: a subscription
to it would make the scheduler build an event per run, about a quarter of the run's cost)."""


class _Leader:
    """What the recorder knows of one election: from its events, or live from the object."""

    __slots__ = ("epoch", "leader", "live")

    def __init__(self) -> None:
        self.leader = False
        self.epoch = 0
        self.live: LeaderElection | None = None


class EventRecorder:
    """Turns each :class:`~service_pkg.events.Event` into metric updates on a :class:`KitMetrics`.

    Call it as a subscriber (``runtime.subscribe(recorder)``). Leadership gauges
    (``is_leader``, ``epoch``) are kept from the events and, for an election handed to
    :meth:`watch_election`, read live from it at scrape time (``is_leader()`` honours the
    local lease deadline).
    """

    def __init__(self, metrics: KitMetrics) -> None:
        self._m = metrics
        self._leaders: dict[str, _Leader] = {}
        self._handlers: dict[type[Event], Callable[[Event], None]] = {
            ComponentStarting: self._starting,
            ComponentStarted: self._started,
            ComponentStartFailed: self._start_failed,
            ComponentStopping: self._stopping,
            ComponentStopped: self._stopped,
            ComponentStopFailed: self._stop_failed,
            ApplicationStateChanged: self._state,
            StartAborted: self._aborted,
            ReadinessChanged: self._readiness,
            HealthChecked: self._health,
            LeadershipChanged: self._leadership,
            ElectionRenewed: self._renewed,
            StoreReconnected: self._reconnected,
        }
        metrics.add_source(self._leader_families)

    def __call__(self, event: Event) -> None:
        """Record one event (unknown event classes are ignored)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def set_application_state(self, state: RunState, *, ready: bool) -> None:
        """Seed the application gauges (the subscriber starts while the application starts)."""
        _one_hot(self._m.application_state, (), tuple(s.value for s in RunState), state.value)
        self._m.readiness.set(1.0 if ready else 0.0)

    def watch_election(self, name: str, election: LeaderElection) -> Callable[[], None]:
        """Read ``election`` live at scrape time under ``name``; returns the undo."""
        entry = self._leaders.setdefault(name, _Leader())
        entry.live = election

        def unwatch() -> None:
            if entry.live is election:
                entry.epoch, entry.leader = election.epoch, election.is_leader()
                entry.live = None

        return unwatch

    # -- lifecycle -------------------------------------------------------------------------

    def _component(self, name: str, state: str) -> None:
        _one_hot(self._m.component_state, (name,), _COMPONENT_STATES, state)

    def _starting(self, event: Event) -> None:
        assert isinstance(event, ComponentStarting)  # noqa: S101 - dispatched by type
        self._component(event.component, "starting")

    def _started(self, event: Event) -> None:
        assert isinstance(event, ComponentStarted)  # noqa: S101 - dispatched by type
        self._m.component_start.labels(event.component, "ok").observe(event.duration)
        self._component(event.component, "running")

    def _start_failed(self, event: Event) -> None:
        assert isinstance(event, ComponentStartFailed)  # noqa: S101 - dispatched by type
        outcome = "timed_out" if event.timed_out else "failed"
        self._m.component_start.labels(event.component, outcome).observe(event.duration)
        self._component(event.component, "failed")

    def _stopping(self, event: Event) -> None:
        assert isinstance(event, ComponentStopping)  # noqa: S101 - dispatched by type
        self._component(event.component, "stopping")

    def _stopped(self, event: Event) -> None:
        assert isinstance(event, ComponentStopped)  # noqa: S101 - dispatched by type
        stop = self._m.component_stop.labels(event.component, "ok", event.reason.value)
        stop.observe(event.duration)
        self._component(event.component, "stopped")

    def _stop_failed(self, event: Event) -> None:
        assert isinstance(event, ComponentStopFailed)  # noqa: S101 - dispatched by type
        outcome = "timed_out" if event.timed_out else "failed"
        stop = self._m.component_stop.labels(event.component, outcome, event.reason.value)
        stop.observe(event.duration)
        self._component(event.component, "failed")

    def _state(self, event: Event) -> None:
        assert isinstance(event, ApplicationStateChanged)  # noqa: S101 - dispatched by type
        m = self._m
        _one_hot(m.application_state, (), tuple(s.value for s in RunState), event.new.value)
        if event.new is RunState.RUNNING:
            m.start_duration.set(event.duration)
        elif event.old is RunState.STOPPING:
            reason = event.reason.value if event.reason is not None else "unknown"
            m.shutdown_duration.labels(reason).set(event.duration)
            m.shutdowns.labels(reason, event.new.value).inc()

    def _aborted(self, event: Event) -> None:
        assert isinstance(event, StartAborted)  # noqa: S101 - dispatched by type
        self._m.start_aborts.labels(event.component).inc()

    def _readiness(self, event: Event) -> None:
        assert isinstance(event, ReadinessChanged)  # noqa: S101 - dispatched by type
        self._m.readiness.set(1.0 if event.ready else 0.0)

    def _health(self, event: Event) -> None:
        assert isinstance(event, HealthChecked)  # noqa: S101 - dispatched by type
        m, report = self._m, event.report
        m.health_ready.set(1.0 if report.ready else 0.0)
        for entry in report.components:
            m.health_checks.labels(entry.name, entry.status.value).inc()
            m.health_duration.labels(entry.name).observe(entry.duration_ms / 1000)

    # -- leadership and stores -------------------------------------------------------------

    def _leadership(self, event: Event) -> None:
        assert isinstance(event, LeadershipChanged)  # noqa: S101 - dispatched by type
        entry = self._leaders.setdefault(event.election, _Leader())
        taken = event.event is LeaderEvent.TAKEN
        entry.leader, entry.epoch = taken, event.epoch
        kind = "taken" if taken else "lost"
        self._m.leader_transitions.labels(event.election, kind, event.reason).inc()
        if event.reason.startswith("resigned:"):
            self._m.leader_resignations.labels(event.election).inc()

    def _renewed(self, event: Event) -> None:
        assert isinstance(event, ElectionRenewed)  # noqa: S101 - dispatched by type
        m = self._m
        m.leader_renew.labels(event.election, event.outcome.value).observe(event.latency)
        m.leader_margin.labels(event.election).observe(max(event.margin, 0.0))

    def _reconnected(self, event: Event) -> None:
        assert isinstance(event, StoreReconnected)  # noqa: S101 - dispatched by type
        self._m.store_reconnects.labels(event.component).inc()

    def _leader_families(self) -> Iterator[GaugeMetricFamily]:
        leader = GaugeMetricFamily(
            f"{PREFIX}leader_is_leader",
            "1 while this replica leads the election (live: honours the lease deadline).",
            labels=("election",),
        )
        epoch = GaugeMetricFamily(
            f"{PREFIX}leader_epoch",
            "The election's fencing token of the current (or last) term.",
            labels=("election",),
        )
        for name, entry in self._leaders.items():
            if entry.live is not None:
                is_leader, current = entry.live.is_leader(), entry.live.epoch
            else:
                is_leader, current = entry.leader, entry.epoch
            leader.add_metric((name,), 1.0 if is_leader else 0.0)
            epoch.add_metric((name,), float(current))
        yield leader
        yield epoch
