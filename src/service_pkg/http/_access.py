"""The access log's fast path: one msgspec-encoded JSON line per request, no formatter.

The generic path (``logger.info(..., extra=...)`` through python-json-logger) costs about
90 µs per request on one core and halves the throughput (``prior-art-http-grpc.md`` §4.3), so
the line is built here: the same keys and order as the kit's JSON records
(``docs/logging.md``), the timestamp's seconds part cached, and written with one call. The
``service_pkg.http.access`` logger's level still gates it, so ``logging`` configuration turns
it off as usual.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

import msgspec

__all__ = ("ACCESS_LOGGER", "AccessLog")

ACCESS_LOGGER = "service_pkg.http.access"

_encode = msgspec.json.Encoder().encode


class AccessLog:
    """Writes access lines to ``stream`` (``sys.stdout`` when the server starts by default)."""

    __slots__ = ("_binary", "_logger", "_prefix", "_second", "_service", "_stream")

    def __init__(self, stream: IO[str] | None = None, *, service: str | None = None) -> None:
        self._stream: Any = sys.stdout if stream is None else stream
        # Bytes straight to the buffer skip a decode; text streams (tests) get str.
        self._binary: Any = getattr(self._stream, "buffer", None)
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._service = service
        self._second = -1
        self._prefix = ""

    def enabled(self) -> bool:
        """Whether a line would be written (the logger's level allows INFO)."""
        return self._logger.isEnabledFor(logging.INFO)

    def _timestamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"

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
        record: dict[str, object] = {
            "timestamp": self._timestamp(time.time()),
            "level": "INFO",
            "logger": ACCESS_LOGGER,
            "message": "request completed",
            "correlation_id": correlation_id,
        }
        if self._service is not None:
            record["service"] = self._service
        record["method"] = method
        record["route"] = route
        record["path"] = path
        record["status"] = status
        record["duration_ms"] = round(duration_ms, 3)
        record["user_agent"] = user_agent
        line = _encode(record) + b"\n"
        try:
            if self._binary is not None:
                self._binary.write(line)
                self._binary.flush()
            else:
                self._stream.write(line.decode())
                self._stream.flush()
        except (OSError, ValueError):
            # A closed or broken stdout must not fail requests; logging reports its own
            # handler errors the same way (Handler.handleError).
            self._logger.debug("access line lost", exc_info=True)
