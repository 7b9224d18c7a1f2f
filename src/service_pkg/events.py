"""Lifecycle events: one typed, synchronous stream that observers subscribe to.

Everything the runtime and the kit's components do that an observer may care about is
published as one of the frozen dataclasses below on an :class:`EventBus`: component starts
and stops, application state and readiness changes, health rounds, leadership transitions,
election renewals, store reconnects and scheduler job runs. Logs, metrics and tracing are
subscribers of this one stream, not separate mechanisms.

Delivery is synchronous, in the emitting task, in subscription order: a subscriber sees an
event before the emitter goes on, so a counter read right after ``await app.stop()`` is exact.
Every subscriber gets the same event object: treat it as read-only. (Events are plain slotted
dataclasses, not frozen ones: a frozen dataclass costs three times as much to build, and
the scheduler builds one per job run.)
A subscriber must therefore be quick and must not block; one that raises is logged (logger
``service_pkg.events``) and skipped, and never breaks the lifecycle or a job.

Emitters check :meth:`EventBus.wants` before building an event, so an event nobody listens to
costs the hot paths (the scheduler's dispatch, the election's renewals) one set lookup.

The kit's components find the bus of the application that starts them through
:func:`current_events` (read once, when the component is built); code outside an application
gets :data:`NO_EVENTS`, a bus nobody can subscribe to. Pass ``events=`` to a class to choose.

Durations are seconds (``float``), as everywhere in the kit.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    # Annotation-only: dataclasses do not evaluate them, and importing the app or the leader
    # package here would make a cycle (both emit events).
    from service_pkg.app import RunState, ShutdownReason
    from service_pkg.health import HealthReport
    from service_pkg.leader import LeaderEvent

__all__ = (
    "NO_EVENTS",
    "ApplicationStateChanged",
    "ComponentOverridden",
    "ComponentStartFailed",
    "ComponentStarted",
    "ComponentStarting",
    "ComponentStopFailed",
    "ComponentStopped",
    "ComponentStopping",
    "DrainEnded",
    "ElectionRenewed",
    "Event",
    "EventBus",
    "HealthChecked",
    "JobOutcome",
    "JobRun",
    "LeadershipChanged",
    "ReadinessChanged",
    "RenewOutcome",
    "StartAborted",
    "StoreReconnected",
    "Subscriber",
    "current_events",
)

log = logging.getLogger("service_pkg.events")


@dataclass(slots=True, kw_only=True)
class Event:
    """Base of every event; match on the subclass."""


# -- components and the application ------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ComponentStarting(Event):
    """A component's start begins (its dependencies are started)."""

    component: str


@dataclass(slots=True, kw_only=True)
class ComponentOverridden(Event):
    """A component is overridden by a non-component (a test double): nothing starts for it."""

    component: str


@dataclass(slots=True, kw_only=True)
class ComponentStarted(Event):
    """A component started; its value is available to dependents."""

    component: str
    duration: float


@dataclass(slots=True, kw_only=True)
class ComponentStartFailed(Event):
    """A component's start raised or timed out (``timed_out``); a rollback follows."""

    component: str
    duration: float
    error: BaseException
    timed_out: bool = False


@dataclass(slots=True, kw_only=True)
class ComponentStopping(Event):
    """A component (or ``on_shutdown`` hook) is about to stop, and why."""

    component: str
    reason: ShutdownReason


@dataclass(slots=True, kw_only=True)
class ComponentStopped(Event):
    """A component (or hook) stopped cleanly."""

    component: str
    duration: float
    reason: ShutdownReason


@dataclass(slots=True, kw_only=True)
class ComponentStopFailed(Event):
    """A component's (or hook's) stop raised or ran past its timeout (``timed_out``)."""

    component: str
    duration: float
    reason: ShutdownReason
    error: BaseException
    timed_out: bool = False


@dataclass(slots=True, kw_only=True)
class ApplicationStateChanged(Event):
    """The application moved from ``old`` to ``new``.

    ``reason`` is set once a stop began; ``duration`` is the time spent in ``old`` (so the
    change to ``RUNNING`` carries the start time and the end of ``STOPPING`` the stop time).
    """

    old: RunState
    new: RunState
    reason: ShutdownReason | None = None
    duration: float = 0.0


@dataclass(slots=True, kw_only=True)
class DrainEnded(Event):
    """The stop's drain delay is over: the first component stop comes next.

    Emitted once per stop, right after ``drain_delay`` seconds of readiness being false (at
    once when the delay is 0), before any component or hook stops. Servers stop taking new
    work at this moment, all of them together, whatever their place in the stop order: an
    HTTP server whose stop comes after another server's graceful wait still refuses new
    connections from here on. ``reason`` is the shutdown's, ``delay`` the drain delay.
    """

    reason: ShutdownReason
    delay: float


