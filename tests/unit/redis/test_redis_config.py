"""``RedisConfig``, ``mask_url`` and how a config becomes a client: no network."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from service_pkg.exceptions import ConfigError
from service_pkg.health import factory_health
from service_pkg.redis import RedisConfig, mask_url, redis_client
from service_pkg.redis._client import _build, _Built

SECRET = "s3cr3t-Pa55"  # noqa: S105 - a fake password the tests look for
OTHER = SECRET + "-other"
MASTER = SECRET + "-master"


@pytest.fixture(name="build")
async def _build_fixture() -> AsyncIterator[list[_Built]]:
    """Builds clients without connecting and closes them after the test."""
    built: list[_Built] = []
    yield built
    for item in built:
        for close in item.closers:
            await close()


def make(built: list[_Built], config: RedisConfig) -> _Built:
    item = _build(config)
    built.append(item)
    return item


def sentinel_manager(built: _Built) -> Sentinel:
    pool = built.client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    manager: Sentinel = pool.sentinel_manager
    return manager


class TestDefaults:
    def test_go_defaults(self) -> None:
        """Dial 10 s, read 3 s, 5 retries, 2 s max backoff: the Go redis package's defaults."""
        config = RedisConfig(url="redis://localhost")
        assert config.connect_timeout == 10.0
        assert config.socket_timeout == 3.0
        assert config.retries == 5
        assert config.max_backoff == 2.0
        assert config.min_backoff == 0.008

    async def test_defaults_reach_the_connection_pool(self, build: list[_Built]) -> None:
        """Timeouts and the retry policy are what every connection of the pool gets."""
        kwargs = make(build, RedisConfig(url="redis://h:6380/2")).client.connection_pool
        options = kwargs.connection_kwargs
        assert (options["host"], options["port"], options["db"]) == ("h", 6380, 2)
        assert options["socket_connect_timeout"] == 10.0
        assert options["socket_timeout"] == 3.0

    async def test_retry_policy_reaches_the_connection_pool(self, build: list[_Built]) -> None:
        """The pool's retry makes 1 + retries attempts at a call that keeps failing.

        Counted through redis-py's public ``call_with_retry`` (every supported version has
        it; ``Retry.get_retries()`` only exists from 5.1), with tiny backoffs.
        """
        config = RedisConfig(url="redis://h", min_backoff=0.001, max_backoff=0.001)
        retry = make(build, config).client.connection_pool.connection_kwargs["retry"]
        attempts = 0

        async def call() -> None:
            nonlocal attempts
            attempts += 1
            raise RedisConnectionError("down")

        async def on_failure(_: Exception) -> None:
            return None

        with pytest.raises(RedisConnectionError):
            await retry.call_with_retry(call, on_failure)
        assert attempts == 1 + config.retries

    def test_config_is_frozen(self) -> None:
        """A config cannot be changed after construction."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            RedisConfig(url="redis://h").url = "redis://other"  # type: ignore[misc]


class TestValidation:
    @pytest.mark.parametrize(
        ("url", "rule"),
        [
            ("", "must be a URL"),
            ("http://h", "must start with redis://"),
            ("redis://h:0", "port"),
            ("redis://h/one", "database"),
            ("unix://", "socket path"),
            ("redis://h?nope=1", "unsupported URL parameter"),
            ("redis://h?socket_timeout=soon", "socket_timeout has an invalid value"),
            ("redis://h/0#part", "fragment"),
            ("redis//127.0.0.1:6379", "must start with redis://"),
            ("unix:///s.sock?master_name=m", "redis:// or rediss://"),
            ("redis://h?master_name=", "master_name must not be empty"),
            ("redis://h?master_name=m&addr=nohost", "addr 'nohost' must be host:port"),
            ("redis://h?master_name=m&dial_timeout=3", "timeouts and retries are RedisConfig"),
        ],
    )
    def test_bad_url_is_a_config_error(self, url: str, rule: str) -> None:
        """A URL that cannot work is rejected at construction, naming the url field."""
        with pytest.raises(ConfigError, match=rule) as caught:
            RedisConfig(url=url)
        assert caught.value.field == "url"

    def test_bad_url_error_masks_the_password(self) -> None:
        """The rejected URL shown in the error has its password masked."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url=f"redis://:{SECRET}@h/one")
        assert SECRET not in str(caught.value)
        assert caught.value.value == "redis://:***@h/one"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("connect_timeout", 0),
            ("socket_timeout", -1),
            ("socket_timeout", float("inf")),
            ("retries", -1),
            ("retries", 1.5),
            ("retries", True),
            ("min_backoff", 0),
            ("max_backoff", "2"),
            ("max_connections", 0),
            ("decode_responses", 1),
            ("client_name", 5),
        ],
    )
    def test_bad_field_is_a_config_error_naming_it(self, field: str, value: object) -> None:
        """Every numeric and typed field is checked at construction."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url="redis://h", **{field: value})  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_min_backoff_above_max_is_rejected(self) -> None:
        """The first backoff cannot exceed the cap."""
        with pytest.raises(ConfigError, match="max_backoff"):
            RedisConfig(url="redis://h", min_backoff=3, max_backoff=2)

    def test_non_str_password_error_does_not_echo_it(self) -> None:
        """A wrongly typed password is reported as ***."""
        with pytest.raises(ConfigError) as caught:
            RedisConfig(url="redis://h", password=12345)  # type: ignore[arg-type]
        assert caught.value.value == "***"


class TestMasking:
    @pytest.mark.parametrize(
        ("url", "masked"),
        [
            (f"redis://:{SECRET}@h:6379/0", "redis://:***@h:6379/0"),
            (f"redis://user:{SECRET}@h", "redis://user:***@h"),
            (f"rediss://user:{SECRET}@h:6380/1", "rediss://user:***@h:6380/1"),
            (f"redis://:p@ss{SECRET}@h", "redis://:***@h"),
            ("redis://user@h", "redis://user@h"),
            ("redis://h:6379/0", "redis://h:6379/0"),
            (f"unix://:{SECRET}@/run/redis.sock", "unix://:***@/run/redis.sock"),
            (
                f"unix:///run/redis.sock?db=1&password={SECRET}",
                "unix:///run/redis.sock?db=1&password=***",
            ),
            (
                f"redis://h?master_name=m&sentinel_password={SECRET}",
                "redis://h?master_name=m&sentinel_password=***",
            ),
            (f"redis://u:12{SECRET}#x@h", "redis://u:***@h"),
            (f"redis://u:{SECRET}/x?y@h:1/0", "redis://u:***@h:1/0"),
            (f"redis://u:{SECRET}@h:port", "redis://u:***@h:port"),
            (f"redis://h/0?password=p@{SECRET}", "redis://h/0?password=***"),
            (f"redis://h/0?password=a&{SECRET}=b&db=1", "redis://h/0?password=***&db=1"),
            ("redis://h/0?client_name=svc@host", "redis://h/0?client_name=svc@host"),
            (f"redis://h/0?x={SECRET}@h", "redis://***@h"),
        ],
    )
    def test_mask_url(self, url: str, masked: str) -> None:
        """Passwords in user-info and query are replaced, also when they are not encoded."""
        assert mask_url(url) == masked
        assert SECRET not in mask_url(url)

    @pytest.mark.parametrize(
        "text", ["redis//127.0.0.1:6379", "127.0.0.1:6379", "http://h:80/x", "not a url"]
    )
    def test_mask_url_quotes_text_without_a_redis_scheme_as_given(self, text: str) -> None:
        """Text that is not a Redis URL and holds no password is returned unchanged."""
        assert mask_url(text) == text

    def test_mask_url_masks_a_password_in_scheme_less_text(self) -> None:
        """A user-info in text without a scheme is still masked."""
        assert mask_url(f"user:{SECRET}@127.0.0.1:6379") == "user:***@127.0.0.1:6379"

    def test_at_sign_in_a_known_parameter_value_is_accepted(self) -> None:
        """client_name=svc@host is a valid URL and shown as given."""
        config = RedisConfig(url="redis://h:6379/0?client_name=svc@host")
        assert config.address == "redis://h:6379/0?client_name=svc@host"

    def test_repr_and_str_mask_every_password(self) -> None:
        """repr()/str() of a config never contain a password, from the URL or the fields."""
        config = RedisConfig(
            url=f"redis://:{SECRET}@h:1/0?master_name=m",
            password=SECRET + "1",
            sentinel_password=SECRET + "2",
        )
        for text in (repr(config), str(config), f"{config}", config.address):
            assert SECRET not in text
        assert "url='redis://:***@h:1/0?master_name=m'" in repr(config)
        assert "password='***'" in repr(config)
        assert "sentinel_password='***'" in repr(config)


class TestStandalone:
    async def test_password_field_overrides_the_url(self, build: list[_Built]) -> None:
        """password= wins over the URL's password (Go WithPassword)."""
        pool = make(build, RedisConfig(url="redis://:old@h", password=OTHER)).client.connection_pool
        assert pool.connection_kwargs["password"] == OTHER

    async def test_url_query_parameters_win_over_fields(self, build: list[_Built]) -> None:
        """As in redis-py's from_url, a socket_timeout in the URL beats the field."""
        config = RedisConfig(url="redis://h?socket_timeout=0.5&db=3", socket_timeout=9)
        options = make(build, config).client.connection_pool.connection_kwargs
        assert (options["socket_timeout"], options["db"]) == (0.5, 3)

    async def test_rediss_uses_tls(self, build: list[_Built]) -> None:
        """rediss:// connections are SSL connections."""
        pool = make(build, RedisConfig(url="rediss://h:6380")).client.connection_pool
        assert issubclass(pool.connection_class, SSLConnection)

    async def test_unix_socket(self, build: list[_Built]) -> None:
        """unix:// connects to the socket path, db from the query."""
        pool = make(build, RedisConfig(url="unix:///run/redis.sock?db=4")).client.connection_pool
        assert issubclass(pool.connection_class, UnixDomainSocketConnection)
        assert pool.connection_kwargs["path"] == "/run/redis.sock"
        assert pool.connection_kwargs["db"] == 4

    async def test_fields_reach_the_pool(self, build: list[_Built]) -> None:
        """decode_responses, max_connections and client_name are passed on."""
        config = RedisConfig(
            url="redis://h", decode_responses=True, max_connections=7, client_name="svc"
        )
        pool = make(build, config).client.connection_pool
        assert pool.max_connections == 7
        assert pool.connection_kwargs["decode_responses"] is True
        assert pool.connection_kwargs["client_name"] == "svc"
        assert not RedisConfig(url="redis://h").sentinel


