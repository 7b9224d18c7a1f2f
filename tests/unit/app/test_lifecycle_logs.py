"""Lifecycle events are logged per component with their duration."""

from __future__ import annotations

import logging

import pytest
from dependency_injector import containers

from service_pkg import Component
from service_pkg.exceptions import StopError
from service_pkg.testing import run_components

from .conftest import Recorder


def events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.getMessage(), getattr(r, "component", ""))
        for r in caplog.records
        if r.name == "service_pkg.app" and hasattr(r, "component")
    ]


async def test_start_and_stop_are_logged_with_duration(
    rec: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """starting, started, stopping, stopped per component; the *ed ones carry duration_ms."""

    class One(containers.DeclarativeContainer):
        db = Component(rec.factory("db"))

    caplog.set_level(logging.INFO, "service_pkg.app")
    async with run_components(One()):
        pass
    assert events(caplog) == [
        ("component starting", "db"),
        ("component started", "db"),
        ("component stopping", "db"),
        ("component stopped", "db"),
    ]
    timed = [
        r for r in caplog.records if r.getMessage() in {"component started", "component stopped"}
    ]
    assert all(isinstance(getattr(r, "duration_ms", None), float) for r in timed)


async def test_failures_and_timeouts_are_logged_as_errors(
    rec: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed stop and a timed-out stop each get an error record naming the component."""

    class Two(containers.DeclarativeContainer):
        bad = Component(rec.factory("bad", fail_stop=True), priority=1)
        slow = Component(rec.factory("slow", hang_stop=True), priority=2, stop_timeout=0.01)

    caplog.set_level(logging.INFO, "service_pkg.app")
    with pytest.raises(StopError):
        async with run_components(Two()):
            pass
    errors = [
        (r.getMessage(), getattr(r, "component", ""))
        for r in caplog.records
        if r.levelno == logging.ERROR
    ]
    assert errors == [("component stop failed", "bad"), ("component stop timed out", "slow")]
