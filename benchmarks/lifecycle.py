"""Lifecycle benchmark: the kit's plan + start + stop against dependency-injector's own.

The same graph is declared twice: once as kit ``Component``s, once as plain
dependency-injector ``Resource``s. It is a tree with fan-out 4: node ``i`` depends on its
parent ``(i - 1) // 4`` (injected as a positional argument), so the root starts first and
stops last. Every node is a no-op async generator resource.

Measured per repetition, each on a fresh container (built outside the timed section):

* kit: ``Application(container, install_signals=False)`` + ``app.plan`` +
  ``await app.start()`` + ``await app.stop()``;
* dependency-injector: ``await container.init_resources()`` +
  ``await container.shutdown_resources()``.

At each size shared by both tools the repetitions alternate (kit, DI, DI, kit, ...: the tool
that goes first switches every round), five of each by default; the figure is the median.
The process pins itself to core 1 under ``SCHED_FIFO`` when it may (root), so that on a
shared machine the figures are the code's, not the neighbours'. The kit is also measured
alone at 10,000 components, where dependency-injector's quadratic
``shutdown_resources()`` would take minutes. ``service_pkg.app`` logs at WARNING, so the
per-component INFO lines are not part of the measurement.

``--subscriber noop`` subscribes one no-op subscriber to every event of each application
(``app.subscribe``), to show what the event stream costs when somebody listens; the default
(``none``) leaves only the application's own lifecycle-log subscriber. Health: a running
application of 1,000 components, each with a no-op check (sync, then async), times
``await app.health()`` with ``health_max_age=0`` (a full round every call), median of 20.

The last line printed is one JSON object::

    {"benchmark": "lifecycle", "subscriber": ..., "kit_vs_di_ratio_1k": ...,
     "lifecycle_10k_s": ..., "health_1k_sync_ms": ..., "health_1k_async_ms": ...}

Run it with ``.venv/bin/python benchmarks/lifecycle.py`` (``PYTHONPATH=src`` when the
package is not installed in the venv); ``--full`` adds 2,000 for both tools and 20,000 for
the kit, ``--profile`` prints a cProfile of the kit at 10,000, ``--check`` exits 1 when a
target is missed. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import logging
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dependency_injector import containers, providers

from service_pkg.app import Application, Component, RunState
from service_pkg.events import Event

FAN_OUT = 4
DEFAULT_REPEAT = 5
QUICK_SHARED = (250, 1_000)
QUICK_KIT_ONLY = (10_000,)
FULL_SHARED = (250, 1_000, 2_000)
FULL_KIT_ONLY = (10_000, 20_000)
RATIO_SIZE = 1_000
KIT_SIZE = 10_000
PROFILE_SIZE = 10_000
PROFILE_TOP = 15

TARGET_RATIO_1K = 0.05
"""``kit_vs_di_ratio_1k`` must be at most this."""
TARGET_KIT_10K_S = 1.0
"""``lifecycle_10k_s`` must be below this many seconds."""

KIT = "kit"
DI = "di"
HEALTH_SIZE = 1_000
HEALTH_ROUNDS = 20

SUBSCRIBERS: list[Callable[[Event], object]] = []
"""Subscribed to every event of each kit application (``--subscriber noop``)."""


def noop_subscriber(_: Event) -> None:
    """Listens, does nothing."""


P = TypeVar("P", bound=providers.Provider[Any])


# -- the graph ------------------------------------------------------------------------------


async def noop(*_deps: object) -> AsyncIterator[None]:
    """A resource that starts and stops without doing anything."""
    yield None


def parent(i: int) -> int:
    """The node that node ``i`` (> 0) depends on."""
    return (i - 1) // FAN_OUT


def build_tree(
    size: int,
    make: Callable[[P | None], P],
) -> tuple[containers.DynamicContainer, list[P]]:
    """Declare ``size`` resources ``r0``, ``r1``, ... as a fan-out-4 tree in a new container."""
    container = containers.DynamicContainer()
    nodes: list[P] = []
    for i in range(size):
        node = make(nodes[parent(i)] if i else None)
        nodes.append(node)
        setattr(container, f"r{i}", node)
    return container, nodes


def kit_node(dep: Component[None] | None) -> Component[None]:
    """A kit component that depends on ``dep`` (the root depends on nothing)."""
    return Component(noop) if dep is None else Component(noop, dep)


def di_node(dep: providers.Resource[None] | None) -> providers.Resource[None]:
    """A plain dependency-injector resource that depends on ``dep``."""
    return providers.Resource(noop) if dep is None else providers.Resource(noop, dep)


# -- one repetition -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """One repetition: the whole measured section, and its stop part alone (seconds)."""

    total: float
    stop: float


async def time_kit(size: int) -> Timing:
    """Time Application + plan + start + stop over a fresh container of ``size``."""
    container, _ = build_tree(size, kit_node)
    gc.collect()
    began = time.perf_counter()
    app = Application(container, install_signals=False)
    for fn in SUBSCRIBERS:
        app.subscribe(fn)
    plan = app.plan
    await app.start()
    stopping = time.perf_counter()
    await app.stop()
    ended = time.perf_counter()
    if app.state is not RunState.STOPPED or len(plan.start_order) != size:
        raise RuntimeError(f"kit run at {size} did not start and stop {size} components")
    return Timing(ended - began, ended - stopping)


def _sync_ok(_: object) -> None:
    return None


async def _async_ok(_: object) -> None:
    return None


async def time_health(size: int, check: Callable[[object], object]) -> float:
    """Median seconds of one full health round over ``size`` started components."""
    container = containers.DynamicContainer()
    for i in range(size):
        setattr(container, f"r{i}", Component(noop, health=check))
    app = Application(container, install_signals=False, health_max_age=0)
    async with app:
        report = await app.health()
        if len(report.components) != size or not report.healthy:
            raise RuntimeError(f"health round over {size} components did not check them all")
        rounds = []
        for _ in range(HEALTH_ROUNDS):
            began = time.perf_counter()
            await app.health()
            rounds.append(time.perf_counter() - began)
    return statistics.median(rounds)


async def _await(result: object) -> None:
    if asyncio.isfuture(result) or asyncio.iscoroutine(result):
        await result


async def time_di(size: int) -> Timing:
    """Time init_resources() + shutdown_resources() over a fresh container of ``size``."""
    container, nodes = build_tree(size, di_node)
    gc.collect()
    began = time.perf_counter()
    await _await(container.init_resources())
    stopping = time.perf_counter()
    await _await(container.shutdown_resources())
    ended = time.perf_counter()
    if any(node.initialized for node in nodes):
        raise RuntimeError(f"dependency-injector run at {size} left resources initialized")
    return Timing(ended - began, ended - stopping)


class Recorder:
    """Hands out resources that record when they start and stop, numbered in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self._next = 0

    def factory(self) -> Callable[..., AsyncIterator[int]]:
        """A new async generator resource for the next node."""
        i, self._next = self._next, self._next + 1
        events = self.events

        async def resource(*_deps: object) -> AsyncIterator[int]:
            events.append(("start", i))
            yield i
            events.append(("stop", i))

        return resource

    def kit_node(self, dep: Component[int] | None) -> Component[int]:
        """A recording kit component."""
        factory = self.factory()
        return Component(factory) if dep is None else Component(factory, dep)

    def di_node(self, dep: providers.Resource[int] | None) -> providers.Resource[int]:
        """A recording dependency-injector resource."""
        factory = self.factory()
        return providers.Resource(factory) if dep is None else providers.Resource(factory, dep)

    def check(self, tool: str, size: int) -> None:
        """Raise unless every node started after its parent and stopped before it."""
        starts = [i for what, i in self.events if what == "start"]
        stops = [i for what, i in self.events if what == "stop"]
        ok = sorted(starts) == sorted(stops) == list(range(size))
        for i in range(1, size):
            ok = ok and starts.index(parent(i)) < starts.index(i)
            ok = ok and stops.index(parent(i)) > stops.index(i)
        if not ok:
            raise RuntimeError(f"{tool}: a node started before or stopped after its parent")


