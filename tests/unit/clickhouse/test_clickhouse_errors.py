"""need_reconnect / need_wait / error_code: the Go tables, for every transport's exception types."""

from __future__ import annotations

import asyncio

import pytest
from clickhouse_driver import errors as driver_errors
from clickhouse_driver.dbapi.errors import OperationalError
from clickhouse_sqlalchemy.drivers.http.exceptions import HTTPException
from clickhouse_sqlalchemy.exceptions import DatabaseException

from service_pkg.clickhouse import (
    RECONNECT_CODES,
    WAIT_CODES,
    error_code,
    need_reconnect,
    need_wait,
)


class AsynchServerError(Exception):
    """Stands for asynch.errors.ServerException (recognised by module; importing asynch warns)."""

    __module__ = "asynch.errors"

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def native(code: int) -> DatabaseException:
    """What clickhouse-sqlalchemy's native transport raises for a server error."""
    return DatabaseException(driver_errors.ServerException("DB::Exception: ...", code))


def http(code: int, status: int = 500) -> DatabaseException:
    """What the HTTP transport raises: the code is only in the body text."""
    error = HTTPException(f"Code: {code}, e.displayText() = DB::Exception: ...")
    error.code = status
    return DatabaseException(error)


def test_the_reconnect_table_is_the_go_table() -> None:
    assert set(RECONNECT_CODES) == {60, 81, 3, 159, 209, 210, 425, 999, 1002}


def test_the_wait_table_is_the_go_table() -> None:
    assert WAIT_CODES == {201: 5.0, 202: 1.0, 203: 1.0, 252: 2.0, 285: 2.0}


@pytest.mark.parametrize("code", sorted(RECONNECT_CODES))
@pytest.mark.parametrize("make", [native, http], ids=["native", "http"])
def test_reconnect_codes_need_a_reconnect_on_every_transport(make: object, code: int) -> None:
    error = make(code)  # type: ignore[operator]
    assert (error_code(error), need_reconnect(error), need_wait(error)) == (
        code,
        True,
        (False, 0.0),
    )


@pytest.mark.parametrize(("code", "wait"), sorted(WAIT_CODES.items()))
@pytest.mark.parametrize("make", [native, http], ids=["native", "http"])
def test_wait_codes_need_their_go_wait(make: object, code: int, wait: float) -> None:
    error = make(code)  # type: ignore[operator]
    assert (need_wait(error), need_reconnect(error)) == ((True, wait), False)


def test_the_http_status_is_not_taken_for_the_clickhouse_code() -> None:
    assert error_code(http(62, status=404)) == 62


def test_asynch_server_errors_are_classified_unwrapped() -> None:
    error = AsynchServerError("Code: 60. DB::Exception: ...", 60)
    assert (error_code(error), need_reconnect(error)) == (60, True)


def test_the_dbapi_operational_error_wrapper_is_looked_through() -> None:
    error = OperationalError(driver_errors.ServerException("x", 81))
    assert (error_code(error), need_reconnect(error)) == (81, True)


def test_a_cause_chain_is_looked_through() -> None:
    outer = RuntimeError("query failed")
    outer.__cause__ = driver_errors.ServerException("x", 202)
    assert need_wait(outer) == (True, 1.0)


def test_a_syntax_error_needs_neither() -> None:
    error = native(62)
    assert (need_reconnect(error), need_wait(error)) == (False, (False, 0.0))


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        OSError(110, "timed out"),
        EOFError("unexpected EOF"),
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(),
        driver_errors.NetworkError("refused"),
        driver_errors.SocketTimeoutError("timed out"),
    ],
    ids=repr,
)
def test_timeouts_and_network_errors_need_a_reconnect(error: BaseException) -> None:
    assert need_reconnect(error) is True
    assert need_reconnect(DatabaseException(error)) is True


@pytest.mark.parametrize(
    "error", [None, ValueError("x"), asyncio.CancelledError(), KeyError("k")], ids=repr
)
def test_none_and_foreign_errors_classify_consistently(error: BaseException | None) -> None:
    assert (error_code(error), need_reconnect(error), need_wait(error)) == (
        None,
        False,
        (False, 0.0),
    )


def test_a_self_referencing_chain_terminates() -> None:
    error = ValueError("loop")
    error.__context__ = error
    assert need_reconnect(error) is False
