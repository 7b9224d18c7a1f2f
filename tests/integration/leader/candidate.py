"""One election candidate process for the fault tests (``test_faults.py``).

``python candidate.py PORT EXPIRATION GRACE STALL [MIN_REPLICAS]`` runs an Application with a
Redis client, a Redis leader election named ``faults`` and a leader-gated actor. PORT may also
be a whole Redis URL (a Sentinel URL for the failover tests) or ``cluster:PORT`` (a Redis
Cluster reached through that startup node); MIN_REPLICAS (default 0) is the
lock's ``min_replicas``. The actor acts every 10 ms,
but only while ``election.is_leader()``. Every event goes to stdout as one JSON line with
``t = time.monotonic()`` (system-wide on Linux, so comparable across processes):
``ready``, ``taken`` and ``lost`` (epoch, reason), ``act`` (epoch), ``stopped`` (the gated actor),
``stall``, ``exit``.
SIGUSR1 blocks the event loop for STALL seconds with ``time.sleep`` (scenario S8).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator

from dependency_injector import containers, providers
from redis.asyncio.cluster import RedisCluster

from service_pkg import Application, Component
from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection, leader_election
from service_pkg.redis import RedisConfig, redis_client
from tests.integration.leader.child import emit, serve_announcing


async def actor(election: LockElection) -> AsyncIterator[None]:
    async def act() -> None:
        while True:
            if election.is_leader():
                emit("act", epoch=election.epoch)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(act())
    yield None
    task.cancel()
    await asyncio.wait({task})
    emit("stopped", epoch=election.epoch)


async def reporter(election: LockElection) -> AsyncIterator[None]:
    async def report() -> None:
        async for event in election.events():
            kind = "taken" if event == LeaderEvent.TAKEN else "lost"
            emit(kind, epoch=election.epoch, reason=election.last_reason)

    task = asyncio.create_task(report())
    yield None
    task.cancel()
    await asyncio.wait({task})


async def cluster_client(port: int, socket_timeout: float) -> AsyncIterator[RedisCluster]:
    """A ``RedisCluster`` from one startup node, closed at stop."""
    client = RedisCluster(
        host="127.0.0.1",
        port=port,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
    )
    _ = await client.initialize()
    yield client
    await client.aclose()


def main(where: str, expiration: float, grace: bool, stall: float, min_replicas: int = 0) -> int:
    # Short timeouts: a call to a dead master must fail fast enough to ask the sentinels again.
    timeout = min(1.0, expiration / 2)
    if where.startswith("cluster:"):
        client = Component(cluster_client, int(where.removeprefix("cluster:")), timeout)
    else:
        url = where if "://" in where else f"redis://127.0.0.1:{where}/0"
        config = RedisConfig(url=url, connect_timeout=timeout, socket_timeout=timeout)
        client = Component(redis_client, providers.Object(config))

    class Candidate(containers.DeclarativeContainer):
        redis = client
        election = Component(
            leader_election,
            redis,
            LeaderConfig(name="faults", expiration=expiration),
            restart_grace=grace,
            min_replicas=min_replicas,
        )
        report = Component(reporter, election)
        act = Component(actor, election, leader=election)

    app = Application(Candidate(), shutdown_timeout=10)

    async def serve() -> int:
        loop = asyncio.get_running_loop()

        def stall_loop() -> None:
            emit("stall", seconds=stall)
            time.sleep(stall)  # the scenario: a loop that does not run for a while

        loop.add_signal_handler(signal.SIGUSR1, stall_loop)

        return await serve_announcing(app)

    return asyncio.run(serve())


if __name__ == "__main__":
    raise SystemExit(
        main(
            sys.argv[1],
            float(sys.argv[2]),
            sys.argv[3] == "1",
            float(sys.argv[4]),
            int(sys.argv[5]) if len(sys.argv) > 5 else 0,
        ),
    )
