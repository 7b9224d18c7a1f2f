"""One start of a scheduler: the dispatcher over a timer heap, the runs, and the stop.

One dispatcher task sleeps until the earliest heap entry is due (a job's slot, or a run's
deadline when the clock is not the loop's), handles everything due, and sleeps again. It is
woken early when an earlier entry is pushed. Runs are tasks the engine owns, in ``_runs``;
the stop waits for every one of them, up to its bound, and keeps the ones it gives up on.
The engine is the owned scope of everything it creates: the dispatcher, its wake-up helpers
and the runs are referenced here and ended by :meth:`Engine.stop`; nothing is detached.

Every slot that comes due while the engine runs ends in exactly one
:class:`~service_pkg.events.JobRun` on the scheduler's bus. Each emission point first reads
``events.wants(JobRun)``, so while nobody listens to job runs a run pays that one set lookup
and builds nothing (the application's own lifecycle log listens to component events only).
The per-job counters and histograms (``JobState``) are kept whatever listens: the metrics
read them from ``Scheduler.stats()`` instead of taking an event per run, which costs about
a quarter of a run (docs/observability.md, "Jobs").
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable

from service_pkg.clock import Clock, SystemClock
from service_pkg.events import EventBus, JobOutcome, JobRun
from service_pkg.leader import LeaderElection
from service_pkg.scheduler._config import OverlapPolicy, SchedulerConfig, StopMode
from service_pkg.scheduler._job import JobState, Tally
from service_pkg.scheduler._stats import RunContext, StopReport

__all__ = ("CHUNK", "Engine", "log")

log = logging.getLogger("service_pkg.scheduler")

CHUNK = 128
"""Runs started before the dispatcher yields to the loop, so the first runs of an aligned
burst start before the last ones are created."""

_Entry = tuple[float, int, JobState, int]
"""``(when, job.index, job, 0)`` for a slot, ``(when, job.index, job, run_id)`` for a deadline.

