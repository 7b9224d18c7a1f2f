"""``LINKS_*`` environment variables → :class:`Settings` (pydantic-settings).

Every value has a default, so the service runs with no setup at all (the embedded mode:
SQLite, the in-process election, click events in SQL only). ``docs/example.md`` has the table.
The container reads the settings through ``providers.Configuration.from_pydantic``: nothing
here parses the environment by hand.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from service_pkg.exceptions import ConfigError

__all__ = ("ENV_PREFIX", "Settings", "load_settings")

ENV_PREFIX = "LINKS_"

# The embedded database: a file next to where the service runs (alembic.ini's default too).
EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///./example_service.db"


class Settings(BaseSettings):
    """What the URL shortener reads from its environment (``LINKS_`` + the upper-case name).

    Frozen and validated at construction; :func:`load_settings` turns a validation failure
    into a :class:`~service_pkg.exceptions.ConfigError` naming the variable. The three URLs
    are :class:`~pydantic.SecretStr`: they may hold passwords and are never shown.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", case_sensitive=False
    )

    service_name: str = "example-service"
    """Stamped on every log record."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    """JSON log lines; ``LINKS_LOG_JSON=0`` gives readable text for development."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    """0 lets the OS pick a free port (the ``http server started`` log line names it)."""
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=9090, ge=0, le=65535)

    database_url: SecretStr | None = None
    """``postgresql://user:pw@host:5432/db`` (asyncpg) or ``sqlite+aiosqlite:///file``;
    unset: the embedded SQLite file ``./example_service.db``."""
    migrate: bool | None = None
    """Apply the migrations at start. Unset: yes on SQLite (embedded), no on PostgreSQL,
    where the start fails unless the schema is at the head revision (``make migrate``)."""
    redis_url: SecretStr | None = None
    """``redis://host:6379/0``: the Redis election among replicas. Unset: in-process."""
    clickhouse_url: SecretStr | None = None
    """``clickhouse://user:pw@host:9000/db``: click events also go there (analytics only)."""

    election_name: str = "links-rollup"
    leader_expiration: float = 10.0
    """Lease length of the Redis election (seconds): a crashed leader is replaced within it."""
    lock_prefix: str = "service-pkg:lock:"
    """Redis key prefix of the election's lock."""
    rollup_interval: float = 5.0
    """Seconds between two runs of the leader-only rollup job."""
    rollup_batch: int = Field(default=10_000, ge=1)
    """Click events rolled up per run at most."""
    drain_delay: float = 1.0
    """Seconds between readiness going false (SIGTERM) and the servers stopping."""
    analytics_flush_interval: float = 1.0
    """Seconds between two ClickHouse inserts of buffered click events."""

    metrics_path: str = Field(default="/metrics", pattern=r"^/[^?#]*$")
    """Where the HTTP server serves the Prometheus scrape (before the app, not access-logged)."""
    tracing_exporter: Literal["none", "console"] = "none"
    """``console``: OpenTelemetry spans (lifecycle, jobs, gRPC calls) printed to stdout."""
    tracing_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of the traces recorded when tracing is on (``ParentBased(TraceIdRatioBased)``)."""

    @field_validator(
        "leader_expiration", "rollup_interval", "analytics_flush_interval", "drain_delay"
    )
    @classmethod
    def _seconds(cls, value: float, info: Any) -> float:
        if info.field_name == "drain_delay":
            if not math.isfinite(value) or value < 0:
                raise ValueError("must be a finite number of seconds >= 0")
        elif not math.isfinite(value) or value <= 0:
            raise ValueError("must be a finite number of seconds > 0")
        return value

    @property
    def database(self) -> str:
        """The database URL to use (the embedded SQLite file when none is set)."""
        return self.database_url.get_secret_value() if self.database_url else EMBEDDED_DATABASE_URL

    @property
    def embedded(self) -> bool:
        """True when the database is SQLite (the zero-setup mode)."""
        return self.database.startswith("sqlite")

    @property
    def apply_migrations(self) -> bool:
        """Whether the start applies the migrations (``migrate``, else ``embedded``)."""
        return self.embedded if self.migrate is None else self.migrate


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment (``overrides`` win), or raise ``ConfigError``.

    Raises:
        ConfigError: a variable has a value the service cannot run with; names the variable,
            says what is wrong and shows the value (``***`` for the URLs).
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        secret = name.endswith("_url")
        value = "***" if secret else first.get("input")
        rule = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}", value, rule) from None
