"""``redis_client`` / ``open_redis`` against real Redis: PING at start, close at stop, masking."""

from __future__ import annotations

import logging
import time

import pytest
import redis.asyncio as aredis
from dependency_injector import containers
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from service_pkg import Component, StartError
from service_pkg.exceptions import BrokenResourceError
from service_pkg.redis import RedisConfig, open_redis, redis_client
from service_pkg.testing import run_components
from tests.integration.conftest import Address
from tests.integration.redis_server import (
    RedisServer,
    free_port,
    redis_server_fixture,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-Pa55"  # noqa: S105 - a fake password the tests look for


def _url(address: Address) -> str:
    host, port = address
    return f"redis://{host}:{port}/0"


class TestStart:
    async def test_client_is_pinged_at_start_and_closed_at_stop(
        self, redis_address: Address
    ) -> None:
        """The component yields a working client and closes its connections when it stops."""
        factory = redis_client(url=_url(redis_address))
        client = await anext(factory)
        assert await client.ping() is True
        pool = client.connection_pool
        assert pool._available_connections  # the start PING's connection
        with pytest.raises(StopAsyncIteration):
            _ = await factory.asend(None)
        assert all(not c.is_connected for c in pool._available_connections)

    async def test_ping_failure_names_the_masked_address(self) -> None:
        """Nothing listening: BrokenResourceError naming the address without the password."""
        url = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"
        started = time.monotonic()
        with pytest.raises(BrokenResourceError) as caught:
            async with open_redis(RedisConfig(url=url)):
                pytest.fail("must not start")
        message = str(caught.value)
        assert SECRET not in message
        assert "redis: PING to redis://:***@127.0.0.1:" in message
        assert caught.value.address.startswith("redis://:***@127.0.0.1:")
        assert isinstance(caught.value, ConnectionError)
        assert caught.value.__cause__ is not None
        assert time.monotonic() - started < 5  # refused connections fail fast, retries included

    async def test_component_start_failure_is_a_start_error(self) -> None:
        """In an application the failed PING becomes StartError with the clear cause."""
        url = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"

        class Container(containers.DeclarativeContainer):
            redis = Component(redis_client, url=url)

        with pytest.raises(StartError) as caught:
            async with run_components(Container()):
                pytest.fail("must not start")
        assert isinstance(caught.value.__cause__, BrokenResourceError)
        assert SECRET not in str(caught.value)

    async def test_given_client_is_pinged_but_never_closed(self, redis_address: Address) -> None:
        """redis_client(client=...) yields that client and leaves it open at stop."""
        host, port = redis_address
        client = aredis.Redis(host=host, port=port)
        try:
            factory = redis_client(client=client)
            assert await anext(factory) is client
            with pytest.raises(StopAsyncIteration):
                _ = await factory.asend(None)
            assert await client.ping() is True
        finally:
            await client.aclose()

    async def test_given_client_that_cannot_ping_fails_with_its_address(self) -> None:
        """A client given from outside that does not answer is a BrokenResourceError too."""
        port = free_port()
        client = aredis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
        try:
            with pytest.raises(BrokenResourceError, match=f"redis://127.0.0.1:{port}/0"):
                _ = await anext(redis_client(client=client))
        finally:
            await client.aclose()


class TestSentinel:
    async def test_master_name_url_reaches_the_master_through_a_sentinel(self) -> None:
        """A Go-style failover URL: the sentinel (with its own password) names the master,
        the master password comes from the config, commands land on the master."""
        with (
            RedisServer(args=("--requirepass", SECRET), password=SECRET) as master,
            master.sentinel("mymaster", password=SECRET + "-s") as port,
        ):
            url = f"redis://:{SECRET}-s@127.0.0.1:{port}/0?master_name=mymaster"
            async with open_redis(RedisConfig(url=url, password=SECRET)) as client:
                await client.set("via-sentinel", "1")
            assert master.command("GET", "via-sentinel") == b"1"
            unknown = RedisConfig(url=url.replace("mymaster", "nope"), password=SECRET)
            with pytest.raises(BrokenResourceError, match="No master found for 'nope'") as caught:
                async with open_redis(unknown):
                    pytest.fail("must not start")
            assert SECRET not in str(caught.value)


class TestSecrets:
    async def test_password_works_and_never_reaches_logs_or_errors(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Against a server with requirepass: the right password connects, a wrong one fails;
        neither appears in any log record or error message."""
        with RedisServer(args=("--requirepass", SECRET), password=SECRET) as server:
            caplog.set_level(logging.DEBUG)
            good = RedisConfig(url=f"redis://127.0.0.1:{server.port}/0", password=SECRET)
            async with open_redis(good) as client:
                assert await client.ping() is True
            in_url = RedisConfig(url=f"redis://:{SECRET}@127.0.0.1:{server.port}/0")
            async with open_redis(in_url) as client:
                assert await client.ping() is True
            bad = RedisConfig(url=f"redis://:{SECRET}x@127.0.0.1:{server.port}/0")
            with pytest.raises(BrokenResourceError) as caught:
                async with open_redis(bad):
                    pytest.fail("must not start")
        assert SECRET not in str(caught.value)
        assert SECRET not in repr(caught.value)
        assert caplog.records  # the connect/close lines were logged
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert SECRET not in repr(record.__dict__)

    async def test_start_and_stop_are_logged_with_the_masked_address(
        self, caplog: pytest.LogCaptureFixture, redis_server: RedisServer
    ) -> None:
        """'redis connected' / 'redis closed' carry service_pkg_redis_address, masked."""
        caplog.set_level(logging.INFO, logger="service_pkg.redis")
        url = f"redis://user:{SECRET}@127.0.0.1:{redis_server.port}/0"
        config = RedisConfig(url=url.replace(f"user:{SECRET}@", ""))
        async with open_redis(config):
            pass
        messages = [
            (r.getMessage(), getattr(r, "service_pkg_redis_address", None)) for r in caplog.records
        ]
        assert messages == [
            ("redis connected", config.address),
            ("redis closed", config.address),
        ]
