"""``eventually``: wait for a condition in a test without guessing a sleep."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

__all__ = ("eventually",)

T = TypeVar("T")

# The first polls only yield to the loop: most conditions in the kit's tests become true after
# a few callbacks, and sleeping a millisecond there would make every test slower. After that the
# poll backs off so a condition that waits for a real socket or process does not spin a core.
_SPIN_POLLS = 200
_FIRST_PAUSE = 0.001
_MAX_PAUSE = 0.05


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T]], timeout: float = ..., *, message: str | None = ...
) -> T: ...
@overload
async def eventually(
    predicate: Callable[[], T], timeout: float = ..., *, message: str | None = ...
) -> T: ...
async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 5.0,
    *,
    message: str | None = None,
) -> T:
    """Poll ``predicate`` until it returns a truthy value, and return that value.

    ``predicate`` may be sync or async. An ``AssertionError`` it raises counts as "not yet", so
    a block of asserts works as a predicate; any other exception propagates at once. Between
    polls the event loop runs (first with ``sleep(0)``, then backing off to 50 ms), so the
    code under test makes progress. ``timeout`` is in seconds of loop time; when it passes
    without a truthy result an ``AssertionError`` is raised that names ``message`` (or the
    predicate) and carries the last ``AssertionError`` as its cause.

    Use it in place of ``asyncio.sleep`` guesses; with a
    :class:`~service_pkg.testing.ManualClock` advance the clock instead, which needs no
    waiting at all.
    """
    if not timeout > 0:
        raise ValueError(f"timeout: must be > 0 seconds (got {timeout!r})")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_error: AssertionError | None = None
    polls = 0
    while True:
        try:
            outcome = predicate()
            result: T = await outcome if inspect.isawaitable(outcome) else outcome
        except AssertionError as error:
            last_error = error
        else:
            if result:
                return result
            last_error = None
        now = loop.time()
        if now >= deadline:
            break
        polls += 1
        backoff = polls - _SPIN_POLLS
        pause = 0.0 if backoff < 0 else min(_FIRST_PAUSE * 2 ** min(backoff, 8), _MAX_PAUSE)
        await asyncio.sleep(min(pause, max(deadline - now, 0.0)))
    what = message or _describe(predicate)
    last = f"; last failure: {last_error}" if last_error is not None else ""
    raise AssertionError(f"{what} did not become true within {timeout:g} s{last}") from last_error


def _describe(predicate: Callable[..., object]) -> str:
    code = getattr(predicate, "__code__", None)
    name = getattr(predicate, "__qualname__", None) or repr(predicate)
    if code is not None and name.endswith("<lambda>"):
        return f"condition (lambda at {code.co_filename}:{code.co_firstlineno})"
    return f"condition {name}"
