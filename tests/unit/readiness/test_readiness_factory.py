"""``readiness_barrier``: the component factory, driven by hand."""

from __future__ import annotations

import pytest

from service_pkg.readiness import ReadinessConfig, readiness_barrier

# Stands in for service_pkg.ShutdownReason: the factory accepts any value and ignores it.
SHUTDOWN_REASON = object()


async def test_yields_a_running_not_ready_barrier() -> None:
    """The first value is a started barrier that is not ready yet."""
    factory = readiness_barrier()
    barrier = await anext(factory)
    assert (barrier.running, barrier.is_ready()) == (True, False)
    await factory.aclose()


async def test_passes_the_config_to_the_barrier() -> None:
    """The given config names the barrier."""
    factory = readiness_barrier(ReadinessConfig(name="api"))
    barrier = await anext(factory)
    assert barrier.name == "api"
    await factory.aclose()


async def test_resuming_with_a_reason_stops_the_barrier_and_finishes() -> None:
    """Sending the shutdown reason stops the barrier (not ready) and ends the generator."""
    factory = readiness_barrier()
    barrier = await anext(factory)
    barrier.set_ready()
    with pytest.raises(StopAsyncIteration):
        await factory.asend(SHUTDOWN_REASON)
    assert (barrier.running, barrier.is_ready()) == (False, False)


async def test_closing_the_generator_stops_the_barrier() -> None:
    """``aclose`` (an abandoned component) also stops the barrier."""
    factory = readiness_barrier()
    barrier = await anext(factory)
    await factory.aclose()
    assert not barrier.running
