"""``configure()``: the one place that installs a log handler."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

from service_pkg.exceptions import ConfigError

from ._formatters import KitJsonFormatter, KitTextFormatter

_LEVEL_RULE = (
    "must be a level name (debug, info, warning/warn, error, critical/fatal, notset) or an int >= 0"
)

# Serialises replace-and-install so two concurrent configure() calls leave one handler.
_install_lock = threading.Lock()


class KitHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure` installs; its type is how a later call finds it."""


def parse_level(level: int | str) -> int:
    """Turn a level name (any case) or a non-negative int into a level number.

    Raises:
        ConfigError: Unknown name, negative number or another type (``field == "level"``).
    """
    if isinstance(level, bool):
        raise ConfigError("level", level, _LEVEL_RULE)
    if isinstance(level, int):
        if level < 0:
            raise ConfigError("level", level, _LEVEL_RULE)
        return level
    if isinstance(level, str):
        number = logging.getLevelNamesMapping().get(level.strip().upper())
        if number is not None:
            return number
    raise ConfigError("level", level, _LEVEL_RULE)


def configure(
    *,
    level: int | str = "INFO",
    json: bool = True,
    service: str | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the kit's log handler on the root logger and set the root level.

    This is the only function of the kit that touches handlers. It adds exactly one handler
    to the root logger. A handler that an earlier ``configure()`` call installed is removed
    (and closed) first, so calling it again changes the format or level without duplicating
    output. Handlers installed by anything else are never touched.

    Args:
        level: Root logger level: a name in any case (``"debug"``, ``"info"``, ``"warning"``
            or ``"warn"``, ``"error"``, ``"critical"`` or ``"fatal"``, or a name registered
            with :func:`logging.addLevelName`) or a non-negative int.
        json: ``True`` writes one JSON object per line (the schema in ``docs/logging.md``);
            ``False`` writes a readable one-line text format for development.
        service: When given, added to every record as ``service``.
        stream: Where to write; ``sys.stdout`` as it is at the time of the call when ``None``.

    Returns:
        The installed handler (remove it from the root logger to undo the call).

    Raises:
        ConfigError: ``level`` is not a known level (``field == "level"``), or ``service`` is
            an empty string (``field == "service"``). Nothing is changed then.

    .. versionadded:: 0.1.0
    """
    number = parse_level(level)
    if service is not None and not service.strip():
        raise ConfigError("service", service, "must be a non-empty string when given")
    handler = KitHandler(sys.stdout if stream is None else stream)
    formatter = KitJsonFormatter if json else KitTextFormatter
    handler.setFormatter(formatter(service=service))
    root = logging.getLogger()
    with _install_lock:
        for previous in [h for h in root.handlers if isinstance(h, KitHandler)]:
            root.removeHandler(previous)
            previous.close()
        root.addHandler(handler)
        root.setLevel(number)
    return handler
