"""The Redis client reports its health with no user code, through a real outage."""

from __future__ import annotations

import asyncio

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.health import HealthStatus
from service_pkg.redis import RedisConfig, redis_client
from tests.integration.redis_server import RedisServer, redis_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration


async def status_becomes(app: Application, wanted: HealthStatus, within: float) -> None:
    async with asyncio.timeout(within):
        while (await app.health())["redis"].status is not wanted:  # noqa: ASYNC110 - polls a real server
            await asyncio.sleep(0.05)


async def test_redis_entry_fails_while_the_server_is_down_and_recovers(
    redis_server: RedisServer,
) -> None:
    """A Redis stopped under a running app turns its entry `failed`, and `ok` once it is back."""
    config = RedisConfig(url=redis_server.url, socket_timeout=0.5, connect_timeout=0.5)

    class Container(containers.DeclarativeContainer):
        redis = Component(redis_client, providers.Object(config))

    app = Application(Container(), install_signals=False, health_max_age=0)
    async with app:
        assert (await app.health())["redis"].status is HealthStatus.OK
        redis_server.stop()
        await status_becomes(app, HealthStatus.FAILED, within=10)
        report = await app.health()
        assert (report.ready, str(redis_server.port) in (report["redis"].error or "")) == (
            False,
            True,
        )
        redis_server.start()
        await status_becomes(app, HealthStatus.OK, within=10)
        assert (await app.health()).ready
