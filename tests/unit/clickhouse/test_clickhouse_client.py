"""ClickHouse client rules that need no server: arguments, use before start and after close."""

from __future__ import annotations

import pytest

from service_pkg.clickhouse import ClickHouse, ClickHouseConfig, clickhouse_client
from service_pkg.exceptions import ClosedResourceError, ConfigError
from service_pkg.health import factory_health


async def test_calls_before_start_say_how_to_start() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await ClickHouse(ClickHouseConfig()).fetch("SELECT 1")


async def test_calls_after_aclose_raise_closed_resource_error() -> None:
    client = ClickHouse(ClickHouseConfig())
    await client.aclose()
    await client.aclose()
    with pytest.raises(ClosedResourceError):
        await client.fetch("SELECT 1")


async def test_insert_needs_exactly_one_of_rows_and_data() -> None:
    client = ClickHouse(ClickHouseConfig())
    with pytest.raises(ConfigError):
        await client.insert("t", [(1,)], columns=["a"], data=[[1]])
    with pytest.raises(ConfigError):
        await client.insert("t", columns=["a"])


def test_repr_masks_the_password() -> None:
    client = ClickHouse(ClickHouseConfig(password="hunter2"))  # noqa: S106
    assert "hunter2" not in repr(client)


async def test_the_component_needs_exactly_one_of_config_and_client() -> None:
    with pytest.raises(ConfigError, match="exactly one of config or client"):
        await anext(clickhouse_client())


def test_the_factory_carries_a_readiness_affecting_health_check() -> None:
    spec = factory_health(clickhouse_client)
    assert spec is not None
    assert spec.affects_readiness is True
