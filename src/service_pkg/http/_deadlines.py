"""Per-request deadlines swept by one task, instead of one event-loop timer per request.

Every request of a server has the same timeout, so deadlines expire in arrival order: an
insertion-ordered dict is a queue sorted by deadline, and one task that wakes every ``tick``
expires the front of it. Per request that costs a dict insert and a pop (about 0.3 µs);
``asyncio.timeout`` costs a timer handle in the loop's heap plus its cancellation (measured
6 to 19 µs of server CPU per request, docs/performance.md). The price is precision: a request
is cancelled between its deadline and one ``tick`` later.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ("Deadline", "Deadlines")


class Deadline:
    """One request's deadline; ``expired`` tells the layer the cancellation was the timeout."""

    __slots__ = ("at", "expired", "task")

    def __init__(self, at: float, task: asyncio.Task[object]) -> None:
        self.at = at
        self.task = task
        self.expired = False


class Deadlines:
    """The in-flight deadlines of one server; :meth:`run` is the server's sweeper task."""

    __slots__ = ("_pending", "limit", "tick")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.tick = min(0.05, limit / 10)
        self._pending: dict[Deadline, None] = {}

    def __len__(self) -> int:
        """How many requests are still bounded."""
        return len(self._pending)

    def add(self, now: float) -> Deadline | None:
        """Bound the current task's request from ``now`` (``time.perf_counter()``)."""
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing to cancel
            return None
        deadline = Deadline(now + self.limit, task)
        self._pending[deadline] = None
        return deadline

    def discard(self, deadline: Deadline) -> None:
        """Stop bounding a request (its response started, or it finished)."""
        self._pending.pop(deadline, None)

    def expire(self, now: float) -> int:
        """Cancel every request whose deadline passed; return how many."""
        expired = 0
        pending = self._pending
        while pending:
            deadline = next(iter(pending))
            if deadline.at > now:
                break
            del pending[deadline]
            deadline.expired = True
            deadline.task.cancel("request timed out")
            expired += 1
        return expired

    async def run(self) -> None:
        """Sweep every ``tick`` seconds until cancelled (by the server's stop)."""
        while True:
            await asyncio.sleep(self.tick)
            self.expire(time.perf_counter())
