"""HttpPlugin, provide() and the unit of work, in-process through Litestar's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dependency_injector import containers, providers
from litestar import Litestar, Request, Response, get, post
from litestar.config.app import AppConfig
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.logging.config import LoggingConfig
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service_pkg.exceptions import ConfigTypeError
from service_pkg.http import HttpPlugin, provide, provide_unit_of_work, unit_of_work


class TestHttpPlugin:
    async def test_an_unexpected_exception_becomes_the_kits_500(self) -> None:
        @get("/boom")
        async def boom() -> None:
            raise KeyError("secret")

        async with AsyncTestClient(Litestar([boom], plugins=[HttpPlugin()])) as client:
            response = await client.get("/boom")
        assert (response.status_code, response.json()) == (
            500,
            {"error": "internal server error"},
        )

    async def test_http_exceptions_are_not_remapped(self) -> None:
        @get("/gone")
        async def gone() -> None:
            raise NotFoundException("no such order")

        async with AsyncTestClient(Litestar([gone], plugins=[HttpPlugin()])) as client:
            response = await client.get("/gone")
        assert response.status_code == 404
        assert response.json()["detail"] == "no such order"

    def test_the_plugin_leaves_logging_to_the_kit_by_default(self) -> None:
        assert Litestar([], plugins=[HttpPlugin()]).logging_config is None

    def test_kit_logging_false_keeps_the_apps_logging_config(self) -> None:
        # Not through Litestar(...): its default config would replace the root handlers.
        own = LoggingConfig(configure_root_logger=False)
        config = HttpPlugin(kit_logging=False).on_app_init(AppConfig(logging_config=own))
        assert config.logging_config is own

    def test_an_own_500_handler_is_kept(self) -> None:
        def mine(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            raise NotImplementedError

        app = Litestar([], exception_handlers={500: mine}, plugins=[HttpPlugin()])
        assert app.exception_handlers[500] is mine


class Repo:
    def __init__(self) -> None:
        self.name = "orders"


async def open_repo() -> Repo:
    return Repo()


class TestProvide:
    async def test_a_handler_gets_the_containers_value(self) -> None:
        class Container(containers.DeclarativeContainer):
            repo = providers.Singleton(Repo)

        container = Container()

        @get("/name", dependencies={"repo": provide(container.repo)})
        async def name(repo: NamedDependency[Repo]) -> str:
            return repo.name

        async with AsyncTestClient(Litestar([name])) as client:
            assert (await client.get("/name")).text == "orders"

    async def test_an_async_provider_is_awaited(self) -> None:
        class Container(containers.DeclarativeContainer):
            repo = providers.Coroutine(open_repo)

        container = Container()

        @get("/name", dependencies={"repo": provide(container.repo)})
        async def name(repo: NamedDependency[Repo]) -> str:
            return repo.name

        async with AsyncTestClient(Litestar([name])) as client:
            assert (await client.get("/name")).text == "orders"

    async def test_an_override_reaches_the_handler(self) -> None:
        class Container(containers.DeclarativeContainer):
            repo = providers.Singleton(Repo)

        container = Container()
        fake = Repo()
        fake.name = "fake"
        container.repo.override(providers.Object(fake))

        @get("/name", dependencies={"repo": provide(container.repo)})
        async def name(repo: NamedDependency[Repo]) -> str:
            return repo.name

        async with AsyncTestClient(Litestar([name])) as client:
            assert (await client.get("/name")).text == "fake"

    def test_a_non_callable_is_refused(self) -> None:
        with pytest.raises(ConfigTypeError, match=r"^provider: "):
            provide("container.repo")  # type: ignore[arg-type]


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)"))
    # One in-memory database per engine; the pool keeps its single connection.
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM orders"))).scalar_one())


class TestUnitOfWork:
    async def test_a_block_that_succeeds_is_committed(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessions) as session:
            await session.execute(text("INSERT INTO orders (item) VALUES ('book')"))
        assert await count(sessions) == 1

    async def test_a_block_that_raises_is_rolled_back_and_the_error_propagates(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        async def failing() -> None:
            async with unit_of_work(sessions) as session:
                await session.execute(text("INSERT INTO orders (item) VALUES ('book')"))
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await failing()
        assert await count(sessions) == 0

    async def test_a_request_that_succeeds_commits(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        @post("/orders", dependencies={"session": provide_unit_of_work(sessions)})
        async def create(session: NamedDependency[AsyncSession]) -> None:
            await session.execute(text("INSERT INTO orders (item) VALUES ('pen')"))

        async with AsyncTestClient(Litestar([create], plugins=[HttpPlugin()])) as client:
            assert (await client.post("/orders")).status_code == 201
        assert await count(sessions) == 1

    async def test_a_request_whose_handler_raises_rolls_back(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        @post("/orders", dependencies={"session": provide_unit_of_work(sessions)})
        async def create(session: NamedDependency[AsyncSession]) -> None:
            await session.execute(text("INSERT INTO orders (item) VALUES ('pen')"))
            raise NotFoundException("customer not found")

        async with AsyncTestClient(Litestar([create], plugins=[HttpPlugin()])) as client:
            assert (await client.post("/orders")).status_code == 404
        assert await count(sessions) == 0

    def test_provide_unit_of_work_is_a_litestar_dependency(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        assert isinstance(provide_unit_of_work(sessions), Provide)
