"""Triggers say when a job runs; their cursors turn that into slot times. Pure: no clock reads.

Times are seconds on the scheduler's :class:`~service_pkg.clock.Clock` (``now``), plus the
wall clock (``wall``, epoch seconds) for cron specs. A cursor is made per start.
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, field
from datetime import tzinfo
from typing import Protocol

from service_pkg._checks import seconds
from service_pkg.exceptions import ConfigError
from service_pkg.scheduler._cron import CronCursor, ParsedSpec, load_zone, parse_spec

__all__ = ("Cron", "Cursor", "Every", "IntervalCursor", "Once", "OnceCursor")


@dataclass(frozen=True, slots=True)
class Every:
    """Fixed rate on an anchored grid: slots at ``start + offset + k * interval``.

    ``k`` starts at 1 (the first run one interval after start, as Go's ticker), or at 0 with
    ``JobConfig(run_immediately=True)``. Slot times are computed from the anchor and ``k``,
    never by adding intervals up, so they do not drift, and a late or long run does not move
    the grid. Sub-second intervals are fine.

    Raises:
        ConfigError: ``interval`` is not > 0 or ``offset`` not >= 0.

    .. versionadded:: 0.1.0
    """

    interval: float
    """Seconds between slots."""
    _: KW_ONLY
    offset: float = 0.0
    """Seconds the whole grid is shifted by (a phase, e.g. to spread jobs of equal interval)."""

    def __post_init__(self) -> None:
        """Check the interval and the offset."""
        object.__setattr__(self, "interval", seconds("interval", self.interval))
        object.__setattr__(self, "offset", seconds("offset", self.offset, allow_zero=True))

    def cursor(self) -> IntervalCursor:
        """A fresh cursor for one start."""
        return IntervalCursor(self.interval, self.offset)


@dataclass(frozen=True, slots=True)
class Cron:
    """A cron spec with a seconds field, as Go's ``robfig/cron`` with ``cron.WithSeconds()``.

    Six fields (``second minute hour day-of-month month day-of-week``), the descriptors
    ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
    ``@hourly``, and ``@every <Go duration>`` (an :class:`Every` grid, sub-second allowed).
    The zone is ``tz`` (a ``tzinfo`` or an IANA name) or a ``CRON_TZ=<zone>`` prefix; UTC when
    neither is given (Go used the process's local zone).

    Raises:
        ConfigError: the spec or the zone is invalid (``field == "spec"`` or ``"tz"``); Go
            panicked instead (bug #10's sibling in ``Cron.Add``).

    .. versionadded:: 0.1.0
    """

    spec: str
    """The cron spec."""
    _: KW_ONLY
    tz: tzinfo | str | None = None
    """Time zone of the spec's fields; UTC by default."""
    parsed: ParsedSpec = field(init=False, repr=False, compare=False)
    """The validated form (internal)."""

    def __post_init__(self) -> None:
        """Parse and validate the spec now, so a bad one fails where it is declared."""
        spec: object = self.spec
        if not isinstance(spec, str):
            raise ConfigError("spec", spec, "must be a cron spec string")
        tz: object = self.tz
        zone: tzinfo | None
        if isinstance(tz, str):
            try:
                zone = load_zone(tz)
            except ValueError:
                raise ConfigError("tz", tz, "is not a known IANA time zone name") from None
        elif tz is None or isinstance(tz, tzinfo):
            zone = tz
        else:
            raise ConfigError("tz", tz, "must be a tzinfo, an IANA zone name or None")
        try:
            parsed = parse_spec(spec, zone)
        except ValueError as exc:
            raise ConfigError("spec", spec, f"is not a valid cron spec: {exc}") from None
        object.__setattr__(self, "parsed", parsed)

    @property
    def interval(self) -> float | None:
        """Seconds between slots for ``@every`` specs, else ``None``."""
        return self.parsed.interval

    def cursor(self) -> Cursor:
        """A fresh cursor for one start."""
        if self.parsed.interval is not None:
            return IntervalCursor(self.parsed.interval, 0.0)
        return CronCursor(self.parsed)


@dataclass(frozen=True, slots=True)
class Once:
    """A single run, ``delay`` seconds after each start (at start with ``run_immediately``).

    Raises:
        ConfigError: ``delay`` is not >= 0.

    .. versionadded:: 0.1.0
    """

    delay: float = 0.0
    """Seconds after start."""

    def __post_init__(self) -> None:
        """Check the delay."""
        object.__setattr__(self, "delay", seconds("delay", self.delay, allow_zero=True))

    def cursor(self) -> OnceCursor:
        """A fresh cursor for one start."""
        return OnceCursor(self.delay)


class Cursor(Protocol):
    """Slot arithmetic for one job during one start."""

    def first(self, now: float, wall: float, *, run_immediately: bool) -> float | None:
        """Clock time of the first slot, or ``None`` if there is none."""
        ...

    def advance(self, due: float, now: float, wall: float) -> tuple[float, int, float | None]:
        """Consume the slot at ``due`` (which is ``<= now``) and every later passed slot.

        Returns ``(latest passed slot, number of passed slots before it, next slot)``; the
        next slot is ``> now``, or ``None`` when the trigger is exhausted.
        """
        ...


class IntervalCursor:
    """Slots ``anchor + k * interval``; after a stall, every passed slot but the last is missed."""

    __slots__ = ("_anchor", "_interval", "_k", "_offset")

    def __init__(self, interval: float, offset: float) -> None:
        self._interval = interval
        self._offset = offset
        # Set by first(), which the scheduler calls before any advance().
        self._anchor: float
        self._k: int

    def first(self, now: float, wall: float, *, run_immediately: bool) -> float:  # noqa: ARG002
        """Anchor the grid at ``now + offset``; the first slot is ``k = 1`` (``0`` at once)."""
        self._anchor = now + self._offset
        self._k = 0 if run_immediately else 1
        return self._anchor + self._k * self._interval

    def advance(self, due: float, now: float, wall: float) -> tuple[float, int, float]:  # noqa: ARG002
        """See :meth:`Cursor.advance`; O(1) however long the stall."""
        anchor, interval, k = self._anchor, self._interval, self._k
        latest = math.floor((now - anchor) / interval)
        # Division rounding can be off by one at the edges: pin `latest` to the last slot <= now.
        # Slot k itself is `due`, computed by the same expression and <= now, so latest >= k.
        if anchor + latest * interval > now:
            latest -= 1
        elif anchor + (latest + 1) * interval <= now:
            latest += 1
        self._k = latest + 1
        return anchor + latest * interval, latest - k, anchor + self._k * interval


class OnceCursor:
    """One slot, ``delay`` after start."""

    __slots__ = ("_delay",)

    def __init__(self, delay: float) -> None:
        self._delay = delay

    def first(self, now: float, wall: float, *, run_immediately: bool) -> float:  # noqa: ARG002
        """``now + delay``, or ``now`` with ``run_immediately``."""
        return now if run_immediately else now + self._delay

    def advance(self, due: float, now: float, wall: float) -> tuple[float, int, None]:  # noqa: ARG002
        """The one slot, and nothing after it."""
        return due, 0, None
