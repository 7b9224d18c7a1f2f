"""``ClickHouseConfig``: the Go ``Clickhouse`` struct with its defaults, validated."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from sqlalchemy import URL

from service_pkg._checks import check_seconds, seconds
from service_pkg.exceptions import ConfigError

__all__ = ("MASK", "ClickHouseConfig")

MASK = "***"
_DEFAULT_PORTS = {"native": 9000, "http": 8123}


def _int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, value, f"must be an int >= {minimum}")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ClickHouseConfig:
    """How to reach ClickHouse: address, login, pool and timeouts, with the Go defaults.

    The Go defaults: dial timeout 3 s, one open and one idle connection, idle limit 30 min,
    lifetime 24 h, LZ4 compression, native protocol. ``transport="http"`` selects the HTTP
    interface (port 8123) instead. Zero never means "no limit": ``None`` does, where allowed.
    The password never appears in ``repr()``, :attr:`address` or an error.

    Raises:
        ConfigError: a field is invalid; ``field`` names it, ``value`` is the masked value.

    .. versionadded:: 0.2.0
    """

    host: str = "localhost"
    """Server host (Go ``Host``)."""
    port: int | None = None
    """Server port (Go ``Port``); 9000 for ``native``, 8123 for ``http`` when ``None``."""
    user: str = "default"
    """Login (Go ``Username``)."""
    password: str = ""
    """Password (Go ``Password``); any characters."""
    database: str | None = None
    """Database (Go ``Database``, passed only when set); the server's default otherwise."""
    transport: Literal["native", "http"] = "native"
    """``native`` (clickhouse-driver, TCP) or ``http`` (clickhouse-sqlalchemy's HTTP driver)."""
    compression: bool = True
    """LZ4 compression of the native protocol (Go: always on). Ignored by ``http``."""
    dial_timeout: float = 3.0
    """Seconds to connect (Go ``DialTimeout``, default 3 s)."""
    query_timeout: float = 300.0
    """Seconds to wait for the server's next packet (clickhouse-driver
    ``send_receive_timeout``; the HTTP read timeout); a slower query raises ``TimeoutError``."""
    max_open: int = 1
    """Connections open at most (Go ``MaxOpenConn``, default 1); also the number of worker
    threads, so more concurrent calls wait on the event loop, not in a thread."""
    max_idle: int = 1
    """Connections kept open while unused (Go ``MaxIdleConn``, default 1); ``<= max_open``."""
    conn_max_idle_time: float | None = 1800.0
    """Seconds an unused connection is kept (Go ``ConnMaxIdleTime``, default 30 min)."""
    conn_max_lifetime: float | None = 86400.0
    """Seconds after which a connection is replaced (Go ``ConnMaxLifeTime``, default 24 h)."""
    pool_timeout: float = 30.0
    """Seconds a call waits for a free connection in the pool."""
    ping_timeout: float = 2.0
    """Seconds the ``SELECT 1`` of start, health and :meth:`reconnect` may take after the
    connection is open (Go's 2 s start ping)."""

    def __post_init__(self) -> None:  # noqa: C901 - one branch per field
        """Validate every field."""
        for name in ("host", "user"):
            value: object = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(name, value, "must be a non-empty str")
        password: object = self.password
        if not isinstance(password, str):
            raise ConfigError("password", MASK, "must be a str")
        database: object = self.database
        if database is not None and (not isinstance(database, str) or not database):
            raise ConfigError("database", database, "must be None or a non-empty str")
        if self.transport not in _DEFAULT_PORTS:
            raise ConfigError("transport", self.transport, "must be 'native' or 'http'")
        port: object = self.port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536  # noqa: PLR2004
        ):
            raise ConfigError("port", port, "must be an int from 1 to 65535")
        if not isinstance(self.compression, bool):
            raise ConfigError("compression", self.compression, "must be a bool")
        _int("max_open", self.max_open, 1)
        _int("max_idle", self.max_idle, 1)
        if self.max_idle > self.max_open:
            raise ConfigError("max_idle", self.max_idle, f"must be <= max_open ({self.max_open})")
        for name in ("dial_timeout", "query_timeout", "pool_timeout", "ping_timeout"):
            seconds(name, getattr(self, name))
        for name in ("conn_max_idle_time", "conn_max_lifetime"):
            check_seconds(name, getattr(self, name), allow_none=True)

    def __repr__(self) -> str:
        """Show every field with the password as ``***``."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            shown.append(f"{item.name}={MASK if item.name == 'password' and value else value!r}")
        return f"ClickHouseConfig({', '.join(shown)})"

    __str__ = __repr__

    @property
    def effective_port(self) -> int:
        """The port, or the transport's default."""
        return self.port or _DEFAULT_PORTS[self.transport]

    @property
    def sqlalchemy_url(self) -> URL:
        """The clickhouse-sqlalchemy URL (holds the password; never print it)."""
        timeout = f"{self.dial_timeout:g}"
        if self.transport == "native":
            query = {
                "connect_timeout": timeout,
                "send_receive_timeout": f"{self.query_timeout:g}",
            }
            if self.compression:
                query["compression"] = "lz4"
        else:
            query = {"timeout": f"{self.query_timeout:g}"}
        return URL.create(
            f"clickhouse+{self.transport}",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.effective_port,
            database=self.database or "default",
            query=query,
        )

    @property
    def address(self) -> str:
        """``clickhouse+native://user@host:port/db`` with the password masked."""
        url = URL.create(
            f"clickhouse+{self.transport}",
            username=self.user,
            password="x" if self.password else None,
            host=self.host,
            port=self.effective_port,
            database=self.database or "default",
        )
        return url.render_as_string(hide_password=True)
