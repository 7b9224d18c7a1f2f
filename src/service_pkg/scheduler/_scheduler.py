"""``Scheduler``: the public face: jobs, start, stop, stats. The work is in ``_engine``."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Self

from service_pkg.app import current_shutdown_reason
from service_pkg.clock import Clock, SystemClock
from service_pkg.events import EventBus, current_events
from service_pkg.exceptions import (
    ConfigError,
    DispatcherError,
    DuplicateJobError,
    SchedulerRunningError,
)
from service_pkg.leader import LeaderElection
from service_pkg.scheduler._config import JobConfig, SchedulerConfig
from service_pkg.scheduler._engine import Engine, log
from service_pkg.scheduler._job import JobState
from service_pkg.scheduler._stats import SchedulerState, SchedulerStats, StopReport

__all__ = ("Scheduler",)


class Scheduler:
    """Runs jobs on their triggers, one dispatcher over a timer heap; the Go ``JobScheduler``.

    Lifecycle contract:

    * :meth:`add` declares a job. Only while stopped: adding to a running scheduler raises
      :class:`~service_pkg.exceptions.SchedulerRunningError`, a name used twice
      :class:`~service_pkg.exceptions.DuplicateJobError`.
    * :meth:`start` computes each job's first slot and starts the dispatcher; when it
      returns, the scheduler is running. Starting a running scheduler logs
      ``scheduler already started`` and does nothing (as Go). A start during a stop waits
      for the stop to end, then starts.
    * A run never overlaps another run of its job; runs of different jobs run concurrently,
      up to ``max_concurrent_runs``. A run's exception is logged with the job's name and
      counted; it never reaches the scheduler or the process.
    * :meth:`stop` stops dispatching, cancels ``IMMEDIATE`` runs, lets ``GRACEFUL`` runs
      finish (each within its deadline, all within ``stop_timeout``), cancels what is left,
      waits ``cancel_timeout`` more, and returns a :class:`StopReport`. It never takes longer
      than ``stop_timeout + cancel_timeout`` of clock time, and leaves no task of its own
      behind. Runs that ignore cancellation are reported ``abandoned``; the scheduler keeps
      them referenced until they end, and their job does not run again before that. Stopping
      a stopped scheduler returns an empty report; concurrent callers of one stop all get
      its report. :meth:`aclose` is :meth:`stop` without the report.
    * :meth:`start` after :meth:`stop` works: a new grid is anchored at the new start;
      counters go on.
    * Every slot that comes due while it runs ends in exactly one
      :class:`~service_pkg.events.JobRun` on ``events``: outcome ``ok``, ``failed``,
      ``timed_out``, ``cancelled`` (by a stop), ``skipped``, ``missed`` or ``fenced``. A
      subscriber that raises is logged by the bus and changes nothing here.
    * :meth:`check_dispatcher` is the health check: it passes while the dispatcher runs,
      whatever the jobs do.

    One resource shape, as every stateful class of the kit: ``async with Scheduler(...) as
    s:`` starts on entry and stops on exit; ``await s.aclose()`` stops (idempotent). The
    dispatcher and the runs are tasks the scheduler owns and the stop ends (abandoned runs
    excepted, see above): it creates no detached task.

    Args:
        config: Shared settings; ``SchedulerConfig()`` when ``None``.
        clock: Time for slots, deadlines and stop bounds; ``SystemClock()`` when ``None``
            (tests pass a :class:`~service_pkg.testing.ManualClock`).
        wall_clock: Epoch seconds, for cron specs only; ``time.time`` when ``None``.
        election: When given, every run checks ``election.is_leader()`` right before it
            starts (and is counted ``fenced`` instead if not); the run's context carries
            ``election.epoch``.
        events: The bus :class:`~service_pkg.events.JobRun` events go to;
            :func:`~service_pkg.events.current_events` (read here) when ``None``: the bus of
            the application starting the component, else one nobody listens to.

    Raises:
        ConfigError: an argument has the wrong type.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``events=``, :meth:`check_dispatcher`; :meth:`aclose` logs the application's
       shutdown reason.
    """

    def __init__(
        self,
        config: SchedulerConfig | None = None,
        *,
        clock: Clock | None = None,
        wall_clock: Callable[[], float] | None = None,
        election: LeaderElection | None = None,
        events: EventBus | None = None,
    ) -> None:
        if config is not None and not isinstance(config, SchedulerConfig):
            raise ConfigError("config", config, "must be a SchedulerConfig or None")
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigError("clock", clock, "must implement service_pkg.clock.Clock")
        if election is not None and not isinstance(election, LeaderElection):
            raise ConfigError("election", election, "must be a LeaderElection or None")
        if events is not None and not isinstance(events, EventBus):
            raise ConfigError("events", events, "must be a service_pkg.events.EventBus or None")
        self._events = events if events is not None else current_events()
        self._config = config or SchedulerConfig()
        self._clock: Clock = clock or SystemClock()
        self._wall_clock = wall_clock or time.time
        self._election = election
        self._jobs: dict[str, JobState] = {}
        self._state = SchedulerState.STOPPED
        self._lock = asyncio.Lock()
        self._engine: Engine | None = None
        self._stopping: asyncio.Future[StopReport] | None = None
        self._abandoned: list[set[asyncio.Task[None]]] = []

    def __del__(self) -> None:
        """Leaks are loud: a scheduler collected while running warns (its jobs would go on)."""
        if getattr(self, "_engine", None) is not None:
            warnings.warn(
                f"{self!r} was garbage-collected while running: stop it (await stop())",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    def __repr__(self) -> str:
        """``<Scheduler name='jobs' state=running jobs=3 running=1>``."""
        running = self._engine.running if self._engine is not None else 0
        return (
            f"<Scheduler name={self._config.name!r} state={self._state.value} "
            f"jobs={len(self._jobs)} running={running}>"
        )

    @property
    def config(self) -> SchedulerConfig:
        """The scheduler's settings."""
        return self._config

    @property
    def state(self) -> SchedulerState:
        """``STOPPED``, ``RUNNING`` or ``STOPPING``."""
        return self._state

    @property
    def events(self) -> EventBus:
        """The bus this scheduler publishes its :class:`~service_pkg.events.JobRun` events on."""
        return self._events

    @property
    def jobs(self) -> tuple[JobConfig, ...]:
        """The declared jobs, in the order they were added."""
        return tuple(job.config for job in self._jobs.values())

    def add(self, job: JobConfig) -> None:
        """Declare a job (Go ``Add``). Every field was already checked by :class:`JobConfig`.

        Raises:
            ConfigError: ``job`` is not a :class:`JobConfig`.
            SchedulerRunningError: the scheduler is running or stopping (Go "already
                started").
            DuplicateJobError: a job with that name was added before (Go "job already
                exists").
        """
        if not isinstance(job, JobConfig):
            raise ConfigError("job", job, "must be a JobConfig")
        if self._state is not SchedulerState.STOPPED:
            raise SchedulerRunningError(f"scheduler.add({job.name}): already started", job.name)
        if job.name in self._jobs:
            raise DuplicateJobError(f"scheduler.add({job.name}): job already exists", job.name)
        self._jobs[job.name] = JobState(job, len(self._jobs), self._config.job_buckets)

    async def start(self) -> None:
        """Start dispatching (Go ``Start``); see the class contract."""
        async with self._lock:
            if self._engine is not None:
                log.warning("scheduler already started", extra={"scheduler": self._config.name})
                return
            engine = Engine(
                self._jobs.values(),
                self._config,
                self._clock,
                self._wall_clock,
                self._election,
                events=self._events,
            )
            engine.start()
            self._engine = engine
            self._state = SchedulerState.RUNNING
        log.info(
            "scheduler started", extra={"scheduler": self._config.name, "jobs": len(self._jobs)}
        )

    async def stop(self, *, reason: str | None = None) -> StopReport:
        """Stop (Go ``Stop``) and report what happened to the runs in progress.

        Args:
            reason: Why, for the log lines; when ``None``, the reason of the application's
                stop in progress (:func:`service_pkg.app.current_shutdown_reason`), if any.

        Returns:
            The report of this stop; an empty one if the scheduler was not running.
        """
        if self._stopping is not None:
            return await asyncio.shield(self._stopping)
        async with self._lock:
            engine = self._engine
            if engine is None:
                return StopReport()
            self._state = SchedulerState.STOPPING
            self._stopping = asyncio.get_running_loop().create_future()
            if reason is None:
                app_reason = current_shutdown_reason()
                reason = None if app_reason is None else str(app_reason)
            extra = {"scheduler": self._config.name, "reason": reason}
            log.info("scheduler stopping", extra=extra)
            try:
                await engine.stop()
            finally:
                self._stopping.set_result(engine.report)
                self._stopping = None
                self._engine = None
                self._state = SchedulerState.STOPPED
                self._keep(engine.abandoned)
            report = engine.report
            for name in report.abandoned_jobs:
                log.error("job run abandoned", extra={**extra, "job": name})
            log.info(
                "scheduler stopped",
                extra={
                    **extra,
                    "completed": report.completed,
                    "cancelled": report.cancelled,
                    "abandoned": report.abandoned,
                    "dropped": report.dropped,
                    "duration_ms": round(report.duration * 1e3, 3),
                },
            )
            return report

    def _keep(self, abandoned: set[asyncio.Task[None]]) -> None:
        # Abandoned runs stay referenced until they end, so they are never collected
        # half-way ("Task was destroyed but it is pending").
        self._abandoned = [s for s in self._abandoned if s]
        if abandoned:
            self._abandoned.append(abandoned)

    async def aclose(self) -> None:
        """Stop, as :meth:`stop`, discarding the report; idempotent.

        Under an :class:`~service_pkg.Application` the log lines carry its shutdown reason
        (read from :func:`service_pkg.app.current_shutdown_reason`).
        """
        await self.stop()

    async def __aenter__(self) -> Self:
        """Start (see :meth:`start`) and return the scheduler; it runs inside the block."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.aclose()

    def check_dispatcher(self) -> None:
        """Return when the dispatcher runs; the ``scheduler`` component's health check.

        Failing, skipped or hung jobs do not make it fail: they are the jobs' business (their
        counters and events say so). Only a scheduler that no longer dispatches does.

        Raises:
            DispatcherError: the scheduler is not running, or its dispatcher crashed
                (``__cause__`` is the crash; it was logged as ``scheduler dispatcher
                crashed``), so no slot fires until the scheduler is restarted.
        """
        engine, name = self._engine, self._config.name
        if engine is None or self._state is not SchedulerState.RUNNING:
            raise DispatcherError(
                f"scheduler {name!r}: not running, no job is dispatched "
                f"(got state {self._state.value!r})"
            )
        if not engine.dispatching:
            crash = engine.crash
            raise DispatcherError(
                f"scheduler {name!r}: dispatcher crashed, no job is dispatched until a "
                f"restart (got {crash!r})"
            ) from crash

    def stats(self) -> SchedulerStats:
        """A snapshot of the counters of every job and of the runs in progress."""
        engine = self._engine
        abandoned = sum(len(s) for s in self._abandoned)
        return SchedulerStats(
            name=self._config.name,
            state=self._state,
            running=(engine.running if engine is not None else 0) + abandoned,
            waiting=engine.waiting if engine is not None else 0,
            jobs={name: job.snapshot() for name, job in self._jobs.items()},
            job_buckets=self._config.job_buckets,
        )
