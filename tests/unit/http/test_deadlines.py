"""Request deadlines: expired in arrival order by the sweep, never a started response."""

from __future__ import annotations

import asyncio

import pytest

from service_pkg.http._deadlines import Deadlines


async def test_expire_cancels_only_the_requests_past_their_deadline() -> None:
    deadlines = Deadlines(1.0)
    blocker = asyncio.Event()

    async def request(now: float) -> None:
        deadlines.add(now)
        await blocker.wait()

    old = asyncio.create_task(request(0.0))
    new = asyncio.create_task(request(0.5))
    await asyncio.sleep(0)
    assert deadlines.expire(1.2) == 1
    with pytest.raises(asyncio.CancelledError):
        await old
    assert not new.done()
    assert len(deadlines) == 1
    blocker.set()
    await new


async def test_a_discarded_deadline_never_cancels() -> None:
    deadlines = Deadlines(1.0)
    deadline = deadlines.add(0.0)
    assert deadline is not None
    deadlines.discard(deadline)
    deadlines.discard(deadline)  # twice is fine: the response started, then it finished
    assert deadlines.expire(10.0) == 0
    assert not deadline.expired


async def test_the_expired_flag_tells_the_layer_it_was_the_timeout() -> None:
    deadlines = Deadlines(1.0)
    seen: list[tuple[bool, int]] = []

    async def request() -> None:
        deadline = deadlines.add(0.0)
        assert deadline is not None
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append((deadline.expired, deadline.task.uncancel()))

    task = asyncio.create_task(request())
    await asyncio.sleep(0)
    deadlines.expire(2.0)
    await task
    assert seen == [(True, 0)]


def test_the_sweep_tick_is_a_tenth_of_the_timeout_at_most_50_ms() -> None:
    assert Deadlines(0.2).tick == pytest.approx(0.02)
    assert Deadlines(30).tick == 0.05
