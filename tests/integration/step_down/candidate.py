"""A candidate whose gated group may fail to start (``test_step_down.py``, failover benchmark).

``python candidate.py PORT EXPIRATION FAIL BACKOFF`` runs an Application with a Redis client,
a Redis election named ``step_down`` and a leader-gated ``worker``. With FAIL=1 the worker's
start raises, so this replica must resign and stay out for a hold-off starting at BACKOFF
seconds. JSON lines on stdout, ``t = time.monotonic()`` (system-wide on Linux):
``ready``; ``taken`` / ``lost`` (epoch, reason); ``working`` (the group started);
``resigned`` (failures, hold_off, from the supervisor's log record); ``exit``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.events import Event, LeadershipChanged
from service_pkg.leader import LeaderConfig, LeaderEvent, LockElection, leader_election
from service_pkg.redis import RedisConfig, redis_client
from tests.integration.leader.child import emit, serve_announcing


class Resignations(logging.Handler):
    """Turns the supervisor's "resigning leadership" records into ``resigned`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("gated group failed to start"):
            emit(
                "resigned",
                failures=getattr(record, "failures", None),
                hold_off=getattr(record, "hold_off", None),
            )


async def worker(election: LockElection, fail: bool) -> AsyncIterator[None]:
    if fail:
        raise RuntimeError("worker cannot start on this replica")
    emit("working", epoch=election.epoch)
    yield None


def main(port: int, expiration: float, fail: bool, backoff: float) -> int:
    logger = logging.getLogger("service_pkg.app")
    logger.addHandler(Resignations())
    logger.setLevel(logging.INFO)
    logger.propagate = False

    class Candidate(containers.DeclarativeContainer):
        redis = Component(
            redis_client,
            providers.Object(RedisConfig(url=f"redis://127.0.0.1:{port}/0")),
        )
        election = Component(
            leader_election,
            redis,
            LeaderConfig(name="step_down", expiration=expiration),
            restart_grace=False,
        )
        work = Component(worker, election, fail, leader=election)

    app = Application(
        Candidate(), shutdown_timeout=10, gated_backoff=backoff, gated_backoff_max=60 * backoff
    )

    def transitions(event: Event) -> None:
        if isinstance(event, LeadershipChanged):
            name = "taken" if event.event == LeaderEvent.TAKEN else "lost"
            emit(name, epoch=event.epoch, reason=event.reason)

    app.subscribe(transitions, LeadershipChanged)

    return asyncio.run(serve_announcing(app))


if __name__ == "__main__":
    raise SystemExit(
        main(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1", float(sys.argv[4])),
    )
