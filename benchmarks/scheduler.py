"""Scheduler benchmark: ours against APScheduler 4 (4.0.0a6) and aiocron (2.1), one run.

Ours runs twice: ``ours`` publishes its job-run events on a bus nobody subscribes to (the hot
path checks ``bus.wants(JobRun)`` and builds nothing), ``ours+sub`` on a bus with one no-op
subscriber (every slot builds one ``JobRun`` and delivers it).

The method is prior-art-scheduler.md §6 (see docs/performance.md, "Scheduler"):

* every (system, scenario) runs in a **fresh subprocess pinned to core 1** and, when the driver
  runs as root, under ``SCHED_FIFO`` (so a neighbour's time slice on a shared machine does not
  show up as lateness), strictly one after the other, in a shuffled order; this driver stays
  on core 0;
* tick 1 s, no-op body (it only records its own start time), N in {100, 1,000, 10,000},
  **aligned** phases (every job due at the same instant) and **spread** phases (uniform random
  in [0, tick)); aiocron only aligned (cron has whole seconds only);
* lateness = body start - the slot the system meant (ours: ``ctx.scheduled_at``; APScheduler:
  ``current_job.get().scheduled_fire_time`` on the wall clock; aiocron: the loop time its timer
  was armed for); CPU per 1,000 runs = ``getrusage`` over the window ÷ runs started in it;
  lost runs = slots of the window (per job, on its grid) that never ran;
* memory per job = ``tracemalloc`` bytes after a warm-up minus before adding the jobs, ÷ N,
  at N = 10,000 in a separate process; RSS per job and idle CPU from a third process with
  10,000 idle jobs (60 s tick), which also times ``stop()``.

Progress and one JSON line per run go to stderr; the summary table, then one JSON line, to
stdout::

    {"benchmark": "scheduler", "cpu_ms_per_1k_runs_aligned_10k": ..., "p99_ms_spread_10k": ...,
     "bytes_per_job_10k": ..., "stop_ms_idle_10k": ..., "lost_runs": ...,
     "aps4_cpu_ms_per_1k_runs_aligned_10k": ..., "aiocron_cpu_ms_per_1k_runs_aligned_10k": ...,
     "sub_cpu_ms_per_1k_runs_aligned_10k": ..., "sub_p99_ms_spread_10k": ...,
     "sub_lost_runs": ..., "sub_stop_ms_1k_in_flight": ...}

Run: ``.venv/bin/python benchmarks/scheduler.py`` (quick, about 3 minutes); ``--full`` (longer
windows, 3 repetitions); ``--check`` exits 1 when a target is missed (with and without the
subscriber); ``--systems ours,ours+sub`` runs a subset. Needs the ``bench`` dependency group
(``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

TICK = 1.0
SIZES = (100, 1_000, 10_000)
BIG = 10_000
IDLE_TICK = 60.0
IN_FLIGHT = 1_000
SYSTEMS = ("ours", "ours+sub", "aps4", "aiocron")
OURS = ("ours", "ours+sub")
"""``ours+sub`` runs the throughput and in-flight stop scenarios only: a subscriber changes
nothing per job (memory) and nothing while idle."""
CHILD_TIMEOUT = 120.0

TARGETS = {
    "cpu_ms_per_1k_runs_aligned_10k": 10.0,
    "p99_ms_spread_10k": 2.0,
    "bytes_per_job_10k": 1024.0,
    "stop_ms_idle_10k": 5.0,
    "lost_runs": 0.0,
}
"""Upper bounds (prior-art-scheduler.md §6.5); ratios to the peers are checked separately."""
RATIO_APS4 = 20.0
RATIO_AIOCRON = 3.0


@dataclass(frozen=True)
class Profile:
    warmup: float
    window: float
    grace: float
    idle: float
    reps: int


PROFILES = {
    "quick": Profile(warmup=1.5, window=4.0, grace=1.0, idle=2.0, reps=1),
    "full": Profile(warmup=3.0, window=10.0, grace=1.5, idle=10.0, reps=3),
}


class Record:
    """One entry per run: job key, body start (``time.monotonic()``), lateness (seconds).

    Starts and lateness go into float arrays and keys are references to strings that exist
    anyway, so recording allocates no object per run: the harness adds the same small, flat
    cost to every system and no garbage-collector work that grows with the run.
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.starts = array("d")
        self.lateness = array("d")

    def add(self, key: str, start: float, lateness: float) -> None:
        self.keys.append(key)
        self.starts.append(start)
        self.lateness.append(lateness)

    def __iter__(self) -> Iterator[tuple[str, float, float]]:
        return zip(self.keys, self.starts, self.lateness, strict=True)


