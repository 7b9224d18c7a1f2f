"""``ReadinessBarrier``: the lifecycle, signals and waiting."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from service_pkg.exceptions import ConfigError, NotRunningError
from service_pkg.readiness import ReadinessBarrier, ReadinessConfig, ReadinessSignal

if TYPE_CHECKING:
    from collections.abc import Awaitable


@pytest.fixture(name="barrier")
def _barrier() -> ReadinessBarrier:
    barrier = ReadinessBarrier(ReadinessConfig(name="api"))
    barrier.start()
    return barrier


async def blocks(awaitable: Awaitable[None]) -> bool:
    """Tell whether ``awaitable`` has to wait: await it under a zero timeout (no time passes).

    A task is shielded, so it keeps waiting after the probe; when the probe says it blocks,
    the task has started and is parked in ``wait_ready``.
    """
    try:
        async with asyncio.timeout(0):
            await (asyncio.shield(awaitable) if isinstance(awaitable, asyncio.Task) else awaitable)
    except TimeoutError:
        return True
    return False


class TestLifecycle:
    def test_new_barrier_is_neither_running_nor_ready(self) -> None:
        """A new barrier is not running and not ready."""
        barrier = ReadinessBarrier()
        assert (barrier.running, barrier.is_ready()) == (False, False)

    def test_start_makes_it_running_but_not_ready(self) -> None:
        """``start`` lets the barrier accept signals; it stays not ready."""
        barrier = ReadinessBarrier()
        barrier.start()
        assert (barrier.running, barrier.is_ready()) == (True, False)

    def test_second_start_keeps_the_ready_state(self, barrier: ReadinessBarrier) -> None:
        """Starting a running barrier changes nothing."""
        barrier.set_ready()
        barrier.start()
        assert (barrier.running, barrier.is_ready()) == (True, True)

    def test_stop_resets_to_not_ready(self, barrier: ReadinessBarrier) -> None:
        """``stop`` makes a ready barrier not running and not ready."""
        barrier.set_ready()
        barrier.stop()
        assert (barrier.running, barrier.is_ready()) == (False, False)

    def test_second_stop_is_a_no_op(self, barrier: ReadinessBarrier) -> None:
        """Stopping a stopped barrier raises nothing and keeps it stopped."""
        barrier.stop()
        barrier.stop()
        assert (barrier.running, barrier.is_ready()) == (False, False)

    def test_start_after_stop_starts_not_ready(self, barrier: ReadinessBarrier) -> None:
        """A restarted barrier accepts signals again and carries no signal from before."""
        barrier.set_ready()
        barrier.stop()
        barrier.start()
        assert (barrier.running, barrier.is_ready()) == (True, False)
        barrier.set_ready()
        assert barrier.is_ready()

    def test_repr_shows_name_running_and_ready(self, barrier: ReadinessBarrier) -> None:
        """The repr names the barrier and shows both states."""
        barrier.set_ready()
        assert repr(barrier) == "<ReadinessBarrier name='api' running=True ready=True>"

    def test_name_comes_from_the_config(self) -> None:
        """``name`` is the configured name, ``readiness`` by default."""
        assert (ReadinessBarrier().name, ReadinessBarrier(ReadinessConfig(name="x")).name) == (
            "readiness",
            "x",
        )


class TestSignals:
    def test_ready_signal_applies_before_send_returns(self, barrier: ReadinessBarrier) -> None:
        """``send(READY)`` makes ``is_ready`` true at once (Go only queued it)."""
        barrier.send(ReadinessSignal.READY)
        assert barrier.is_ready()

    def test_not_ready_signal_clears_ready(self, barrier: ReadinessBarrier) -> None:
        """``send(NOT_READY)`` makes a ready barrier not ready at once."""
        barrier.set_ready()
        barrier.send(ReadinessSignal.NOT_READY)
        assert not barrier.is_ready()

    def test_plain_strings_work_as_signals(self, barrier: ReadinessBarrier) -> None:
        """The Go strings ``"ready"`` and ``"not_ready"`` are accepted as signals."""
        barrier.send("ready")
        assert barrier.is_ready()

    def test_shorthands_send_the_signals(self, barrier: ReadinessBarrier) -> None:
        """``set_ready`` and ``set_not_ready`` toggle the flag."""
        barrier.set_ready()
        ready = barrier.is_ready()
        barrier.set_not_ready()
        assert (ready, barrier.is_ready()) == (True, False)

    def test_send_while_not_running_raises_the_go_error(self) -> None:
        """A signal to a stopped barrier raises NotRunningError with the Go message."""
        barrier = ReadinessBarrier(ReadinessConfig(name="api"))
        with pytest.raises(NotRunningError, match=r"^readiness barrier api: not running$"):
            barrier.set_ready()

    def test_not_running_error_is_a_runtime_error(self) -> None:
        """NotRunningError can be caught as RuntimeError."""
        with pytest.raises(RuntimeError):
            ReadinessBarrier().set_not_ready()

    def test_send_while_not_running_changes_nothing(self, barrier: ReadinessBarrier) -> None:
        """A rejected signal after ``stop`` is not applied by a later ``start`` (Go bug #26)."""
        barrier.stop()
        with pytest.raises(NotRunningError):
            barrier.set_ready()
        barrier.start()
        assert not barrier.is_ready()

    def test_unknown_signal_raises_config_error(self, barrier: ReadinessBarrier) -> None:
        """An unknown signal is a ConfigError naming ``signal`` (Go ignored it silently)."""
        with pytest.raises(ConfigError) as caught:
            barrier.send("foo")
        assert (caught.value.field, caught.value.value) == ("signal", "foo")

    def test_unknown_signal_is_reported_even_when_not_running(self) -> None:
        """The signal is checked before the state, so a typo is never hidden."""
        with pytest.raises(ConfigError):
            ReadinessBarrier().send("READY")


class TestWaitReady:
    async def test_wait_ready_returns_at_once_when_ready(self, barrier: ReadinessBarrier) -> None:
        """A ready barrier does not make ``wait_ready`` wait."""
        barrier.set_ready()
        assert not await blocks(barrier.wait_ready())

    async def test_wait_ready_blocks_while_not_ready(self, barrier: ReadinessBarrier) -> None:
        """A started but not ready barrier makes ``wait_ready`` wait."""
        assert await blocks(barrier.wait_ready())

    async def test_wait_ready_wakes_when_set_ready(self, barrier: ReadinessBarrier) -> None:
        """A waiter blocked on a not-ready barrier returns once it becomes ready."""
        waiter = asyncio.create_task(barrier.wait_ready())
        assert await blocks(waiter)
        barrier.set_ready()
        async with asyncio.timeout(5):
            await waiter

    async def test_wait_ready_blocks_again_after_stop(self, barrier: ReadinessBarrier) -> None:
        """Stopping a ready barrier makes new waiters wait again."""
        barrier.set_ready()
        barrier.stop()
        assert await blocks(barrier.wait_ready())

    async def test_wait_ready_blocks_again_after_not_ready(self, barrier: ReadinessBarrier) -> None:
        """A not-ready signal makes new waiters wait again."""
        barrier.set_ready()
        barrier.set_not_ready()
        assert await blocks(barrier.wait_ready())
