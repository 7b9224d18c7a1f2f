"""The pools' idle limit (Go ConnMaxIdleTime): a connection idle too long is replaced."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import QueuePool

from service_pkg import _pooling
from service_pkg._pooling import install_idle_limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def _clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(_pooling, "time", types.SimpleNamespace(monotonic=clock))
    return clock


@pytest.fixture(name="engine")
def _engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path}/idle.db", poolclass=QueuePool, pool_size=1)
    install_idle_limit(engine.pool, 10.0)
    yield engine
    engine.dispose()


def checkout(engine: Engine) -> object:
    """The DB-API connection the pool hands out (kept alive by the caller, so never reused)."""
    proxy = engine.pool.connect()
    try:
        return proxy.dbapi_connection
    finally:
        proxy.close()


def test_a_connection_idle_longer_than_the_limit_is_replaced(engine: Engine, clock: Clock) -> None:
    first = checkout(engine)
    clock.now += 10.5
    assert checkout(engine) is not first


def test_a_connection_idle_within_the_limit_is_reused(engine: Engine, clock: Clock) -> None:
    first = checkout(engine)
    clock.now += 9.5
    assert checkout(engine) is first
