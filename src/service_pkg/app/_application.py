"""``Application``: starts a container's components in order, owns signals, stops them all."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any, Self

from dependency_injector import containers

from service_pkg._checks import seconds
from service_pkg.app._component import DEFAULT_STOP_TIMEOUT, _check_priority
from service_pkg.app._di import read_container
from service_pkg.app._health import HealthRunner
from service_pkg.app._leader import Backoff, GroupSupervisor, close_all
from service_pkg.app._log import subscribe_log
from service_pkg.app._plan import Explain, Node, NodeKind, Plan, build_plan, direct_path
from service_pkg.app._probes import collect_probes
from service_pkg.app._runtime import Runtime, bind_runtime
from service_pkg.app._signals import SignalCatcher
from service_pkg.app._state import RunState, ShutdownReason
from service_pkg.app._steps import Hook, HookSpec, Steps
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import (
    ApplicationStateChanged,
    DrainEnded,
    Event,
    EventBus,
    ReadinessChanged,
    StartAborted,
    Subscriber,
)
from service_pkg.exceptions import (
    ComponentStopError,
    ConfigError,
    PlanError,
    StartError,
    StopError,
)
from service_pkg.health import DEFAULT_HEALTH_MAX_AGE, HealthReport
from service_pkg.leader import LeaderElection
from service_pkg.readiness import ReadinessBarrier, ReadinessConfig

__all__ = (
    "DEFAULT_GATED_BACKOFF",
    "DEFAULT_GATED_BACKOFF_MAX",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "Application",
)

log = logging.getLogger("service_pkg.app")

DEFAULT_SHUTDOWN_TIMEOUT = 25.0
"""Seconds the whole stop may take: below Kubernetes' default 30 s grace period, so the
application finishes its own stop before the kubelet's SIGKILL."""
DEFAULT_GATED_BACKOFF = 5.0
"""Seconds an election stays out of acquisitions after its gated group first failed to start."""
DEFAULT_GATED_BACKOFF_MAX = 300.0
"""Cap of that hold-off, which doubles with each consecutive failure."""


