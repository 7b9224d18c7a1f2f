"""``redis_client`` / ``open_redis`` against real Redis: PING at start, close at stop, masking."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis.asyncio as aredis
from dependency_injector import containers
from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from service_pkg import Component, StartError
from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.health import HealthCheck, factory_health
from service_pkg.redis import RedisConfig, open_redis, redis_client
from service_pkg.testing import run_components
from tests.integration.conftest import Address
from tests.integration.redis_server import (
    RedisServer,
    free_port,
    redis_server_fixture,  # noqa: F401 - fixture
)
from tests.unit.redis.secrets import FRAGMENTS, SPECIALS, assert_no_part_of, chain_texts

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


# One password per special character, and one with all of them, each between two fragments.
TABLE = [f"{FRAGMENTS[0]}{c}{FRAGMENTS[1]}" for c in SPECIALS] + [
    FRAGMENTS[2] + "".join(SPECIALS) + FRAGMENTS[3]
]


def _record_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter()
    return [t for r in records for t in (r.getMessage(), repr(r.__dict__), formatter.format(r))]


class TestSecretsAgainstUnreachableServers:
    @pytest.mark.parametrize("password", TABLE)
    async def test_no_part_of_a_password_in_errors_or_logs(
        self, password: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
    ) -> None:
        """Building and pinging clients that cannot connect (TCP, TLS, unix socket, Sentinel),
        with the password encoded in the URL, raw in it, or in the fields: no part of it
        reaches an error, its chain, or any log record."""
        caplog.set_level(logging.DEBUG)
        port = free_port()
        encoded = quote(password, safe="")
        urls = [
            f"redis://admin:{encoded}@127.0.0.1:{port}/0",
            f"rediss://:{encoded}@127.0.0.1:{port}/1",
            f"unix://:{encoded}@{tmp_path}/absent.sock",
            f"redis://sentuser:{encoded}@127.0.0.1:{port}/0?master_name=mymaster",
        ]
        configs = [RedisConfig(url=url, retries=0) for url in urls]
        configs.append(
            RedisConfig(
                url=f"redis://127.0.0.1:{port}/0?master_name=m",
                password=password,
                sentinel_password=password,
                retries=0,
            )
        )
        texts: list[str] = []
        try:  # raw: refused at construction, unless the characters happen to be valid there
            configs.append(
                RedisConfig(url=f"redis://admin:{password}@127.0.0.1:{port}/0", retries=0)
            )
        except ConfigError as exc:
            texts += chain_texts(exc)
        for config in configs:
            with pytest.raises(BrokenResourceError) as caught:
                async with open_redis(config):
                    pytest.fail("must not start")
            texts += chain_texts(caught.value)
        assert_no_part_of(password, texts + _record_texts(caplog.records))


class TestAuthentication:
    async def test_missing_password_says_authentication_required(self) -> None:
        """A server with requirepass and a client without a password: a clear sentence, not
        redis-py's HELLO/NOAUTH text."""
        with RedisServer(args=("--requirepass", SECRET), password=SECRET) as server:
            config = RedisConfig(url=server.url, retries=0)
            with pytest.raises(BrokenResourceError) as caught:
                async with open_redis(config):
                    pytest.fail("must not start")
        assert str(caught.value).startswith(
            f"redis: authentication required: the server at {config.address} needs a password"
        )
        assert "HELLO" not in str(caught.value)

    async def test_wrong_password_says_authentication_failed(self) -> None:
        """A wrong password is named as such, with the masked address and no password."""
        with RedisServer(args=("--requirepass", SECRET), password=SECRET) as server:
            url = f"redis://:{quote(SECRET + '#x', safe='')}@127.0.0.1:{server.port}/0"
            config = RedisConfig(url=url, retries=0)
            with pytest.raises(BrokenResourceError) as caught:
                async with open_redis(config):
                    pytest.fail("must not start")
        assert str(caught.value) == (
            f"redis: authentication failed: the server at {config.address} refused the password"
        )
        assert config.address == f"redis://:***@127.0.0.1:{server.port}/0"
        assert all(SECRET not in text for text in chain_texts(caught.value))

    async def test_wrong_user_says_user_name_or_password(self) -> None:
        """With a user name in the URL, the message says the login was refused."""
        with RedisServer(args=("--requirepass", SECRET), password=SECRET) as server:
            url = f"redis://nobody:{SECRET}@127.0.0.1:{server.port}/0"
            with pytest.raises(BrokenResourceError, match="refused the user name or password"):
                async with open_redis(RedisConfig(url=url, retries=0)):
                    pytest.fail("must not start")

    async def test_password_for_a_server_without_one_is_named(
        self, redis_server: RedisServer
    ) -> None:
        """A password sent to a server that has none (RESP2 AUTH) says so."""
        # RESP2 makes redis-py send AUTH (RESP3 logs in with HELLO). Before redis-py 8 the URL
        # has no protocol parameter, and RESP2 is the default there.
        resp2 = "?protocol=2" if "protocol" in URL_QUERY_ARGUMENT_PARSERS else ""
        url = f"redis://:{SECRET}@127.0.0.1:{redis_server.port}/0{resp2}"
        with pytest.raises(BrokenResourceError, match="has no password set") as caught:
            async with open_redis(RedisConfig(url=url, retries=0)):
                pytest.fail("must not start")
        assert SECRET not in str(caught.value)


async def run_check(spec: HealthCheck, value: object) -> None:
    """Run a health check as an application's health round does: under its own timeout."""
    async with asyncio.timeout(spec.timeout):
        result = spec.check(value)
        if inspect.isawaitable(result):
            await result


class TestDefaultHealth:
    async def test_check_follows_the_server_down_and_back(self) -> None:
        """Component(redis_client, ...) brings a PING check: it passes, fails naming the masked
        address while the server is stopped, and passes again once it is back."""
        spec = factory_health(redis_client)
        assert spec is not None
        with RedisServer(
            port=free_port(), args=("--requirepass", SECRET), password=SECRET
        ) as server:
            url = f"redis://:{SECRET}@127.0.0.1:{server.port}/0"

            class Container(containers.DeclarativeContainer):
                redis = Component(redis_client, url=url)

            container = Container()
            async with run_components(container):
                client = await container.redis()
                await run_check(spec, client)
                server.stop()  # SIGTERM to the PID this test started
                with pytest.raises(BrokenResourceError) as caught:
                    await run_check(spec, client)
                server.start()  # same port, same password
                await run_check(spec, client)
        message = str(caught.value)
        assert message.startswith(f"redis: PING to redis://127.0.0.1:{server.port}/0 failed")
        assert all(SECRET not in text for text in chain_texts(caught.value))
