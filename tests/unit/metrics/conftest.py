from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import pytest

from service_pkg.metrics import KitMetrics, metrics
from service_pkg.scheduler import JobStats, SchedulerState, SchedulerStats, Timing
from service_pkg.testing import FakeRuntime

BOUNDS = (0.1, 0.5, 1.0)
"""The bucket bounds of :class:`FakeScheduler`."""


def timing(*values: float, bounds: tuple[float, ...] = BOUNDS) -> Timing:
    """What a scheduler reports after runs of these ``values`` (seconds)."""
    buckets = [0] * (len(bounds) + 1)
    for v in values:
        buckets[bisect_left(bounds, v)] += 1
    return Timing(
        count=len(values),
        total=sum(values),
        max=max(values, default=0.0),
        last=values[-1] if values else 0.0,
        buckets=tuple(buckets),
    )


class FakeScheduler:
    """A scheduler's public face, ``stats()``, answering whatever the test put in ``jobs``."""

    def __init__(self, name: str = "main", bounds: tuple[float, ...] = BOUNDS) -> None:
        self.name = name
        self.bounds = bounds
        self.state = SchedulerState.RUNNING
        self.jobs: dict[str, JobStats] = {}

    def stats(self) -> SchedulerStats:
        return SchedulerStats(
            name=self.name, state=self.state, jobs=dict(self.jobs), job_buckets=self.bounds
        )


async def settle(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition()`` holds (at most 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polls in-process state, bounded above
            await asyncio.sleep(0)


def value(kit: KitMetrics, name: str, **labels: str) -> float | None:
    """One sample of the kit's registry (``None`` when the series does not exist)."""
    return kit.registry.get_sample_value(name, labels)


async def fake_component(value: object = "ok") -> AsyncGenerator[object, object]:
    yield value


@pytest.fixture(name="runtime")
def _runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture(name="kit")
async def _kit(runtime: FakeRuntime) -> AsyncIterator[KitMetrics]:
    """The metrics component started on a FakeRuntime, stopped after the test."""
    gen = metrics(runtime)
    started = await anext(gen)
    yield started
    await gen.aclose()