# -- the three systems, each behind the same small adapter ---------------------------------


class Ours:
    """service_pkg.scheduler: one Every(tick, offset=phase) job per slot of the grid.

    ``ours`` publishes on the bus a scheduler gets outside an application (nobody listens:
    ``bus.wants(JobRun)`` is false, as on an application's bus where nobody listens to job
    runs); ``ours+sub``
    (``subscriber=True``) on a bus with one no-op subscriber. ``ours`` passes no ``events=``,
    so the same adapter also measures a checkout from before the event stream.
    """

    def __init__(self, *, subscriber: bool = False) -> None:
        from service_pkg.scheduler import Scheduler  # noqa: PLC0415 - child process only

        if not subscriber:
            self.sched = Scheduler()
            return
        from service_pkg.events import EventBus  # noqa: PLC0415

        bus = EventBus()
        bus.subscribe(lambda _event: None)
        self.sched = Scheduler(events=bus)

    async def add(self, n: int, tick: float, phases: Sequence[float], rec: Record | None) -> None:
        from service_pkg.scheduler import Every, JobConfig, RunContext  # noqa: PLC0415

        mono = time.monotonic
        add = rec.add if rec is not None else None

        async def body(ctx: RunContext) -> None:
            if add is not None:
                now = mono()
                add(ctx.job, now, now - ctx.scheduled_at)

        for i in range(n):
            self.sched.add(
                JobConfig(name=f"j{i}", func=body, trigger=Every(tick, offset=phases[i]))
            )

    async def start(self) -> float:
        anchor = time.monotonic()
        await self.sched.start()
        return anchor

    async def stop(self) -> dict[str, float]:
        began = time.perf_counter()
        await self.sched.stop()
        stop_ms = (time.perf_counter() - began) * 1e3
        return {"stop_ms": stop_ms, "exit_ms": stop_ms}


class Aps4:
    """APScheduler 4.0.0a6 with the memory store, set up as prior-art-scheduler.md §6.3 says."""

    def __init__(self) -> None:
        self.sched: Any = None
        self.n = 0

    async def enter(self, n: int) -> None:
        from apscheduler import AsyncScheduler  # noqa: PLC0415

        self.n = n
        self.sched = AsyncScheduler(
            max_concurrent_jobs=max(100, n),
            cleanup_interval=None,  # type: ignore[arg-type]  # None turns cleanup off
        )
        await self.sched.__aenter__()

    async def add(self, n: int, tick: float, phases: Sequence[float], rec: Record | None) -> None:
        from datetime import UTC, datetime, timedelta  # noqa: PLC0415

        from apscheduler import ConflictPolicy, current_job  # noqa: PLC0415
        from apscheduler.triggers.interval import IntervalTrigger  # noqa: PLC0415

        mono = time.monotonic
        add = rec.add if rec is not None else None

        async def body() -> None:
            if add is not None:
                now = datetime.now(UTC)
                start = mono()
                job = current_job.get()
                fire = job.scheduled_fire_time
                assert fire is not None  # always set for scheduled jobs
                add(job.schedule_id or "", start, (now - fire).total_seconds())

        await self.sched.configure_task("job", func=body, max_running_jobs=None)
        self.base = datetime.now(UTC) + timedelta(seconds=1.5)
        self.base_mono = mono() + 1.5
        for i in range(n):
            trigger = IntervalTrigger(
                seconds=tick, start_time=self.base + timedelta(seconds=phases[i])
            )
            await self.sched.add_schedule(
                "job", trigger, id=f"s{i}", conflict_policy=ConflictPolicy.replace
            )

    async def start(self) -> float:
        await self.sched.start_in_background()
        return self.base_mono

    async def stop(self) -> dict[str, float]:
        began = time.perf_counter()
        await self.sched.stop()
        await self.sched.wait_until_stopped()
        stop_ms = (time.perf_counter() - began) * 1e3
        await self.sched.__aexit__(None, None, None)
        return {"stop_ms": stop_ms, "exit_ms": (time.perf_counter() - began) * 1e3}