class Application(Runtime):
    """Runs the components of a dependency-injector container as one service.

    Lifecycle contract:

    * The plan (:attr:`plan`) is built from the container before anything starts; a graph
      that cannot be started and stopped safely raises :class:`~service_pkg.exceptions.
      PlanError`.
    * :meth:`start` installs SIGTERM/SIGINT/SIGQUIT handlers (unless ``install_signals`` is
      false), then starts the always-on components one by one in plan order, each under its
      ``start_timeout``. If one fails, times out or a signal arrives, everything already
      started is stopped in reverse (reason ``START_FAILURE`` or ``SIGNAL``) and
      :class:`~service_pkg.exceptions.StartError` is raised. Afterwards the readiness barrier
      is ready and each election's gated group follows ``TAKEN``/``LOST``.
    * A gated group that fails to start is rolled back and its election resigns with a
      hold-off (``gated_backoff``, doubling per consecutive failure up to
      ``gated_backoff_max``), so another replica can lead.
    * :meth:`stop` never aborts: readiness goes false at once, the application waits
      ``drain_delay`` (load balancers stop sending traffic), then gated groups stop first,
      then every other component and ``on_shutdown`` hook in plan order, each under its
      ``stop_timeout`` and all within ``shutdown_timeout``, which starts after the drain.
      Failures and timeouts are logged per component and raised together as
      :class:`~service_pkg.exceptions.StopError`. It is idempotent and safe to call
      concurrently; every caller sees the same outcome.
    * :meth:`health` runs the components' health checks (see ``docs/health.md``); every step
      is published on :attr:`events` (see :mod:`service_pkg.events`). The application is the
      :class:`~service_pkg.app.Runtime` that ``providers.Dependency(instance_of=Runtime)``
      declarations of its container receive.
    * :meth:`serve` = start, wait for a signal or :meth:`request_stop`, stop; it returns the
      exit code: 0 after a graceful stop, 1 if a start or a stop failed, ``128 + signal``
      when a second signal forced the exit. :meth:`run` does the same from sync code.

    An application runs once; create a new one (and a new container) to run again.
    """

    def __init__(
        self,
        container: containers.Container,
        *,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        install_signals: bool = True,
        components: Collection[str] | None = None,
        readiness: ReadinessBarrier | None = None,
        drain_delay: float = 0.0,
        health_max_age: float = DEFAULT_HEALTH_MAX_AGE,
        gated_backoff: float = DEFAULT_GATED_BACKOFF,
        gated_backoff_max: float = DEFAULT_GATED_BACKOFF_MAX,
        clock: Clock | None = None,
    ) -> None:
        """Prepare an application; nothing starts until :meth:`start`.

        Args:
            container: the container instance whose components make up the service.
            shutdown_timeout: seconds the whole stop may take.
            install_signals: whether :meth:`start` takes over SIGTERM/SIGINT/SIGQUIT.
            components: start only these components (dotted names) and what they need.
            readiness: the barrier to drive; a new one named ``"application"`` by default.
            drain_delay: seconds between readiness going false and the first stop; not taken
                out of ``shutdown_timeout`` (Go bug #16).
            health_max_age: seconds a health report is reused by later :meth:`health` calls.
            gated_backoff: seconds an election stays out after its gated group failed to start.
            gated_backoff_max: cap of that hold-off (it doubles per consecutive failure).
            clock: the clock of the drain delay and of the duplicate-signal window (tests
                pass a ``ManualClock``).

        Raises:
            ConfigError: a duration is not a finite number ≥ 0 (> 0 where a zero means
                nothing), or ``gated_backoff_max`` < ``gated_backoff``.
        """
        self._container = container
        self._shutdown_timeout = seconds("shutdown_timeout", shutdown_timeout)
        self._install_signals = install_signals
        self._only = None if components is None else frozenset(components)
        self._readiness = readiness or ReadinessBarrier(ReadinessConfig(name="application"))
        self._drain_delay = seconds("drain_delay", drain_delay, allow_zero=True)
        self._backoff = Backoff(
            seconds("gated_backoff", gated_backoff),
            seconds("gated_backoff_max", gated_backoff_max),
        )
        if self._backoff.cap < self._backoff.base:
            raise ConfigError("gated_backoff_max", gated_backoff_max, "must be >= gated_backoff")
        self._clock = clock or SystemClock()
        self._bus = EventBus()
        subscribe_log(self._bus)
        self._steps = Steps(self._bus)
        self._health = HealthRunner(
            lambda: collect_probes(self._probe_plan(), self._steps, self._supervisors),
            self._readiness.is_ready,
            # A component that starts or stops (a gated group too), a state or a readiness
            # change makes a cached report stale.
            lambda: (self._steps.changes, self._state, self._readiness.is_ready()),
            self._bus,
            max_age=seconds("health_max_age", health_max_age, allow_zero=True),
        )
        self._unbind_runtime: Callable[[], None] | None = None
        self._entered = time.perf_counter()
        self._plan: Plan | None = None
        self._nodes: list[Node] | None = None
        self._explain: Explain = direct_path
        self._state = RunState.CREATED
        self._signals: SignalCatcher | None = None
        self._signal: int | None = None
        self._forced: int | None = None
        self._reason: ShutdownReason | None = None
        self._stop_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stop_error: StopError | None = None
        self._busy: asyncio.Task[Any] | None = None
        self._serving = False
        self._interrupt: ShutdownReason | None = None
        self._supervisors: list[GroupSupervisor] = []

    def __repr__(self) -> str:
        """Show the state and the number of components."""
        return f"<Application state={self._state.value} components={len(self._steps.slots)}>"

    # -- introspection -------------------------------------------------------------------

    @property
    def state(self) -> RunState:
        """Where the application is in its one-way life."""
        return self._state

    @property
    def readiness(self) -> ReadinessBarrier:
        """Ready once every always-on component started; not ready from the first stop step."""
        return self._readiness

    @property
    def plan(self) -> Plan:
        """The validated start/stop plan (built on first access, rebuilt after new hooks)."""
        if self._plan is None:
            if self._nodes is None:
                # Read once per start: a running application keeps the components it started.
                slots, nodes, graph = read_container(self._container)
                self._steps.slots = {s.name: s for s in slots}
                self._nodes = nodes if self._only is None else _subgraph(nodes, self._only)
                self._explain = graph.explain
            hooks = self._steps.hooks.items()
            hook_nodes = [Node(name, h.priority, kind=NodeKind.HOOK) for name, h in hooks]
            self._plan = build_plan([*self._nodes, *hook_nodes], self._explain)
        return self._plan

    @property
    def events(self) -> EventBus:
        """The application's event stream (see :mod:`service_pkg.events`)."""
        return self._bus

    def subscribe(self, fn: Subscriber, *kinds: type[Event]) -> Callable[[], None]:
        """Subscribe ``fn`` to :attr:`events` (all events, or those of ``kinds``).

        Returns:
            The handle that unsubscribes.
        """
        return self._bus.subscribe(fn, *kinds)

    async def health(self) -> HealthReport:
        """Check every component; concurrent callers share one round (``docs/health.md``).

        A report younger than ``health_max_age`` is returned as is. Each check runs under its
        own timeout, so this returns within the largest check timeout.
        """
        return await self._health.report()

    @property
    def drain_delay(self) -> float:
        """Seconds between readiness going false and the first stop."""
        return self._drain_delay

    @property
    def shutdown_reason(self) -> ShutdownReason | None:
        """Why the application is stopping (or stopped), ``None`` before that."""
        return self._reason

    def on_shutdown(
        self,
        name: str,
        fn: Hook,
        priority: int,
        *,
        timeout: float = DEFAULT_STOP_TIMEOUT,
    ) -> None:
        """Register a shutdown hook: the Go ``RegisterShutdown``.

        ``fn`` (sync or async, no arguments) runs once during :meth:`stop`, ordered together
        with the components by ``priority`` (FIFO among equals), under ``timeout`` when async.
        """
        if not callable(fn):
            raise ConfigError("fn", fn, "must be callable")
        if not name or name in self._steps.hooks or name in self._steps.slots:
            raise ConfigError("name", name, "must be a non-empty name no hook or component uses")
        if self._state in {RunState.STOPPING, RunState.STOPPED, RunState.FAILED}:
            raise RuntimeError("on_shutdown() after the stop began; register hooks earlier")
        self._steps.hooks[name] = HookSpec(
            fn,
            _check_priority(priority),
            seconds("timeout", timeout),
        )
        self._plan = None

    # -- start ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the application (see :meth:`start`)."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the application: reason ``ERROR`` if the body raised, else ``REQUESTED``."""
        failed = exc_type is not None and issubclass(exc_type, Exception)
        await self.stop(ShutdownReason.ERROR if failed else ShutdownReason.REQUESTED)

    async def start(self) -> None:
        """Start every always-on component in plan order, or roll back and raise.

        Raises:
            PlanError: the container cannot be planned; nothing started.
            StartError: a component failed, timed out or a signal interrupted the start;
                everything already started was stopped again.
            RuntimeError: the application was started before.
        """
        if self._state is not RunState.CREATED:
            raise RuntimeError(f"an Application starts once (state is {self._state.value})")
        # Overrides made since the plan was last looked at count: read the container again.
        self._nodes = None
        self._plan = None
        plan = self.plan
        if self._install_signals and self._signals is None:
            signals = SignalCatcher(
                asyncio.get_running_loop(),
                self._on_signal,
                self._on_duplicate_signal,
                self._clock.monotonic,
            )
            signals.install()
            self._signals = signals
        self._unbind_runtime = bind_runtime(self._container, self)
        self._set_state(RunState.STARTING)
        if not self._serving:
            self._busy = asyncio.current_task()
        self._readiness.start()
        started: list[str] = []
        name = ""
        try:
            for name in plan.start_order:
                if plan.group[name] is None:
                    await self._steps.start(name)
                    started.append(name)
                    if name in plan.gated:
                        self._check_election(name)
        except BaseException as exc:
            await self._rollback(started, exc, name)
            raise
        for election, members in plan.gated.items():
            value = self._steps.value(election)
            supervisor = GroupSupervisor(
                self._steps, election, members, value, self._shutdown_timeout, self._backoff
            )
            self._supervisors.append(supervisor)
            supervisor.spawn()
        self._set_state(RunState.RUNNING)
        self._set_ready(ready=True, cause="started")

    async def _rollback(self, started: list[str], exc: BaseException, current: str) -> None:
        interrupted = isinstance(exc, asyncio.CancelledError) and self._interrupt is not None
        reason = self._interrupt if interrupted else ShutdownReason.START_FAILURE
        assert reason is not None  # noqa: S101 - narrowed by `interrupted`
        task = asyncio.current_task()
        if interrupted and task is not None:
            task.uncancel()
        self._reason = reason
        self._set_state(RunState.STOPPING)
        rolled_back = tuple(reversed(started))
        try:
            errors = await self._steps.stop_all(rolled_back, reason, self._deadline())
        finally:
            self._set_ready(ready=False, cause="stopped", stop=True)
            self._finish_stop()
        if errors:
            self._stop_error = StopError("rollback after a failed start was not clean", errors)
        self._set_state(RunState.FAILED if errors or not interrupted else RunState.STOPPED)
        cause = exc.__cause__ if isinstance(exc, StartError) else exc
        # Last, so the log's last line of a failed start is the one-sentence summary.
        self._bus.emit(
            StartAborted(
                component=current,
                error=None if interrupted else cause,
                reason=reason,
                rolled_back=rolled_back,
            )
        )
        if interrupted:
            raise StartError(
                f"start interrupted ({reason.value}) while starting {current}; rolled back",
                current,
            ) from None

    def _check_election(self, name: str) -> None:
        value = self._steps.value(name)
        if not isinstance(value, LeaderElection):
            got = type(value).__qualname__
            exc = TypeError(
                f"leader=: {name} must yield a LeaderElection (got a {got}); point leader= "
                "at an election component such as leader_election or standalone_election"
            )
            raise StartError(str(exc), name) from exc

    # -- stop ----------------------------------------------------------------------------

    def request_stop(self, reason: ShutdownReason = ShutdownReason.REQUESTED) -> None:
        """Ask :meth:`serve` to stop; returns at once."""
        if self._reason is None:
            self._reason = reason
        self._stop_requested.set()

    async def wait(self) -> ShutdownReason:
        """Wait until a stop is requested (signal or :meth:`request_stop`); return why."""
        await self._stop_requested.wait()
        return self._reason or ShutdownReason.REQUESTED

    async def stop(self, reason: ShutdownReason = ShutdownReason.REQUESTED) -> None:
        """Stop everything that runs, in plan order; see the class docstring.

        Raises:
            StopError: some stops failed or timed out (all of them still ran).
        """
        if self._state is RunState.CREATED:
            self._set_state(RunState.STOPPING)
            self._set_state(RunState.STOPPED)
            self._stopped.set()
            return
        if self._state is RunState.STARTING:
            self._interrupt_start(reason)
        if self._state is not RunState.RUNNING:
            await self._stopped.wait()
            if self._stop_error is not None:
                raise self._stop_error
            return
        self._reason = self._reason or reason
        self._stop_requested.set()
        if not self._serving:
            self._busy = asyncio.current_task()
        self._set_state(RunState.STOPPING)
        self._set_ready(ready=False, cause="stopping")
        try:
            await self._drain(self._reason)
            errors = await self._stop_all(self._reason)
        except BaseException:
            # Forced exit (a second signal) or the caller cancelled us: the stop is abandoned.
            abandoned = ComponentStopError("stop abandoned before every component stopped", "")
            self._stop_error = StopError("the stop was abandoned", [abandoned])
            self._set_state(RunState.FAILED)
            raise
        finally:
            self._set_ready(ready=False, cause="stopped", stop=True)
            self._finish_stop()
        if errors:
            self._stop_error = StopError(f"{len(errors)} stop(s) failed", errors)
        self._set_state(RunState.FAILED if errors else RunState.STOPPED)
        if self._stop_error is not None:
            raise self._stop_error

    async def _drain(self, reason: ShutdownReason) -> None:
        if self._drain_delay > 0:
            # Readiness is already false: load balancers and Kubernetes endpoints take it
            # out of rotation while in-flight work goes on. The stop budget starts after.
            await self._clock.sleep(self._drain_delay)
        if self._bus.wants(DrainEnded):
            self._bus.emit(DrainEnded(reason=reason, delay=self._drain_delay))

    async def _stop_all(self, reason: ShutdownReason) -> list[Exception]:
        deadline = self._deadline()
        await close_all(self._supervisors, deadline)
        # The plan already puts every gated group ahead of the always-on components.
        stops = await self._steps.stop_all(self.plan.stop_order, reason, deadline)
        return [*self._steps.late_errors, *stops]

    def _deadline(self) -> float:
        return time.monotonic() + self._shutdown_timeout

    # -- serve / run ---------------------------------------------------------------------

    async def serve(self) -> int:
        """Start, wait for a signal or :meth:`request_stop`, stop; return the exit code."""
        self._busy = asyncio.current_task()
        self._serving = True
        code = 0
        try:
            try:
                await self.start()
            except PlanError as exc:
                log.error("invalid container: %s", exc)  # noqa: TRY400 - the message is the point
                return 1
            except StartError:
                return 0 if self._state is RunState.STOPPED else 1
            reason = await self.wait()
            try:
                await self.stop(reason)
            except StopError:
                code = 1
        except asyncio.CancelledError:
            if self._forced is None:
                raise
            return 128 + self._forced
        finally:
            self._restore_signals()
        return code

    def run(self) -> int:
        """Run :meth:`serve` in a new event loop; return its exit code.

        Use it as ``raise SystemExit(Application(Container()).run())``.
        """
        return asyncio.run(self.serve())

    # -- internals -----------------------------------------------------------------------

    def _on_signal(self, signum: int, forced: bool) -> None:
        name = signal.Signals(signum).name
        if forced or self._signal is not None:
            self._forced = signum
            log.warning("second signal, forcing exit", extra={"signal": name})
            if self._busy is not None and not self._busy.done():
                self._busy.cancel()
            return
        self._signal = signum
        log.warning("signal received, shutting down", extra={"signal": name})
        self.request_stop(ShutdownReason.SIGNAL)
        if self._state is RunState.STARTING:
            self._interrupt_start(ShutdownReason.SIGNAL)

    def _on_duplicate_signal(self, signum: int) -> None:
        log.info(
            "same signal again at once, taken as the same request",
            extra={"signal": signal.Signals(signum).name},
        )

    def _interrupt_start(self, reason: ShutdownReason) -> None:
        self.request_stop(reason)
        if self._interrupt is None and self._busy is not None and not self._busy.done():
            self._interrupt = reason
            self._busy.cancel()

    def _restore_signals(self) -> None:
        if self._signals is not None:
            self._signals.restore()

    def _set_state(self, new: RunState) -> None:
        old = self._state
        if not old.can_become(new):
            raise RuntimeError(f"state {old.value} cannot become {new.value}")
        self._state = new
        now = time.perf_counter()
        duration, self._entered = now - self._entered, now
        reason = None if new in {RunState.STARTING, RunState.RUNNING} else self._reason
        self._bus.emit(ApplicationStateChanged(old=old, new=new, reason=reason, duration=duration))

    def _set_ready(self, *, ready: bool, cause: str, stop: bool = False) -> None:
        was = self._readiness.is_ready()
        if stop:
            self._readiness.stop()
        elif ready:
            self._readiness.set_ready()
        else:
            self._readiness.set_not_ready()
        if self._readiness.is_ready() != was:
            self._bus.emit(ReadinessChanged(ready=ready, cause=cause))

    def _finish_stop(self) -> None:
        self._restore_signals()
        if self._unbind_runtime is not None:
            self._unbind_runtime()
            self._unbind_runtime = None
        self._stopped.set()

    def _probe_plan(self) -> Plan | None:
        running = self._state in {RunState.RUNNING, RunState.STOPPING}
        return self._plan if running else None


def _subgraph(nodes: list[Node], wanted: frozenset[str]) -> list[Node]:
    by_name = {n.name: n for n in nodes}
    unknown = sorted(wanted - by_name.keys())
    if unknown:
        raise ConfigError("components", unknown, "names no component of the container")
    keep: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(by_name[name].deps)
    return [n for n in nodes if n.name in keep]
