"""Two replicas against one Redis and one PostgreSQL: one leader runs the rollup; kill -9 of
the leader hands it to the other, and the counters stay exact over several rounds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from service_pkg.migrations import upgrade
from service_pkg.postgres import PostgresConfig, open_postgres
from sqlalchemy import func, select

from example_service.containers import MIGRATIONS
from example_service.db import click_events, link_counters, rollup_state
from tests.example_service.process import ServiceProcess

pytestmark = pytest.mark.integration

ROUNDS = 3
CLICKS_PER_ROUND = 6
ROLLED_UP = "clicks rolled up"


@pytest.fixture
def replica_env(
    postgres_url: str, redis_url: str, election_name: str, tmp_path: Path
) -> dict[str, str]:
    asyncio.run(_migrate(postgres_url))
    return {
        "LINKS_DATABASE_URL": postgres_url,
        "LINKS_REDIS_URL": redis_url,
        "LINKS_ELECTION_NAME": election_name,
        "LINKS_LOCK_PREFIX": f"test:{election_name}:",
        "LINKS_LEADER_EXPIRATION": "1",
        "LINKS_ROLLUP_INTERVAL": "0.1",
        "LINKS_HTTP_PORT": "0",
        "LINKS_GRPC_PORT": "0",
        "LINKS_DRAIN_DELAY": "0",
    }


async def _migrate(url: str) -> None:
    async with open_postgres(PostgresConfig(url=url)) as engine:
        await upgrade(engine, MIGRATIONS)


async def _database_totals(url: str) -> tuple[int, int, int, int]:
    async with open_postgres(PostgresConfig(url=url)) as engine, engine.connect() as conn:
        events = await conn.scalar(select(func.count()).select_from(click_events))
        last_id = await conn.scalar(select(func.max(click_events.c.id)))
        counted = await conn.scalar(select(func.sum(link_counters.c.clicks)))
        state = await conn.scalar(select(rollup_state.c.last_event_id))
    return int(events or 0), int(last_id or 0), int(counted or 0), int(state or 0)


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for replica in started:
        replica.close()


def start(env: dict[str, str], cwd: Path, into: list[ServiceProcess]) -> ServiceProcess:
    replica = ServiceProcess(env, cwd)
    into.append(replica)
    return replica


def stats(base_url: str, code: str) -> int:
    response = httpx.get(f"{base_url}/links/{code}/stats", timeout=5)
    assert response.status_code == 200, response.text
    return int(response.json()["clicks"])


def clicks_are(base_url: str, code: str, clicks: int) -> Callable[[], bool]:
    return lambda: stats(base_url, code) == clicks


@pytest.mark.timeout(150)
def test_one_leader_rolls_up_and_a_killed_leader_is_replaced_with_exact_counters(
    replica_env: dict[str, str], replicas: list[ServiceProcess], tmp_path: Path, postgres_url: str
) -> None:
    a = start(replica_env, tmp_path, replicas)
    a_http, _ = a.ready()
    a.wait_for(a.leads, 15, "replica A leads")
    b = start(replica_env, tmp_path, replicas)
    b_http, _ = b.ready()

    created = httpx.post(f"{a_http}/links", json={"url": "https://example.com/r"}, timeout=5)
    assert created.status_code == 201, created.text
    code = created.json()["code"]

    urls = {a: a_http, b: b_http}
    leader, follower = a, b
    total = 0
    for round_no in range(1, ROUNDS + 1):
        for i in range(CLICKS_PER_ROUND):  # through both replicas: any of them records clicks
            target = (leader, follower)[i % 2]
            response = httpx.get(f"{urls[target]}/{code}", timeout=5)
            assert response.status_code == 307, response.text
            total += 1
        follower.wait_for(clicks_are(urls[follower], code, total), 20, "rolled up")
        # Exactly one replica runs the job: the follower never started it.
        assert not follower.leads()
        assert not follower.find(ROLLED_UP)
        assert leader.find(ROLLED_UP)

        leader.kill()  # no stop, no release: the lease has to run out
        for _ in range(2):  # clicks while nobody leads are rolled up by the next leader
            assert httpx.get(f"{urls[follower]}/{code}", timeout=5).status_code == 307
            total += 1
        follower.wait_for(follower.leads, 15, f"round {round_no}: the follower takes over")
        follower.wait_for(clicks_are(urls[follower], code, total), 20, "exact after")

        replacement = start(replica_env, tmp_path, replicas)
        urls[replacement] = replacement.ready()[0]
        leader, follower = follower, replacement

    events, last_id, counted, state = asyncio.run(_database_totals(postgres_url))
    assert (events, counted) == (total, total)  # no loss, no double count
    assert state == last_id
    assert leader.terminate() == 0
    assert follower.terminate() == 0
