"""Environment → settings. Every value has a default, so the service runs with no setup."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from service_pkg.exceptions import ConfigError

__all__ = ("Settings",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What the example service reads from its environment."""

    service_name: str = "example-service"
    """Name stamped on every log record (``SERVICE_NAME``)."""
    log_level: str = "INFO"
    """Root log level (``LOG_LEVEL``)."""
    log_json: bool = True
    """JSON log lines; ``LOG_JSON=0`` gives readable text for development."""
    heartbeat_interval: float = 5.0
    """Seconds between heartbeat log lines (``HEARTBEAT_INTERVAL``)."""
    leader_interval: float = 10.0
    """Seconds between the leader-only job's runs (``LEADER_INTERVAL``)."""

    def __post_init__(self) -> None:
        """Reject values the service could not run with."""
        for field in ("heartbeat_interval", "leader_interval"):
            value = getattr(self, field)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(field, value, "must be a finite number of seconds > 0")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (``os.environ`` by default)."""
        env = dict(os.environ if env is None else env)
        defaults = cls()
        return cls(
            service_name=env.get("SERVICE_NAME", defaults.service_name),
            log_level=env.get("LOG_LEVEL", defaults.log_level),
            log_json=env.get("LOG_JSON", "1").lower() not in {"0", "false", "no"},
            heartbeat_interval=_seconds(env, "HEARTBEAT_INTERVAL", defaults.heartbeat_interval),
            leader_interval=_seconds(env, "LEADER_INTERVAL", defaults.leader_interval),
        )


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(name, raw, "must be a number of seconds") from None