class TestSentinel:
    URL = (
        f"redis://sentuser:{SECRET}@s1:26379/2?master_name=mymaster&addr=s2:26380&addr=[::1]:26381"
    )

    async def test_master_name_makes_a_sentinel_client(self, build: list[_Built]) -> None:
        """master_name → a client whose pool asks the sentinels for that master."""
        config = RedisConfig(url=self.URL, password=MASTER)
        assert config.sentinel
        built = make(build, config)
        pool = built.client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.service_name == "mymaster"
        assert pool.connection_kwargs["db"] == 2
        assert pool.connection_kwargs["password"] == MASTER
        assert len(built.closers) == 2  # the client and the Sentinel manager

    async def test_host_and_every_addr_are_sentinels_with_the_url_login(
        self, build: list[_Built]
    ) -> None:
        """Sentinels = the URL host + each addr; the URL user-info is the sentinels' login."""
        manager = sentinel_manager(make(build, RedisConfig(url=self.URL)))
        found = [
            (
                s.connection_pool.connection_kwargs["host"],
                s.connection_pool.connection_kwargs["port"],
            )
            for s in manager.sentinels
        ]
        assert found == [("s1", 26379), ("s2", 26380), ("::1", 26381)]
        first = manager.sentinels[0].connection_pool.connection_kwargs
        assert (first["username"], first["password"]) == ("sentuser", SECRET)
        assert first["socket_timeout"] == 3.0

    async def test_sentinel_password_field_overrides_the_url(self, build: list[_Built]) -> None:
        """sentinel_password= wins over the URL's (Go WithSentinelPassword)."""
        config = RedisConfig(url=self.URL, sentinel_password=OTHER)
        manager = sentinel_manager(make(build, config))
        assert manager.sentinels[0].connection_pool.connection_kwargs["password"] == OTHER

    async def test_missing_port_is_the_go_default(self, build: list[_Built]) -> None:
        """A sentinel host without a port gets 6379, as go-redis's failover URL parser does."""
        manager = sentinel_manager(make(build, RedisConfig(url="rediss://s1?master_name=m")))
        options = manager.sentinels[0].connection_pool.connection_kwargs
        assert options["port"] == 6379
        assert issubclass(manager.sentinels[0].connection_pool.connection_class, SSLConnection)


