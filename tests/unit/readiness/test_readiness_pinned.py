"""Readiness behaviours that mutation testing found unpinned (issue 15): exact messages."""

from __future__ import annotations

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.readiness import ReadinessBarrier, ReadinessConfig


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: must be a non-empty string (got '')"),
        ("  ", "name: must be a non-empty string (got '  ')"),
        (5, "name: must be a non-empty string (got 5)"),
    ],
)
def test_bad_name_message_is_exact(name: object, message: str) -> None:
    """A blank or non-string name reads 'name: must be a non-empty string (got …)'."""
    with pytest.raises(ConfigError) as info:
        ReadinessConfig(name=name)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_unknown_signal_message_is_exact() -> None:
    """An unknown signal reads "signal: must be 'ready' or 'not_ready' (got …)"."""
    barrier = ReadinessBarrier()
    barrier.start()
    with pytest.raises(ConfigError) as info:
        barrier.send("go")
    assert str(info.value) == "signal: must be 'ready' or 'not_ready' (got 'go')"


def test_default_config_names_the_barrier_readiness() -> None:
    """ReadinessBarrier() without a config is named 'readiness'."""
    assert ReadinessBarrier().name == "readiness"
