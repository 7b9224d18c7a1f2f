"""Time as a dependency: the ``Clock`` protocol loops read instead of the ``time`` module.

Production code uses :class:`SystemClock`; tests use
:class:`service_pkg.testing.ManualClock` and move time forward without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ("Clock", "SystemClock")


@runtime_checkable
class Clock(Protocol):
    """Monotonic time and sleeping, in seconds."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`asyncio.sleep`."""

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep with :func:`asyncio.sleep`."""
        await asyncio.sleep(seconds)
