"""``readiness_barrier`` and the barrier's resource shape (``async with`` / ``aclose``)."""

from __future__ import annotations

from dependency_injector import containers

from service_pkg import Component
from service_pkg.readiness import ReadinessBarrier, ReadinessConfig, readiness_barrier
from service_pkg.testing import run_components


class Barrier(containers.DeclarativeContainer):
    barrier = Component(readiness_barrier, ReadinessConfig(name="api"))


async def test_component_value_is_a_running_not_ready_barrier() -> None:
    """Started by the Application, the value is running and not ready yet."""
    container = Barrier()
    async with run_components(container):
        barrier = container.barrier()
        assert (barrier.name, barrier.running, barrier.is_ready()) == ("api", True, False)


async def test_component_stop_stops_the_barrier() -> None:
    """Stopping the component leaves the barrier not running and not ready."""
    container = Barrier()
    async with run_components(container):
        barrier = container.barrier()
        barrier.set_ready()
    assert (barrier.running, barrier.is_ready()) == (False, False)


async def test_async_with_starts_and_aclose_stops() -> None:
    """``async with`` starts the barrier; leaving the block stops it."""
    async with ReadinessBarrier() as barrier:
        assert barrier.running
    assert not barrier.running


async def test_aclose_is_idempotent() -> None:
    """A second ``aclose()`` does nothing and raises nothing."""
    barrier = ReadinessBarrier()
    barrier.start()
    await barrier.aclose()
    await barrier.aclose()
    assert (barrier.running, barrier.is_ready()) == (False, False)
