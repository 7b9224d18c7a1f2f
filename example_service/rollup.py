"""The leader-only rollup: click events → per-link counters, fenced by the election epoch.

One run is one transaction:

1. make sure the ``rollup_state`` row exists (``INSERT ... ON CONFLICT DO NOTHING``, epoch 0);
   on SQLite this first write also takes the database's write lock;
2. PostgreSQL only: ``LOCK TABLE click_events IN EXCLUSIVE MODE``, which waits for every
   click transaction in flight and holds new ones back until the commit, so no event with a
   smaller id can commit after the run read the largest one (a sequence hands out ids before
   their transactions commit; without the lock such an event would be skipped for ever);
3. read ``last_event_id``, count the next events (at most ``batch``) per link;
4. the fence: ``UPDATE rollup_state SET last_event_id = :upto, epoch = :epoch WHERE
   name = :name AND epoch <= :epoch``. A former leader, whose epoch is older than the one a
   newer leader already wrote, updates no row: :class:`FencedError`, and the whole
   transaction rolls back, counters included;
5. add the counts to ``link_counters`` (upsert) and commit.

So an event is counted exactly once whatever the leaders do: by the run whose transaction
moved ``last_event_id`` past it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service_pkg.http import unit_of_work
from service_pkg.scheduler import RunContext
from sqlalchemy import Table, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from example_service.db import click_events, link_counters, rollup_state

__all__ = ("ROLLUP_NAME", "FencedError", "Rollup", "RollupResult")

log = logging.getLogger("example_service.rollup")

ROLLUP_NAME = "click_counters"


class FencedError(RuntimeError):
    """The run's epoch is older than the one in ``rollup_state``: a newer leader took over."""


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What one run did."""

    events: int
    """Click events counted."""
    last_event_id: int
    epoch: int


class Rollup:
    """Runs the rollup transaction; :meth:`run` is the scheduler job.

    No state of its own besides the session factory, so a leader that loses and regains
    leadership (a new epoch) simply goes on from the row in the database.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], batch: int = 10_000) -> None:
        self._sessions = sessions
        self._batch = batch
        self.runs = 0
        """Runs that committed (read by the tests and the log)."""

    async def run(self, ctx: RunContext) -> None:
        """The scheduler job: one fenced rollup with the election epoch of this run."""
        if ctx.epoch is None:
            raise RuntimeError("the rollup job must be gated on an election (no epoch)")
        epoch = ctx.epoch
        try:
            result = await self.once(epoch)
        except FencedError:
            log.warning("rollup fenced: a newer leader owns the counters", extra={"epoch": epoch})
            return
        if result.events:
            log.info(
                "clicks rolled up",
                extra={
                    "events": result.events,
                    "last_event_id": result.last_event_id,
                    "epoch": result.epoch,
                },
            )

    async def once(self, epoch: int) -> RollupResult:
        """One rollup transaction on behalf of the leader of ``epoch``.

        Raises:
            FencedError: ``rollup_state`` holds a larger epoch; nothing was changed.
        """
        async with unit_of_work(self._sessions) as session:
            dialect = session.get_bind().dialect.name
            await session.execute(
                _insert(dialect, rollup_state)
                .values(name=ROLLUP_NAME, last_event_id=0, epoch=0)
                .on_conflict_do_nothing()
            )
            if dialect == "postgresql":
                await session.execute(text("LOCK TABLE click_events IN EXCLUSIVE MODE"))
            last = int(
                await session.scalar(
                    select(rollup_state.c.last_event_id).where(rollup_state.c.name == ROLLUP_NAME)
                )
                or 0
            )
            window = (
                select(click_events.c.id, click_events.c.code)
                .where(click_events.c.id > last)
                .order_by(click_events.c.id)
                .limit(self._batch)
                .subquery()
            )
            rows = (
                await session.execute(
                    select(window.c.code, func.count(), func.max(window.c.id)).group_by(
                        window.c.code
                    )
                )
            ).all()
            upto = max((int(r[2]) for r in rows), default=last)
            fenced = await session.execute(
                update(rollup_state)
                .where(rollup_state.c.name == ROLLUP_NAME, rollup_state.c.epoch <= epoch)
                .values(last_event_id=upto, epoch=epoch)
            )
            if fenced.rowcount != 1:  # type: ignore[attr-defined]
                raise FencedError(f"rollup: epoch {epoch} is older than the stored one")
            for code, count, _ in rows:
                upsert = _insert(dialect, link_counters).values(code=code, clicks=count)
                await session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[link_counters.c.code],
                        set_={"clicks": link_counters.c.clicks + upsert.excluded.clicks},
                    )
                )
        self.runs += 1
        return RollupResult(sum(int(r[1]) for r in rows), upto, epoch)


def _insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's ``INSERT`` with ``ON CONFLICT`` (both spell it the same way)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
