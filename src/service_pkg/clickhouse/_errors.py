"""``need_reconnect`` and ``need_wait``: the Go error tables, for every transport's exceptions."""

from __future__ import annotations

import re
from collections.abc import Iterator

from clickhouse_driver import errors as driver_errors
from clickhouse_sqlalchemy.drivers.http.exceptions import HTTPException

__all__ = ("RECONNECT_CODES", "WAIT_CODES", "error_code", "need_reconnect", "need_wait")

RECONNECT_CODES: dict[int, str] = {
    60: "UNKNOWN_TABLE",
    81: "UNKNOWN_DATABASE",
    3: "UNEXPECTED_END_OF_FILE",
    159: "TIMEOUT_EXCEEDED",
    209: "SOCKET_TIMEOUT",
    210: "NETWORK_ERROR",
    425: "SYSTEM_ERROR",
    999: "KEEPER_EXCEPTION",
    1002: "UNKNOWN_EXCEPTION",
}
"""Server codes after which the Go original reconnects (``NeedReconnect``), with their names."""

WAIT_CODES: dict[int, float] = {
    201: 5.0,  # QUOTA_EXCEEDED
    202: 1.0,  # TOO_MANY_SIMULTANEOUS_QUERIES
    203: 1.0,  # NO_FREE_CONNECTION
    252: 2.0,  # TOO_MANY_PARTS
    285: 2.0,  # TOO_FEW_LIVE_REPLICAS
}
"""Server codes after which the Go original waits (``NeedWait``), with the seconds to wait."""

_CODE_IN_TEXT = re.compile(r"Code: (\d+)")


def _is_asynch(error: BaseException) -> bool:
    # Recognised by module instead of importing asynch: importing asynch 0.2.5 emits a
    # DeprecationWarning, and the kit's own transports do not need it.
    return type(error).__module__.startswith("asynch.")


def _carries_code(error: BaseException) -> bool:
    """A driver exception whose ``.code`` is a ClickHouse error code (not an HTTP status)."""
    return isinstance(error, driver_errors.Error) or _is_asynch(error)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything wrapped in it, outermost first, each once.

    Wrappers differ per transport: SQLAlchemy's ``DBAPIError.orig``, clickhouse-sqlalchemy's
    ``DatabaseException.orig`` (not a ``SQLAlchemyError``), clickhouse-driver's DB-API
    ``OperationalError(orig)`` (the original is its first argument), and ``raise ... from``.
    """
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        nested = [orig] if isinstance(orig, BaseException) else []
        nested += [arg for arg in current.args[:1] if isinstance(arg, BaseException)]
        nested += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo.extend(nested)


def _own_code(error: BaseException) -> int | None:
    if _carries_code(error):
        code = getattr(error, "code", None)
        if isinstance(code, int):
            return code
    if isinstance(error, HTTPException):
        # The HTTP transport's .code is the HTTP status; ClickHouse 18.16 puts its own code
        # only in the body text ("Code: 60, e.displayText() = ...").
        match = _CODE_IN_TEXT.search(str(error))
        if match:
            return int(match.group(1))
    return None


def error_code(error: BaseException | None) -> int | None:
    """The ClickHouse error code carried by ``error`` (or anything it wraps); else ``None``.

    ``None`` for ``None`` and for errors that did not come from ClickHouse (the Go original
    returned a stub exception with code 7777 in some cases and ``nil`` in others, bug #24).
    """
    if error is None:
        return None
    for item in _chain(error):
        code = _own_code(item)
        if code is not None:
            return code
    return None


def _is_transport_failure(error: BaseException) -> bool:
    return any(
        isinstance(item, TimeoutError | EOFError | OSError)
        and not _carries_code(item)  # a server answer is never a network fault
        for item in _chain(error)
    )


def need_reconnect(error: BaseException | None) -> bool:
    """Whether the caller should :meth:`~service_pkg.clickhouse.ClickHouse.reconnect`.

    True for the server codes in :data:`RECONNECT_CODES` (the Go table) and, whatever the
    error's type, for timeouts (``TimeoutError``: Go's ``context.DeadlineExceeded``), an
    unexpected end of stream (``EOFError``: Go's ``io.ErrUnexpectedEOF``) and network errors
    (``OSError``: refused or reset connections, the HTTP transport's ``requests`` errors).
    False for ``None``, ``asyncio.CancelledError`` and everything else. Never raises.

    .. versionadded:: 0.2.0
    """
    if error is None:
        return False
    code = error_code(error)
    if code is not None and code in RECONNECT_CODES:
        return True
    return _is_transport_failure(error)


def need_wait(error: BaseException | None) -> tuple[bool, float]:
    """Whether to wait before retrying, and how many seconds: the Go ``NeedWait`` table.

    ``(True, seconds)`` for the codes in :data:`WAIT_CODES`, ``(False, 0.0)`` for every other
    error and for ``None``. Neither function sleeps or reconnects: the caller does.

    .. versionadded:: 0.2.0
    """
    code = error_code(error)
    if code is not None and code in WAIT_CODES:
        return True, WAIT_CODES[code]
    return False, 0.0
