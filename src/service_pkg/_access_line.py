"""The access logs' fast path, shared by HTTP and gRPC: one msgspec-encoded JSON line, no formatter.

The generic path (a ``logging`` record through python-json-logger) costs 60-90 µs per request
on one core and halves a server's throughput (``prior-art-http-grpc.md`` §4.3), so the line is
built here: the same leading keys and order as the kit's JSON records (``docs/logging.md``),
the timestamp's seconds part cached, written with one call and flushed once per event-loop
iteration. The access logger's level still gates it (:meth:`LineWriter.enabled`), so
``logging`` configuration turns it off as usual.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import IO, Any

import msgspec

__all__ = ("LineWriter",)

_encode = msgspec.json.Encoder().encode


class LineWriter:
    """Writes JSON lines to ``stream`` (``sys.stdout`` when ``None``) for one access logger.

    Callers build the record with :meth:`head` (the common leading keys), add their own
    fields in order, and hand it to :meth:`write`.
    """

    __slots__ = (
        "_binary",
        "_logger",
        "_message",
        "_name",
        "_pending",
        "_prefix",
        "_second",
        "_service",
        "_stream",
    )

    def __init__(
        self, stream: IO[str] | None, logger: str, message: str, service: str | None
    ) -> None:
        self._stream: Any = sys.stdout if stream is None else stream
        # Bytes straight to the buffer skip a decode; text streams (tests) get str.
        self._binary: Any = getattr(self._stream, "buffer", None)
        self._logger = logging.getLogger(logger)
        self._name = logger
        self._message = message
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

    def head(self, correlation_id: str | None) -> dict[str, object]:
        """The leading keys of a line, timestamped now; the caller adds its fields."""
        record: dict[str, object] = {
            "timestamp": self._timestamp(time.time()),
            "level": "INFO",
            "logger": self._name,
            "message": self._message,
            "correlation_id": correlation_id,
        }
        if self._service is not None:
            record["service"] = self._service
        return record

    def write(self, record: dict[str, object]) -> None:
        """Write one line; an I/O error is reported at DEBUG by the logger and swallowed."""
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
        """Flush what was written (scheduled once per loop iteration while lines come)."""
        self._pending = False
        try:
            (self._binary or self._stream).flush()
        except (OSError, ValueError) as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        # A closed or broken stdout must not fail requests; logging treats its own handler
        # errors the same way (Handler.handleError).
        self._logger.debug("access line lost", exc_info=exc)