@dataclass(slots=True, kw_only=True)
class StartAborted(Event):
    """A start failed or was interrupted and everything already started was stopped again.

    ``component`` is the one whose start failed (or was running when the start was
    interrupted); ``rolled_back`` the components stopped again, in stop order.
    """

    component: str
    error: BaseException | None
    reason: ShutdownReason
    rolled_back: tuple[str, ...]


@dataclass(slots=True, kw_only=True)
class ReadinessChanged(Event):
    """The readiness barrier changed: ``ready`` is the new value.

    ``cause`` is ``"started"`` (every always-on component runs), ``"stopping"`` (a stop or a
    drain began) or ``"stopped"``.
    """

    ready: bool
    cause: str


@dataclass(slots=True, kw_only=True)
class HealthChecked(Event):
    """A health round finished (a coalesced or cached answer emits nothing)."""

    report: HealthReport


# -- leadership and stores ---------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class LeadershipChanged(Event):
    """An election took (``TAKEN``) or lost (``LOST``) leadership.

    ``reason`` for a loss: ``stop``, ``deadline``, ``not_owner``, ``resigned:<why>`` (a
    :meth:`~service_pkg.leader.LeaderElection.resign`), ``ended``; for a take: ``acquired``.
    """

    election: str
    event: LeaderEvent
    epoch: int
    reason: str


class RenewOutcome(enum.StrEnum):
    """How one lease renewal ended."""

    EXTENDED = "extended"
    NOT_OWNER = "not_owner"
    MASTER_CHANGED = "master_changed"
    """The server is no longer the master the hold was taken on (failover, ``READONLY``)."""
    UNCONFIRMED = "unconfirmed"
    """Fewer replicas than ``min_replicas`` acknowledged the renewal; the deadline stays."""
    FAILED = "failed"
    TIMED_OUT = "timed_out"


@dataclass(slots=True, kw_only=True)
class ElectionRenewed(Event):
    """A leader's renewal came back (or failed).

    ``latency`` is the round trip; ``margin`` is what was left of the local deadline when the
    answer arrived (how close the leader came to stepping down).
    """

    election: str
    outcome: RenewOutcome
    latency: float
    margin: float


@dataclass(slots=True, kw_only=True)
class StoreReconnected(Event):
    """A component's connection to its store was re-established after an error.

    ``address`` is masked (never carries a password).
    """

    component: str
    address: str
    error: str


# -- scheduler ---------------------------------------------------------------------------


class JobOutcome(enum.StrEnum):
    """How a scheduled slot of a job ended."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    """The previous run still ran (overlap policy SKIP) or the concurrency cap was full."""
    MISSED = "missed"
    """The slot passed while the dispatcher could not run it (misfire)."""
    FENCED = "fenced"
    """The scheduler's election was not leader when the run was due."""
    CANCELLED = "cancelled"
    """A stop of the scheduler cancelled the run, or dropped the slot before its run began
    (queued for the concurrency cap, deferred, or created a moment before the stop)."""


@dataclass(slots=True, kw_only=True)
class JobRun(Event):
    """One slot of a job ended.

    ``scheduled`` is the slot's wall-clock time (Unix seconds); ``lateness`` how long after it
    the run began (0 when it never ran); ``duration`` how long it ran (0 when it never ran).
    ``error`` is what the run raised (``failed``) or its deadline's ``TimeoutError``
    (``timed_out``); ``None`` otherwise. ``slots`` is how many slots the event stands for: 1,
    except for ``missed`` after a stall, where one event covers every slot the stall passed
    (``scheduled`` is then the first of them), so an hour-long stall of a fast job is one
    event, not thousands.
    """

    scheduler: str
    job: str
    scheduled: float
    lateness: float
    duration: float
    outcome: JobOutcome
    error: BaseException | None = None
    slots: int = 1


# -- the bus -----------------------------------------------------------------------------

Subscriber: TypeAlias = Callable[[Event], object]
"""A callable taking one event; its return value is ignored (it must not be a coroutine)."""


