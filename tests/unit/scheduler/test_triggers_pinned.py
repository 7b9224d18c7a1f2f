"""Trigger behaviours that mutation testing found unpinned (issue 15)."""

from __future__ import annotations

import math
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.scheduler import Cron, Every, Once
from service_pkg.scheduler._triggers import IntervalCursor, OnceCursor


def test_a_slot_exactly_at_now_is_the_latest_passed() -> None:
    """advance() at a time exactly on slot 3 returns slot 3 (not slot 2)."""
    cursor = Every(1).cursor()
    first = cursor.first(0.0, 0.0, run_immediately=False)
    assert cursor.advance(first, 3.0, 0.0) == (3.0, 2, 4.0)


def test_a_slot_where_division_rounds_down_is_not_lost() -> None:
    """At 3 x 0.7 the division gives 2.99…: slot 3 has still passed."""
    cursor = Every(0.7).cursor()
    first = cursor.first(0.0, 0.0, run_immediately=False)
    assert cursor.advance(first, 3 * 0.7, 0.0) == (3 * 0.7, 2, 4 * 0.7)


def test_a_time_one_ulp_before_a_slot_where_division_rounds_up_does_not_pass_it() -> None:
    """One ulp before 5 x 0.7 the division gives 5: slot 5 is still ahead."""
    cursor = Every(0.7).cursor()
    first = cursor.first(0.0, 0.0, run_immediately=False)
    now = math.nextafter(5 * 0.7, -math.inf)
    assert cursor.advance(first, now, 0.0) == (4 * 0.7, 3, 5 * 0.7)


def test_slots_multiply_the_interval() -> None:
    """With a half-second interval, 3.0 s is slot 6 and the next is 3.5 s."""
    cursor = Every(0.5).cursor()
    first = cursor.first(0.0, 0.0, run_immediately=False)
    assert cursor.advance(first, 3.0, 0.0) == (3.0, 5, 3.5)


def test_on_time_advances_count_nothing_missed() -> None:
    """Firing each slot on time moves one slot at a time with nothing missed."""
    cursor = Every(2, offset=1).cursor()
    due = cursor.first(10.0, 0.0, run_immediately=False)
    assert due == 13.0
    assert cursor.advance(13.0, 13.0, 0.0) == (13.0, 0, 15.0)
    assert cursor.advance(15.0, 15.5, 0.0) == (15.0, 0, 17.0)


def test_run_immediately_counts_the_anchor_slot() -> None:
    """With run_immediately, slot 0 is due first and the grid continues from it."""
    cursor = Every(2, offset=1).cursor()
    assert cursor.first(10.0, 0.0, run_immediately=True) == 11.0
    assert cursor.advance(11.0, 11.0, 0.0) == (11.0, 0, 13.0)


def test_a_restarted_cursor_anchors_at_the_new_start() -> None:
    """first() again re-anchors the grid and resets the slot count."""
    cursor = Every(2).cursor()
    cursor.first(0.0, 0.0, run_immediately=False)
    cursor.advance(2.0, 9.0, 0.0)
    assert cursor.first(100.0, 0.0, run_immediately=False) == 102.0
    assert cursor.advance(102.0, 102.0, 0.0) == (102.0, 0, 104.0)


def test_every_cursor_uses_interval_and_offset() -> None:
    """Every(...).cursor() walks that interval, shifted by that offset."""
    cursor = Every(3, offset=0.5).cursor()
    assert isinstance(cursor, IntervalCursor)
    assert cursor.first(0.0, 0.0, run_immediately=False) == 3.5


def test_every_at_cron_has_no_offset() -> None:
    """Cron('@every 3s') is a grid of 3 s anchored at start, without offset."""
    cursor = Cron("@every 3s").cursor()
    assert isinstance(cursor, IntervalCursor)
    assert cursor.first(10.0, 0.0, run_immediately=False) == 13.0


def test_every_stores_floats() -> None:
    """Integer seconds are kept as floats."""
    every = Every(2, offset=1)
    assert (type(every.interval), type(every.offset)) == (float, float)
    assert Once(2).delay == 2.0
    assert type(Once(2).delay) is float


def test_once_cursor_waits_the_delay_and_ends() -> None:
    """Once(delay): one slot delay after start, then none."""
    cursor = Once(2.5).cursor()
    assert isinstance(cursor, OnceCursor)
    assert cursor.first(10.0, 0.0, run_immediately=False) == 12.5
    assert cursor.advance(12.5, 20.0, 0.0) == (12.5, 0, None)


def test_once_with_run_immediately_ignores_the_delay() -> None:
    """Once(delay) with run_immediately fires at start."""
    assert Once(2.5).cursor().first(10.0, 0.0, run_immediately=True) == 10.0


def test_once_default_delay_is_zero() -> None:
    """Once() fires at start."""
    assert Once().cursor().first(10.0, 0.0, run_immediately=False) == 10.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Every(0), "interval: must be a finite number of seconds > 0 (got 0)"),
        (lambda: Every(interval=True), "interval: must be a number of seconds (got True)"),
        (lambda: Every(1, offset=-1), "offset: must be a finite number of seconds >= 0 (got -1)"),
        (lambda: Once(-1), "delay: must be a finite number of seconds >= 0 (got -1)"),
        (lambda: Cron(5), "spec: must be a cron spec string (got 5)"),  # type: ignore[arg-type]
        (
            lambda: Cron("0 * * * * *", tz=5),  # type: ignore[arg-type]
            "tz: must be a tzinfo, an IANA zone name or None (got 5)",
        ),
    ],
)
def test_bad_trigger_messages_are_exact(make: object, message: str) -> None:
    """Each refusal reads 'field: rule (got value)'."""
    with pytest.raises(ConfigError) as info:
        make()  # type: ignore[operator]
    assert str(info.value) == message


def test_zero_offset_and_zero_delay_are_allowed() -> None:
    """An offset or delay of 0 is a valid choice."""
    assert (Every(1, offset=0).offset, Once(0).delay) == (0.0, 0.0)


def test_cron_accepts_a_zone_name_and_resolves_it() -> None:
    """tz='Europe/Berlin' is read as that zone."""
    assert Cron("0 0 6 * * *", tz="Europe/Berlin").parsed.tz == ZoneInfo("Europe/Berlin")


def test_cron_accepts_a_tzinfo() -> None:
    """tz= may be a tzinfo object."""
    assert Cron("0 0 6 * * *", tz=UTC).parsed.tz is UTC


def test_cron_interval_is_none_for_cron_specs() -> None:
    """Only @every specs have an interval."""
    assert (Cron("0 0 6 * * *").interval, Cron("@every 2s").interval) == (None, 2.0)


def test_bad_spec_error_holds_the_spec() -> None:
    """The error's value is the spec as given, and its field is spec."""
    with pytest.raises(ConfigError) as info:
        Cron("@fortnightly")
    assert (info.value.field, info.value.value) == ("spec", "@fortnightly")
    assert str(info.value).startswith("spec: is not a valid cron spec: unknown descriptor")
