"""The development text format written by ``configure(json=False)``."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable

import pytest

from service_pkg.logs import bind_correlation_id, configure

logger = logging.getLogger("service_pkg.tests")

Install = Callable[..., io.StringIO]

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture(name="install")
def _install() -> Install:
    def install(*, service: str | None = None) -> io.StringIO:
        stream = io.StringIO()
        configure(level="DEBUG", json=False, service=service, stream=stream)
        return stream

    return install


def only_line(stream: io.StringIO) -> str:
    [line] = stream.getvalue().splitlines()
    return line


def test_line_is_timestamp_level_logger_message(install: Install) -> None:
    """A plain record is ``<timestamp> <LEVEL> <logger> <message>`` and nothing more."""
    stream = install()
    logger.info("server started on %s", "0.0.0.0:8080")
    assert re.fullmatch(
        rf"{TIMESTAMP} INFO service_pkg\.tests server started on 0\.0\.0\.0:8080",
        only_line(stream),
    )


def test_extras_are_appended_as_key_value(install: Install) -> None:
    """``extra=`` fields follow the message as ``key=value``, in the order given."""
    stream = install()
    logger.warning("retrying", extra={"component": "db", "attempt": 3, "ok": False})
    assert only_line(stream).endswith(
        " WARNING service_pkg.tests retrying component=db attempt=3 ok=false"
    )


def test_values_with_spaces_or_quotes_are_json_quoted(install: Install) -> None:
    """A value with whitespace, quotes or ``=`` is JSON-quoted so the line stays parseable."""
    stream = install()
    logger.info("m", extra={"reason": 'disk "full"', "empty": ""})
    assert only_line(stream).endswith(r' m reason="disk \"full\"" empty=""')


def test_values_with_control_characters_are_escaped(install: Install) -> None:
    """Newlines and escape codes in a value are JSON-escaped, so one record stays one line."""
    stream = install()
    logger.info("m", extra={"user": "bob\nERROR forged\x1b[0m"})
    assert only_line(stream).endswith(r' m user="bob\nERROR forged\u001b[0m"')


def test_correlation_id_is_appended_when_bound(install: Install) -> None:
    """Inside a bind the line carries ``correlation_id=<id>`` before the extras."""
    stream = install()
    with bind_correlation_id("req-7"):
        logger.info("m", extra={"component": "http"})
    assert only_line(stream).endswith(" m correlation_id=req-7 component=http")


def test_no_correlation_id_when_unbound(install: Install) -> None:
    """Outside any bind the line has no ``correlation_id`` pair."""
    stream = install()
    logger.info("m")
    assert "correlation_id" not in only_line(stream)


def test_service_is_appended_when_given(install: Install) -> None:
    """``service=`` adds ``service=<name>`` to every line."""
    stream = install(service="billing")
    logger.info("m")
    assert only_line(stream).endswith(" m service=billing")


def test_traceback_follows_the_line(install: Install) -> None:
    """An exception's traceback is written on the lines after the record's line."""
    stream = install()
    try:
        raise ValueError("boom")  # noqa: TRY301 - the traceback is the subject
    except ValueError:
        logger.exception("failed")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith(" ERROR service_pkg.tests failed")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: boom"
