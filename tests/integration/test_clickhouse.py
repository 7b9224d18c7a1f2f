"""The ClickHouse component against the real ClickHouse 18.16 on loopback, both transports."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from dependency_injector import containers, providers
from sqlalchemy import Connection, column, event, select, table, text

from service_pkg import Application, Component, StartError
from service_pkg.clickhouse import (
    ClickHouse,
    ClickHouseConfig,
    clickhouse_client,
    error_code,
    need_reconnect,
    need_wait,
)
from service_pkg.events import Event, EventBus, StoreReconnected
from service_pkg.exceptions import BrokenResourceError, ClosedResourceError
from service_pkg.health import HealthStatus
from tests.integration.conftest import Address
from tests.integration.redis_server import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(name="transport", params=["native", "http"])
def _transport(
    request: pytest.FixtureRequest,
    clickhouse_native_address: Address,
    clickhouse_http_address: Address,
) -> str:
    return str(request.param)


@pytest.fixture(name="config")
def _config(transport: str) -> ClickHouseConfig:
    return ClickHouseConfig(host="127.0.0.1", transport=transport, max_open=4, max_idle=2)  # type: ignore[arg-type]


@pytest.fixture(name="ch")
async def _ch(config: ClickHouseConfig) -> AsyncIterator[ClickHouse]:
    async with ClickHouse(config) as client:
        yield client


@pytest.fixture(name="table_name")
async def _table_name(ch: ClickHouse) -> AsyncIterator[str]:
    name = f"kit_{uuid.uuid4().hex[:12]}"
    await ch.execute(f"CREATE TABLE {name} (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
    yield name
    await ch.execute(f"DROP TABLE IF EXISTS {name}")


async def test_rows_inserted_in_bulk_are_selected_back(ch: ClickHouse, table_name: str) -> None:
    count = await ch.insert(
        table_name, [(i, f"n{i}%") for i in range(1000)], columns=["id", "name"]
    )
    rows = await ch.fetch(f"SELECT count(), max(id) FROM {table_name}")  # noqa: S608
    assert (count, rows) == (1000, [(1000, 999)])


async def test_columns_inserted_in_bulk_are_selected_back(ch: ClickHouse, table_name: str) -> None:
    await ch.insert(table_name, columns=["id", "name"], data=[[1, 2], ["a", "b"]])
    rows = await ch.fetch(f"SELECT id, name FROM {table_name} ORDER BY id")  # noqa: S608
    assert rows == [(1, "a"), (2, "b")]


async def test_bound_parameters_are_escaped(ch: ClickHouse, table_name: str) -> None:
    await ch.insert(table_name, [(1, "it's 100%")], columns=["id", "name"])
    query = f"SELECT id FROM {table_name} WHERE name = :name"  # noqa: S608
    rows = await ch.fetch(query, {"name": "it's 100%"})
    assert rows == [(1,)]


async def test_core_queries_run_on_the_exposed_engine(ch: ClickHouse, table_name: str) -> None:
    await ch.insert(table_name, [(7, "x")], columns=["id", "name"])
    t = table(table_name, column("id"), column("name"))
    rows = await ch.run(lambda conn: conn.execute(select(t.c.name).where(t.c.id == 7)).all())
    assert [tuple(r) for r in rows] == [("x",)]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM kit_no_such_table", 60),
        ("SELECT * FROM kit_no_such_db.t", 81),
        ("SELEC 1", 62),
        ("SELECT count() FROM system.numbers SETTINGS max_execution_time = 1", 159),
    ],
)
async def test_real_server_errors_are_classified_with_the_go_table(
    ch: ClickHouse, sql: str, code: int
) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - each transport raises its own type
        await ch.fetch(sql)
    assert error_code(caught.value) == code
    assert need_reconnect(caught.value) is (code != 62)
    assert need_wait(caught.value) == (False, 0.0)


async def test_the_connection_stays_usable_after_a_server_error(ch: ClickHouse) -> None:
    with pytest.raises(Exception):  # noqa: PT011, B017 - any driver error will do
        await ch.fetch("SELEC 1")
    assert await ch.fetch("SELECT 1") == [(1,)]


async def test_connection_refused_at_start_is_a_loud_error_that_needs_a_reconnect(
    transport: str,
) -> None:
    config = ClickHouseConfig(host="127.0.0.1", port=free_port(), transport=transport)  # type: ignore[arg-type]
    with pytest.raises(BrokenResourceError) as caught:
        async with ClickHouse(config):
            pass
    assert config.address in str(caught.value)
    assert need_reconnect(caught.value) is True


async def test_reconnect_under_twenty_concurrent_queries_fails_none(
    ch: ClickHouse, config: ClickHouseConfig
) -> None:
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append, StoreReconnected)
    order: list[str] = []
    async with ClickHouse(config, name="ch", events=events) as client:
        old = client.engine
        event.listen(old, "engine_disposed", lambda _engine: order.append("old disposed"))

        sql = text("SELECT sleepEachRow(0.01) + :i FROM numbers(5)")

        def on_thread(conn: Connection, i: int) -> int:
            rows = conn.execute(sql, {"i": i}).all()
            order.append("query")  # on the worker thread, before the call's lease ends
            return len(rows)

        async def query(i: int) -> int:
            return await client.run(lambda conn: on_thread(conn, i))

        async def reconnect_twice() -> None:
            await client.reconnect("test")
            order.append("swapped")
            await client.reconnect(ValueError("boom"))

        # gather starts the 20 queries first: each takes its engine before the swap.
        results = await asyncio.gather(*(query(i) for i in range(20)), reconnect_twice())
        assert results[:20] == [5] * 20
        assert client.reconnects == 2
        assert client.engine is not old
    # The first engine was disposed only after every query that was using it had finished.
    assert order.index("old disposed") > max(i for i, e in enumerate(order) if e == "query")
    assert [(e.component, e.error) for e in seen if isinstance(e, StoreReconnected)] == [
        ("ch", "test"),
        ("ch", "boom"),
    ]


async def test_calls_after_aclose_raise_closed_resource_error(config: ClickHouseConfig) -> None:
    client = ClickHouse(config)
    async with client:
        pass
    await client.aclose()  # idempotent
    with pytest.raises(ClosedResourceError):
        await client.fetch("SELECT 1")


async def test_component_starts_and_reports_health_through_the_application(
    config: ClickHouseConfig,
) -> None:
    class Container(containers.DeclarativeContainer):
        ch = Component(clickhouse_client, providers.Object(config))

    container = Container()
    async with Application(container, install_signals=False) as app:
        client = container.ch()
        assert await client.fetch("SELECT 1") == [(1,)]
        report = await app.health()
    assert (report["ch"].status, report.ready) == (HealthStatus.OK, True)


async def test_component_start_fails_when_the_server_is_down() -> None:
    config = ClickHouseConfig(host="127.0.0.1", port=free_port())

    class Container(containers.DeclarativeContainer):
        ch = Component(clickhouse_client, providers.Object(config))

    with pytest.raises(StartError, match="clickhouse: SELECT 1 to clickhouse"):
        await Application(Container(), install_signals=False).start()


async def test_a_missing_database_fails_the_start_with_code_81(transport: str) -> None:
    config = ClickHouseConfig(host="127.0.0.1", transport=transport, database="kit_no_such_db")  # type: ignore[arg-type]
    with pytest.raises(BrokenResourceError) as caught:
        async with ClickHouse(config):
            pass
    assert (error_code(caught.value), "kit_no_such_db" in str(caught.value)) == (81, True)