The job's index (its place in the add order) breaks ties without a counter per entry, so
slots due at the same instant start in the order the jobs were added."""


_new_tuple = tuple.__new__

# Module globals: reading an enum member through its class costs a metaclass lookup per run.
_OK = JobOutcome.OK
_FAILED = JobOutcome.FAILED
_TIMED_OUT = JobOutcome.TIMED_OUT
_CANCELLED = JobOutcome.CANCELLED


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Engine:
    """Runs a fixed set of jobs from :meth:`start` until :meth:`stop` returns."""

    def __init__(
        self,
        jobs: Iterable[JobState],
        config: SchedulerConfig,
        clock: Clock,
        wall_clock: Callable[[], float],
        election: LeaderElection | None,
        *,
        events: EventBus,
    ) -> None:
        self._jobs = tuple(jobs)
        self._config = config
        self._clock = clock
        self._wall = wall_clock
        self._election = election
        self._events = events
        # The loop's own timers are the clock's timers: no helper task per sleep or deadline,
        # and time.monotonic itself instead of a method around it (two reads per run).
        self._native = type(clock) is SystemClock
        self._now: Callable[[], float] = time.monotonic if self._native else clock.monotonic
        self._debug = False
        self._loop = asyncio.get_running_loop()
        self._extra = {"scheduler": config.name}
        self._heap: list[_Entry] = []
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self._runs: dict[asyncio.Task[None], JobState] = {}
        self._queue: deque[tuple[JobState, float]] = deque()
        self._deferred: set[JobState] = set()
        """Jobs with a deferred slot (``pending``), so the stop need not visit every job."""
        self._free = config.max_concurrent_runs
        self._stopping = False
        self._armed = math.inf
        self._wake: asyncio.Future[None] | None = None
        self._helpers: set[asyncio.Task[None]] = set()
        self._drained: asyncio.Future[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self.crash: BaseException | None = None
        """Why the dispatcher ended before the stop, if it did (see :meth:`_dispatcher_done`)."""
        self._completed = self._cancelled = self._dropped = 0
        self.report = StopReport()
        self.abandoned: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        """Runs in progress."""
        return len(self._runs)

    @property
    def waiting(self) -> int:
        """Slots waiting for a concurrency slot."""
        return len(self._queue)

    @property
    def dispatching(self) -> bool:
        """Whether the dispatcher task is alive (until the stop ends it)."""
        return self._dispatcher is not None and not self._dispatcher.done()

    # --- events --------------------------------------------------------------------------

    def _emit(
        self,
        job: JobState,
        scheduled: float,
        outcome: JobOutcome,
        *,
        lateness: float = 0.0,
        duration: float = 0.0,
        error: BaseException | None = None,
        slots: int = 1,
    ) -> None:
        """Publish how a slot ended; callers check ``self._events.wants(JobRun)`` first."""
        # Slots live on the scheduler's clock; the event carries wall time, mapped at the
        # moment of the event so a wall-clock step in between does not skew it.
        try:
            wall = self._wall() - (self._now() - scheduled)
        except Exception:  # noqa: BLE001 - a broken wall clock must not break the bookkeeping
            wall = math.nan
        self._events.emit(
            JobRun(
                scheduler=self._config.name,
                job=job.name,
                scheduled=wall,
                lateness=lateness,
                duration=duration,
                outcome=outcome,
                error=error,
                slots=slots,
            )
        )

    # --- start and dispatch ------------------------------------------------------------

    def start(self) -> None:
        """Compute every job's first slot and start the dispatcher."""
        now, wall = self._clock.monotonic(), self._wall()
        for job in self._jobs:
            cursor = job.config.trigger.cursor()
            job.reset(cursor)
            first = cursor.first(now, wall, run_immediately=job.config.run_immediately)
            if first is not None:
                self._push_slot(job, first)
        self._dispatcher = self._loop.create_task(
            self._dispatch(), name=f"service_pkg.scheduler:{self._config.name}:dispatcher"
        )
        self._dispatcher.add_done_callback(self._dispatcher_done)

    def _dispatcher_done(self, task: asyncio.Task[None]) -> None:
        """Record and log a dispatcher that ended before the stop: no slot fires any more."""
        if self._stopping:
            return
        if task.cancelled():
            crash: BaseException = asyncio.CancelledError("dispatcher cancelled from outside")
        else:
            # Retrieving it here also keeps asyncio from logging "never retrieved" later.
            crash = task.exception() or RuntimeError("dispatcher returned")
        self.crash = crash
        log.error("scheduler dispatcher crashed", extra=self._extra, exc_info=crash)

    def _push_slot(self, job: JobState, slot: float) -> None:
        job.slot = slot
        jitter = job.config.jitter
        when = slot + self._rng.random() * jitter if jitter else slot
        self._push((when, job.index, job, 0))

    def _push(self, entry: _Entry) -> None:
        heapq.heappush(self._heap, entry)
        if entry[0] < self._armed and self._wake is not None:
            _wake(self._wake)

    async def _dispatch(self) -> None:
        heap, clock_now = self._heap, self._now
        while True:
            now = clock_now()
            if not heap or heap[0][0] > now:
                await self._sleep(heap[0][0] - now if heap else None)
                continue
            wall = self._wall()
            # Read once per wake-up: the runs started in this batch log at DEBUG or not.
            self._debug = log.isEnabledFor(logging.DEBUG)
            started = 0
            while heap and heap[0][0] <= now:
                when, _, job, run_id = heapq.heappop(heap)
                if run_id:
                    self._expire(job, run_id)
                    continue
                if self._stopping:
                    continue
                try:
                    started += self._due(job, when, now, wall)
                except Exception:
                    log.exception("job scheduling failed", extra={**self._extra, "job": job.name})
                if started >= CHUNK:
                    await asyncio.sleep(0)
                    now, wall, started = clock_now(), self._wall(), 0

    async def _sleep(self, delay: float | None) -> None:
        fut = self._wake = self._loop.create_future()
        handle: asyncio.TimerHandle | None = None
        if delay is not None:
            self._armed = self._clock.monotonic() + delay
            if self._native:
                handle = self._loop.call_later(delay, _wake, fut)
            else:
                helper = self._loop.create_task(self._clock_wake(delay, fut))
                self._helpers.add(helper)
                helper.add_done_callback(self._helpers.discard)
        try:
            await fut
        finally:
            self._wake, self._armed = None, math.inf
            if handle is not None:
                handle.cancel()
            for helper in self._helpers:
                helper.cancel()

    async def _clock_wake(self, delay: float, fut: asyncio.Future[None]) -> None:
        await self._clock.sleep(delay)
        _wake(fut)

    def _due(self, job: JobState, when: float, now: float, wall: float) -> int:
        """Handle a slot that came due; return 1 if a run was started."""
        assert job.cursor is not None  # noqa: S101 - set at start
        slot = job.slot
        candidate, missed, following = job.cursor.advance(slot, now, wall)
        if following is not None:
            job.slot = following
            jitter = job.config.jitter
            if jitter:
                following += self._rng.random() * jitter
            heapq.heappush(self._heap, (following, job.index, job, 0))
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("job has no more slots", extra={**self._extra, "job": job.name})
        if missed:
            job.missed += missed
            log.warning(
                "job runs missed",
                extra={**self._extra, "job": job.name, "missed": missed, "reason": "stall"},
            )
            if self._events.wants(JobRun):
                self._emit(job, slot, JobOutcome.MISSED, slots=missed)
        # The slot that fired keeps its jitter; a later slot caught up after a stall has none.
        return self._offer(job, when if candidate == slot else candidate, now)

    def _offer(self, job: JobState, scheduled: float, now: float) -> int:
        if job.task is not None or job.waiting:
            if (
                job.config.overlap is OverlapPolicy.DEFER
                and job.pending is None
                and job.task in self._runs
            ):
                job.pending = scheduled
                self._deferred.add(job)
                log.info("job run deferred: previous run still running", extra=self._job(job))
            else:
                job.skipped += 1
                log.warning("job run skipped: previous run still running", extra=self._job(job))
                if self._events.wants(JobRun):
                    self._emit(job, scheduled, JobOutcome.SKIPPED)
            return 0
        grace = job.config.misfire_grace
        if grace is not None and now - scheduled > grace:
            job.missed += 1
            log.warning(
                "job runs missed",
                extra={**self._extra, "job": job.name, "missed": 1, "reason": "misfire_grace"},
            )
            if self._events.wants(JobRun):
                self._emit(job, scheduled, JobOutcome.MISSED)
            return 0
        if self._free is not None:
            if not self._free:
                job.waiting = True
                self._queue.append((job, scheduled))
                return 0
            self._free -= 1
        job.run_id += 1
        job.started = False
        job.scheduled = scheduled
        task = self._loop.create_task(self._run(job, scheduled, job.run_id), name=job.name)
        job.task = task
        self._runs[task] = job
        return 1

    def _job(self, job: JobState) -> dict[str, object]:
        return {**self._extra, "job": job.name}

    def _expire(self, job: JobState, run_id: int) -> None:
        scope = job.scope
        if scope is not None and job.run_id == run_id:
            scope.reschedule(self._loop.time())

    # --- runs ----------------------------------------------------------------------------

    async def _run(self, job: JobState, scheduled: float, run_id: int) -> None:
        # Bookkeeping happens in `finally`, inside the run's own task, so a run costs no done
        # callback; a run cancelled before its first step is handled by the stop instead.
        ctx: RunContext | None = None
        scope: asyncio.Timeout | None = None
        cancelled = False
        outcome = _OK
        tally = job.dur_ok  # the duration histogram of the run's outcome
        error: BaseException | None = None
        try:
            ctx = self._begin(job, scheduled)
            if ctx is None:
                return
            if ctx.deadline_at is None:
                await job.func(ctx)
            else:
                async with asyncio.timeout(None) as scope:
                    if self._native:
                        scope.reschedule(self._loop.time() + (ctx.deadline_at - ctx.started_at))
                    else:
                        job.scope = scope
                        self._push((ctx.deadline_at, job.index, job, run_id))
                    await job.func(ctx)
        except TimeoutError as exc:
            outcome, error = self._timed_out(job, scope, exc), exc
            tally = job.dur_timed_out if outcome is _TIMED_OUT else job.dur_failed
        except asyncio.CancelledError:
            cancelled = True
            outcome, tally = _CANCELLED, job.dur_cancelled
            job.cancelled += 1
            log.info("job run cancelled", extra=self._job(job))
            raise
        except Exception as exc:
            outcome, error, tally = _FAILED, exc, job.dur_failed
            job.failed += 1
            log.exception("job run failed", extra=self._job(job))
        else:
            job.succeeded += 1
        finally:
            if ctx is not None:
                elapsed = self._end(job, ctx, tally)
                if self._events.wants(JobRun):
                    self._emit(
                        job,
                        scheduled,
                        outcome,
                        lateness=ctx.started_at - scheduled,
                        duration=elapsed,
                        error=error,
                    )
            self._release(job, started=ctx is not None, cancelled=cancelled)

    def _timed_out(
        self, job: JobState, scope: asyncio.Timeout | None, exc: TimeoutError
    ) -> JobOutcome:
        if scope is not None and scope.expired():
            job.timed_out += 1
            log.error(
                "job run timed out", extra={**self._job(job), "deadline_s": job.config.deadline}
            )
            return _TIMED_OUT
        job.failed += 1
        log.error("job run failed", extra=self._job(job), exc_info=exc)
        return JobOutcome.FAILED

    def _end(self, job: JobState, ctx: RunContext, tally: Tally) -> float:
        job.scope = None
        elapsed = self._now() - ctx.started_at
        job.record_duration(elapsed, tally)
        if self._debug:
            log.debug(
                "job run finished",
                extra={**self._job(job), "duration_ms": round(elapsed * 1e3, 3)},
            )
        return elapsed

    def _begin(self, job: JobState, scheduled: float) -> RunContext | None:
        """The last check before a run starts (leader?), then its context."""
        election = self._election
        epoch = None
        if election is not None:
            if not election.is_leader():
                job.fenced += 1
                log.info("job run not started: not leader", extra=self._job(job))
                if self._events.wants(JobRun):
                    self._emit(job, scheduled, JobOutcome.FENCED)
                return None
            epoch = election.epoch
        started = self._now()
        deadline = job.config.deadline
        # tuple.__new__ skips RunContext.__new__, a Python-level wrapper (a hot path)
        ctx: RunContext = _new_tuple(
            RunContext,
            (job.name, scheduled, started, epoch, None if deadline is None else started + deadline),
        )
        job.started = True
        # Needed only until the body starts (a stop may drop the run before); dropping it now
        # keeps an idle job from holding one float per job.
        job.scheduled = 0.0
        job.deadline_at = ctx.deadline_at
        job.runs += 1
        job.record_lateness(started - scheduled)
        if self._debug:
            log.debug(
                "job run started",
                extra={**self._job(job), "lateness_ms": round((started - scheduled) * 1e3, 3)},
            )
        return ctx

    def _release(self, job: JobState, *, started: bool, cancelled: bool) -> None:
        """A run ends: free its place, then start what waited for it."""
        task = job.task
        assert task is not None  # noqa: S101 - set by _offer, cleared only here
        del self._runs[task]
        job.task = None
        if self._stopping:
            if task in self.abandoned:
                self.abandoned.discard(task)
            elif not started:
                self._dropped += 1
            elif cancelled:
                self._cancelled += 1
            else:
                self._completed += 1
            if not self._runs and self._drained is not None:
                _wake(self._drained)
            return
        if self._free is not None:
            self._free += 1
            now = self._clock.monotonic()
            while self._free and self._queue:
                waiting, scheduled = self._queue.popleft()
                waiting.waiting = False
                self._offer(waiting, scheduled, now)
        if job.pending is not None:
            scheduled, job.pending = job.pending, None
            self._deferred.discard(job)
            self._offer(job, scheduled, self._clock.monotonic())

    def _unstarted_done(self, task: asyncio.Task[None]) -> None:
        """A run cancelled by the stop before its first step: its body never ran."""
        job = self._runs[task]
        job.dropped += 1
        if self._events.wants(JobRun):
            self._emit(job, job.scheduled, JobOutcome.CANCELLED)
        self._release(job, started=False, cancelled=True)

    # --- stop ----------------------------------------------------------------------------

    async def stop(self) -> StopReport:
        """Stop dispatching, end the runs by their stop mode, and report.

        Bounded by ``stop_timeout + cancel_timeout`` of clock time. The dispatcher keeps
        enforcing deadlines until the runs are over. If the caller is cancelled, every run is
        cancelled at once, the ones still going are abandoned, the report is kept in
        :attr:`report`, and the cancellation goes on up.
        """
        began = self._clock.monotonic()
        self._stopping = True
        self._drop_waiting()
        for task, job in self._runs.items():
            if not job.started:
                task.cancel()
                task.add_done_callback(self._unstarted_done)
            elif job.config.stop_mode is not StopMode.GRACEFUL:
                task.cancel()
        try:
            graceful = [j for j in self._runs.values() if j.config.stop_mode is StopMode.GRACEFUL]
            if graceful:
                await self._wait_runs(self._graceful_bound(graceful, began))
            for task in self._runs:
                task.cancel()
            await self._wait_runs(self._config.cancel_timeout)
        finally:
            for task in self._runs:
                task.cancel()
            self.abandoned.update(self._runs)
            self.report = StopReport(
                completed=self._completed,
                cancelled=self._cancelled,
                dropped=self._dropped,
                abandoned=len(self._runs),
                abandoned_jobs=tuple(sorted({job.name for job in self._runs.values()})),
                duration=self._clock.monotonic() - began,
            )
            await self._close_dispatcher()
        return self.report

    def _drop_waiting(self) -> None:
        """Slots queued for the cap, and deferred ones, will never run: count and report them."""
        self._dropped += len(self._queue)
        emit = self._events.wants(JobRun)
        for job, scheduled in self._queue:
            job.waiting = False
            job.dropped += 1
            if emit:
                self._emit(job, scheduled, JobOutcome.CANCELLED)
        self._queue.clear()
        # A deferred slot waits for a run that the stop is ending.
        for job in sorted(self._deferred, key=lambda j: j.index):
            if job.pending is not None:
                job.dropped += 1
                if emit:
                    self._emit(job, job.pending, JobOutcome.CANCELLED)
            job.pending = None
        self._deferred.clear()

    def _graceful_bound(self, graceful: list[JobState], now: float) -> float:
        """How long GRACEFUL runs may go on: ``stop_timeout``, or until the last deadline.

        When every one of them has a deadline, a run still going after the last one has
        ignored its cancellation: waiting longer would not help.
        """
        bound = self._config.stop_timeout
        deadlines = [job.deadline_at for job in graceful]
        if all(d is not None for d in deadlines):
            bound = min(bound, max(d for d in deadlines if d is not None) - now)
        return max(0.0, bound)

    async def _close_dispatcher(self) -> None:
        own = [t for t in (self._dispatcher, *self._helpers) if t is not None]
        for task in own:
            task.cancel()
        await asyncio.wait(own)

    async def _wait_runs(self, seconds: float) -> None:
        if not self._runs:
            return
        drained = self._drained = self._loop.create_future()
        timer = self._loop.create_task(self._clock.sleep(seconds))
        try:
            await asyncio.wait([drained, timer], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._drained = None
            timer.cancel()
            await asyncio.wait([timer])
