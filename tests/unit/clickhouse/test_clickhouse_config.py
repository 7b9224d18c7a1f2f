"""ClickHouseConfig: the Go defaults, validation, masking."""

from __future__ import annotations

import pytest

from service_pkg.clickhouse import ClickHouseConfig
from service_pkg.exceptions import ConfigError


def test_the_defaults_are_the_go_defaults() -> None:
    config = ClickHouseConfig()
    assert (
        config.dial_timeout,
        config.max_open,
        config.max_idle,
        config.conn_max_idle_time,
        config.conn_max_lifetime,
        config.transport,
        config.effective_port,
        config.sqlalchemy_url.query.get("compression"),
    ) == (3.0, 1, 1, 1800.0, 86400.0, "native", 9000, "lz4")


def test_http_transport_defaults_to_port_8123_without_compression() -> None:
    config = ClickHouseConfig(transport="http")
    assert (config.effective_port, config.sqlalchemy_url.drivername) == (8123, "clickhouse+http")
    assert "compression" not in config.sqlalchemy_url.query


def test_the_database_is_passed_only_when_set() -> None:
    assert ClickHouseConfig(database="events").sqlalchemy_url.database == "events"


def test_the_password_never_shows() -> None:
    config = ClickHouseConfig(password="s3cr@t/#")  # noqa: S106
    assert "s3cr" not in repr(config)
    assert "s3cr" not in config.address
    assert config.address == "clickhouse+native://default:***@localhost:9000/default"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_open", 0),
        ("max_idle", 0),
        ("dial_timeout", 0),
        ("query_timeout", 0),
        ("ping_timeout", -1),
        ("conn_max_idle_time", 0),
        ("transport", "grpc"),
        ("port", 70000),
        ("host", ""),
    ],
)
def test_invalid_values_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        ClickHouseConfig(**{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_more_idle_than_open_connections_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be <= max_open"):
        ClickHouseConfig(max_open=2, max_idle=3)
