"""Helpers shared by the cron and trigger tests."""

from __future__ import annotations

from datetime import UTC, datetime

from service_pkg.scheduler import Cron

__all__ = ["ts", "walk"]


def ts(*args: int, tz: object = UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[arg-type,misc]


def walk(trigger: Cron, start_wall: float, count: int) -> list[float]:
    """Wall times of the first ``count`` slots, firing each one on time (now == wall)."""
    cursor = trigger.cursor()
    due = cursor.first(start_wall, start_wall, run_immediately=False)
    slots: list[float] = []
    while due is not None and len(slots) < count:
        slots.append(due)
        _, missed, due = cursor.advance(due, due, due)
        assert missed == 0
    return slots
