"""``app.health()``: per-component checks, statuses, timeouts, coalescing, readiness verdict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

from dependency_injector import containers

from service_pkg import Application, Component
from service_pkg.health import HealthCheck, HealthStatus, default_health
from service_pkg.testing import ManualElection, manual_election, run_components

from .conftest import settle


async def value_of(name: str) -> AsyncGenerator[str, object]:
    yield name


def failing(message: str) -> Callable[[Any], None]:
    def check(_: Any) -> None:
        raise ConnectionError(message)

    return check


class Counting:
    """An async check that counts its calls and can be told to fail."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, _: Any) -> None:
        self.calls += 1
        await asyncio.sleep(0)


async def test_failing_check_is_failed_with_its_message_and_others_ok() -> None:
    """A component whose check raises is `failed` with the message; the others are `ok`."""

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=failing("db is down"))
        cache = Component(value_of, "cache", health=lambda _: None)
        plain = Component(value_of, "plain")

    async with run_components(C()) as app:
        report = await app.health()
    assert [(c.name, c.status) for c in report.components] == [
        ("db", HealthStatus.FAILED),
        ("cache", HealthStatus.OK),
        ("plain", HealthStatus.OK),
    ]
    assert report["db"].error == "ConnectionError: db is down"


async def test_hung_check_reports_timed_out() -> None:
    """A check that never returns is `failed: timed out` once its timeout passes."""

    async def hang(_: Any) -> None:
        await asyncio.Event().wait()

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=HealthCheck(check=hang, timeout=0.01))

    async with run_components(C()) as app:
        report = await app.health()
    assert (report["db"].status, report["db"].error) == (
        HealthStatus.FAILED,
        "timed out after 0.01 s",
    )


async def test_concurrent_callers_share_one_round() -> None:
    """100 concurrent health() calls run each check once."""
    check = Counting()

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=check)

    async with run_components(C()) as app:
        reports = await asyncio.gather(*(app.health() for _ in range(100)))
    assert check.calls == 1
    assert all(r is reports[0] for r in reports)


async def test_fresh_report_is_reused_and_max_age_zero_checks_every_time() -> None:
    """A report younger than health_max_age is reused; with 0 every call checks again."""
    check = Counting()

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=check)

    for max_age, expected in ((60.0, 1), (0.0, 3)):
        check.calls = 0
        app = Application(C(), install_signals=False, health_max_age=max_age)
        async with app:
            for _ in range(3):
                await app.health()
        assert check.calls == expected


async def test_factory_default_check_needs_no_user_code() -> None:
    """A factory decorated with default_health brings its check to every component."""

    @default_health(failing("no answer"), affects_readiness=False)
    async def store() -> AsyncGenerator[str, object]:
        yield "store"

    class C(containers.DeclarativeContainer):
        store_ = Component(store)

    async with run_components(C()) as app:
        entry = (await app.health())["store_"]
    assert (entry.status, entry.affects_readiness) == (HealthStatus.FAILED, False)


async def test_readiness_verdict_counts_only_readiness_affecting_checks() -> None:
    """A failing check that does not affect readiness leaves the report ready but unhealthy."""

    class C(containers.DeclarativeContainer):
        optional = Component(
            value_of,
            "optional",
            health=HealthCheck(check=failing("down"), affects_readiness=False),
        )

    async with run_components(C()) as app:
        report = await app.health()
    assert (report.ready, report.healthy) == (True, False)


async def test_failing_readiness_check_makes_the_report_not_ready() -> None:
    """A failing readiness-affecting check makes `ready` false while the barrier is ready."""

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=failing("down"))

    async with run_components(C()) as app:
        report = await app.health()
        assert (app.readiness.is_ready(), report.ready) == (True, False)


async def test_gated_component_is_standby_on_a_follower_and_ok_on_the_leader() -> None:
    """A gated component reports `standby` while not leader and `ok` once leading."""

    class C(containers.DeclarativeContainer):
        vote = Component(manual_election)
        jobs = Component(value_of, "jobs", leader=vote)

    container = C()
    async with run_components(container) as app:
        assert (await app.health())["jobs"].status is HealthStatus.STANDBY
        election = container.vote()
        assert isinstance(election, ManualElection)
        await settle(lambda: election.subscribers == 1)
        election.take()
        await settle(lambda: container.jobs.started)
        assert (await app.health())["jobs"].status is HealthStatus.OK


async def test_error_text_masks_url_passwords() -> None:
    """A check whose error carries a URL with a password reports it masked."""

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=failing("cannot reach redis://app:hunter2@db:6379/0"))

    async with run_components(C()) as app:
        error = (await app.health())["db"].error
    assert error == "ConnectionError: cannot reach redis://app:***@db:6379/0"


async def test_application_not_running_reports_nothing_and_not_ready() -> None:
    """Before start the report has no entries and is not ready."""

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db")

    report = await Application(C(), install_signals=False).health()
    assert (report.components, report.ready) == ((), False)


async def test_overridden_component_is_ok_without_running_its_check() -> None:
    """An override (a test double) is `ok`: its declared check is not run on the double."""
    from dependency_injector import providers  # noqa: PLC0415 - only this test needs it

    class C(containers.DeclarativeContainer):
        db = Component(value_of, "db", health=failing("must not run"))

    container = C()
    container.db.override(providers.Object("fake"))
    async with run_components(container) as app:
        assert (await app.health())["db"].status is HealthStatus.OK
