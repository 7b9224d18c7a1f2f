"""``PostgresConfig``: the Go ``Configs`` fields mapped to SQLAlchemy and asyncpg, validated."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import URL
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service_pkg._checks import check_seconds, seconds
from service_pkg.exceptions import ConfigError

__all__ = ("MASK", "PostgresConfig", "mask_url")

MASK = "***"
"""What a password is replaced with wherever the kit prints an address."""

SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})
_POSTGRES_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_SQLITE_DRIVERS = {"sqlite+aiosqlite": "sqlite+aiosqlite"}
_SEPARATE = ("host", "port", "user", "password", "database", "sslmode")
_HINT_ENCODE = (
    "special characters in the user name or password must be percent-encoded, e.g. "
    'urllib.parse.quote(password, safe=""), or give host=, user=, password=... instead of url='
)


def mask_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``; never raises, whatever ``url`` holds.

    A string SQLAlchemy cannot parse is shown as its scheme and the part after the last
    ``@`` only: everything in between may be a password.
    """
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        return parsed.render_as_string(hide_password=True)
    # Unparsable, or an unencoded "@" in the password: all up to the last "@" may be secret.
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        return MASK
    return f"{scheme}://{MASK}@{rest.rpartition('@')[2]}" if "@" in rest else f"{scheme}://"


def _positive_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, value, f"must be an int >= {minimum}")


