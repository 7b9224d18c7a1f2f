"""example_service in its embedded mode: settings, URL rules, the fenced rollup, end to end."""

from __future__ import annotations

import httpx
import pytest
from dependency_injector import providers
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Status
from service_pkg import Component
from service_pkg.exceptions import ConfigError
from service_pkg.migrations import upgrade
from service_pkg.postgres import PostgresConfig, open_postgres, postgres_sessions
from service_pkg.testing import (
    ComponentRunner,
    ManualClock,
    ManualElection,
    eventually,
    manual_election,
)
from sqlalchemy import insert, select

from example_service.containers import MIGRATIONS, Container, configure, create_app
from example_service.db import click_events, link_counters, links, rollup_state
from example_service.links import InvalidUrlError, check_url
from example_service.proto.links.v1 import CreateRequest, LinksStub, ResolveRequest, StatsRequest
from example_service.rollup import ROLLUP_NAME, FencedError, Rollup
from example_service.settings import Settings, load_settings
from tests.example_service.flow import create_resolve_click_count


def test_settings_come_from_links_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKS_HTTP_PORT", "8181")
    monkeypatch.setenv("LINKS_ROLLUP_INTERVAL", "0.5")
    monkeypatch.setenv("LINKS_LOG_JSON", "0")
    settings = load_settings()
    assert (settings.http_port, settings.rollup_interval, settings.log_json) == (8181, 0.5, False)


def test_no_settings_is_the_embedded_mode() -> None:
    settings = Settings()
    assert settings.embedded
    assert settings.apply_migrations
    assert settings.database.startswith("sqlite+aiosqlite:///")
    assert (settings.redis_url, settings.clickhouse_url) == (None, None)


def test_postgresql_is_not_migrated_at_start_unless_asked() -> None:
    settings = Settings(database_url="postgresql://u:pw@db:5432/links")  # type: ignore[arg-type]
    assert not settings.embedded
    assert not settings.apply_migrations
    assert Settings(database_url="postgresql://db/x", migrate=True).apply_migrations  # type: ignore[arg-type]


def test_a_bad_value_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^LINKS_ROLLUP_INTERVAL: .*> 0.*\(got -1"):
        load_settings(rollup_interval=-1)


def test_url_settings_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKS_REDIS_URL", "redis://:hunter2@cache:6379/0")
    assert "hunter2" not in repr(load_settings())
    with pytest.raises(ConfigError) as error:
        load_settings(database_url=["postgresql://u:hunter2@db/x"])
    assert str(error.value).startswith("LINKS_DATABASE_URL: ")
    assert "hunter2" not in str(error.value)
    assert error.value.__cause__ is None
    assert error.value.__suppress_context__


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "non-empty"),
        ("example.com", "http:// or https://"),
        ("ftp://example.com/x", "http:// or https://"),
        ("https:///path", "host"),
        ("https://exa mple.com", "whitespace"),
        ("https://example.com/\x00", "control"),
        ("https://bücher.example", "ASCII"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://example.com/" + "a" * 3000, "at most"),
    ],
)
def test_urls_the_service_refuses_say_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidUrlError, match=reason):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://user:hunter2@example.com/x",
        "https://user:hun@ter2@exa mple.com/",
        "https://user:hun/ter2@@",
        "ftp://u:hunter2@example.com/" + "a" * 100,
    ],
)
def test_a_refused_url_is_shown_without_its_credentials(url: str) -> None:
    with pytest.raises(InvalidUrlError) as error:
        check_url(url)
    assert "(got " in str(error.value)
    assert "hunter2" not in str(error.value)
    assert "ter2" not in str(error.value)


def test_http_and_https_urls_are_accepted() -> None:
    for url in ("http://localhost:8080/a?b=c#d", "https://example.com"):
        assert check_url(url) == url


