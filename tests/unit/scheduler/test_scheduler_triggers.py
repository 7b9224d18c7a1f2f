"""Slot arithmetic and cron parsing: pure functions of the time they are given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service_pkg.scheduler import Cron, Every, Once
from service_pkg.scheduler._cron import MAX_COUNTED, CronCursor, parse_go_duration
from tests.unit.scheduler.helpers import ts, walk

BERLIN = ZoneInfo("Europe/Berlin")


class TestInterval:
    def test_slots_are_computed_from_the_anchor(self) -> None:
        """Slot k is anchor + k * interval, by multiplication, never by adding up."""
        cursor = Every(0.1).cursor()
        due = cursor.first(5.0, 0.0, run_immediately=False)
        for _ in range(999):
            _, _, due = cursor.advance(due, due, 0.0)
        assert due == 5.0 + 1000 * 0.1

    def test_stall_of_a_million_slots_is_counted_at_once(self) -> None:
        """After a long stall, the latest slot is the candidate and the rest are missed, in O(1)."""
        cursor = Every(1).cursor()
        first = cursor.first(0.0, 0.0, run_immediately=False)
        assert cursor.advance(first, 1_000_000.5, 0.0) == (1_000_000.0, 999_999, 1_000_001.0)

    def test_run_immediately_starts_the_grid_at_k_0(self) -> None:
        """With run_immediately the first slot is the anchor itself."""
        assert Every(2, offset=0.5).cursor().first(10.0, 0.0, run_immediately=True) == 10.5

    def test_slot_on_a_rounding_edge_is_not_lost(self) -> None:
        """Division rounding never makes the cursor skip or repeat a slot."""
        cursor = Every(0.1).cursor()
        due = cursor.first(0.0, 0.0, run_immediately=False)
        for k in range(1, 2000):
            candidate, missed, due = cursor.advance(due, k * 0.1, 0.0)
            assert (candidate, missed) == (k * 0.1, 0)

    def test_time_just_before_a_slot_does_not_pass_it(self) -> None:
        """One ulp before slot 17 (where division rounds up), slot 17 is still ahead."""
        cursor = Every(0.1).cursor()
        first = cursor.first(0.0, 0.0, run_immediately=False)
        assert cursor.advance(first, 1.7, 0.0) == (16 * 0.1, 15, 17 * 0.1)


def test_once_has_one_slot() -> None:
    """Once(delay) fires delay after start (or at start), then never."""
    cursor = Once(3).cursor()
    assert cursor.first(10.0, 0.0, run_immediately=False) == 13.0
    assert cursor.advance(13.0, 14.0, 0.0) == (13.0, 0, None)
    assert Once(3).cursor().first(10.0, 0.0, run_immediately=True) == 10.0


class TestCronSpecs:
    @pytest.mark.parametrize(
        ("descriptor", "spec"),
        [
            ("@yearly", "0 0 0 1 1 *"),
            ("@annually", "0 0 0 1 1 *"),
            ("@monthly", "0 0 0 1 * *"),
            ("@weekly", "0 0 0 * * 0"),
            ("@daily", "0 0 0 * * *"),
            ("@midnight", "0 0 0 * * *"),
            ("@hourly", "0 0 * * * *"),
        ],
    )
    def test_descriptors_mean_what_robfig_cron_says(self, descriptor: str, spec: str) -> None:
        """Each descriptor fires exactly where its six-field spelling does."""
        start = ts(2024, 2, 27, 13, 14, 15)
        assert walk(Cron(descriptor), start, 3) == walk(Cron(spec), start, 3)

    def test_six_fields_with_seconds(self) -> None:
        """The first field is seconds, as cron.WithSeconds()."""
        start = ts(2024, 1, 1, 0, 0, 0)
        assert walk(Cron("*/20 * * * * *"), start, 3) == [start + 20, start + 40, start + 60]

    def test_question_mark_means_any_day(self) -> None:
        """robfig's `?` in a day field is `*`."""
        start = ts(2024, 1, 1)
        assert walk(Cron("0 30 6 ? * MON"), start, 2) == walk(Cron("0 30 6 * * MON"), start, 2)

    def test_cron_tz_prefix_and_tz_argument_agree(self) -> None:
        """CRON_TZ=<zone> and tz=<zone> give the same slots, in that zone."""
        start = ts(2024, 6, 1)
        by_prefix = walk(Cron("CRON_TZ=Europe/Berlin 0 0 6 * * *"), start, 2)
        assert by_prefix == walk(Cron("0 0 6 * * *", tz="Europe/Berlin"), start, 2)
        assert by_prefix == walk(Cron("TZ=Europe/Berlin 0 0 6 * * *"), start, 2)
        assert by_prefix[0] == ts(2024, 6, 1, 6, 0, 0, tz=BERLIN)

    def test_default_zone_is_utc(self) -> None:
        """Without a zone the spec reads UTC (Go used the host's local zone)."""
        assert walk(Cron("0 0 6 * * *"), ts(2024, 6, 1), 1) == [ts(2024, 6, 1, 6)]

    def test_spring_forward_runs_a_skipped_time_once(self) -> None:
        """02:30 does not exist on the spring-forward day: the job runs once, at 03:00."""
        start = ts(2024, 3, 30, 12, tz=BERLIN)
        slots = walk(Cron("0 30 2 * * *", tz=BERLIN), start, 2)
        assert slots == [ts(2024, 3, 31, 3, 0, tz=BERLIN), ts(2024, 4, 1, 2, 30, tz=BERLIN)]

    def test_fall_back_runs_a_repeated_time_once(self) -> None:
        """02:30 happens twice on the fall-back day: the job runs once."""
        start = ts(2024, 10, 26, 12, tz=BERLIN)
        slots = walk(Cron("0 30 2 * * *", tz=BERLIN), start, 2)
        assert slots == [ts(2024, 10, 27, 2, 30, tz=BERLIN), ts(2024, 10, 28, 2, 30, tz=BERLIN)]

    def test_start_inside_the_repeated_hour_does_not_go_back(self) -> None:
        """Starting during the second 02:xx never yields a slot in the past."""
        second_pass = datetime(2024, 10, 27, 2, 15, fold=1, tzinfo=BERLIN).timestamp()
        [slot] = walk(Cron("0 30 2 * * *", tz=BERLIN), second_pass, 1)
        assert slot == ts(2024, 10, 28, 2, 30, tz=BERLIN)

    def test_variable_seconds_field_is_kept(self) -> None:
        """A seconds field that is not one number (e.g. a list) is honoured."""
        start = ts(2024, 1, 1)
        assert walk(Cron("10,50 0 0 * * *"), start, 2) == [start + 10, start + 50]

    def test_every_accepts_go_durations(self) -> None:
        """@every takes Go's duration syntax and gives a fixed interval."""
        assert Cron("@every 1h30m").interval == 5400
        assert Cron("@every 250ms").interval == 0.25
        assert Cron("0 * * * * *").interval is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1m30s", 90),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("500us", 0.0005),
        ("500µs", 0.0005),  # Go's micro sign
        ("1000000ns", 0.001),
        (".5s", 0.5),
    ],
)
def test_go_duration_parsing(text: str, seconds: float) -> None:
    """Go's time.ParseDuration units and forms."""
    assert parse_go_duration(text) == pytest.approx(seconds)


