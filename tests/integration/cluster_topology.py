"""A private 6-node Redis Cluster (3 masters, 1 replica each) on free loopback ports.

Each node is a :class:`RedisServer` with ``--cluster-enabled yes`` in its own directory (so its
``nodes.conf`` is its own); ``redis-cli --cluster create ... --cluster-replicas 1`` joins them.
``cluster-node-timeout`` is 1000 ms, so a killed master is replaced by its replica within a few
seconds. Every process is stopped by PID in :meth:`ClusterTopology.close`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import pytest

from tests.integration.redis_server import BINARY, HOST, RedisServer, wait_until

__all__ = ("ClusterTopology", "cluster_topology_fixture")

CLI = shutil.which("redis-cli")


def _cluster_info(node: RedisServer) -> dict[str, str]:
    reply = node.command("CLUSTER", "INFO")
    text = reply.decode() if isinstance(reply, bytes) else ""
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


class ClusterTopology:
    """Six cluster nodes; ``nodes`` in start order, roles as ``CLUSTER NODES`` says."""

    def __init__(self, size: int = 6) -> None:
        self.nodes = [
            RedisServer(
                args=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "1000",
                    "--repl-diskless-sync-delay",
                    "0",
                )
            )
            for _ in range(size)
        ]

    def start(self) -> None:
        assert CLI is not None, "redis-cli is not installed"
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                CLI,
                "--cluster",
                "create",
                *(f"{HOST}:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_until(self.healthy, 30, "cluster_state:ok on every node")

    def healthy(self) -> bool:
        """Every running node says ``cluster_state:ok`` and every master has a replica."""
        with contextlib.suppress(OSError):
            running = [n for n in self.nodes if n.running]
            states = [_cluster_info(n).get("cluster_state") for n in running]
            if not all(s == "ok" for s in states):
                return False
            masters = self.masters()
            return len(masters) == len(self.nodes) // 2 and all(
                n.info("replication").get("connected_slaves", "0") != "0" for n in masters
            )
        return False

    def masters(self) -> list[RedisServer]:
        return [
            n for n in self.nodes if n.running and n.info("replication").get("role") == "master"
        ]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(HOST, n.port) for n in self.nodes]

    def owner_of(self, key: str) -> RedisServer:
        """The master serving ``key``'s slot now."""
        first = next(n for n in self.nodes if n.running)
        slot = first.command("CLUSTER", "KEYSLOT", key)
        assert isinstance(slot, int)
        slots = first.command("CLUSTER", "SLOTS")
        assert isinstance(slots, list)
        for entry in slots:
            assert isinstance(entry, list)
            low, high, master = entry[0], entry[1], entry[2]
            assert isinstance(low, int)
            assert isinstance(high, int)
            assert isinstance(master, list)
            if low <= slot <= high:
                port = master[1]
                return next(n for n in self.nodes if n.port == port)
        raise AssertionError(f"slot {slot} is not covered")

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture(name="cluster_topology")
def cluster_topology_fixture() -> Iterator[ClusterTopology]:
    """A started 6-node :class:`ClusterTopology`, always stopped after the test."""
    if BINARY is None or CLI is None:
        reason = "redis-server / redis-cli are not installed; `make servers` installs them"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} [CI is set: a missing server is a failure]", pytrace=False)
        pytest.skip(reason)
    with ClusterTopology() as topology:
        yield topology