class AioCron:
    """aiocron 2.1, whose timers are told to pass the loop time they were armed for."""

    def __init__(self, spec: str = "* * * * * *") -> None:
        self.spec = spec
        self.crons: list[Any] = []

    async def add(self, n: int, tick: float, phases: Sequence[float], rec: Record | None) -> None:
        from aiocron import Cron  # type: ignore[import-untyped]  # noqa: PLC0415 - no stubs

        del tick, phases  # cron fires on whole seconds only: aligned, 1 s
        loop = asyncio.get_running_loop()
        add = rec.add if rec is not None else None
        spec = self.spec

        class Timed(Cron):  # type: ignore[misc]
            armed = 0.0
            handle: Any
            loop: asyncio.AbstractEventLoop

            def get_next(self) -> float:
                self.armed = super().get_next()
                return self.armed

            def call_next(self) -> None:
                scheduled = self.armed
                if self.handle is not None:
                    self.handle.cancel()
                self.handle = self.loop.call_at(self.get_next(), self.call_next)
                self.call_func(scheduled)

        async def body(key: str, scheduled: float) -> None:
            if add is not None:
                now = loop.time()
                add(key, now, now - scheduled)

        self.crons = [Timed(spec, func=body, args=(f"c{i}",), loop=loop) for i in range(n)]

    async def start(self) -> float:
        for cron in self.crons:
            cron.start()
        wall = time.time()
        return time.monotonic() + (math.ceil(wall) - wall)

    async def stop(self) -> dict[str, float]:
        began = time.perf_counter()
        for cron in self.crons:
            cron.stop()
        stop_ms = (time.perf_counter() - began) * 1e3
        return {"stop_ms": stop_ms, "exit_ms": stop_ms}


def make_adapter(system: str, *, idle: bool = False) -> Ours | Aps4 | AioCron:
    if system == "aiocron":
        # Idle: a yearly spec, so nothing is due during the run.
        return AioCron("0 0 0 1 1 *" if idle else "* * * * * *")
    if system in OURS:
        return Ours(subscriber=system == "ours+sub")
    return Aps4()


async def prepare(
    system: str,
    n: int,
    tick: float,
    phases: Sequence[float],
    rec: Record | None,
    *,
    idle: bool = False,
) -> Ours | Aps4 | AioCron:
    adapter = make_adapter(system, idle=idle)
    if isinstance(adapter, Aps4):
        await adapter.enter(n)
    await adapter.add(n, tick, phases, rec)
    return adapter


def phases_of(phase: str, n: int, tick: float) -> list[float]:
    if phase == "aligned":
        return [0.0] * n
    rng = random.Random(n)  # reproducible phases
    return [rng.random() * tick for _ in range(n)]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123 - a tiny read
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def tasks_left() -> int:
    return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])


async def sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


# -- child scenarios ---------------------------------------------------------------------------


async def child_throughput(spec: dict[str, Any]) -> dict[str, Any]:
    system, n, phase = spec["system"], spec["n"], spec["phase"]
    prof = Profile(**spec["profile"])
    rec = Record()
    adapter = await prepare(system, n, TICK, phases_of(phase, n, TICK), rec)
    gc.collect()
    anchor = await adapter.start()
    # Window edges half-way between the aligned slots, so no slot sits on an edge.
    first = anchor + math.ceil((time.monotonic() + prof.warmup - anchor) / TICK) * TICK
    w0 = first + TICK / 2
    w1 = w0 + prof.window
    await sleep_until(w0)
    c0 = cpu_seconds()
    await sleep_until(w1)
    c1 = cpu_seconds()
    await sleep_until(w1 + prof.grace)
    stopped = await adapter.stop()
    left = tasks_left()
    return {**spec, **window_stats(rec, n, w0, w1, (c1 - c0) * 1e3), **stopped, "tasks_left": left}


