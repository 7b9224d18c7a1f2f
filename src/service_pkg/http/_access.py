"""The HTTP access line: one msgspec-encoded JSON line per request, no formatter.

The line is built and written by the shared fast path (``service_pkg._access_line``): the
kit's leading JSON keys, then ``method``, ``route``, ``path``, ``status``, ``duration_ms``,
``user_agent``. The ``service_pkg.http.access`` logger's level still gates it, so ``logging``
configuration turns it off as usual.
"""

from __future__ import annotations

from typing import IO

from service_pkg._access_line import LineWriter

__all__ = ("ACCESS_LOGGER", "AccessLog")

ACCESS_LOGGER = "service_pkg.http.access"


class AccessLog:
    """Writes access lines to ``stream`` (``sys.stdout`` when the server starts by default)."""

    __slots__ = ("_writer",)

    def __init__(self, stream: IO[str] | None = None, *, service: str | None = None) -> None:
        self._writer = LineWriter(stream, ACCESS_LOGGER, "request completed", service)

    def enabled(self) -> bool:
        """Whether a line would be written (the logger's level allows INFO)."""
        return self._writer.enabled()

    def write(  # noqa: PLR0917 - one field per argument keeps the hot path free of a dict
        self,
        method: str,
        route: str | None,
        path: str,
        status: int,
        duration_ms: float,
        user_agent: str | None,
        correlation_id: str,
    ) -> None:
        """Write one line; an I/O error is reported once by ``logging`` and swallowed."""
        record = self._writer.head(correlation_id)
        record["method"] = method
        record["route"] = route
        record["path"] = path
        record["status"] = status
        record["duration_ms"] = round(duration_ms, 3)
        record["user_agent"] = user_agent
        self._writer.write(record)

    def flush(self) -> None:
        """Flush what was written (the server calls it once per loop iteration)."""
        self._writer.flush()
