"""``configure()``: one handler on the root logger, the root level, bad input."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import TYPE_CHECKING

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.logs import configure
from service_pkg.logs._configure import KitHandler

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger("service_pkg.tests")


@pytest.fixture(name="foreign")
def _foreign() -> Iterator[logging.Handler]:
    handler = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def kit_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, KitHandler)]


class TestHandler:
    def test_returns_the_handler_it_installed_on_the_root_logger(self) -> None:
        """The returned handler is the one now attached to the root logger."""
        handler = configure(stream=io.StringIO())
        assert kit_handlers() == [handler]

    def test_second_call_replaces_the_first_handler(self) -> None:
        """A second call removes the handler of the first, leaving only its own."""
        configure(stream=io.StringIO())
        second = configure(stream=io.StringIO())
        assert kit_handlers() == [second]

    def test_second_call_does_not_duplicate_output(self) -> None:
        """Configuring twice onto one stream still writes each record once."""
        stream = io.StringIO()
        configure(stream=stream)
        configure(stream=stream)
        logger.info("once")
        assert len(stream.getvalue().splitlines()) == 1

    def test_leaves_handlers_installed_by_others(self, foreign: logging.Handler) -> None:
        """Handlers the kit did not install stay on the root logger."""
        configure(stream=io.StringIO())
        configure(stream=io.StringIO())
        assert foreign in logging.getLogger().handlers

    def test_writes_to_stdout_by_default(self) -> None:
        """Without ``stream=`` the handler writes to ``sys.stdout`` as it was at the call."""
        handler = configure()
        assert isinstance(handler, logging.StreamHandler)
        assert handler.stream is sys.stdout

    def test_writes_json_by_default(self) -> None:
        """Without ``json=`` each record is a JSON object."""
        stream = io.StringIO()
        configure(stream=stream)
        logger.info("m")
        assert json.loads(stream.getvalue())["message"] == "m"


class TestLevel:
    @pytest.mark.parametrize(
        ("name", "number"),
        [
            ("debug", logging.DEBUG),
            ("INFO", logging.INFO),
            ("Warning", logging.WARNING),
            ("warn", logging.WARNING),
            ("error", logging.ERROR),
            ("critical", logging.CRITICAL),
            ("fatal", logging.CRITICAL),
            (" debug ", logging.DEBUG),
        ],
    )
    def test_level_names_in_any_case_set_the_root_level(self, name: str, number: int) -> None:
        """Standard level names, the Go aliases ``warn``/``fatal``, any case, set the level."""
        configure(level=name, stream=io.StringIO())
        assert logging.getLogger().level == number

    def test_int_level_sets_the_root_level(self) -> None:
        """An int is used as the level number as it is."""
        configure(level=25, stream=io.StringIO())
        assert logging.getLogger().level == 25

    def test_default_level_is_info(self) -> None:
        """Without ``level=`` the root level is INFO."""
        configure(stream=io.StringIO())
        assert logging.getLogger().level == logging.INFO

    def test_records_below_the_level_are_dropped(self) -> None:
        """With level ``warning`` an info record writes nothing."""
        stream = io.StringIO()
        configure(level="warning", stream=stream)
        logger.info("dropped")
        assert stream.getvalue() == ""

    @pytest.mark.parametrize("level", ["verbose", "", -1, True])
    def test_bad_level_raises_config_error_naming_level(self, level: int | str) -> None:
        """An unknown name, a negative number or a bool raises ConfigError for ``level``."""
        with pytest.raises(ConfigError) as caught:
            configure(level=level, stream=io.StringIO())
        assert (caught.value.field, caught.value.value) == ("level", level)

    def test_bad_level_changes_nothing(self) -> None:
        """A rejected call leaves the earlier handler and level in place."""
        first = configure(level="error", stream=io.StringIO())
        with pytest.raises(ConfigError):
            configure(level="verbose", stream=io.StringIO())
        assert (kit_handlers(), logging.getLogger().level) == ([first], logging.ERROR)


def test_empty_service_raises_config_error_naming_service() -> None:
    """``service=""`` is rejected rather than written as an empty field."""
    with pytest.raises(ConfigError) as caught:
        configure(service=" ", stream=io.StringIO())
    assert caught.value.field == "service"