async def check_direction() -> None:
    """Check, untimed, that both declarations start the root first and stop it last."""
    size = 1 + FAN_OUT + FAN_OUT**2
    kit = Recorder()
    container, _ = build_tree(size, kit.kit_node)
    app = Application(container, install_signals=False)
    await app.start()
    await app.stop()
    kit.check(KIT, size)
    di = Recorder()
    container, _ = build_tree(size, di.di_node)
    await _await(container.init_resources())
    await _await(container.shutdown_resources())
    di.check(DI, size)


# -- the runs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """The repetitions of one tool at one size."""

    tool: str
    size: int
    timings: tuple[Timing, ...]

    @property
    def times(self) -> list[float]:
        """Total seconds of each repetition."""
        return [t.total for t in self.timings]

    @property
    def median(self) -> float:
        """The median total, in seconds: the figure of this tool at this size."""
        return statistics.median(self.times)

    @property
    def stop_median(self) -> float:
        """The median of the stop part (``app.stop()`` / ``shutdown_resources()``)."""
        return statistics.median(t.stop for t in self.timings)


TIMERS: dict[str, Callable[[int], Awaitable[Timing]]] = {KIT: time_kit, DI: time_di}


async def measure(shared: Sequence[int], kit_only: Sequence[int], repeat: int) -> list[Result]:
    """Run every size; alternate the tools where both run, switching who goes first."""
    results: list[Result] = []
    for size in shared:
        timings: dict[str, list[Timing]] = {KIT: [], DI: []}
        for rep in range(repeat):
            order = (KIT, DI) if rep % 2 == 0 else (DI, KIT)
            for tool in order:
                timings[tool].append(await TIMERS[tool](size))
        results += [Result(tool, size, tuple(timings[tool])) for tool in (KIT, DI)]
        _progress(results[-2:])
    for size in kit_only:
        kit_timings = [await time_kit(size) for _ in range(repeat)]
        results.append(Result(KIT, size, tuple(kit_timings)))
        _progress(results[-1:])
    return results


