"""Job-run events: every slot ends in exactly one JobRun on the scheduler's bus (manual clock)."""

from __future__ import annotations

import math

import pytest

from service_pkg.events import NO_EVENTS, ComponentStarted, Event, EventBus, JobOutcome, JobRun
from service_pkg.scheduler import Every, JobConfig, Once, OverlapPolicy, Scheduler, StopMode
from service_pkg.testing import ManualClock, ManualElection

from .conftest import WALL0, BreakableWall, Runs, advance, make


class Recorder:
    """A bus with one subscriber that keeps every event."""

    def __init__(self) -> None:
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)

    @property
    def runs(self) -> list[JobRun]:
        return [e for e in self.events if isinstance(e, JobRun)]

    def outcomes(self) -> list[tuple[str, float, JobOutcome]]:
        """``(job, scheduled relative to WALL0, outcome)`` per event, in order."""
        return [(e.job, e.scheduled - WALL0, e.outcome) for e in self.runs]


class CountingBus(EventBus):
    """A bus that counts the events it is asked to deliver, whether anyone listens or not."""

    def __init__(self) -> None:
        super().__init__()
        self.emitted = 0

    def emit(self, event: Event) -> None:
        self.emitted += 1
        super().emit(event)


@pytest.fixture(name="rec")
def _rec() -> Recorder:
    return Recorder()


