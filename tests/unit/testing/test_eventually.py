"""``eventually`` polls a condition while the loop runs, and fails clearly when it stays false."""

from __future__ import annotations

import asyncio

import pytest

from service_pkg.testing import eventually


async def test_returns_the_first_truthy_value() -> None:
    """The predicate's own truthy result comes back, not just True."""
    values = iter([0, None, "", "found"])
    assert await eventually(lambda: next(values)) == "found"


async def test_awaits_an_async_predicate() -> None:
    """An async predicate is awaited on each poll."""
    calls = 0

    async def ready() -> bool:
        nonlocal calls
        calls += 1
        return calls == 3

    assert await eventually(ready) is True
    assert calls == 3


async def test_lets_other_tasks_run_between_polls() -> None:
    """A condition set by another task becomes visible: each poll yields to the loop."""
    flag = asyncio.Event()

    async def set_later() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        flag.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(set_later())
        assert await eventually(flag.is_set)


async def test_an_assertion_error_in_the_predicate_means_not_yet() -> None:
    """A block of asserts works as a predicate: it is retried until it passes."""
    attempts: list[int] = []

    def check() -> bool:
        attempts.append(1)
        assert len(attempts) >= 3, "still warming up"
        return True

    assert await eventually(check)
    assert len(attempts) == 3


async def test_other_exceptions_propagate_at_once() -> None:
    """A bug in the predicate is not retried until the timeout."""
    calls = 0

    def broken() -> bool:
        nonlocal calls
        calls += 1
        raise KeyError("missing")

    with pytest.raises(KeyError):
        await eventually(broken, timeout=30)
    assert calls == 1


async def test_timing_out_raises_an_assertion_error_with_the_message() -> None:
    """After the timeout the failure names the condition and the timeout."""
    with pytest.raises(AssertionError, match=r"jobs started did not become true within 0\.05 s"):
        await eventually(lambda: False, timeout=0.05, message="jobs started")


async def test_timing_out_names_a_lambda_by_its_place() -> None:
    """Without a message the failure points at the lambda's file and line."""
    with pytest.raises(AssertionError, match=r"lambda at .*test_eventually\.py:\d+"):
        await eventually(lambda: False, timeout=0.01)


async def test_timing_out_carries_the_last_assertion_failure() -> None:
    """The predicate's last AssertionError is in the message and is the cause."""

    def check() -> bool:
        raise AssertionError("clicks == 2, expected 3")

    with pytest.raises(AssertionError, match="last failure: clicks == 2") as info:
        await eventually(check, timeout=0.01)
    assert isinstance(info.value.__cause__, AssertionError)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
async def test_a_timeout_that_is_not_positive_is_refused(bad: float) -> None:
    """A zero, negative or NaN timeout is a mistake in the test, reported as such."""
    with pytest.raises(ValueError, match="timeout: must be > 0"):
        await eventually(lambda: True, timeout=bad)
