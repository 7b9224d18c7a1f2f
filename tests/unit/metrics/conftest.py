from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import pytest

from service_pkg.metrics import KitMetrics, metrics
from service_pkg.testing import FakeRuntime


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