class TestCronCursor:
    def test_stall_counts_every_passed_slot(self) -> None:
        """After a stall the latest passed slot is the candidate; the others are missed."""
        start = ts(2024, 1, 1)
        cursor = Cron("* * * * * *").cursor()
        first = cursor.first(0.0, start, run_immediately=False)
        assert first == 1.0
        candidate, missed, following = cursor.advance(first, 10.5, start + 10.5)
        assert (candidate, missed, following) == (10.0, 9, 11.0)

    def test_huge_stall_counts_at_most_max_counted(self) -> None:
        """A stall of a day on a per-second spec counts MAX_COUNTED, then jumps ahead."""
        start = ts(2024, 1, 1)
        cursor = Cron("* * * * * *").cursor()
        first = cursor.first(0.0, start, run_immediately=False)
        assert first is not None
        _, missed, following = cursor.advance(first, 86_400.5, start + 86_400.5)
        assert missed == MAX_COUNTED
        assert following == 86_401.0

    def test_wall_clock_step_is_corrected_at_the_next_slot(self) -> None:
        """Slots are mapped to clock time when they become next, so a wall step is absorbed."""
        start = ts(2024, 1, 1)
        cursor = Cron("*/10 * * * * *").cursor()
        first = cursor.first(0.0, start, run_immediately=False)
        assert first == 10.0
        # the wall clock jumped 3 s ahead while we waited for the first slot
        _, _, following = cursor.advance(first, 10.0, start + 13.0)
        assert following == 17.0

    def test_run_immediately_adds_a_slot_at_start(self) -> None:
        """With run_immediately a cron job also runs at start, then on its spec."""
        start = ts(2024, 1, 1, 0, 0, 5)
        cursor = Cron("*/10 * * * * *").cursor()
        assert cursor.first(0.0, start, run_immediately=True) == 0.0
        assert cursor.advance(0.0, 0.0, start) == (0.0, 0, 5.0)

    def test_spec_that_stops_firing_ends_the_job(self) -> None:
        """When cronsim finds no further slot (it looks 50 years ahead), the job has no next."""
        cursor = Cron("0 0 0 1 1 *").cursor()
        assert isinstance(cursor, CronCursor)
        first = cursor.first(0.0, ts(2024, 6, 1), run_immediately=False)
        assert first is not None
        cursor._iter = iter(())  # type: ignore[assignment]  # cronsim gave up
        assert cursor.advance(first, first, ts(2025, 1, 1)) == (first, 0, None)
