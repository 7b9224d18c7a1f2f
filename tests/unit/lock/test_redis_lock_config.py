"""``RedisLockConfig``, ``RedisLock`` construction and the packed scripts: no network."""

from __future__ import annotations

import dataclasses
import importlib
import sys

import pytest
import redis.asyncio as aredis
from redis.crc import key_slot

from service_pkg.exceptions import ConfigError, MissingDependencyError
from service_pkg.health import factory_health
from service_pkg.lock import (
    DEFAULT_KEY_PREFIX,
    GO_KEY_PREFIX,
    Lock,
    RedisLock,
    RedisLockConfig,
    redis_lock,
)
from service_pkg.lock._config import companion
from service_pkg.lock._scripts import ACQUIRE, EXTEND, RELEASE


class TestConfig:
    def test_defaults(self) -> None:
        """TTL 30 s (Go's default expiration), the Python prefix, restart grace on."""
        config = RedisLockConfig()
        assert (config.ttl, config.prefix, config.restart_grace) == (30.0, DEFAULT_KEY_PREFIX, True)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("ttl", 0), ("ttl", 0.0004), ("prefix", None), ("restart_grace", "yes")],
    )
    def test_bad_values_raise_config_error_naming_the_field(
        self, field: str, value: object
    ) -> None:
        """Each invalid field is rejected at construction and named."""
        with pytest.raises(ConfigError) as caught:
            RedisLockConfig(**{field: value})  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_config_is_frozen(self) -> None:
        """A config cannot be changed after construction."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            RedisLockConfig().ttl = 1  # type: ignore[misc]


class TestReplicaConfig:
    def test_no_replica_confirmation_by_default(self) -> None:
        """min_replicas 0 (no WAIT); the WAIT timeout defaults to a tenth of the TTL."""
        config = RedisLockConfig(ttl=3)
        assert (config.min_replicas, config.replica_timeout_ms) == (0, 300)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("min_replicas", -1),
            ("min_replicas", True),
            ("min_replicas", 1.0),
            ("replica_timeout", 0),
            ("replica_timeout", 0.0005),
            ("replica_timeout", 30.0),
        ],
    )
    def test_bad_replica_settings_raise_config_error_naming_the_field(
        self, field: str, value: object
    ) -> None:
        """min_replicas must be an int >= 0, replica_timeout whole ms below the TTL."""
        with pytest.raises(ConfigError) as caught:
            RedisLockConfig(**{field: value})  # type: ignore[arg-type]
        assert caught.value.field == field


class TestHashSlots:
    @pytest.mark.parametrize(
        "key",
        [
            DEFAULT_KEY_PREFIX + "reports",
            GO_KEY_PREFIX + "watchdog_cron",
            "app:{tenant-1}:lock",
            "odd{",
        ],
    )
    def test_every_key_of_a_lock_is_in_the_lock_keys_slot(self, key: str) -> None:
        """Redis Cluster: epoch, node and grace keys hash like the lock key itself."""
        for suffix in ("epoch", "node", "grace"):
            assert key_slot(companion(key, suffix).encode()) == key_slot(key.encode())

    def test_the_lock_key_itself_is_not_changed(self) -> None:
        """The Go prefix still names the Go key: only the companion keys get a hash tag."""
        lock = RedisLock(aredis.Redis(), "watchdog_cron", RedisLockConfig(prefix=GO_KEY_PREFIX))
        assert lock.key == GO_KEY_PREFIX + "watchdog_cron"
        assert companion(lock.key, "epoch") == "{" + lock.key + "}:epoch"


class TestConstruction:
    async def test_key_is_prefix_plus_name_and_nothing_is_sent(self) -> None:
        """A new lock knows its key and token and has not touched the network."""
        client = aredis.Redis(host="127.0.0.1", port=1)
        lock = RedisLock(client, "cron", RedisLockConfig(prefix=GO_KEY_PREFIX))
        assert isinstance(lock, Lock)
        assert lock.key == GO_KEY_PREFIX + "cron"
        assert len(lock.token) == 32
        assert lock.ttl == 30.0
        assert not lock.holding
        await lock.aclose()
        await client.aclose()

    @pytest.mark.parametrize("name", ["", None, 5])
    def test_name_must_be_a_non_empty_str(self, name: object) -> None:
        """An empty or non-str name is a ConfigError naming ``name``."""
        with pytest.raises(ConfigError) as caught:
            RedisLock(aredis.Redis(), name)  # type: ignore[arg-type]
        assert caught.value.field == "name"


class TestScripts:
    def test_script_shas_are_hex_sha1_of_the_source(self) -> None:
        """Each script is named by the 40-hex-digit SHA1 Redis computes for it."""
        shas = {ACQUIRE.sha, EXTEND.sha, RELEASE.sha}
        assert len(shas) == 3
        assert all(len(sha) == 40 and int(sha, 16) >= 0 for sha in shas)


class TestFactory:
    async def test_factory_returns_the_unstarted_lock(self) -> None:
        """redis_lock() builds a RedisLock and sends nothing (the component enters it)."""
        client = aredis.Redis(host="127.0.0.1", port=1)
        lock = redis_lock(client, "reports", RedisLockConfig(ttl=10))
        assert isinstance(lock, RedisLock)
        assert (lock.name, lock.ttl, lock.holding) == ("reports", 10.0, False)
        await lock.aclose()
        await client.aclose()

    def test_factory_brings_a_ping_check_that_does_not_affect_readiness(self) -> None:
        """Component(redis_lock, ...) gets a health check with no user code; not for readiness."""
        check = factory_health(redis_lock)
        assert check is not None
        assert check.affects_readiness is False


class TestWithoutRedisPy:
    def test_lock_module_and_in_memory_lock_work_without_redis_py(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without redis-py, service_pkg.lock imports; RedisLock names the extra to install."""
        for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, "redis", None)
        monkeypatch.delitem(sys.modules, "service_pkg.lock._redis")
        lock_module = importlib.import_module("service_pkg.lock")
        with pytest.raises(MissingDependencyError, match=r"pip install 'service-pkg\[redis\]'"):
            _ = lock_module.RedisLock
        with pytest.raises(AttributeError):
            _ = lock_module.NoSuchThing

    def test_redis_module_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Importing service_pkg.redis without redis-py raises MissingDependencyError."""
        for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, "redis", None)
        for name in [m for m in sys.modules if m.startswith("service_pkg.redis")]:
            monkeypatch.delitem(sys.modules, name)
        with pytest.raises(MissingDependencyError) as caught:
            importlib.import_module("service_pkg.redis")
        assert caught.value.extra == "redis"
        assert "pip install 'service-pkg[redis]'" in str(caught.value)
        assert isinstance(caught.value, ImportError)
