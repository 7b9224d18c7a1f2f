"""The Redis election on a real 6-node Redis Cluster (3 masters, a replica each; issue 10).

Candidates are processes with a ``redis.asyncio.cluster.RedisCluster`` client (candidate.py
``cluster:PORT``). The lock's keys share one hash slot, so its scripts run on one master.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from tests.integration.cluster_topology import (  # noqa: F401 - the fixture
    ClusterTopology,
    cluster_topology_fixture,
)
from tests.integration.redis_server import wait_until

from .harness import Candidate, epochs_strictly_increase, leader_of, stale_actions, term_log

pytestmark = pytest.mark.integration

E = 1.0
KEY = "service-pkg:lock:faults"


@pytest.fixture(name="candidates")
def _candidates() -> Iterator[list[Candidate]]:
    started: list[Candidate] = []
    yield started
    for candidate in started:
        candidate.close()


def group_of(
    topo: ClusterTopology, started: list[Candidate], size: int, min_replicas: int = 0
) -> list[Candidate]:
    port = topo.nodes[0].port
    group = [
        Candidate(f"cluster:{port}", E, grace=True, min_replicas=min_replicas) for _ in range(size)
    ]
    started.extend(group)
    wait_until(lambda: all(c.events("ready") for c in group), 30, "ready candidates")
    wait_until(lambda: leader_of(group) is not None, 10 * E, "a first leader")
    return group


def test_two_candidates_on_a_cluster_elect_one_leader(
    cluster_topology: ClusterTopology, candidates: list[Candidate]
) -> None:
    """One leader, the other follows, for several periods; nobody acts stale."""
    group = group_of(cluster_topology, candidates, 2)
    leader = leader_of(group)
    time.sleep(2 * E)
    assert leader_of(group) is leader
    follower = next(c for c in group if c is not leader)
    assert follower.events("taken") == []
    assert stale_actions(group) == []


def test_sigterm_hands_over_on_a_cluster(
    cluster_topology: ClusterTopology, candidates: list[Candidate]
) -> None:
    """SIGTERM: the leader stops acting before the other takes over, within about one E."""
    group = group_of(cluster_topology, candidates, 2)
    old = leader_of(group)
    assert old is not None
    sent = old.send(signal.SIGTERM)
    assert old.wait_exit() == 0
    new = next(c for c in group if c is not old)
    wait_until(lambda: bool(new.events("taken")), 5 * E, "the other candidate to take over")
    assert new.events("taken")[0]["t"] - sent < 2 * E
    last_act = max(r["t"] for r in old.events("act"))
    assert last_act < new.events("taken")[0]["t"]
    assert stale_actions(group) == []


@pytest.mark.parametrize("min_replicas", [0, 1])
def test_failover_of_the_slot_owner_recovers_without_stale_actions(
    cluster_topology: ClusterTopology, candidates: list[Candidate], min_replicas: int
) -> None:
    """SIGKILL of the master owning the lock's slot: its replica is promoted, the killed node
    comes back (as a replica); a leader again, 0 stale actions, epochs strictly increase."""
    group = group_of(cluster_topology, candidates, 3, min_replicas)
    owner = cluster_topology.owner_of(KEY)
    time.sleep(E / 2)
    fault_at = time.monotonic()
    owner.kill()
    wait_until(
        lambda: cluster_topology.owner_of(KEY) is not owner, 30, "the replica to be promoted"
    )
    owner.start()  # same directory and nodes.conf: it rejoins as a replica of the new owner

    def recovered() -> bool:
        leader = leader_of(group)
        return leader is not None and any(r["t"] > fault_at for r in leader.events("taken"))

    wait_until(recovered, 45, "a leader after the failover")
    time.sleep(E)
    assert stale_actions(group) == []
    assert epochs_strictly_increase(group), term_log(group)
