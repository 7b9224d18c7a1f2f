"""Cron behaviours that mutation testing found unpinned (issue 15), under more than one TZ.

Every test here runs with the process's local zone set to UTC and to zones away from it, so
a result that holds only because the machine runs in UTC fails.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.scheduler import Cron, _cron
from service_pkg.scheduler._cron import (
    MAX_COUNTED,
    CronCursor,
    _bad_field,
    load_zone,
    parse_go_duration,
    parse_spec,
)
from tests.unit.scheduler.helpers import ts, walk

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True, params=["UTC", "America/New_York", "Asia/Kathmandu"])
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with ``TZ`` set to the parameter, then restore the process's zone."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def weekdays(slots: list[float], tz: object = UTC) -> set[int]:
    return {datetime.fromtimestamp(s, tz).isoweekday() for s in slots}  # type: ignore[arg-type]


def test_the_fixture_changes_the_local_zone(local_zone: str) -> None:
    """The local zone really is the parameter while a test runs (so the others mean it)."""
    offset = datetime(2024, 6, 1, 12).astimezone().utcoffset()
    assert offset == datetime(2024, 6, 1, 12, tzinfo=ZoneInfo(local_zone)).utcoffset()


def test_default_zone_is_utc_whatever_the_local_zone() -> None:
    """Without tz= the fields read UTC: 06:00 is 06:00 UTC in any TZ."""
    assert walk(Cron("0 0 6 * * *"), ts(2024, 6, 1), 2) == [ts(2024, 6, 1, 6), ts(2024, 6, 2, 6)]


def test_default_zone_is_utc_for_a_variable_seconds_field() -> None:
    """A six-field expression (seconds not one number) also reads UTC by default."""
    assert walk(Cron("0,30 0 6 * * *"), ts(2024, 6, 1), 2) == [
        ts(2024, 6, 1, 6),
        ts(2024, 6, 1, 6, 0, 30),
    ]


def test_parsed_default_zone_is_utc() -> None:
    """The parsed spec carries UTC when no zone is given."""
    assert Cron("0 0 6 * * *").parsed.tz is UTC


def test_day_of_week_restricts_the_days() -> None:
    """'0 0 0 * * 1' fires on Mondays only, not daily."""
    slots = walk(Cron("0 0 0 * * 1"), ts(2024, 1, 1), 3)
    assert slots == [ts(2024, 1, 8), ts(2024, 1, 15), ts(2024, 1, 22)]


def test_weekly_fires_on_sundays_only() -> None:
    """@weekly is Sunday midnight, once a week."""
    slots = walk(Cron("@weekly"), ts(2024, 1, 1), 3)
    assert slots == [ts(2024, 1, 7), ts(2024, 1, 14), ts(2024, 1, 21)]


def test_question_mark_in_day_of_month_keeps_the_day_of_week() -> None:
    """'0 0 0 ? * 1' is Mondays: `?` relaxes only its own field."""
    assert weekdays(walk(Cron("0 0 0 ? * 1"), ts(2024, 1, 1), 4)) == {1}


def test_question_mark_in_day_of_week_keeps_the_day_of_month() -> None:
    """'0 0 0 1 * ?' is the first of each month, not every day."""
    slots = walk(Cron("0 0 0 1 * ?"), ts(2024, 1, 1), 3)
    assert slots == [ts(2024, 2, 1), ts(2024, 3, 1), ts(2024, 4, 1)]


def test_question_mark_in_both_day_fields_is_every_day() -> None:
    """'0 0 0 ? * ?' fires daily."""
    slots = walk(Cron("0 0 0 ? * ?"), ts(2024, 1, 1), 2)
    assert slots == [ts(2024, 1, 2), ts(2024, 1, 3)]


def test_fixed_non_zero_seconds_field_fires_at_that_second() -> None:
    """'20 * * * * *' started at 12:00:10 fires at 12:00:20, then each minute."""
    slots = walk(Cron("20 * * * * *"), ts(2024, 1, 1, 12, 0, 10), 2)
    assert slots == [ts(2024, 1, 1, 12, 0, 20), ts(2024, 1, 1, 12, 1, 20)]


def test_fixed_seconds_field_just_passed_waits_for_the_next_minute() -> None:
    """'20 * * * * *' started at 12:00:30 fires at 12:01:20."""
    assert walk(Cron("20 * * * * *"), ts(2024, 1, 1, 12, 0, 30), 1) == [ts(2024, 1, 1, 12, 1, 20)]


def test_fixed_seconds_field_is_kept_apart_from_the_expression() -> None:
    """A one-number seconds field is handed to cronsim as five fields plus ``second``."""
    parsed = Cron("59 30 6 * * *").parsed
    assert (parsed.expr, parsed.second) == ("30 6 * * *", 59)


def test_variable_seconds_field_stays_in_the_expression() -> None:
    """A seconds field that is not one number stays the sixth field, second 0."""
    parsed = Cron("*/15 30 6 * * *").parsed
    assert (parsed.expr, parsed.second) == ("*/15 30 6 * * *", 0)


def test_slot_exactly_at_start_is_not_the_first() -> None:
    """Started exactly on a slot, the first run is the next slot (Go's Next is strictly after)."""
    assert walk(Cron("0 * * * * *"), ts(2024, 1, 1, 12), 1) == [ts(2024, 1, 1, 12, 1)]


def test_slot_exactly_at_start_is_not_the_first_with_seconds() -> None:
    """The same holds for a fixed non-zero seconds field."""
    start = ts(2024, 1, 1, 12, 0, 20)
    assert walk(Cron("20 * * * * *"), start, 1) == [ts(2024, 1, 1, 12, 1, 20)]


def test_a_slot_exactly_at_the_current_time_has_passed() -> None:
    """advance() at a wall time equal to a later slot consumes that slot too."""
    start = ts(2024, 1, 1, 12)
    cursor = Cron("0 * * * * *").cursor()
    first = cursor.first(0.0, start, run_immediately=False)
    assert first == 60.0
    assert cursor.advance(60.0, 120.0, start + 120.0) == (120.0, 1, 180.0)


def test_first_maps_the_slot_onto_the_scheduler_clock() -> None:
    """The first slot's clock time is now + (slot - wall)."""
    cursor = Cron("0 * * * * *").cursor()
    assert cursor.first(1000.0, ts(2024, 1, 1, 12, 0, 45), run_immediately=False) == 1015.0


def test_missed_slots_after_run_immediately_count_the_skipped_ones() -> None:
    """After the immediate run, a stall over 3 slots runs the latest and counts 3 missed."""
    start = ts(2024, 1, 1, 12, 0, 30)
    cursor = Cron("0 * * * * *").cursor()
    assert cursor.first(0.0, start, run_immediately=True) == 0.0
    # 12:01, 12:02 and 12:03 have passed; the immediate run and the first two are missed
    assert cursor.advance(0.0, 160.0, start + 160.0) == (150.0, 3, 210.0)


def test_run_immediately_is_consumed_once() -> None:
    """After the immediate slot, each advance moves on by one slot."""
    start = ts(2024, 1, 1, 12, 0, 30)
    cursor = Cron("0 * * * * *").cursor()
    due = cursor.first(0.0, start, run_immediately=True)
    assert due is not None
    assert cursor.advance(due, 0.0, start) == (0.0, 0, 30.0)
    assert cursor.advance(30.0, 30.0, start + 30.0) == (30.0, 0, 90.0)


def test_a_fresh_first_without_run_immediately_clears_it() -> None:
    """A cursor restarted without run_immediately does not replay the immediate slot."""
    start = ts(2024, 1, 1, 12, 0, 30)
    cursor = Cron("0 * * * * *").cursor()
    cursor.first(0.0, start, run_immediately=True)
    assert cursor.first(0.0, start, run_immediately=False) == 30.0
    assert cursor.advance(30.0, 30.0, start + 30.0) == (30.0, 0, 90.0)


def test_a_stall_of_exactly_max_counted_slots_restarts_at_the_wall_time() -> None:
    """Counting stops at MAX_COUNTED; the next slot is the first after the current wall."""
    start = ts(2024, 1, 1)
    cursor = Cron("* * * * * *").cursor()
    first = cursor.first(0.0, start, run_immediately=False)
    assert first == 1.0
    candidate, missed, following = cursor.advance(1.0, 5000.5, start + 5000.5)
    assert (missed, following) == (MAX_COUNTED, 5001.0)
    assert candidate == float(MAX_COUNTED + 1)


def test_a_stall_just_under_max_counted_counts_every_slot() -> None:
    """A stall of MAX_COUNTED - 1 passed slots counts them all and keeps the grid."""
    start = ts(2024, 1, 1)
    cursor = Cron("* * * * * *").cursor()
    cursor.first(0.0, start, run_immediately=False)
    wall = start + MAX_COUNTED + 0.5
    assert cursor.advance(1.0, MAX_COUNTED + 0.5, wall) == (
        float(MAX_COUNTED),
        MAX_COUNTED - 1,
        float(MAX_COUNTED + 1),
    )


def test_a_repeated_hour_slot_is_never_returned_twice() -> None:
    """On the fall-back day, a '*/30 minutes' spec never goes back in wall time."""
    start = ts(2024, 10, 27, 0, 45, tz=BERLIN)
    slots = walk(Cron("0 */30 * * * *", tz=BERLIN), start, 8)
    assert slots == sorted(set(slots))
    assert all(b - a > 0 for a, b in itertools.pairwise(slots))


def test_a_fixed_offset_tzinfo_is_honoured() -> None:
    """tz= may be any tzinfo, e.g. a fixed offset."""
    plus_two = timezone(timedelta(hours=2))
    assert walk(Cron("0 0 6 * * *", tz=plus_two), ts(2024, 6, 1), 1) == [ts(2024, 6, 1, 4)]


@pytest.mark.parametrize(
    ("spec", "field", "token"),
    [
        ("60 * * * * *", "second", "60"),
        ("0 60 * * * *", "minute", "60"),
        ("0 0 24 * * *", "hour", "24"),
        ("0 0 0 32 * *", "day-of-month", "32"),
        ("0 0 0 0 * *", "day-of-month", "0"),
        ("0 0 0 * 13 *", "month", "13"),
        ("0 0 0 * 0 *", "month", "0"),
        ("0 0 0 * * 8", "day-of-week", "8"),
        ("x * * * * *", "second", "x"),
        ("0 0 0 ? * MONX", "day-of-week", "MONX"),
    ],
)
def test_out_of_bounds_field_is_refused_quoting_the_token(
    spec: str,
    field: str,
    token: str,
) -> None:
    """Each field has its bounds; the error names the field and quotes what was written."""
    with pytest.raises(ConfigError) as info:
        Cron(spec)
    assert str(info.value) == (
        f"spec: is not a valid cron spec: bad {field} field {token!r} (got {spec!r})"
    )


@pytest.mark.parametrize(
    "spec",
    ["59 * * * * *", "0 59 23 31 12 *", "0 0 0 1 1 0", "0 0 0 1 1 7", "0 0 0 * * SUN"],
)
def test_the_bounds_of_each_field_are_accepted(spec: str) -> None:
    """The last valid value of each field is accepted (7 and SUN are Sunday too)."""
    assert Cron(spec).parsed.expr is not None


def test_wrong_field_count_says_it_once() -> None:
    """The count is stated once, without a second 'got'."""
    with pytest.raises(ConfigError) as info:
        Cron("*/5 * * * *")
    assert str(info.value) == (
        "spec: is not a valid cron spec: needs 6 fields (second minute hour day-of-month "
        "month day-of-week) as Go's cron.WithSeconds(), not 5 (got '*/5 * * * *')"
    )


def test_unknown_tz_argument_names_the_tz_field() -> None:
    """tz='Europe/Berln' is a ConfigError on field tz, quoting the zone."""
    with pytest.raises(ConfigError) as info:
        Cron("0 * * * * *", tz="Europe/Berln")
    assert (info.value.field, info.value.value) == ("tz", "Europe/Berln")
    assert str(info.value) == "tz: is not a known IANA time zone name (got 'Europe/Berln')"


def test_unknown_cron_tz_prefix_names_the_spec_field() -> None:
    """A bad zone inside the spec (CRON_TZ=) is the spec's error."""
    with pytest.raises(ConfigError) as info:
        Cron("CRON_TZ=Europe/Berln 0 * * * * *")
    assert info.value.field == "spec"
    assert "unknown time zone 'Europe/Berln'" in str(info.value)


def test_a_zone_name_that_is_no_key_is_an_unknown_zone() -> None:
    """Names ZoneInfo refuses as malformed (not just missing) are unknown zones too."""
    with pytest.raises(ValueError, match=r"^unknown time zone '../etc'$"):
        load_zone("../etc")


@pytest.mark.parametrize(
    ("descriptor", "expr", "second"),
    [
        ("@yearly", "0 0 1 1 *", 0),
        ("@annually", "0 0 1 1 *", 0),
        ("@monthly", "0 0 1 * *", 0),
        ("@weekly", "0 0 * * 0", 0),
        ("@daily", "0 0 * * *", 0),
        ("@midnight", "0 0 * * *", 0),
        ("@hourly", "0 * * * *", 0),
    ],
)
def test_descriptors_expand_to_their_cron_specs(descriptor: str, expr: str, second: int) -> None:
    """Each descriptor is the robfig/cron spec it stands for."""
    parsed = parse_spec(descriptor, None)
    assert (parsed.interval, parsed.expr, parsed.second) == (None, expr, second)


@pytest.mark.parametrize(
    ("spec", "seconds"),
    [
        ("@every 250μs", 250e-6),  # Greek small letter mu
        ("@every 250µs", 250e-6),  # micro sign
        ("@every 250us", 250e-6),
        ("@every 5ns", 5e-9),
        ("@every 2h", 7200.0),
        ("@every 1m", 60.0),
        ("@every 3ms", 0.003),
        ("@every   1s", 1.0),
    ],
)
def test_every_units(spec: str, seconds: float) -> None:
    """@every takes every Go duration unit, the two micro spellings included."""
    assert Cron(spec).interval == pytest.approx(seconds, rel=1e-12)


def test_every_zone_is_kept_even_for_intervals() -> None:
    """A CRON_TZ= prefix before @every is accepted and carried along."""
    parsed = parse_spec("CRON_TZ=Europe/Berlin @every 1s", None)
    assert (parsed.interval, parsed.tz) == (1.0, BERLIN)


def test_zone_prefix_with_extra_spaces_is_read() -> None:
    """Spaces between the prefix and the fields do not count as a field."""
    parsed = parse_spec("TZ=Europe/Berlin    0 0 6 * * *", None)
    assert (parsed.tz, parsed.expr) == (BERLIN, "0 6 * * *")


def test_cron_cursor_is_a_cron_cursor_and_every_is_an_interval() -> None:
    """Cron specs walk a CronCursor; @every walks an interval grid without a zone."""
    assert isinstance(Cron("0 * * * * *").cursor(), CronCursor)
    assert not isinstance(Cron("@every 1s").cursor(), CronCursor)


def test_zone_given_twice_message_is_exact() -> None:
    """A CRON_TZ= prefix and tz= together are refused, saying which two."""
    message = "give the time zone either as a CRON_TZ= prefix or as tz=, not both"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_spec("CRON_TZ=UTC 0 * * * * *", UTC)


def test_the_zone_prefix_is_everything_after_the_first_equals_sign() -> None:
    """'CRON_TZ=a=b' names the zone 'a=b' (which does not exist)."""
    with pytest.raises(ValueError, match=r"^unknown time zone 'a=b'$"):
        parse_spec("CRON_TZ=a=b 0 * * * * *", None)


def test_unknown_descriptor_message_is_exact() -> None:
    """The error lists every descriptor, comma-separated."""
    message = (
        "unknown descriptor '@fortnightly'; use one of @yearly, @annually, @monthly, @weekly, "
        "@daily, @midnight, @hourly"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_spec("@fortnightly", None)


def test_every_has_no_seconds_offset() -> None:
    """An @every spec is a plain interval: no cron expression, second 0."""
    parsed = parse_spec("@every 2s", None)
    assert (parsed.interval, parsed.expr, parsed.second) == (2.0, None, 0)


def test_a_cronsim_error_without_a_field_name_is_passed_on_lowercased() -> None:
    """An error cronsim words differently is kept, lowercased, rather than misquoted."""
    assert _bad_field("Wrong number of fields", ("*",) * 6) == "wrong number of fields"


class _Slots:
    """A stand-in for cronsim's iterator: yields the given wall times, then stops."""

    def __init__(self, expr: str, start: datetime, times: list[float]) -> None:
        del expr, start
        self._times = iter(times)

    def __iter__(self) -> _Slots:
        return self

    def __next__(self) -> datetime:
        return datetime.fromtimestamp(next(self._times), UTC)


def test_a_spec_with_no_slot_after_start_has_no_first_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """When cronsim finds no slot at all, first() says there is none."""
    cursor = Cron("0 * * * * *").cursor()
    monkeypatch.setattr(_cron, "CronSim", lambda expr, start: _Slots(expr, start, []))
    assert cursor.first(0.0, ts(2024, 1, 1), run_immediately=False) is None


def test_a_slot_repeating_the_last_one_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slot at the same instant as the previous one (a DST repeat) is not run twice."""
    start = ts(2024, 1, 1)
    times = [start + 60, start + 60, start + 120]
    cursor = Cron("0 * * * * *").cursor()
    monkeypatch.setattr(_cron, "CronSim", lambda expr, begin: _Slots(expr, begin, times))
    assert cursor.first(0.0, start, run_immediately=False) == 60.0
    assert cursor.advance(60.0, 60.0, start + 60) == (60.0, 0, 120.0)


def test_go_duration_must_be_contiguous() -> None:
    """Text between the parts, or after them, is not a Go duration."""
    for text in ("1m x30s", "1m30", "1m30sx", "x1m", "1.5.5s"):
        with pytest.raises(ValueError, match="is not a Go duration"):
            parse_go_duration(text)


def test_go_duration_sums_every_part() -> None:
    """'1h1m1s1ms' is the sum of its parts."""
    assert parse_go_duration("1h1m1s1ms") == pytest.approx(3661.001, rel=1e-12)
