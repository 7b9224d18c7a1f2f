"""A leader whose gated group cannot start resigns, backs off, and another replica leads.

Two real candidate processes on a private redis-server. E is 1 s; bounds are generous (the
takeover time is measured by ``benchmarks/failover.py``, not asserted here).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.redis_server import RedisServer, redis_server_fixture, wait_until  # noqa: F401

from .harness import BACKOFF, Replica

pytestmark = pytest.mark.integration

E = 1.0


@pytest.fixture(name="replicas")
def _replicas(redis_server: RedisServer) -> Iterator[list[Replica]]:
    del redis_server  # started first, stopped after the replicas
    started: list[Replica] = []
    yield started  # the tests add replicas with spawn()
    for replica in started:
        replica.close()


def spawn(replicas: list[Replica], port: int, *, fail: bool) -> Replica:
    replica = Replica(port, E, fail=fail)
    replicas.append(replica)
    return replica


def test_failing_leader_resigns_and_the_other_replica_takes_over(
    replicas: list[Replica], redis_server: RedisServer
) -> None:
    """The leader whose group fails resigns; the healthy replica leads and starts its group."""
    failing = spawn(replicas, redis_server.port, fail=True)
    wait_until(lambda: bool(failing.events("resigned")), 20, "the failing replica to resign")
    healthy = spawn(replicas, redis_server.port, fail=False)
    wait_until(lambda: bool(healthy.events("working")), 20, "the healthy replica's group")
    lost = failing.events("lost")
    assert lost
    assert lost[0]["reason"] == "resigned:gated_start_failed"
    assert not failing.events("working")


def test_back_off_grows_with_each_failure(
    replicas: list[Replica], redis_server: RedisServer
) -> None:
    """Alone, a replica that keeps failing resigns with a hold-off that doubles each time."""
    failing = spawn(replicas, redis_server.port, fail=True)
    wait_until(lambda: len(failing.events("resigned")) >= 3, 30, "three resignations")
    resigned = failing.events("resigned")[:3]
    assert [(r["failures"], r["hold_off"]) for r in resigned] == [
        (1, BACKOFF),
        (2, 2 * BACKOFF),
        (3, 4 * BACKOFF),
    ]
    taken = [r["t"] for r in failing.events("taken")][:3]
    # The election honours each hold-off: the next take comes after it, never before.
    assert taken[1] - resigned[0]["t"] >= BACKOFF
    assert taken[2] - resigned[1]["t"] >= 2 * BACKOFF