def window_stats(rec: Record, n: int, w0: float, w1: float, cpu_ms: float) -> dict[str, Any]:
    started = sum(1 for _, start, _ in rec if w0 <= start < w1)
    late = sorted(lat * 1e3 for _, start, lat in rec if w0 <= start - lat < w1)
    by_job: dict[str, list[float]] = {}
    for key, start, lat in rec:
        by_job.setdefault(key, []).append(start - lat)
    per_window = round((w1 - w0) / TICK)
    lost = per_window * (n - len(by_job))  # jobs that never ran at all
    for slots in by_job.values():
        s0 = min(slots)
        k0, k1 = math.ceil((w0 - s0) / TICK), math.ceil((w1 - s0) / TICK)
        ran = {round((s - s0) / TICK) for s in slots if w0 <= s < w1}
        lost += max(0, (k1 - k0) - len(ran))
    expected = per_window * n

    def q(p: float) -> float:
        return late[min(len(late) - 1, int(p * len(late)))] if late else math.nan

    return {
        "expected": expected,
        "executed": len(late),
        "lost": lost,
        "early": sum(1 for x in late if x < -0.5),
        "p50_ms": q(0.5),
        "p99_ms": q(0.99),
        "p999_ms": q(0.999),
        "max_ms": late[-1] if late else math.nan,
        "cpu_ms": cpu_ms,
        "cpu_ms_per_1k": cpu_ms / started * 1e3 if started else math.nan,
        "cpu_util": cpu_ms / 1e3 / (w1 - w0),
    }


async def child_memory(spec: dict[str, Any]) -> dict[str, Any]:
    system, n = spec["system"], spec["n"]
    phase = "aligned" if system == "aiocron" else "spread"
    tracemalloc.start()
    adapter = make_adapter(system)
    if isinstance(adapter, Aps4):
        await adapter.enter(n)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    await adapter.add(n, TICK, phases_of(phase, n, TICK), None)
    await adapter.start()
    await asyncio.sleep(spec["profile"]["warmup"] + 1.5)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    await adapter.stop()
    return {**spec, "phase": phase, "bytes_per_job": (after - before) / n}


async def child_idle(spec: dict[str, Any]) -> dict[str, Any]:
    system, n = spec["system"], spec["n"]
    gc.collect()
    rss0 = rss_bytes()
    adapter = await prepare(
        system, n, IDLE_TICK, phases_of("spread", n, IDLE_TICK), None, idle=True
    )
    await adapter.start()
    await asyncio.sleep(1.0)
    gc.collect()
    c0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.sleep(spec["profile"]["idle"])
    idle = (cpu_seconds() - c0) / (time.monotonic() - t0)
    rss1 = rss_bytes()
    stopped = await adapter.stop()
    return {
        **spec,
        **stopped,
        "idle_cpu_pct": idle * 100,
        "rss_bytes_per_job": (rss1 - rss0) / n,
        "tasks_left": tasks_left(),
    }


async def child_stops(spec: dict[str, Any]) -> dict[str, Any]:
    """stop() with N runs in flight that sleep 5 s (IMMEDIATE), and for ours GRACEFUL cases."""
    system, n = spec["system"], spec["n"]
    active = 0

    async def sleeper() -> None:
        nonlocal active
        active += 1
        try:
            await asyncio.sleep(5)
        finally:
            active -= 1

    adapter = await prepare_sleepers(system, n, sleeper)
    await adapter.start()
    async with asyncio.timeout(10):
        while active < n:  # noqa: ASYNC110 - a bounded poll in a benchmark
            await asyncio.sleep(0.01)
    began = time.perf_counter()
    stopped = await adapter.stop()
    result = {**spec, **stopped, "in_flight": n, "left_running": active}
    result["left_after_exit"] = active
    await asyncio.sleep(0.01)
    result["tasks_left"] = tasks_left()
    result["total_ms"] = (time.perf_counter() - began) * 1e3
    if system == "ours":
        result |= await ours_graceful_stops()
    return result


