"""``RedisConfig(cluster=True)`` and how it becomes a ``RedisCluster``: no network."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from service_pkg.exceptions import ConfigError
from service_pkg.health import factory_health
from service_pkg.redis import RedisConfig, open_redis, redis_client, redis_cluster
from service_pkg.redis._cluster import _build_cluster, describe_cluster

SECRET = "s3cr3t-Pa55"  # noqa: S105 - a fake password the tests look for
OTHER = SECRET + "-other"
URL = f"redis://user:{SECRET}@n1:7000?addr=n2:7001&addr=[::1]:7002"


@pytest.fixture(name="built")
async def _built() -> AsyncIterator[list[RedisCluster]]:
    made: list[RedisCluster] = []
    yield made
    for client in made:
        await client.aclose()


def build(made: list[RedisCluster], config: RedisConfig) -> RedisCluster:
    client = _build_cluster(config)
    made.append(client)
    return client


async def test_host_and_every_addr_are_seed_nodes(built: list[RedisCluster]) -> None:
    client = build(built, RedisConfig(url=URL, cluster=True))
    seeds = [(node.host, node.port) for node in client.nodes_manager.startup_nodes.values()]
    assert sorted(seeds) == sorted([("n1", 7000), ("n2", 7001), ("::1", 7002)])


async def test_url_login_and_config_timeouts_reach_every_connection(
    built: list[RedisCluster],
) -> None:
    client = build(built, RedisConfig(url=URL, cluster=True, socket_timeout=1.5))
    options = client.get_connection_kwargs()
    assert (options["username"], options["password"]) == ("user", SECRET)
    assert options["socket_timeout"] == 1.5
    assert options["socket_connect_timeout"] == 10.0


async def test_password_field_overrides_the_url(built: list[RedisCluster]) -> None:
    client = build(built, RedisConfig(url=URL, cluster=True, password=OTHER))
    assert client.get_connection_kwargs()["password"] == OTHER


async def test_describe_names_the_nodes_without_the_password(
    built: list[RedisCluster],
) -> None:
    client = build(built, RedisConfig(url=URL, cluster=True))
    described = describe_cluster(client)
    assert described.startswith("redis+cluster://")
    assert "n1:7000" in described
    assert SECRET not in described


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("redis://n1:7000/3", "database 0 only"),
        ("unix:///run/redis.sock", "must use redis:// or rediss://"),
        ("redis://n1:7000?master_name=m", "cannot name a Sentinel master"),
        ("redis://n1:7000?socket_timeout=1", "unsupported cluster URL parameter"),
        ("redis://n1:7000?addr=n2", "must be host:port"),
    ],
)
def test_bad_cluster_url_is_a_config_error(url: str, rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"^url: .*{rule}"):
        RedisConfig(url=url, cluster=True)


def test_addr_is_still_refused_without_cluster() -> None:
    with pytest.raises(ConfigError, match="unsupported URL parameter"):
        RedisConfig(url="redis://n1:7000?addr=n2:7001")


def test_cluster_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match=r"^cluster: must be a bool"):
        RedisConfig(url="redis://n1:7000", cluster="yes")  # type: ignore[arg-type]


def test_cluster_config_is_not_a_sentinel_config() -> None:
    assert not RedisConfig(url="redis://n1:7000", cluster=True).sentinel


async def test_open_redis_refuses_a_cluster_config() -> None:
    with pytest.raises(ConfigError, match=r"^cluster: a cluster config needs open_redis_cluster"):
        async with open_redis(RedisConfig(url="redis://n1:7000", cluster=True)):
            pass


async def test_redis_client_refuses_a_cluster_config() -> None:
    with pytest.raises(ConfigError, match=r"^cluster: "):
        _ = await anext(redis_client(RedisConfig(url="redis://n1:7000", cluster=True)))


async def test_redis_cluster_refuses_a_config_without_cluster() -> None:
    with pytest.raises(ConfigError, match=r"^cluster: must be True for a cluster client"):
        _ = await anext(redis_cluster(RedisConfig(url="redis://n1:7000")))


async def test_redis_cluster_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match=r"^config: give exactly one of config, url or"):
        _ = await anext(redis_cluster())


def test_redis_cluster_carries_a_readiness_check() -> None:
    check = factory_health(redis_cluster)
    assert check is not None
    assert check.affects_readiness is True
