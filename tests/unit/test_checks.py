"""The shared checks: what they accept, what they refuse, and how they say so."""

from __future__ import annotations

import math

import pytest

from service_pkg._checks import check_seconds, exactly_one, seconds
from service_pkg.exceptions import ConfigError


def test_none_for_a_required_duration_is_a_config_error() -> None:
    """seconds(field, None) is refused as not a number, naming the field."""
    with pytest.raises(ConfigError) as info:
        seconds("timeout", None)
    assert str(info.value) == "timeout: must be a number of seconds (got None)"
    assert info.value.field == "timeout"


def test_none_is_refused_unless_allowed() -> None:
    """check_seconds refuses None by default and returns None when allowed."""
    with pytest.raises(ConfigError):
        check_seconds("timeout", None)
    assert check_seconds("timeout", None, allow_none=True) is None


@pytest.mark.parametrize("value", [True, False, "1", b"1", [1]])
def test_values_that_are_not_numbers_are_refused(value: object) -> None:
    """Booleans, strings and other objects are not seconds."""
    with pytest.raises(ConfigError) as info:
        seconds("timeout", value)
    assert str(info.value) == f"timeout: must be a number of seconds (got {value!r})"


@pytest.mark.parametrize("value", [0, 0.0, -1, -0.5, math.inf, -math.inf, math.nan])
def test_zero_negative_and_non_finite_are_refused_by_default(value: float) -> None:
    """Without allow_zero a duration must be finite and > 0."""
    with pytest.raises(ConfigError) as info:
        seconds("timeout", value)
    assert str(info.value) == f"timeout: must be a finite number of seconds > 0 (got {value!r})"


@pytest.mark.parametrize("value", [-1, -0.5, math.inf, math.nan])
def test_allow_zero_still_refuses_negative_and_non_finite(value: float) -> None:
    """With allow_zero the bound in the message is >= 0."""
    with pytest.raises(ConfigError) as info:
        seconds("delay", value, allow_zero=True)
    assert str(info.value) == f"delay: must be a finite number of seconds >= 0 (got {value!r})"


def test_allow_zero_accepts_zero() -> None:
    """0 is accepted with allow_zero, as a float."""
    assert seconds("delay", 0, allow_zero=True) == 0.0
    assert type(seconds("delay", 0, allow_zero=True)) is float


@pytest.mark.parametrize(("value", "expected"), [(1, 1.0), (0.25, 0.25), (1e-9, 1e-9)])
def test_positive_numbers_come_back_as_floats(value: float, expected: float) -> None:
    """A valid duration is returned as a float of the same value."""
    result = check_seconds("timeout", value)
    assert (result, type(result)) == (expected, float)


class TestExactlyOne:
    def test_one_source_passes(self) -> None:
        exactly_one(config=None, url="redis://h", client=None)

    @pytest.mark.parametrize(
        ("url", "client", "got"), [(None, None, "none"), ("redis://h", object(), "url, client")]
    )
    def test_none_or_several_name_what_was_given(
        self, url: object, client: object, got: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            exactly_one(config=None, url=url, client=client)
        assert str(caught.value) == (
            f"config: give exactly one of config, url or client (got '{got}')"
        )
