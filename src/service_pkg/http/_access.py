"""The access log's fast path: one msgspec-encoded JSON line per request, no formatter.

The generic path (``logger.info(..., extra=...)`` through python-json-logger) costs about
90 µs per request on one core and halves the throughput (``prior-art-http-grpc.md`` §4.3), so
the line is built here: the same keys and order as the kit's JSON records
(``docs/logging.md``), the timestamp's seconds part cached, and written with one call. The
``service_pkg.http.access`` logger's level still gates it, so ``logging`` configuration turns
it off as usual.
"""

from __future__ import annotations

import asyncio
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

    __slots__ = ("_binary", "_logger", "_pending", "_prefix", "_second", "_service", "_stream")

    def __init__(self, stream: IO[str] | None = None, *, service: str | None = None) -> None:
        self._stream: Any = sys.stdout if stream is None else stream
        # Bytes straight to the buffer skip a decode; text streams (tests) get str.
        self._binary: Any = getattr(self._stream, "buffer", None)
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._service = service
        self._second = -1
        self._prefix = ""
        self._pending = False

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
            else:
                self._stream.write(line.decode())
        except (OSError, ValueError) as exc:
            self._lost(exc)
            return
        if not self._pending:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        # One flush per event-loop iteration instead of one per line: under load many
        # requests finish in one iteration, and the flush (a write syscall) was half of the
        # line's cost. The lines still reach the OS before the loop does anything else.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._pending = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Flush what was written (the server calls it once per loop iteration)."""
        self._pending = False
        try:
            (self._binary or self._stream).flush()
        except (OSError, ValueError) as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        # A closed or broken stdout must not fail requests; logging treats its own handler
        # errors the same way (Handler.handleError).
        self._logger.debug("access line lost", exc_info=exc)