async def prepare_sleepers(
    system: str, n: int, sleeper: Callable[[], Any]
) -> Ours | Aps4 | AioCron:
    """N jobs, due together about a second from now, whose bodies are ``sleeper``."""
    if system in OURS:
        from service_pkg.scheduler import Every, JobConfig  # noqa: PLC0415

        ours = Ours(subscriber=system == "ours+sub")
        for i in range(n):
            ours.sched.add(
                JobConfig(name=f"j{i}", func=lambda _ctx: sleeper(), trigger=Every(TICK))
            )
        return ours
    if system == "aps4":
        aps = Aps4()
        await aps.enter(n)
        await aps.add(n, TICK, [0.0] * n, None)
        await aps.sched.configure_task("job", func=sleeper, max_running_jobs=None)
        return aps
    cron = AioCron()
    await cron.add(n, TICK, [0.0] * n, None)
    for c in cron.crons:
        c.func = c.cron = lambda *_: sleeper()
    return cron


async def ours_graceful_stops() -> dict[str, float]:
    """Ours only: GRACEFUL runs with 0.5 s left, and one that ignores its 1 s deadline."""
    from service_pkg.scheduler import (  # noqa: PLC0415
        Every,
        JobConfig,
        RunContext,
        Scheduler,
        SchedulerConfig,
        StopMode,
    )

    async def work(_ctx: RunContext) -> None:
        await asyncio.sleep(1.0)

    sched = Scheduler()
    for i in range(100):
        sched.add(
            JobConfig(
                name=f"g{i}",
                func=work,
                trigger=Every(60),
                run_immediately=True,
                stop_mode=StopMode.GRACEFUL,
                deadline=2,
            )
        )
    await sched.start()
    await asyncio.sleep(0.5)
    began = time.perf_counter()
    report = await sched.stop()
    graceful_ms = (time.perf_counter() - began) * 1e3
    assert report.completed == 100, report

    async def stubborn(_ctx: RunContext) -> None:
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            try:
                await asyncio.sleep(until - time.monotonic())
            except asyncio.CancelledError:
                continue

    sched = Scheduler(SchedulerConfig(cancel_timeout=0.05))
    sched.add(
        JobConfig(
            name="stubborn",
            func=stubborn,
            trigger=Every(60),
            run_immediately=True,
            stop_mode=StopMode.GRACEFUL,
            deadline=1,
        )
    )
    await sched.start()
    await asyncio.sleep(0.01)
    began = time.perf_counter()
    report = await sched.stop()
    stubborn_ms = (time.perf_counter() - began) * 1e3
    assert report.abandoned == 1, report
    await asyncio.sleep(0.6)  # let it end on its own before the loop closes
    return {
        "graceful_stop_ms": graceful_ms,
        "graceful_expected_ms": 500.0,
        "stubborn_stop_ms": stubborn_ms,
        "stubborn_expected_ms": 1000.0 - 10.0 + 50.0,
    }


