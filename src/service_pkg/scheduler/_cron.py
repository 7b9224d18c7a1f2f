"""Cron specs as Go's ``robfig/cron`` reads them with ``cron.WithSeconds()``, over cronsim.

Accepted (see ``docs/scheduler.md``):

* six fields, seconds first: ``"0 */5 * * * *"``; ``?`` in the day fields means ``*``;
* descriptors ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``), ``@hourly``;
* ``@every <Go duration>`` (``"@every 1m30s"``, ``"@every 250ms"``): a fixed interval;
* an optional ``CRON_TZ=<zone>`` (or ``TZ=<zone>``) prefix.

Pure: the cursor takes the current time as arguments and reads no clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = (
    "MAX_COUNTED",
    "CronCursor",
    "ParsedSpec",
    "load_zone",
    "parse_go_duration",
    "parse_spec",
)

MAX_COUNTED = 1000
"""After a stall, at most this many passed cron slots are counted as missed, one by one."""

_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # Go accepts both the micro sign and the Greek mu
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(f"(?:{_DURATION_PART.pattern})+")
_FIXED_SECOND = re.compile(r"\d{1,2}")


@dataclass(frozen=True, slots=True)
class ParsedSpec:
    """A validated spec: either a fixed ``interval`` or a cron ``expr`` in zone ``tz``."""

    interval: float | None
    expr: str | None
    """Expression handed to cronsim: five fields plus ``second`` when the seconds field is
    one number (so cronsim applies Debian cron's DST rules), else the six fields."""
    second: int
    tz: tzinfo


def parse_go_duration(text: str) -> float:
    """Parse a Go duration (``"1h30m"``, ``"250ms"``, ``"1.5s"``) into seconds.

    Raises:
        ValueError: not a Go duration, or not > 0.
    """
    text = text.strip()
    if _DURATION.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a Go duration such as 90s, 1m30s or 250ms")
    total = sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
    if not math.isfinite(total) or total <= 0:
        raise ValueError(f"duration {text!r} must be > 0")
    return total


def load_zone(name: str) -> tzinfo:
    """The IANA zone ``name``.

    Raises:
        ValueError: no such zone (or not a valid zone name).
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


_PROBE_START = datetime(2000, 1, 1, tzinfo=UTC)
"""Any start will do: cronsim checks the fields when it is made, whatever the time."""
_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")


def parse_spec(spec: str, tz: tzinfo | None) -> ParsedSpec:
    """Validate a spec and say how to run it (``tz``: the zone given besides the spec).

    Raises:
        ValueError: the spec is invalid; the message says why.
    """
    text = spec.strip()
    zone = tz
    if text.startswith(("CRON_TZ=", "TZ=")):
        head, _, text = text.partition(" ")
        if zone is not None:
            raise ValueError("give the time zone either as a CRON_TZ= prefix or as tz=, not both")
        zone = load_zone(head.partition("=")[2])
        text = text.strip()
    zone = zone or UTC
    if text.startswith("@every"):
        return ParsedSpec(parse_go_duration(text.removeprefix("@every")), None, 0, zone)
    if text.startswith("@"):
        if text not in _DESCRIPTORS:
            raise ValueError(f"unknown descriptor {text!r}; use one of {', '.join(_DESCRIPTORS)}")
        text = _DESCRIPTORS[text]
    fields = text.split()
    if len(fields) != 6:  # noqa: PLR2004 - the six fields of cron.WithSeconds()
        raise ValueError(
            "needs 6 fields (second minute hour day-of-month month day-of-week) as Go's "
            f"cron.WithSeconds(), not {len(fields)}",
        )
    typed = tuple(fields)
    fields[3] = "*" if fields[3] == "?" else fields[3]
    fields[5] = "*" if fields[5] == "?" else fields[5]
    second = 0
    expr = " ".join(fields)
    if _FIXED_SECOND.fullmatch(fields[0]) and int(fields[0]) < 60:  # noqa: PLR2004
        second, expr = int(fields[0]), " ".join(fields[1:])
    try:
        CronSim(expr, _PROBE_START)  # parses every field; no accepted spec fails to fire
    except CronSimError as exc:
        raise ValueError(_bad_field(str(exc), typed)) from None
    return ParsedSpec(None, expr, second, zone)


def _bad_field(message: str, fields: tuple[str, ...]) -> str:
    # cronsim says only "Bad <field>": quote the token the user wrote in that field.
    name = message.removeprefix("Bad ").strip()
    if name not in _FIELD_NAMES:  # any other wording is passed on rather than misquoted
        return message.lower()
    return f"bad {name} field {fields[_FIELD_NAMES.index(name)]!r}"


class CronCursor:
    """Walks the slots of a cron expression, mapping wall-clock times to clock times.

    A slot's clock time is computed when it becomes the next one: ``now + (slot - wall)``,
    so a wall-clock step between slots is corrected at the next slot.
    """

    __slots__ = ("_immediate", "_iter", "_last", "_next", "_spec")

    def __init__(self, spec: ParsedSpec) -> None:
        self._spec = spec
        # Set by first(), which the scheduler calls before any advance().
        self._iter: CronSim
        self._next: float | None
        """Wall time (epoch seconds) of the next slot, ``None`` when there is none."""
        self._last: float
        self._immediate: bool

    def _restart(self, wall: float) -> None:
        spec = self._spec
        assert spec.expr is not None  # noqa: S101 - the caller checked
        start = datetime.fromtimestamp(wall - spec.second, spec.tz)
        self._iter = CronSim(spec.expr, start)
        self._last = wall
        self._next = self._step()

    def _step(self) -> float | None:
        while True:
            try:
                found = next(self._iter).timestamp() + self._spec.second
            except StopIteration:
                return None
            # Debian DST rules can map a slot of the repeated hour back in time: skip it.
            if found > self._last:
                self._last = found
                return found

    def first(self, now: float, wall: float, *, run_immediately: bool) -> float | None:
        """Clock time of the first slot after ``wall`` (``now`` with ``run_immediately``)."""
        self._restart(wall)
        self._immediate = run_immediately
        if run_immediately:
            return now
        return None if self._next is None else now + (self._next - wall)

    def advance(self, due: float, now: float, wall: float) -> tuple[float, int, float | None]:
        """Consume the slot at clock time ``due`` and every later slot that has passed.

        Returns ``(latest passed slot, passed slots before it, next slot or None)``.
        """
        if self._immediate:
            self._immediate = False
        else:
            self._next = self._step()
        candidate, missed = due, 0
        while self._next is not None and self._next <= wall:
            candidate = now + (self._next - wall)
            missed += 1
            if missed >= MAX_COUNTED:
                self._restart(wall)
                break
            self._next = self._step()
        return candidate, missed, None if self._next is None else now + (self._next - wall)