async def test_run_that_returns_emits_one_ok_event_with_its_timing(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A run produces exactly one JobRun: scheduler, job, wall slot, lateness, duration, ok."""
    job = JobConfig(name="j", func=runs.job(takes=0.25), trigger=Every(1))
    async with make(clock, job, wall=True, events=rec.bus, name="etl"):
        await advance(clock, 1.5)
        await advance(clock, 0.25)
    assert rec.events == [
        JobRun(
            scheduler="etl",
            job="j",
            scheduled=WALL0 + 1,
            lateness=0.5,
            duration=0.25,
            outcome=JobOutcome.OK,
        )
    ]


async def test_slots_of_a_slow_job_emit_their_events_in_order(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A run longer than its interval: skipped slots, run ends, and the stop, in order."""
    job = JobConfig(name="slow", func=runs.job(takes=1.5), trigger=Every(1))
    async with make(clock, job, wall=True, events=rec.bus):
        await advance(clock, 5, step=0.5)
    assert [(e.scheduled - WALL0, e.outcome, e.lateness, e.duration) for e in rec.runs] == [
        (2.0, JobOutcome.SKIPPED, 0.0, 0.0),
        (1.0, JobOutcome.OK, 0.0, 1.5),
        (4.0, JobOutcome.SKIPPED, 0.0, 0.0),
        (3.0, JobOutcome.OK, 0.0, 1.5),
        (5.0, JobOutcome.CANCELLED, 0.0, 0.0),  # started at 5, ended by the stop
    ]


async def test_failing_run_emits_failed_with_its_exception(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A run that raises ends in a failed event carrying the exception."""
    boom = ValueError("boom")
    job = JobConfig(name="bad", func=runs.job(fail=boom), trigger=Every(1))
    async with make(clock, job, events=rec.bus):
        await advance(clock, 1)
    [event] = rec.runs
    assert (event.outcome, event.error) == (JobOutcome.FAILED, boom)


async def test_run_past_its_deadline_emits_timed_out(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A run cancelled by its deadline ends in timed_out, lasting its deadline."""
    job = JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(10), deadline=0.5)
    async with make(clock, job, events=rec.bus):
        await advance(clock, 10)
        await advance(clock, 0.5)
    [event] = rec.runs
    assert (event.outcome, event.duration) == (JobOutcome.TIMED_OUT, 0.5)
    assert isinstance(event.error, TimeoutError)


async def test_stall_emits_one_missed_event_for_the_slots_it_passed(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """After a stall, one missed event stands for every passed slot; the late run follows."""
    job = JobConfig(name="j", func=runs.job(), trigger=Every(1))
    async with make(clock, job, wall=True, events=rec.bus):
        await advance(clock, 1)
        await advance(clock, 3.5)  # the slots 2, 3 and 4 pass at once
    assert [(e.scheduled - WALL0, e.outcome, e.slots, e.lateness) for e in rec.runs] == [
        (1.0, JobOutcome.OK, 1, 0.0),
        (2.0, JobOutcome.MISSED, 2, 0.0),
        (4.0, JobOutcome.OK, 1, 0.5),
    ]


async def test_slot_later_than_misfire_grace_emits_missed(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A slot beyond misfire_grace does not run and ends in one missed event."""
    job = JobConfig(name="j", func=runs.job(), trigger=Every(1), misfire_grace=0.3)
    async with make(clock, job, wall=True, events=rec.bus):
        await advance(clock, 1.5)
    assert rec.outcomes() == [("j", 1.0, JobOutcome.MISSED)]


async def test_slot_on_a_follower_emits_fenced(clock: ManualClock, runs: Runs) -> None:
    """A slot that finds the election not leader ends in a fenced event, never a run."""
    rec = Recorder()
    election = ManualElection(leader=False)
    sched = Scheduler(
        clock=clock, election=election, events=rec.bus, wall_clock=lambda: WALL0 + clock.monotonic()
    )
    sched.add(JobConfig(name="j", func=runs.job(), trigger=Every(1)))
    async with sched:
        await advance(clock, 1)
    assert rec.outcomes() == [("j", 1.0, JobOutcome.FENCED)]
    assert runs.ctxs == []


async def test_stop_emits_cancelled_for_the_run_it_cancels_and_the_slots_it_drops(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A stop ends the cancelled run and the slot queued for the cap each in a cancelled event."""
    jobs = [JobConfig(name=f"j{i}", func=runs.job(hang=True), trigger=Every(1)) for i in range(2)]
    sched = make(clock, *jobs, wall=True, events=rec.bus, max_concurrent_runs=1)
    async with sched:
        await advance(clock, 1)
        await advance(clock, 0.25)
    assert [(e.job, e.outcome, e.duration) for e in rec.runs] == [
        ("j1", JobOutcome.CANCELLED, 0.0),  # queued for the cap: dropped first
        ("j0", JobOutcome.CANCELLED, 0.25),
    ]


async def test_stop_emits_cancelled_for_a_deferred_slot(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A slot deferred behind a run the stop ends never runs: it ends in a cancelled event."""
    job = JobConfig(
        name="j",
        func=runs.job(takes=5),
        trigger=Every(1),
        overlap=OverlapPolicy.DEFER,
        stop_mode=StopMode.IMMEDIATE,
    )
    async with make(clock, job, wall=True, events=rec.bus):
        await advance(clock, 2, step=1)
    assert rec.outcomes() == [("j", 2.0, JobOutcome.CANCELLED), ("j", 1.0, JobOutcome.CANCELLED)]


async def test_every_slot_ends_in_exactly_one_event(clock: ManualClock, runs: Runs) -> None:
    """Over a mix of outcomes the events add up to the counters, slot for slot."""
    rec = Recorder()
    jobs = [
        JobConfig(name="ok", func=runs.job(), trigger=Every(1)),
        JobConfig(name="bad", func=runs.job(fail=RuntimeError("x")), trigger=Every(1)),
        JobConfig(name="slow", func=runs.job(takes=2.5), trigger=Every(1)),
        JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(1), deadline=0.5),
    ]
    sched = make(clock, *jobs, events=rec.bus)
    async with sched:
        await advance(clock, 10, step=0.25)
    for name, stats in sched.stats().jobs.items():
        slots = sum(e.slots for e in rec.runs if e.job == name)
        counted = stats.runs + stats.skipped + stats.missed + stats.fenced + stats.dropped
        assert slots == counted, name


async def test_raising_subscriber_changes_nothing(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises is logged; runs, counters and later subscribers are unchanged."""

    def broken(_: Event) -> None:
        raise RuntimeError("observer bug")

    def scenario(bus: EventBus, runs: Runs) -> Scheduler:
        jobs = [
            JobConfig(name="ok", func=runs.job(), trigger=Every(1)),
            JobConfig(name="bad", func=runs.job(fail=ValueError("x")), trigger=Every(1)),
        ]
        return make(clock, *jobs, events=bus)

    quiet_runs, noisy_runs = Runs(clock), Runs(clock)
    quiet, noisy = EventBus(), EventBus()
    noisy.subscribe(broken)
    after: list[Event] = []
    noisy.subscribe(after.append)
    baseline, observed = scenario(quiet, quiet_runs), scenario(noisy, noisy_runs)
    async with baseline, observed:
        await advance(clock, 3, step=1)
    assert observed.stats().jobs == baseline.stats().jobs
    assert [c.scheduled_at for c in noisy_runs.ctxs] == [c.scheduled_at for c in quiet_runs.ctxs]
    assert len(after) == 6
    failures = [r for r in caplog.records if r.message == "event subscriber failed"]
    assert len(failures) == 6


async def test_no_subscriber_means_no_event_is_built(clock: ManualClock, runs: Runs) -> None:
    """With nobody subscribed, no outcome reaches the bus: emitters check bus.wants first."""
    bus = CountingBus()
    jobs = [
        JobConfig(name="ok", func=runs.job(), trigger=Every(1)),
        JobConfig(name="bad", func=runs.job(fail=ValueError("x")), trigger=Every(1)),
        JobConfig(name="slow", func=runs.job(takes=1.5), trigger=Every(1)),
        JobConfig(name="late", func=runs.job(), trigger=Every(1), misfire_grace=0.1),
        JobConfig(name="hung", func=runs.job(hang=True), trigger=Every(1), deadline=0.5),
    ]
    async with make(clock, *jobs, events=bus) as sched:
        await advance(clock, 4, step=0.25)
        await advance(clock, 3)  # a stall: missed slots
    stats = sched.stats().jobs
    assert all((stats["slow"].skipped, stats["late"].missed, stats["hung"].timed_out))
    assert bus.emitted == 0


async def test_subscribers_of_other_kinds_build_no_job_run(clock: ManualClock, runs: Runs) -> None:
    """A bus whose only subscriber wants component events builds no JobRun (the app's log)."""
    bus = CountingBus()
    bus.subscribe(lambda _: None, ComponentStarted)
    async with make(clock, JobConfig(name="ok", func=runs.job(), trigger=Every(1)), events=bus):
        await advance(clock, 3, step=0.5)
    assert (bus.emitted, len(runs.ended) > 0) == (0, True)


def test_scheduler_outside_an_application_publishes_on_no_events() -> None:
    """Built outside an application (and without events=), a scheduler's bus is NO_EVENTS."""
    assert Scheduler().events is NO_EVENTS


async def test_run_ending_under_a_broken_wall_clock_is_still_counted_and_reported(
    clock: ManualClock, runs: Runs, rec: Recorder
) -> None:
    """A wall clock that raises as a run ends costs the event its wall time (NaN), nothing else."""
    wall = BreakableWall(clock)
    sched = Scheduler(clock=clock, wall_clock=wall, events=rec.bus)
    sched.add(JobConfig(name="j", func=runs.job(takes=0.5), trigger=Once(1)))
    async with sched:
        await advance(clock, 1)
        wall.broken = True
        await advance(clock, 0.5)
        assert sched.stats().jobs["j"].succeeded == 1
    [event] = rec.runs
    assert (event.outcome, event.duration, math.isnan(event.scheduled)) == (
        JobOutcome.OK,
        0.5,
        True,
    )


async def test_after_the_last_unsubscribe_no_event_is_built(clock: ManualClock, runs: Runs) -> None:
    """Once its only subscriber leaves, the scheduler stops building events at once."""
    bus = CountingBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe(seen.append)
    async with make(clock, JobConfig(name="j", func=runs.job(), trigger=Every(1)), events=bus):
        await advance(clock, 1)
        unsubscribe()
        await advance(clock, 2, step=1)
    assert (len(runs.ctxs), len(seen), bus.emitted) == (3, 1, 1)
