"""Fixtures for integration tests: the real servers that `scripts/servers.sh` starts.

Each `*_address` fixture yields the server's `(host, port)` once a TCP connection to it succeeds.
When it does not, the test is skipped with a reason naming host:port, except when the `CI`
environment variable is set (non-empty): then the test fails, so CI never passes by skipping.
"""

import os
import socket
from collections.abc import Callable

import pytest

Address = tuple[str, int]

REDIS: Address = ("127.0.0.1", 6379)
POSTGRES: Address = ("127.0.0.1", 5432)
CLICKHOUSE_HTTP: Address = ("127.0.0.1", 8123)
CLICKHOUSE_NATIVE: Address = ("127.0.0.1", 9000)

CONNECT_TIMEOUT = 3.0


def require_server(name: str, address: Address) -> Address:
    """Return `address` if it accepts a TCP connection; otherwise skip, or fail when CI is set."""
    host, port = address
    try:
        with socket.create_connection(address, timeout=CONNECT_TIMEOUT):
            return address
    except OSError as exc:
        reason = f"{name} is unreachable at {host}:{port} ({exc}); start it with `make servers`"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} [CI is set: an unreachable server is a failure]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(name="require_server")
def _require_server() -> Callable[[str, Address], Address]:
    """The `require_server` helper, for a test that needs a server not covered below."""
    return require_server


@pytest.fixture(name="redis_address", scope="session")
def _redis_address() -> Address:
    return require_server("Redis", REDIS)


@pytest.fixture(name="postgres_address", scope="session")
def _postgres_address() -> Address:
    return require_server("PostgreSQL", POSTGRES)


@pytest.fixture(name="clickhouse_http_address", scope="session")
def _clickhouse_http_address() -> Address:
    return require_server("ClickHouse (HTTP)", CLICKHOUSE_HTTP)


@pytest.fixture(name="clickhouse_native_address", scope="session")
def _clickhouse_native_address() -> Address:
    return require_server("ClickHouse (native)", CLICKHOUSE_NATIVE)
