"""The JSON and the text formatter that :func:`service_pkg.logs.configure` installs.

Both read the same pieces of a record: a UTC timestamp with milliseconds, the level, the logger
name, the message, the correlation id and the ``extra=`` fields, which are every record
attribute that the standard :class:`logging.LogRecord` does not define.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter

from ._correlation import CORRELATION_ID

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Attributes every LogRecord has (taskName exists from 3.12 on), plus what formatters add,
# plus uvicorn's ``color_message`` (the message again with ANSI colour codes, for uvicorn's
# own console formatter): escape codes have no place in a JSON line.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "asctime",
    "color_message",
    "correlation_id",
    "message",
    "taskName",
}

# Keys of the JSON schema that an ``extra=`` field may not overwrite.
_SCHEMA_KEYS = frozenset(
    {
        "correlation_id",
        "exc_info",
        "level",
        "logger",
        "message",
        "service",
        "span_id",
        "stack_info",
        "timestamp",
        "trace_id",
    },
)

# Set by service_pkg.tracing (install_log_correlation): returns (trace_id, span_id) while a
# span records. None without tracing, so the formatters then pay one `is None` per record and
# never import OpenTelemetry.
_trace_ids: Callable[[], tuple[str, str] | None] | None = None


def set_trace_ids_hook(hook: Callable[[], tuple[str, str] | None] | None) -> None:
    """Install (or with ``None`` remove) the source of ``trace_id`` / ``span_id``."""
    global _trace_ids  # noqa: PLW0603 - one process-wide hook, read on every record
    _trace_ids = hook


def trace_ids_hook() -> Callable[[], tuple[str, str] | None] | None:
    """The hook installed now, if any."""
    return _trace_ids


# A text value that needs no quotes (if also printable): no whitespace, quote, backslash, "=".
_BARE_VALUE = re.compile(r'[^\s"\\=]+')


def format_timestamp(created: float) -> str:
    """Render a record's creation time as UTC ISO-8601 with milliseconds and ``Z``."""
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def record_correlation_id(record: logging.LogRecord) -> object:
    """Return the record's correlation id: an explicit ``extra=`` value, else the context's."""
    if "correlation_id" in record.__dict__:
        return record.__dict__["correlation_id"]
    return CORRELATION_ID.get()


def field_name(key: object) -> str:
    """Return the output name of an ``extra=`` key: ``extra_<key>`` for a schema key."""
    name = str(key)
    return f"extra_{name}" if name in _SCHEMA_KEYS else name


def extra_fields(record: logging.LogRecord) -> Iterator[tuple[str, object]]:
    """Yield the ``extra=`` fields of a record under their output names, in given order."""
    for key, value in record.__dict__.items():
        if key not in _RECORD_ATTRS and not key.startswith("_"):
            yield field_name(key), value


class KitJsonFormatter(JsonFormatter):
    """One JSON object per record, keys in the schema order of ``docs/logging.md``.

    ``timestamp``, ``level``, ``logger``, ``message``, ``correlation_id``, ``trace_id`` and
    ``span_id`` (only while a span records and :mod:`service_pkg.tracing` installed its log
    hook), ``service`` (only when configured), the ``extra=`` fields, then ``exc_info`` and
    ``stack_info`` when present.
    An ``extra=`` field named like a schema key is renamed ``extra_<key>`` so it can never
    forge the level, the logger or the timestamp.
    """

    def __init__(self, *, service: str | None = None) -> None:
        """Create the formatter; ``service`` is added to every record when given."""
        super().__init__(json_ensure_ascii=False)
        self._service = service

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        """Fill ``log_data`` in schema order (overrides python-json-logger's field logic)."""
        log_data["timestamp"] = format_timestamp(record.created)
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data["correlation_id"] = record_correlation_id(record)
        if _trace_ids is not None and (ids := _trace_ids()) is not None:
            log_data["trace_id"], log_data["span_id"] = ids
        if self._service is not None:
            log_data["service"] = self._service
        fields = dict(message_dict)  # a dict logged as the message: its items are fields too
        exc_info = fields.pop("exc_info", None)
        stack_info = fields.pop("stack_info", None)
        for key, value in fields.items():
            log_data[field_name(key)] = value
        log_data.update(extra_fields(record))
        if exc_info:
            log_data["exc_info"] = exc_info
        if stack_info:
            log_data["stack_info"] = stack_info


def _text_value(value: object) -> str:
    if isinstance(value, str):
        bare = value.isprintable() and _BARE_VALUE.fullmatch(value)
        return value if bare else json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool | int | float | list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return _text_value(str(value))


class KitTextFormatter(logging.Formatter):
    """One readable line per record, for development.

    ``<timestamp> <LEVEL> <logger> <message> key=value ...``: the correlation id (when bound),
    the service (when configured) and the ``extra=`` fields follow as ``key=value``; a value
    with spaces, quotes or ``=`` is JSON-quoted. A traceback follows on the next lines.
    """

    def __init__(self, *, service: str | None = None) -> None:
        """Create the formatter; ``service`` is appended to every line when given."""
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line, plus a traceback or stack when it carries one."""
        record.message = record.getMessage()
        parts = [format_timestamp(record.created), record.levelname, record.name, record.message]
        pairs: list[tuple[str, object]] = []
        correlation_id = record_correlation_id(record)
        if correlation_id is not None:
            pairs.append(("correlation_id", correlation_id))
        if _trace_ids is not None and (ids := _trace_ids()) is not None:
            pairs.extend((("trace_id", ids[0]), ("span_id", ids[1])))
        if self._service is not None:
            pairs.append(("service", self._service))
        pairs.extend(extra_fields(record))
        parts.extend(f"{key}={_text_value(value)}" for key, value in pairs)
        text = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = f"{text}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return text
