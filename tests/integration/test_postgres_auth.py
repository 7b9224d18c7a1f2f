"""Password logins and outages against a private scram-sha-256 PostgreSQL (``initdb``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component, StartError
from service_pkg.health import HealthStatus
from service_pkg.postgres import PostgresConfig, postgres_engine
from tests.integration.postgres_server import PostgresServer, postgres_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration

SPECIAL_PASSWORD = "p@ss:w/rd?#%&=+ 'x\"y"  # noqa: S105 - every character Go bug #25 broke on
START_BOUND = 20.0


def app_for(config: PostgresConfig) -> Application:
    class Container(containers.DeclarativeContainer):
        db = Component(postgres_engine, providers.Object(config))

    return Application(Container(), install_signals=False, health_max_age=0)


@pytest.fixture(name="special_role", scope="module")
def _special_role(postgres_server: PostgresServer) -> str:
    quoted = SPECIAL_PASSWORD.replace("'", "''")
    postgres_server.psql(f"CREATE ROLE \"kit user\" LOGIN PASSWORD '{quoted}'")
    return "kit user"


async def test_role_with_special_password_logs_in_with_separate_fields(
    postgres_server: PostgresServer, special_role: str
) -> None:
    config = PostgresConfig(
        host="127.0.0.1",
        port=postgres_server.port,
        user=special_role,
        password=SPECIAL_PASSWORD,
        database="postgres",
    )
    async with app_for(config) as app:
        assert (await app.health())["db"].status is HealthStatus.OK


async def test_role_with_special_password_logs_in_with_an_encoded_url(
    postgres_server: PostgresServer, special_role: str
) -> None:
    config = PostgresConfig(url=postgres_server.url(special_role, SPECIAL_PASSWORD))
    async with app_for(config) as app:
        assert (await app.health())["db"].status is HealthStatus.OK


async def test_wrong_password_is_a_clear_start_error_without_the_password(
    postgres_server: PostgresServer, special_role: str
) -> None:
    config = PostgresConfig(
        host="127.0.0.1",
        port=postgres_server.port,
        user=special_role,
        password="not-the-password",  # noqa: S106 - the point of the test
        database="postgres",
    )
    started = time.monotonic()
    with pytest.raises(StartError) as caught:
        await app_for(config).start()
    assert time.monotonic() - started < START_BOUND
    message = str(caught.value)
    assert "authentication failed" in message
    assert "wrong password" in message
    assert "not-the-password" not in message
    assert "not-the-password" not in repr(caught.value.__cause__)


async def status_becomes(app: Application, wanted: HealthStatus, within: float) -> None:
    async with asyncio.timeout(within):
        while (await app.health())["db"].status is not wanted:  # noqa: ASYNC110 - polls a real server
            await asyncio.sleep(0.05)


async def test_health_entry_fails_while_the_server_is_stopped_and_recovers(
    postgres_server: PostgresServer,
) -> None:
    config = PostgresConfig(url=postgres_server.url(), connect_timeout=1)
    async with app_for(config) as app:
        assert (await app.health())["db"].status is HealthStatus.OK
        await asyncio.to_thread(postgres_server.stop)
        try:
            await status_becomes(app, HealthStatus.FAILED, within=15)
            report = await app.health()
            assert report.ready is False
            assert str(postgres_server.port) in (report["db"].error or "")
            assert "super-secret" not in (report["db"].error or "")
        finally:
            await asyncio.to_thread(postgres_server.start)
        await status_becomes(app, HealthStatus.OK, within=15)
        assert (await app.health()).ready
