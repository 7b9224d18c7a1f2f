"""A unit of work per request (or per call): one ``AsyncSession``, committed or rolled back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from litestar.di import Provide

if TYPE_CHECKING:
    # Type-only: the http extra does not bring SQLAlchemy; the functions need it only when
    # called. No signature here is read by Litestar (the dependency below returns Any).
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ("provide_unit_of_work", "unit_of_work")


@contextlib.asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Open a session; commit it when the block succeeds, roll it back when it raises.

    ``async with unit_of_work(sessionmaker) as session: ...`` in a gRPC method or a job. The
    session is closed in every case; the block's exception (or a failed commit) propagates.
    Cancellation rolls back too.

    .. versionadded:: 0.3.0
    """
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


def provide_unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> Provide:
    """A Litestar dependency: one :func:`unit_of_work` per request.

    ``dependencies={"session": provide_unit_of_work(sessionmaker)}``: the handler gets the
    session; it is committed after the handler returned and before the response is sent (a
    failed commit is a 500), rolled back when the handler raised (an ``HTTPException`` too).

    .. versionadded:: 0.3.0
    """

    async def session_per_request() -> AsyncIterator[Any]:
        async with unit_of_work(sessions) as session:
            yield session

    return Provide(session_per_request)
