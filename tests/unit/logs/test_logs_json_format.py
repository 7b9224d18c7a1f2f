"""The JSON record schema written by ``configure(json=True)``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest

from service_pkg.logs import bind_correlation_id, configure

logger = logging.getLogger("service_pkg.tests")

Install = Callable[..., io.StringIO]


@pytest.fixture(name="install")
def _install() -> Install:
    def install(*, level: int | str = "DEBUG", service: str | None = None) -> io.StringIO:
        stream = io.StringIO()
        configure(level=level, json=True, service=service, stream=stream)
        return stream

    return install


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def only_record(stream: io.StringIO) -> dict[str, Any]:
    [record] = records(stream)
    return record


class TestSchema:
    def test_keys_follow_the_schema_order(self, install: Install) -> None:
        """The record starts with timestamp, level, logger, message, correlation_id."""
        stream = install()
        logger.info("hello")
        assert list(only_record(stream)) == [
            "timestamp",
            "level",
            "logger",
            "message",
            "correlation_id",
        ]

    def test_uvicorns_colour_copy_of_the_message_is_left_out(self, install: Install) -> None:
        """uvicorn's ``color_message`` extra (ANSI escape codes) never reaches the JSON line."""
        stream = install()
        logger.info("Started server process [%d]", 7, extra={"color_message": "\x1b[36m%d\x1b[0m"})
        record = only_record(stream)
        assert "color_message" not in record
        assert record["message"] == "Started server process [7]"

    def test_schema_fields_hold_level_logger_and_formatted_message(self, install: Install) -> None:
        """Level is lower-case, logger is the logger name, %-args are formatted in."""
        stream = install()
        logger.warning("job %s failed %d times", "cleanup", 3)
        record = only_record(stream)
        assert (record["level"], record["logger"], record["message"]) == (
            "warning",
            "service_pkg.tests",
            "job cleanup failed 3 times",
        )

    def test_timestamp_is_utc_iso_8601_with_milliseconds_and_z(self, install: Install) -> None:
        """A record created at a known instant renders it in UTC, milliseconds, ``Z``."""
        stream = install()
        record = logging.makeLogRecord(
            {"name": "x", "levelno": 20, "levelname": "INFO", "msg": "m"},
        )
        record.created = 1_700_000_000.123456
        logger.handle(record)
        assert only_record(stream)["timestamp"] == "2023-11-14T22:13:20.123Z"

    @pytest.mark.parametrize(
        ("level", "name"),
        [
            (logging.DEBUG, "debug"),
            (logging.INFO, "info"),
            (logging.WARNING, "warning"),
            (logging.ERROR, "error"),
            (logging.CRITICAL, "critical"),
        ],
    )
    def test_level_names_are_lower_case(self, install: Install, level: int, name: str) -> None:
        """Each standard level is written as its lower-case name, as the Go logger did."""
        stream = install()
        logger.log(level, "m")
        assert only_record(stream)["level"] == name

    def test_service_follows_correlation_id_when_given(self, install: Install) -> None:
        """``service=`` adds a ``service`` key right after ``correlation_id``."""
        stream = install(service="billing")
        logger.info("m")
        record = only_record(stream)
        assert list(record)[4:] == ["correlation_id", "service"]
        assert record["service"] == "billing"

    def test_no_service_key_without_service(self, install: Install) -> None:
        """Without ``service=`` the record has no ``service`` key at all."""
        stream = install()
        logger.info("m")
        assert "service" not in only_record(stream)

    def test_each_record_is_one_line(self, install: Install) -> None:
        """A message with newlines still yields one JSON object per line."""
        stream = install()
        logger.info("first\nsecond")
        logger.info("third")
        assert [r["message"] for r in records(stream)] == ["first\nsecond", "third"]

    def test_non_ascii_text_is_written_as_is(self, install: Install) -> None:
        """Non-ASCII characters are not escaped."""
        stream = install()
        logger.info("готово")
        assert "готово" in stream.getvalue()


class TestExtras:
    def test_extras_become_top_level_keys_after_the_schema(self, install: Install) -> None:
        """``extra=`` keys follow the schema keys, in the order given."""
        stream = install()
        logger.info("m", extra={"component": "db", "duration_ms": 12.5})
        record = only_record(stream)
        assert list(record)[5:] == ["component", "duration_ms"]
        assert (record["component"], record["duration_ms"]) == ("db", 12.5)

    def test_nested_extra_values_stay_json_structures(self, install: Install) -> None:
        """Dicts and lists given in ``extra=`` are written as JSON objects and arrays."""
        stream = install()
        logger.info("m", extra={"labels": {"a": [1, 2]}})
        assert only_record(stream)["labels"] == {"a": [1, 2]}

    def test_unserialisable_extra_values_are_written_as_text(self, install: Install) -> None:
        """An extra value JSON cannot encode is written as its ``str()``."""
        stream = install()
        logger.info("m", extra={"path": PurePosixPath("/srv/data")})
        assert only_record(stream)["path"] == "/srv/data"

    def test_extra_named_like_a_schema_key_is_renamed(self, install: Install) -> None:
        """An extra called ``level`` is written as ``extra_level`` and cannot forge the level."""
        stream = install()
        logger.info("m", extra={"level": "critical"})
        record = only_record(stream)
        assert (record["level"], record["extra_level"]) == ("info", "critical")


class TestExceptions:
    def test_exception_is_an_exc_info_string_at_the_end(self, install: Install) -> None:
        """``logger.exception`` adds the traceback as a string under ``exc_info``, last."""
        stream = install()
        try:
            raise ValueError("boom")  # noqa: TRY301 - the traceback is the subject
        except ValueError:
            logger.exception("failed", extra={"component": "db"})
        record = only_record(stream)
        assert list(record)[-2:] == ["component", "exc_info"]
        assert record["exc_info"].startswith("Traceback (most recent call last):")
        assert record["exc_info"].endswith("ValueError: boom")


class TestCorrelationId:
    def test_correlation_id_is_null_when_unbound(self, install: Install) -> None:
        """Outside any bind the record carries ``"correlation_id": null``."""
        stream = install()
        logger.info("m")
        assert only_record(stream)["correlation_id"] is None

    def test_correlation_id_is_the_bound_id(self, install: Install) -> None:
        """Inside a bind every record carries the bound id."""
        stream = install()
        with bind_correlation_id("req-1"):
            logger.info("m")
        assert only_record(stream)["correlation_id"] == "req-1"

    def test_nested_binds_tag_records_with_the_innermost_id(self, install: Install) -> None:
        """A nested bind tags records with its id, and the outer id again after it exits."""
        stream = install()
        with bind_correlation_id("outer"):
            logger.info("before")
            with bind_correlation_id("inner"):
                logger.info("inside")
            logger.info("after")
        logger.info("unbound")
        assert [r["correlation_id"] for r in records(stream)] == [
            "outer",
            "inner",
            "outer",
            None,
        ]

    def test_explicit_correlation_id_extra_wins_over_the_context(self, install: Install) -> None:
        """``extra={"correlation_id": ...}`` replaces the context's id for that record."""
        stream = install()
        with bind_correlation_id("ctx"):
            logger.info("m", extra={"correlation_id": "explicit"})
        record = only_record(stream)
        assert record["correlation_id"] == "explicit"
        assert "extra_correlation_id" not in record