def _optional_str(name: str, value: object, *, secret: bool = False) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(name, MASK if secret else type(value), "must be a str")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PostgresConfig:
    """How to reach PostgreSQL (or an embedded SQLite) and how to size the pool.

    Give either ``url=`` (what services read from their environment; a
    ``postgresql://``/``postgresql+asyncpg://`` or ``sqlite+aiosqlite://`` URL, special
    characters percent-encoded) or the separate fields ``host``, ``port``, ``user``,
    ``password``, ``database``, ``sslmode`` (any characters; the URL is built with
    ``sqlalchemy.URL.create``, Go bug #25). Both at once is a :class:`ConfigError`.

    Durations are seconds. Zero never means "forever": a limit that should not exist is
    ``None`` (``command_timeout``, ``statement_timeout``, ``max_idle``, ``max_lifetime``).
    The password is never shown: ``repr()`` and :attr:`address` mask it.

    Raises:
        ConfigError: a field is invalid; ``field`` names it, ``value`` is the masked value.

    .. versionadded:: 0.2.0
    """

    url: str | None = None
    """The whole address as a URL; exclusive with the separate fields below."""
    host: str | None = None
    """Server host name or address (Go ``Host``); ``localhost`` when no ``url`` is given."""
    port: int | None = None
    """Server port (Go ``Port``); 5432 when no ``url`` is given."""
    user: str | None = None
    """Role to log in as (Go ``Username``); ``postgres`` when no ``url`` is given."""
    password: str | None = None
    """The role's password (Go ``Password``); any characters."""
    database: str | None = None
    """Database name (Go ``Database``); the server's default (the role's name) if ``None``."""
    sslmode: str | None = None
    """libpq ``sslmode`` (Go ``SSLMode``): ``disable``, ``allow``, ``prefer``, ``require``,
    ``verify-ca`` or ``verify-full``; ``None`` is asyncpg's default (``prefer``)."""
    application_name: str = "service-pkg"
    """``application_name`` of every connection, shown in ``pg_stat_activity``."""
    pool_size: int = 5
    """Connections the pool keeps open (SQLAlchemy ``pool_size``; Go ``MaxOpenedConnections``
    is ``pool_size + max_overflow``)."""
    max_overflow: int = 10
    """Extra connections opened under load and closed when returned."""
    pool_timeout: float = 30.0
    """Seconds a caller waits for a free connection before ``TimeoutError``."""
    max_idle: float | None = 1800.0
    """Seconds a pooled connection may sit unused before it is replaced on its next checkout
    (Go ``ConnectionMaxIdleTime``; pgx's default 30 min). ``None``: no idle limit."""
    max_lifetime: float | None = 3600.0
    """Seconds after which a connection is replaced (SQLAlchemy ``pool_recycle``; Go
    ``ConnectionMaxLifeTime``; pgx's default 1 h). ``None``: no lifetime limit."""
    pre_ping: bool = True
    """Test each connection on checkout and replace it if dead (SQLAlchemy ``pool_pre_ping``)."""
    connect_timeout: float = 10.0
    """Seconds to open one connection (Go ``ConnectTimeout``; asyncpg ``timeout``)."""
    command_timeout: float | None = 30.0
    """Client-side seconds per statement (asyncpg ``command_timeout``); ``None``: no limit."""
    statement_timeout: float | None = None
    """Server-side ``statement_timeout`` in seconds (sent in milliseconds); ``None``: the
    server's setting."""
    start_attempts: int = 3
    """How often start tries ``SELECT 1`` before it fails (only refused or timed-out
    connections are retried; a wrong password or a missing database fails at once)."""
    start_backoff: float = 0.5
    """Seconds between start attempts (doubling)."""

    def __post_init__(self) -> None:
        """Validate every field; the URL is parsed here, so a bad one fails at construction."""
        if self.url is not None:
            self._check_url()
        else:
            self._check_fields()
        if not isinstance(self.application_name, str):
            raise ConfigError("application_name", type(self.application_name), "must be a str")
        _positive_int("pool_size", self.pool_size, minimum=1)
        _positive_int("max_overflow", self.max_overflow, minimum=0)
        _positive_int("start_attempts", self.start_attempts, minimum=1)
        seconds("pool_timeout", self.pool_timeout)
        seconds("connect_timeout", self.connect_timeout)
        seconds("start_backoff", self.start_backoff, allow_zero=True)
        for name in ("max_idle", "max_lifetime", "command_timeout", "statement_timeout"):
            check_seconds(name, getattr(self, name), allow_none=True)
        if not isinstance(self.pre_ping, bool):
            raise ConfigError("pre_ping", self.pre_ping, "must be a bool")

    def _check_url(self) -> None:
        url: object = self.url
        if not isinstance(url, str):
            raise ConfigError("url", type(url), "must be a str")
        given = [name for name in _SEPARATE if getattr(self, name) is not None]
        if given:
            raise ConfigError(
                "url",
                mask_url(url),
                f"give either url= or {', '.join(given)}, not both",
            )
        problem = _url_problem(url)
        if problem is not None:  # raised outside any except: no chain can carry the URL
            raise ConfigError("url", mask_url(url), problem)

    def _check_fields(self) -> None:
        for name in ("host", "user", "database"):
            _optional_str(name, getattr(self, name))
            if getattr(self, name) == "":
                raise ConfigError(name, "", "must not be empty (None means the default)")
        _optional_str("password", self.password, secret=True)
        port: object = self.port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536  # noqa: PLR2004
        ):
            raise ConfigError("port", port, "must be an int from 1 to 65535")
        if self.sslmode is not None and self.sslmode not in SSL_MODES:
            raise ConfigError("sslmode", self.sslmode, f"must be one of {sorted(SSL_MODES)}")

    def __repr__(self) -> str:
        """Show every field with the URL masked and the password as ``***``."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "url" and value is not None:
                value = mask_url(value)
            elif item.name == "password" and value is not None:
                value = MASK
            shown.append(f"{item.name}={value!r}")
        return f"PostgresConfig({', '.join(shown)})"

    __str__ = __repr__

    @property
    def sqlalchemy_url(self) -> URL:
        """The URL the engine is created with (asyncpg or aiosqlite driver); holds the password."""
        if self.url is not None:
            url = make_url(self.url)
            drivers = _POSTGRES_DRIVERS | _SQLITE_DRIVERS
            return url.set(drivername=drivers[url.drivername]).difference_update_query(["sslmode"])
        return URL.create(
            "postgresql+asyncpg",
            username=self.user or "postgres",
            password=self.password,
            host=self.host or "localhost",
            port=self.port or 5432,
            database=self.database,
        )

    @property
    def address(self) -> str:
        """The URL with the password masked: what logs and errors name."""
        return mask_url(self.sqlalchemy_url)

    @property
    def is_sqlite(self) -> bool:
        """True for an embedded ``sqlite+aiosqlite://`` database."""
        return self.sqlalchemy_url.drivername.startswith("sqlite")

    @property
    def effective_sslmode(self) -> str | None:
        """``sslmode`` from the field or the URL's query (``?sslmode=``)."""
        if self.url is not None:
            value = make_url(self.url).query.get("sslmode")
            return value if isinstance(value, str) else None
        return self.sslmode

    def connect_args(self) -> dict[str, Any]:
        """The asyncpg ``connect()`` keyword arguments for these settings (empty for SQLite)."""
        if self.is_sqlite:
            return {}
        settings = {"application_name": self.application_name}
        if self.statement_timeout is not None:
            settings["statement_timeout"] = str(round(self.statement_timeout * 1000))
        args: dict[str, Any] = {
            "server_settings": settings,
            "timeout": self.connect_timeout,
            "command_timeout": self.command_timeout,
        }
        if self.effective_sslmode is not None:
            args["ssl"] = self.effective_sslmode
        return args


def _url_problem(url: str) -> str | None:  # noqa: PLR0911 - one return per rule
    """Why ``url`` cannot be used, in words that never contain a secret; ``None`` if it can."""
    if not url.strip():
        return "must be a URL"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # their messages quote the URL, password included
        return f"is not a valid URL: {_HINT_ENCODE}"
    if parsed.drivername in _SQLITE_DRIVERS:
        return None
    if parsed.drivername not in _POSTGRES_DRIVERS:
        return (
            "must start with postgresql://, postgresql+asyncpg:// or sqlite+aiosqlite:// "
            f"(got the scheme {parsed.drivername!r})"
        )
    sslmode = parsed.query.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        return f"sslmode must be one of {sorted(SSL_MODES)}"
    if "@" in (parsed.host or ""):
        return f"cannot tell the user-info from the host: {_HINT_ENCODE}"
    return None