class EventBus:
    """Synchronous fan-out of :class:`Event` values to subscribers.

    :meth:`subscribe` returns a handle that unsubscribes (idempotent); a subscriber may name
    the event classes it wants, and then sees only those (and their subclasses). :meth:`emit`
    calls each interested subscriber in order; one that raises is logged and skipped.
    Subscribing or unsubscribing while an event is delivered takes effect from the next event.
    """

    __slots__ = ("_all", "_conditional", "_conditional_all", "_frozen", "_kinds", "_subscribers")

    def __init__(self, *, frozen: bool = False) -> None:
        """Create a bus; a ``frozen`` bus refuses subscribers (see :data:`NO_EVENTS`)."""
        self._subscribers: tuple[_Subscription, ...] = ()
        self._frozen = frozen
        self._all = False
        self._kinds: frozenset[type[Event]] = frozenset()
        self._conditional: dict[type[Event], tuple[Callable[[], bool], ...]] = {}
        self._conditional_all: tuple[Callable[[], bool], ...] = ()

    def __repr__(self) -> str:
        """Show the number of subscribers."""
        return f"<EventBus subscribers={len(self._subscribers)}>"

    @property
    def active(self) -> bool:
        """Whether anybody listens at all."""
        return bool(self._subscribers)

    def wants(self, kind: type[Event]) -> bool:
        """Whether a subscriber would receive an event of class ``kind``.

        Emitters check it before building an event, so an event nobody listens to costs one
        set lookup (the lifecycle log listens to component events, not to job runs). A
        subscription made with ``when=`` counts only while its ``when()`` is true.
        """
        if self._all or kind in self._kinds:
            return True
        conditions = self._conditional.get(kind, self._conditional_all)
        # The empty case first: it is the scheduler's hot path while nobody listens.
        return bool(conditions) and any(when() for when in conditions)

    def subscribe(
        self,
        fn: Subscriber,
        *kinds: type[Event],
        when: Callable[[], bool] | None = None,
    ) -> Callable[[], None]:
        """Call ``fn(event)`` for every event (or every event of ``kinds``) from now on.

        With ``when``, only while ``when()`` is true: the lifecycle log subscribes its INFO
        lines with ``when=lambda: log.isEnabledFor(logging.INFO)``, so with INFO off (and no
        other subscriber) those events are not even built.

        Returns:
            The unsubscribe handle; calling it again does nothing.

        Raises:
            TypeError: ``fn`` or ``when`` is not callable, or a kind is not an
                :class:`Event` class.
            RuntimeError: this is :data:`NO_EVENTS`.
        """
        if not callable(fn):
            raise TypeError(f"subscriber: must be callable (got {fn!r})")
        if when is not None and not callable(when):
            raise TypeError(f"when: must be callable (got {when!r})")
        for kind in kinds:
            given: object = kind  # callers may not be type-checked
            if not (isinstance(given, type) and issubclass(given, Event)):
                raise TypeError(f"kinds: must be Event subclasses (got {kind!r})")
        if self._frozen:
            raise RuntimeError(
                "NO_EVENTS takes no subscribers: subscribe on the application's bus "
                "(app.events or runtime.subscribe) or pass events= to the component",
            )
        subscription = _Subscription(fn, kinds, when)
        self._subscribers = (*self._subscribers, subscription)
        self._index()

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscription)
            self._index()

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber, in order; never raises."""
        for subscription in self._subscribers:
            if subscription.kinds is not None and not isinstance(event, subscription.kinds):
                continue
            if subscription.when is not None and not subscription.when():
                continue
            try:
                subscription.fn(event)
            except Exception:  # a broken observer must never break the lifecycle
                log.exception(
                    "event subscriber failed",
                    extra={"service_pkg_event": type(event).__name__},
                )

    def _index(self) -> None:
        always = [s for s in self._subscribers if s.when is None]
        sometimes = [s for s in self._subscribers if s.when is not None]
        self._all = any(s.kinds is None for s in always)
        self._kinds = frozenset(
            sub for s in always for kind in s.kinds or () for sub in _with_subclasses(kind)
        )
        self._conditional_all = tuple(s.when for s in sometimes if s.kinds is None and s.when)
        conditional: dict[type[Event], list[Callable[[], bool]]] = {}
        for s in sometimes:
            assert s.when is not None  # noqa: S101 - by the filter above
            for kind in s.kinds or ():
                for sub in _with_subclasses(kind):
                    conditional.setdefault(sub, list(self._conditional_all)).append(s.when)
        self._conditional = {k: tuple(v) for k, v in conditional.items()}


class _Subscription:
    """One subscribe() call: the same callable may subscribe twice and leave once each."""

    __slots__ = ("fn", "kinds", "when")

    def __init__(
        self,
        fn: Subscriber,
        kinds: tuple[type[Event], ...],
        when: Callable[[], bool] | None,
    ) -> None:
        self.fn = fn
        self.kinds: tuple[type[Event], ...] | None = kinds or None
        self.when = when


def _with_subclasses(kind: type[Event]) -> set[type[Event]]:
    found = {kind}
    for sub in kind.__subclasses__():
        found |= _with_subclasses(sub)
    return found


NO_EVENTS = EventBus(frozen=True)
"""The bus of code that runs outside an application: nothing listens, nothing is built."""

_current: ContextVar[EventBus] = ContextVar("service_pkg_events", default=NO_EVENTS)


def current_events() -> EventBus:
    """The bus of the application starting the current component, else :data:`NO_EVENTS`.

    Component factories read it while they start (the Application sets it around each
    component's start), so the classes they build publish on the right bus with no user code.
    """
    return _current.get()
