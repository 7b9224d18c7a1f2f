"""``ReadinessConfig`` and ``ReadinessSignal``: the values and their validation."""

from __future__ import annotations

import dataclasses

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.readiness import ReadinessConfig, ReadinessSignal


def test_signal_values_are_the_go_constants() -> None:
    """``READY`` and ``NOT_READY`` are the strings Go used: ``ready`` and ``not_ready``."""
    assert (ReadinessSignal.READY, ReadinessSignal.NOT_READY) == ("ready", "not_ready")


def test_default_name_is_readiness() -> None:
    """A default config names the barrier ``readiness``."""
    assert ReadinessConfig().name == "readiness"


@pytest.mark.parametrize("name", ["", "   "])
def test_blank_name_raises_config_error_naming_name(name: str) -> None:
    """An empty or blank name is rejected at construction, naming the ``name`` field."""
    with pytest.raises(ConfigError) as caught:
        ReadinessConfig(name=name)
    assert (caught.value.field, caught.value.value) == ("name", name)


def test_config_is_frozen() -> None:
    """A config cannot be changed after construction."""
    config = ReadinessConfig(name="api")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "other"  # type: ignore[misc]
