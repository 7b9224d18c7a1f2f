"""Shared validation for every config and declaration: durations, buckets, sources."""

from __future__ import annotations

import math

from service_pkg.exceptions import ConfigError

__all__ = ("bucket_bounds", "check_seconds", "exactly_one", "seconds")


def check_seconds(
    field: str,
    value: object,
    *,
    allow_none: bool = False,
    allow_zero: bool = False,
) -> float | None:
    """Validate a duration in seconds; return it as a float (``None`` if allowed and given).

    Raises:
        ConfigError: not a finite number, negative, zero without ``allow_zero``, or ``None``
            without ``allow_none``; ``.field`` is ``field``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, "must be a number of seconds")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(field, value, f"must be a finite number of seconds {bound}")
    return float(value)


def seconds(field: str, value: object, *, allow_zero: bool = False) -> float:
    """:func:`check_seconds` for a value that may not be ``None``."""
    checked = check_seconds(field, value, allow_zero=allow_zero)
    assert checked is not None  # noqa: S101 - allow_none is False
    return checked


def bucket_bounds(field: str, value: object) -> tuple[float, ...]:
    """Histogram bucket bounds: a non-empty, strictly increasing tuple of finite seconds."""
    if not isinstance(value, tuple) or not value:
        raise ConfigError(field, value, "must be a non-empty tuple of seconds")
    for bound in value:
        if (
            isinstance(bound, bool)
            or not isinstance(bound, int | float)
            or not math.isfinite(bound)
        ):
            raise ConfigError(field, value, "every bucket must be a finite number of seconds")
    if list(value) != sorted(set(value)):
        raise ConfigError(field, value, "buckets must be strictly increasing")
    return tuple(float(b) for b in value)


def exactly_one(**sources: object) -> None:
    """A component factory's rule: exactly one of its sources (the first is the field).

    ``exactly_one(config=config, url=url, client=client)``.

    Raises:
        ConfigError: none or several given; the value names the ones given.
    """
    names = list(sources)
    given = [name for name, value in sources.items() if value is not None]
    if len(given) != 1:
        choices = f"{', '.join(names[:-1])} or {names[-1]}"
        raise ConfigError(names[0], ", ".join(given) or "none", f"give exactly one of {choices}")
