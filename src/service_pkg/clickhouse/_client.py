"""``ClickHouse``: an async API over clickhouse-sqlalchemy's sync engine, and its component."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, create_engine, text

from service_pkg._pooling import install_idle_limit
from service_pkg.clickhouse._config import ClickHouseConfig
from service_pkg.events import EventBus, StoreReconnected, current_events
from service_pkg.exceptions import BrokenResourceError, ClosedResourceError, ConfigError
from service_pkg.health import default_health

__all__ = ("ClickHouse", "clickhouse_client")

logger = logging.getLogger("service_pkg.clickhouse")

T = TypeVar("T")


@dataclass(eq=False)
class _Generation:
    """One engine and the calls still using it; disposed once retired and unused."""

    engine: Engine
    users: int = 0
    retired: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)


def _build(config: ClickHouseConfig) -> Engine:
    engine = create_engine(
        config.sqlalchemy_url,
        pool_size=config.max_idle,
        max_overflow=config.max_open - config.max_idle,
        pool_timeout=config.pool_timeout,
        pool_recycle=-1 if config.conn_max_lifetime is None else config.conn_max_lifetime,
        pool_pre_ping=True,
    )
    if config.conn_max_idle_time is not None:
        install_idle_limit(engine.pool, config.conn_max_idle_time)
    return engine


def _select_one(connection: Connection) -> None:
    connection.execute(text("SELECT 1")).all()


class ClickHouse:
    """An async ClickHouse client: ``execute``, ``fetch``, bulk ``insert``, ``reconnect``.

    Built on clickhouse-sqlalchemy's synchronous engine (native clickhouse-driver with LZ4, or
    HTTP); every call runs on one of ``config.max_open`` worker threads the client owns, so
    the event loop never blocks and callers beyond the pool wait on the loop.

    Lifecycle: ``async with ClickHouse(config) as ch`` (or :meth:`start`) creates the engine and
    runs ``SELECT 1``; a failure is :class:`BrokenResourceError` naming the masked address
    (Go bug #22: the original slept 3 s and returned success). :meth:`aclose` (idempotent)
    waits for running calls, disposes the engine and stops the threads; calls after it raise
    :class:`ClosedResourceError`.

    :meth:`reconnect` builds and pings a new engine, swaps it in under a lock, and disposes
    the old one only after every call that was using it has finished (Go bug #23): no caller
    ever sees a closed or half-swapped engine.

    A cancelled call stops waiting at once, but its thread finishes the statement (a driver
    call cannot be interrupted); the engine it used stays open until it has.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        config: ClickHouseConfig,
        *,
        name: str = "clickhouse",
        events: EventBus | None = None,
    ) -> None:
        """Prepare a client; nothing connects until :meth:`start`.

        Args:
            config: Where the server is and how to pool connections.
            name: The component name :class:`~service_pkg.events.StoreReconnected` carries.
            events: Where reconnects are announced; the bus of the application starting the
                component (``current_events()``) when ``None``.
        """
        self.config = config
        self.name = name
        self._events = events if events is not None else current_events()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._current: _Generation | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self.reconnects = 0
        """How many :meth:`reconnect` calls swapped the engine (for metrics)."""

    def __repr__(self) -> str:
        """Show the masked address and the state."""
        state = "closed" if self._closed else "open" if self._current else "new"
        return f"<ClickHouse {self.address} {state} reconnects={self.reconnects}>"

    @property
    def address(self) -> str:
        """The server's address, password masked."""
        return self.config.address

    @property
    def engine(self) -> Engine:
        """The current SQLAlchemy engine, for Core queries through :meth:`run`.

        Do not keep it across a :meth:`reconnect`: read it again (or use :meth:`run`, which
        always uses the current one and keeps it open while the call runs).
        """
        return self._generation().engine

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Create the engine and prove it with ``SELECT 1``.

        Raises:
            BrokenResourceError: the server did not answer (names the masked address; the
                driver's error is ``__cause__``). Nothing is left open.
            RuntimeError: already started.
        """
        if self._current is not None or self._closed:
            raise RuntimeError("ClickHouse.start(): already started; create a new client")
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.config.max_open, thread_name_prefix="service-pkg-clickhouse"
        )
        engine = _build(self.config)
        try:
            await self._ping(engine)
        except BaseException:
            await self._dispose(engine)
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._current = _Generation(engine)
        logger.info("clickhouse connected", extra={"service_pkg_clickhouse_address": self.address})

    async def __aenter__(self) -> Self:
        """:meth:`start`, then return the client."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """:meth:`aclose`."""
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for running calls, dispose the engine, stop the threads. Idempotent."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            current, self._current = self._current, None
            if current is not None:
                await self._retire(current)
            if self._executor is not None:
                await asyncio.to_thread(self._executor.shutdown, wait=True)
        logger.info("clickhouse closed", extra={"service_pkg_clickhouse_address": self.address})

    # -- the API ------------------------------------------------------------------------

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Call ``fn(connection)`` on a worker thread with a pooled connection; return its result.

        For SQLAlchemy Core: ``await ch.run(lambda c: c.execute(select(t)).all())``. The
        connection is not in a transaction (ClickHouse has none); do not commit.
        """

        def call() -> T:
            with generation.engine.connect() as connection:
                return fn(connection)

        generation = self._generation()
        return await self._submit(generation, call)

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement (DDL, ``INSERT ... SELECT``, ``ALTER``); bound ``:name`` params."""
        await self.run(lambda c: c.execute(text(sql), dict(params or {})).close())

    async def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples; bound ``:name`` params."""
        return await self.run(
            lambda c: [tuple(row) for row in c.execute(text(sql), dict(params or {}))]
        )

    async def insert(
        self,
        table: str,
        rows: Iterable[Sequence[Any]] | None = None,
        *,
        columns: Sequence[str],
        data: Sequence[Sequence[Any]] | None = None,
    ) -> int:
        """Bulk-insert ``rows`` or ``data`` into ``table``; return the number of rows.

        ``rows`` are tuples in ``columns`` order; ``data`` is one sequence per column.

        On the native transport the rows go to clickhouse-driver's own bulk ``INSERT``
        (``executemany`` of its DB-API cursor, the same path as ``Client.execute``): one
        round trip, in blocks, no SQL rendering per row.

        Raises:
            ConfigError: neither or both of ``rows`` and ``data``, or no ``columns``.
        """
        if (rows is None) == (data is None) or not columns:
            raise ConfigError("rows", "rows and data", "give columns and exactly one of rows, data")
        if rows is not None:
            # A list is sent as is: copying a million rows would cost more than the send.
            payload = rows if isinstance(rows, list | tuple) else list(rows)
        else:
            payload = list(zip(*(data or ()), strict=True))
        names = ", ".join(columns)
        statement = f"INSERT INTO {table} ({names}) VALUES"
        generation = self._generation()

        def call() -> int:
            if self.config.transport == "native":
                raw = generation.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.executemany(statement, payload)
                    cursor.close()
                finally:
                    raw.close()
            else:
                placeholders = ", ".join(f":{i}" for i in range(len(columns)))
                keyed = [{str(i): v for i, v in enumerate(row)} for row in payload]
                with generation.engine.connect() as connection:
                    connection.execute(text(f"{statement} ({placeholders})"), keyed)
            return len(payload)

        return await self._submit(generation, call)

    async def ping(self) -> None:
        """``SELECT 1`` on the current engine.

        Raises:
            BrokenResourceError: no answer; names the masked address.
        """
        await self._ping(self._generation().engine)

    async def reconnect(self, reason: BaseException | str | None = None) -> None:
        """Swap in a new engine; the old one is disposed once its running calls finish.

        Concurrent callers are serialized by a lock; calls made during the swap use the old
        engine until the new one is installed, then the new one. Emits
        :class:`~service_pkg.events.StoreReconnected` and counts :attr:`reconnects`.

        Raises:
            BrokenResourceError: the new engine's ``SELECT 1`` failed; the old engine stays
                installed (it may still work, or the next reconnect may succeed).
            ClosedResourceError: the client is closed.
        """
        async with self._lock:
            old = self._generation()
            engine = _build(self.config)
            try:
                await self._ping(engine)
            except BaseException:
                await self._dispose(engine)
                raise
            self._current = _Generation(engine)
            self.reconnects += 1
        logger.info(
            "clickhouse reconnected", extra={"service_pkg_clickhouse_address": self.address}
        )
        if self._events.wants(StoreReconnected):
            self._events.emit(
                StoreReconnected(component=self.name, address=self.address, error=str(reason or ""))
            )
        await self._retire(old)

    # -- internals ----------------------------------------------------------------------

    def _generation(self) -> _Generation:
        if self._closed:
            raise ClosedResourceError(f"ClickHouse {self.address}: used after aclose()")
        if self._current is None:
            raise RuntimeError(f"ClickHouse {self.address}: not started (use async with)")
        return self._current

    async def _submit(self, generation: _Generation, call: Callable[[], T]) -> T:
        assert self._executor is not None  # noqa: S101 - set whenever a generation exists
        loop = asyncio.get_running_loop()
        generation.users += 1

        def release(_: object) -> None:
            loop.call_soon_threadsafe(self._release, generation)

        # The lease ends when the thread is done, not when the caller stops waiting: a
        # cancelled caller's statement still runs on this engine.
        future = self._executor.submit(call)
        future.add_done_callback(release)
        return await asyncio.wrap_future(future)

    @staticmethod
    def _release(generation: _Generation) -> None:
        generation.users -= 1
        if generation.users == 0 and generation.retired:
            generation.idle.set()

    async def _retire(self, generation: _Generation) -> None:
        generation.retired = True
        if generation.users:
            await generation.idle.wait()
        await self._dispose(generation.engine)

    async def _dispose(self, engine: Engine) -> None:
        await asyncio.to_thread(engine.dispose)

    async def _ping(self, engine: Engine) -> None:
        within = self.config.dial_timeout + self.config.ping_timeout

        def call() -> None:
            with engine.connect() as connection:
                _select_one(connection)

        try:
            async with asyncio.timeout(within):
                await asyncio.to_thread(call)
        except Exception as error:
            reason = f"no answer within {within:g} s" if isinstance(error, TimeoutError) else error
            raise BrokenResourceError(
                f"clickhouse: SELECT 1 to {self.address} failed: {reason}", address=self.address
            ) from error


async def _check_health(client: ClickHouse) -> None:
    """``clickhouse_client``'s default health check: ``SELECT 1`` on the current engine.

    Raises:
        BrokenResourceError: no answer; names the masked address.
    """
    await client.ping()


@default_health(_check_health, affects_readiness=True, timeout=5.0)
async def clickhouse_client(
    config: ClickHouseConfig | None = None,
    *,
    name: str = "clickhouse",
    client: ClickHouse | None = None,
) -> AsyncGenerator[ClickHouse, object]:
    """Component factory: a started :class:`ClickHouse`, closed when the component stops.

    Give ``config`` (a :class:`ClickHouseConfig`) or ``client`` (a started client made
    elsewhere: pinged at start, **never closed** by the kit). Start means ready: the factory
    yields after ``SELECT 1`` answered. Health: ``SELECT 1`` with no user code, affecting
    readiness, bounded by 5 s (the dial timeout plus the ping timeout).

    Raises:
        ConfigError: not exactly one of ``config`` and ``client``.
        BrokenResourceError: the start ``SELECT 1`` failed (masked address, Go bug #22).

    .. versionadded:: 0.2.0
    """
    if (config is None) == (client is None):
        given = "both" if config is not None else "none"
        raise ConfigError("config", given, "give exactly one of config or client")
    if client is not None:
        await client.ping()
        yield client  # the caller's client: never closed here
        return
    assert config is not None  # noqa: S101 - by the check above
    async with ClickHouse(config, name=name) as owned:
        yield owned