class TestFactoryArguments:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"url": "redis://h", "config": RedisConfig(url="redis://h")},
            {"url": "redis://h", "client": object()},
        ],
    )
    async def test_exactly_one_source_is_required(self, kwargs: dict[str, object]) -> None:
        """redis_client() needs exactly one of config, url and client."""
        with pytest.raises(ConfigError, match=r"^config: give exactly one of config, url or"):
            _ = await anext(redis_client(**kwargs))  # type: ignore[arg-type]

    async def test_no_source_says_none_was_given(self) -> None:
        """With nothing given, the error reads (got 'none')."""
        with pytest.raises(ConfigError, match=r"\(got 'none'\)$"):
            _ = await anext(redis_client())

    def test_non_str_url_is_reported_by_type(self) -> None:
        """A URL object (whose repr may show a password) is named by its type only."""

        class Url:
            def __repr__(self) -> str:
                return f"Url('redis://:{SECRET}@h')"

        with pytest.raises(ConfigError, match="must be a str") as caught:
            RedisConfig(url=Url())  # type: ignore[arg-type]
        assert SECRET not in str(caught.value)


class TestDefaultHealth:
    def test_factory_carries_a_readiness_check(self) -> None:
        """Component(redis_client, ...) gets a health check that affects readiness."""
        check = factory_health(redis_client)
        assert check is not None
        assert check.affects_readiness is True
