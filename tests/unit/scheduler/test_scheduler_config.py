"""Every bad input is a clear error where it is declared or added."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from dependency_injector import containers

from service_pkg import Component, StartError
from service_pkg.exceptions import (
    ConfigError,
    DuplicateJobError,
    SchedulerError,
    SchedulerRunningError,
)
from service_pkg.scheduler import (
    Cron,
    Every,
    JobConfig,
    Once,
    OverlapPolicy,
    RunContext,
    Scheduler,
    SchedulerConfig,
    StopMode,
    scheduler,
)
from service_pkg.testing import ManualClock, run_components

from .conftest import make


async def noop(ctx: RunContext) -> None:
    pass


def job(**overrides: Any) -> JobConfig:
    fields: dict[str, Any] = {"name": "j", "func": noop, "trigger": Every(1)}
    return JobConfig(**{**fields, **overrides})


BAD_SECONDS = [0, -1, math.nan, math.inf, True, "1", None]


@pytest.mark.parametrize("value", [*BAD_SECONDS[:-1]])
def test_interval_must_be_a_positive_number(value: object) -> None:
    """Every(interval) with interval <= 0, NaN, inf, a bool or a string is a ConfigError."""
    with pytest.raises(ConfigError) as info:
        Every(value)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == ("interval", value)


@pytest.mark.parametrize("value", [0, -1, -0.001, math.nan, math.inf])
def test_deadline_must_be_positive_or_none(value: float) -> None:
    """deadline <= 0 (Go ran it with an expired context) is a ConfigError; None is allowed."""
    with pytest.raises(ConfigError) as info:
        job(deadline=value)
    assert info.value.field == "deadline"
    assert job(deadline=None).deadline is None
    assert job(deadline=2).deadline == 2.0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": 7}, "name"),
        ({"func": "not callable"}, "func"),
        ({"trigger": 5}, "trigger"),
        ({"trigger": "*/5 * * * * *"}, "trigger"),
        ({"stop_mode": 1}, "stop_mode"),
        ({"overlap": "skip"}, "overlap"),
        ({"misfire_grace": 0}, "misfire_grace"),
        ({"misfire_grace": -1}, "misfire_grace"),
        ({"run_immediately": 1}, "run_immediately"),
        ({"jitter": -0.1}, "jitter"),
        ({"jitter": 1}, "jitter"),
        ({"jitter": 0.1, "trigger": Cron("0 * * * * *")}, "jitter"),
        ({"jitter": 0.1, "trigger": Once(1)}, "jitter"),
    ],
)
def test_bad_job_field_is_a_config_error(overrides: dict[str, Any], field: str) -> None:
    """Each bad JobConfig field raises ConfigError naming it."""
    with pytest.raises(ConfigError) as info:
        job(**overrides)
    assert info.value.field == field


def test_sync_function_is_refused() -> None:
    """A plain def would block the loop: refused with a message saying to use async def."""

    def sync(ctx: RunContext) -> None:
        pass

    with pytest.raises(ConfigError, match="async def"):
        job(func=sync)


def test_async_generator_is_refused() -> None:
    """An async generator function is not a job function."""

    async def agen(ctx: RunContext) -> Any:
        yield

    with pytest.raises(ConfigError, match="not an async generator"):
        job(func=agen)


def test_good_job_keeps_its_values() -> None:
    """A valid JobConfig keeps what it was given, durations as floats."""
    cfg = job(
        deadline=3,
        stop_mode=StopMode.GRACEFUL,
        overlap=OverlapPolicy.DEFER,
        misfire_grace=2,
        run_immediately=True,
        jitter=0.5,
    )
    assert (cfg.deadline, cfg.misfire_grace, cfg.jitter) == (3.0, 2.0, 0.5)
    assert (StopMode.IMMEDIATE, StopMode.GRACEFUL) == (0, 1)  # the Go numbers


@pytest.mark.parametrize(
    ("make_trigger", "field"),
    [
        (lambda: Every(1, offset=-1), "offset"),
        (lambda: Once(-1), "delay"),
        (lambda: Once(math.nan), "delay"),
        (lambda: Cron(5), "spec"),  # type: ignore[arg-type]
        (lambda: Cron("0 * * * * *", tz=5), "tz"),  # type: ignore[arg-type]
    ],
)
def test_bad_trigger_is_a_config_error(make_trigger: Callable[[], object], field: str) -> None:
    """Offsets, delays, specs and zones are checked when the trigger is made."""
    with pytest.raises(ConfigError) as info:
        make_trigger()
    assert info.value.field == field


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("*/5 * * * *", "needs 6 fields"),
        ("0 0 * * * * *", "needs 6 fields"),
        ("61 * * * * *", "bad second"),
        ("0 0 0 30 2 *", "bad day-of-month"),
        ("@fortnightly", "unknown descriptor"),
        ("@every", "not a Go duration"),
        ("@every 10", "not a Go duration"),
        ("@every 1x", "not a Go duration"),
        ("@every 0s", "must be > 0"),
        ("CRON_TZ=Mars/Olympus 0 * * * * *", "unknown time zone"),
        ("", "needs 6 fields"),
    ],
)
def test_bad_cron_spec_is_a_config_error(spec: str, reason: str) -> None:
    """An invalid spec is refused with the reason (Go panicked in Cron.Add)."""
    with pytest.raises(ConfigError, match=reason) as info:
        Cron(spec)
    assert (info.value.field, info.value.value) == ("spec", spec)


def test_zone_given_twice_is_a_config_error() -> None:
    """A CRON_TZ= prefix and tz= together are ambiguous."""
    with pytest.raises(ConfigError, match="not both"):
        Cron("CRON_TZ=UTC 0 * * * * *", tz=UTC)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"max_concurrent_runs": 0}, "max_concurrent_runs"),
        ({"max_concurrent_runs": -1}, "max_concurrent_runs"),
        ({"max_concurrent_runs": True}, "max_concurrent_runs"),
        ({"max_concurrent_runs": 1.5}, "max_concurrent_runs"),
        ({"stop_timeout": 0}, "stop_timeout"),
        ({"cancel_timeout": -1}, "cancel_timeout"),
    ],
)
def test_bad_scheduler_config_is_a_config_error(overrides: dict[str, Any], field: str) -> None:
    """Each bad SchedulerConfig field raises ConfigError naming it (Go made rate <= 0 into 1)."""
    with pytest.raises(ConfigError) as info:
        SchedulerConfig(**overrides)
    assert info.value.field == field


def test_duplicate_name_is_refused_at_add(clock: ManualClock) -> None:
    """A second job with a taken name raises DuplicateJobError with the Go wording."""
    sched = make(clock, job(name="cleanup"))
    with pytest.raises(DuplicateJobError) as info:
        sched.add(job(name="cleanup", trigger=Every(5)))
    assert str(info.value) == "scheduler.add(cleanup): job already exists"
    assert isinstance(info.value, ValueError | SchedulerError)
    assert info.value.job == "cleanup"
    assert len(sched.jobs) == 1


async def test_add_after_start_is_refused(clock: ManualClock) -> None:
    """Adding to a running scheduler raises SchedulerRunningError (Go "already started")."""
    async with make(clock, job(name="a")) as sched:
        with pytest.raises(SchedulerRunningError) as info:
            sched.add(job(name="b"))
    assert str(info.value) == "scheduler.add(b): already started"
    assert isinstance(info.value, RuntimeError)
    sched.add(job(name="b"))  # stopped again: adding works
    assert [j.name for j in sched.jobs] == ["a", "b"]


def test_add_needs_a_job_config(clock: ManualClock) -> None:
    """add() takes a JobConfig, nothing else."""
    with pytest.raises(ConfigError) as info:
        make(clock).add({"name": "j"})  # type: ignore[arg-type]
    assert info.value.field == "job"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"config": {"name": "x"}}, "config"),
        ({"clock": "now"}, "clock"),
        ({"election": object()}, "election"),
        ({"events": []}, "events"),
    ],
)
def test_bad_scheduler_argument_is_a_config_error(kwargs: dict[str, Any], field: str) -> None:
    """Scheduler() checks its config, clock, election and event bus."""
    rest = {k: v for k, v in kwargs.items() if k != "config"}  # the parameter set is shared
    with pytest.raises(ConfigError) as info:
        Scheduler(kwargs.get("config"), **rest)
    assert info.value.field == field


async def test_factory_refuses_a_single_job_instead_of_a_list() -> None:
    """Component(scheduler, config, job) (a job, not a list of jobs) fails the start clearly."""

    class Container(containers.DeclarativeContainer):
        jobs = Component(scheduler, None, job())

    with pytest.raises(StartError) as info:
        async with run_components(Container()):
            pass
    assert isinstance(info.value.__cause__, ConfigError)
    assert info.value.__cause__.field == "jobs"