def child_main(spec: dict[str, Any]) -> None:
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    # Real-time priority when allowed (root): on a shared machine a neighbour's time slice
    # would otherwise show up as lateness. Every system gets the same treatment; the kernel's
    # RT throttling still leaves 5 % of the core to everything else.
    with contextlib.suppress(PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger().setLevel(logging.CRITICAL)
    kind: Callable[[dict[str, Any]], Any] = {
        "throughput": child_throughput,
        "memory": child_memory,
        "idle": child_idle,
        "stops": child_stops,
    }[spec["kind"]]
    print(json.dumps(asyncio.run(kind(spec))))


# -- driver ------------------------------------------------------------------------------------


def plan(profile: Profile, systems: Sequence[str] = SYSTEMS) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    prof = asdict(profile)
    for rep in range(profile.reps):
        batch = [
            {"kind": "throughput", "system": s, "n": n, "phase": p, "rep": rep, "profile": prof}
            for n in SIZES
            for p in ("aligned", "spread")
            for s in systems
            if not (s == "aiocron" and p == "spread")
        ]
        batch += [
            {"kind": k, "system": s, "n": BIG, "rep": rep, "profile": prof}
            for k in ("memory", "idle")
            for s in systems
            if s != "ours+sub"
        ]
        batch += [
            {"kind": "stops", "system": s, "n": IN_FLIGHT, "rep": rep, "profile": prof}
            for s in systems
        ]
        random.Random(rep).shuffle(batch)
        runs += batch
    return runs


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result.pop("profile", None)
    result["loadavg_before"] = load
    return result


def median(results: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in results if not (isinstance(r[key], float) and math.isnan(r[key]))]
    return statistics.median(values) if values else math.nan


def select(results: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [r for r in results if all(r.get(k) == v for k, v in match.items())]


def fmt(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def report(results: list[dict[str, Any]]) -> dict[str, Any]:
    print("throughput (tick 1 s, no-op body; medians over repetitions)")
    head = "phase    system   N       executed/expected  lost    p50 ms   p99 ms  p99.9 ms"
    print(head + "   max ms  CPU ms/1k  CPU util  stop ms  exit ms")
    for phase in ("aligned", "spread"):
        for n in SIZES:
            for system in SYSTEMS:
                rs = select(results, kind="throughput", system=system, n=n, phase=phase)
                if not rs:
                    continue
                print(
                    f"{phase:8} {system:8} {n:<7,} "
                    f"{fmt(median(rs, 'executed'), 0):>8}/{fmt(median(rs, 'expected'), 0):<8} "
                    f"{fmt(median(rs, 'lost'), 0):>6} {fmt(median(rs, 'p50_ms')):>8} "
                    f"{fmt(median(rs, 'p99_ms')):>8} {fmt(median(rs, 'p999_ms')):>9} "
                    f"{fmt(median(rs, 'max_ms')):>8} {fmt(median(rs, 'cpu_ms_per_1k')):>10} "
                    f"{fmt(median(rs, 'cpu_util'), 3):>9} {fmt(median(rs, 'stop_ms'), 3):>8} "
                    f"{fmt(median(rs, 'exit_ms'), 3):>8}"
                )
    print(f"\n10,000 jobs: memory (tracemalloc) and idle ({IDLE_TICK:g} s tick)")
    print("system   bytes/job  RSS bytes/job  idle CPU %  stop ms  exit ms  tasks left")
    for system in SYSTEMS:
        if system == "ours+sub":
            continue
        mem, idle = (
            select(results, kind="memory", system=system),
            select(results, kind="idle", system=system),
        )
        print(
            f"{system:8} {fmt(median(mem, 'bytes_per_job'), 0):>9} "
            f"{fmt(median(idle, 'rss_bytes_per_job'), 0):>14} "
            f"{fmt(median(idle, 'idle_cpu_pct'), 3):>11} "
            f"{fmt(median(idle, 'stop_ms'), 3):>8} {fmt(median(idle, 'exit_ms'), 3):>8} "
            f"{fmt(median(idle, 'tasks_left'), 0):>11}"
        )

    print(f"\nstop() with {IN_FLIGHT:,} runs in flight, each sleeping 5 s (IMMEDIATE)")
    print("system   stop ms  exit ms  runs left after stop  runs left after exit")
    for system in SYSTEMS:
        st = select(results, kind="stops", system=system)
        print(
            f"{system:8} {fmt(median(st, 'stop_ms'), 3):>7} {fmt(median(st, 'exit_ms'), 3):>8} "
            f"{fmt(median(st, 'left_running'), 0):>21} {fmt(median(st, 'left_after_exit'), 0):>21}"
        )
    ours_stops = select(results, kind="stops", system="ours")
    print(
        f"ours, GRACEFUL, 100 runs with 500 ms left: stop took "
        f"{fmt(median(ours_stops, 'graceful_stop_ms'), 1)} ms; a GRACEFUL run ignoring its "
        f"1 s deadline (cancel_timeout 50 ms), stop called 10 ms in: "
        f"{fmt(median(ours_stops, 'stubborn_stop_ms'), 1)} ms, reported abandoned"
    )

    def tp(system: str, phase: str, key: str) -> float:
        return median(select(results, kind="throughput", system=system, n=BIG, phase=phase), key)

    ours_lost = sum(r["lost"] for r in select(results, kind="throughput", system="ours"))
    sub_lost = sum(r["lost"] for r in select(results, kind="throughput", system="ours+sub"))
    summary = {
        "benchmark": "scheduler",
        "cpu_ms_per_1k_runs_aligned_10k": round(tp("ours", "aligned", "cpu_ms_per_1k"), 3),
        "p99_ms_spread_10k": round(tp("ours", "spread", "p99_ms"), 3),
        "bytes_per_job_10k": round(
            median(select(results, kind="memory", system="ours"), "bytes_per_job"), 1
        ),
        "stop_ms_idle_10k": round(
            median(select(results, kind="idle", system="ours"), "stop_ms"), 3
        ),
        "lost_runs": ours_lost,
        "aps4_cpu_ms_per_1k_runs_aligned_10k": round(tp("aps4", "aligned", "cpu_ms_per_1k"), 3),
        "aiocron_cpu_ms_per_1k_runs_aligned_10k": round(
            tp("aiocron", "aligned", "cpu_ms_per_1k"), 3
        ),
        "sub_cpu_ms_per_1k_runs_aligned_10k": round(tp("ours+sub", "aligned", "cpu_ms_per_1k"), 3),
        "sub_p99_ms_spread_10k": round(tp("ours+sub", "spread", "p99_ms"), 3),
        "sub_lost_runs": sub_lost,
        "sub_stop_ms_1k_in_flight": round(
            median(select(results, kind="stops", system="ours+sub"), "stop_ms"), 3
        ),
    }
    ours_cpu = summary["cpu_ms_per_1k_runs_aligned_10k"]
    print(
        f"\nCPU per 1,000 runs at 10,000 aligned: APScheduler 4 / ours = "
        f"{summary['aps4_cpu_ms_per_1k_runs_aligned_10k'] / ours_cpu:.1f}x, "
        f"aiocron / ours = {summary['aiocron_cpu_ms_per_1k_runs_aligned_10k'] / ours_cpu:.1f}x"
    )
    sub_cpu = summary["sub_cpu_ms_per_1k_runs_aligned_10k"]
    print(
        f"one no-op event subscriber: CPU per 1,000 runs at 10,000 aligned {sub_cpu} ms "
        f"({sub_cpu / ours_cpu:.2f}x ours without), p99 spread 10,000 "
        f"{summary['sub_p99_ms_spread_10k']} ms"
    )
    return summary


def missed_targets(summary: dict[str, Any]) -> list[str]:
    missed = [
        f"{k} = {summary[k]} > {bound}" for k, bound in TARGETS.items() if not summary[k] <= bound
    ]
    # With one no-op subscriber the targets that runs can move still hold (issue 8).
    missed += [
        f"sub_{k} = {summary['sub_' + k]} > {TARGETS[k]}"
        for k in ("cpu_ms_per_1k_runs_aligned_10k", "p99_ms_spread_10k", "lost_runs")
        if not summary["sub_" + k] <= TARGETS[k]
    ]
    for prefix, label in (("", "ours"), ("sub_", "ours+sub")):
        ours = summary[prefix + "cpu_ms_per_1k_runs_aligned_10k"]
        if not summary["aps4_cpu_ms_per_1k_runs_aligned_10k"] >= RATIO_APS4 * ours:
            missed.append(f"{label}: CPU not >= {RATIO_APS4:g}x below APScheduler 4")
        if not summary["aiocron_cpu_ms_per_1k_runs_aligned_10k"] >= RATIO_AIOCRON * ours:
            missed.append(f"{label}: CPU not >= {RATIO_AIOCRON:g}x below aiocron")
    return missed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else "")
    parser.add_argument("--full", action="store_true", help="10 s windows, 3 repetitions")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated subset of {','.join(SYSTEMS)} (default: all; targets need all)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {0})
    profile = PROFILES["full" if args.full else "quick"]
    systems = tuple(args.systems.split(","))
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        print(f"--systems: unknown {sorted(unknown)} (known: {SYSTEMS})", file=sys.stderr)
        return 2
    runs = plan(profile, systems)
    print(
        f"python {platform.python_version()}, {platform.machine()}, nproc {os.cpu_count()}, "
        f"profile {'full' if args.full else 'quick'}: {len(runs)} runs",
        file=sys.stderr,
    )
    began = time.monotonic()
    results = []
    for i, spec in enumerate(runs, 1):
        result = run_child(spec)
        results.append(result)
        print(
            f"[{i}/{len(runs)} {time.monotonic() - began:.0f} s] {json.dumps(result)}",
            file=sys.stderr,
        )
    summary = report(results)
    missed = missed_targets(summary)
    print(f"targets: {'all met' if not missed else 'missed: ' + '; '.join(missed)}")
    print(f"wall time {time.monotonic() - began:.0f} s")
    print(json.dumps(summary))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