async def test_rollup_counts_each_event_once_and_a_stale_epoch_is_fenced(
    embedded: Settings,
) -> None:
    """The fence is in the database: a run with an older epoch changes nothing."""
    async with open_postgres(PostgresConfig(url=embedded.database)) as engine:
        await upgrade(engine, MIGRATIONS)
        sessions = postgres_sessions(engine)
        async with sessions.begin() as session:
            await session.execute(insert(links).values(code="abc", url="https://a.example"))
            await session.execute(insert(click_events), [{"code": "abc"}] * 3)
        rollup = Rollup(sessions, batch=2)
        first = await rollup.once(epoch=5)  # the batch: 2 of the 3 events
        second = await rollup.once(epoch=5)
        assert (first.events, second.events, (await rollup.once(epoch=5)).events) == (2, 1, 0)
        async with sessions.begin() as session:
            await session.execute(insert(click_events).values(code="abc"))
        with pytest.raises(FencedError):
            await rollup.once(epoch=4)  # a former leader
        async with sessions() as session:
            clicks = await session.scalar(select(link_counters.c.clicks))
            state = (await session.execute(select(rollup_state))).one()
        assert clicks == 3  # the stale run's count was rolled back with its fence
        assert tuple(state) == (ROLLUP_NAME, 3, 5)
        assert (await rollup.once(epoch=6)).events == 1  # a newer leader goes on


async def test_embedded_mode_end_to_end_over_real_sockets(embedded: Settings) -> None:
    """Create over HTTP, resolve over gRPC, 3 clicks, clicks == 3 once the job ran."""
    app, container = create_app(embedded, install_signals=False)
    async with app:
        http_url = container.http().address
        await create_resolve_click_count(http_url, container.grpc().port)
        assert container.analytics() is None  # no ClickHouse configured: events only in SQL
        async with httpx.AsyncClient(base_url=http_url) as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/schema/openapi.json")).json()["paths"].keys() >= {
                "/links",
                "/{code}",
                "/links/{code}/stats",
            }


async def test_http_errors_are_400_for_a_bad_url_and_404_for_an_unknown_code(
    embedded: Settings,
) -> None:
    app, container = create_app(embedded, install_signals=False)
    async with app, httpx.AsyncClient(base_url=container.http().address) as client:
        bad = await client.post("/links", json={"url": "mailto:someone@example.com"})
        assert bad.status_code == 400
        assert "http:// or https://" in bad.json()["detail"]
        assert (await client.post("/links", json={})).status_code == 400
        assert (await client.get("/nope123")).status_code == 404
        assert (await client.get("/links/nope123/stats")).status_code == 404


async def test_grpc_errors_are_invalid_argument_and_not_found(embedded: Settings) -> None:
    app, container = create_app(embedded, install_signals=False)
    async with app:
        channel = Channel("127.0.0.1", container.grpc().port)
        stub = LinksStub(channel)
        try:
            with pytest.raises(GRPCError) as bad:
                await stub.create(CreateRequest(url="not a url"))
            assert bad.value.status is Status.INVALID_ARGUMENT
            for call in (
                stub.resolve(ResolveRequest(code="nope123")),
                stub.stats(StatsRequest(code="nope123")),
            ):
                with pytest.raises(GRPCError) as missing:
                    await call
                assert missing.value.status is Status.NOT_FOUND
            created = await stub.create(CreateRequest(url="https://example.com/"))
            assert (await stub.stats(StatsRequest(code=created.code))).clicks == 0
        finally:
            channel.close()


async def test_the_rollup_runs_only_on_the_leader_on_its_clock(
    components: ComponentRunner,
    manual_clock: ManualClock,
    manual_leader: ManualElection,
    embedded: Settings,
) -> None:
    """No sleeping: a manual election decides who leads, a manual clock when the job runs."""
    container = configure(Container(), embedded.model_copy(update={"rollup_interval": 5.0}))
    await components.start(
        container,
        "jobs",  # with the database: only the gated job needs it here, so it joins its group
        "analytics",  # for `links` (None: no ClickHouse)
        overrides={
            "clock": providers.Object(manual_clock),
            "election": Component(manual_election, manual_leader),
        },
    )
    assert not container.jobs.started  # a follower runs no rollup
    manual_leader.take()
    await eventually(lambda: container.jobs.started)
    links, rollup = container.links(), container.rollup()
    code = (await links.create("https://example.com/")).code
    await links.click(code)
    await manual_clock.wait_for_sleepers()
    assert rollup.runs == 0
    await manual_clock.advance_and_settle(5)
    await eventually(lambda: rollup.runs == 1)
    assert await links.clicks(code) == 1
    manual_leader.lose()
    await eventually(lambda: not container.jobs.started)