def _progress(done: Sequence[Result]) -> None:
    for r in done:
        print(f"  measured {r.tool:>3} at {r.size:>6,}: median {r.median:.4f} s", file=sys.stderr)


async def profile_kit(size: int) -> None:
    """Print the top functions by cumulative time for one kit run at ``size``."""
    container, _ = build_tree(size, kit_node)
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    app = Application(container, install_signals=False)
    _ = app.plan
    await app.start()
    await app.stop()
    profiler.disable()
    print(f"\ncProfile: kit plan + start + stop at {size:,} components (top {PROFILE_TOP}):")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats(pstats.SortKey.CUMULATIVE).print_stats(PROFILE_TOP)


# -- report ---------------------------------------------------------------------------------


def find(results: Sequence[Result], tool: str, size: int) -> Result:
    """The result of ``tool`` at ``size``."""
    return next(r for r in results if r.tool == tool and r.size == size)


def print_table(results: Sequence[Result], repeat: int) -> None:
    """Print min/median/max per size and tool, then the growth of both tools."""
    print(f"\nlifecycle: fan-out-{FAN_OUT} tree of no-op async resources, median of {repeat}")
    print("seconds; stop part = median of app.stop() / shutdown_resources() alone")
    print(f"python {platform.python_version()}, {platform.machine()}, nproc {_nproc()}")
    header = (
        f"{'size':>7}  {'tool':<4}  {'min':>9}  {'median':>9}  {'max':>9}  {'µs/node':>8}  "
        f"{'stop part':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in sorted(results, key=lambda r: (r.size, r.tool != KIT)):
        per_node = r.median / r.size * 1e6
        print(
            f"{r.size:>7,}  {r.tool:<4}  {min(r.times):>9.4f}  {r.median:>9.4f}  "
            f"{max(r.times):>9.4f}  {per_node:>8.1f}  {r.stop_median:>9.4f}",
        )
    print("\ngrowth (median time ratio between consecutive sizes; linear = size ratio):")
    for tool in (KIT, DI):
        rs = sorted((r for r in results if r.tool == tool), key=lambda r: r.size)
        for a, b in itertools.pairwise(rs):
            print(
                f"  {tool:<4} {a.size:>6,} → {b.size:>6,}: size x{b.size / a.size:<4.1f} "
                f"time x{b.median / a.median:<6.1f} µs/node {a.median / a.size * 1e6:.1f} → "
                f"{b.median / b.size * 1e6:.1f}",
            )
    print("\nkit / di (median) per shared size:")
    for r in results:
        if r.tool == DI:
            print(f"  {r.size:>6,}: {find(results, KIT, r.size).median / r.median:.4f}")


def _nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else "")
    parser.add_argument(
        "--full",
        action="store_true",
        help="add 2,000 for both tools and 20,000 for the kit (about one minute more)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"print a cProfile of the kit at {PROFILE_SIZE:,} (not part of the figures)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when a target is missed",
    )
    parser.add_argument(
        "--subscriber",
        choices=("none", "noop"),
        default="none",
        help="subscribe one no-op subscriber to every event of each kit application",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"repetitions per tool and size (default {DEFAULT_REPEAT})",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def run_ahead() -> bool:
    """Pin this process to core 1 under ``SCHED_FIFO`` when allowed (root).

    Wall time on a shared machine otherwise measures the neighbours' time slices as much as
    the code; both tools run in this one process, so both get the same treatment. The
    kernel's RT throttling still leaves 5 % of the core to everything else.
    """
    try:
        if (os.cpu_count() or 1) >= 2:
            os.sched_setaffinity(0, {1})
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except PermissionError:
        return False
    return True


async def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; the last line printed is the JSON summary."""
    args = parse_args(argv)
    realtime = run_ahead()
    print(f"pinned to core 1 under SCHED_FIFO: {'yes' if realtime else 'no (not allowed)'}")
    logging.getLogger("service_pkg.app").setLevel(logging.WARNING)
    if args.subscriber == "noop":
        SUBSCRIBERS.append(noop_subscriber)
    shared, kit_only = (FULL_SHARED, FULL_KIT_ONLY) if args.full else (QUICK_SHARED, QUICK_KIT_ONLY)
    await check_direction()
    results = await measure(shared, kit_only, args.repeat)
    print_table(results, args.repeat)
    if args.profile:
        await profile_kit(PROFILE_SIZE)
    health_sync = await time_health(HEALTH_SIZE, _sync_ok)
    health_async = await time_health(HEALTH_SIZE, _async_ok)
    print(f"\nhealth round over {HEALTH_SIZE:,} components (median of {HEALTH_ROUNDS}):")
    print(f"  no-op sync checks:  {health_sync * 1000:.3f} ms")
    print(f"  no-op async checks: {health_async * 1000:.3f} ms")
    ratio = find(results, KIT, RATIO_SIZE).median / find(results, DI, RATIO_SIZE).median
    kit_10k = find(results, KIT, KIT_SIZE).median
    ratio_ok = ratio <= TARGET_RATIO_1K
    kit_ok = kit_10k < TARGET_KIT_10K_S
    print("\ntargets:")
    print(f"  kit_vs_di_ratio_1k = {ratio:.4f} (≤ {TARGET_RATIO_1K}): {_met(ratio_ok)}")
    print(f"  lifecycle_10k_s    = {kit_10k:.4f} (< {TARGET_KIT_10K_S}): {_met(kit_ok)}")
    summary = {
        "benchmark": "lifecycle",
        "subscriber": args.subscriber,
        "kit_vs_di_ratio_1k": round(ratio, 6),
        "lifecycle_10k_s": round(kit_10k, 6),
        "health_1k_sync_ms": round(health_sync * 1000, 3),
        "health_1k_async_ms": round(health_async * 1000, 3),
    }
    print(json.dumps(summary))
    return 1 if args.check and not (ratio_ok and kit_ok) else 0


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
