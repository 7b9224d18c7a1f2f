"""example_service runs like a user's service: unit-tested with doubles, and as a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dependency_injector import providers
from service_pkg import Component
from service_pkg.exceptions import ConfigError
from service_pkg.testing import ManualClock, ManualElection, manual_election, run_components

from example_service.components import Ticker
from example_service.containers import Container
from example_service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def make_container(clock: ManualClock, election: ManualElection) -> Container:
    container = Container()
    container.settings.override(Settings(heartbeat_interval=1, leader_interval=2))
    container.clock.override(providers.Object(clock))
    container.election.override(Component(manual_election, election))
    return container


async def test_heartbeat_ticks_with_the_clock() -> None:
    """The heartbeat ticks once per interval of (manual) time."""
    clock = ManualClock()
    container = make_container(clock, ManualElection())
    async with run_components(container, "heartbeat"):
        ticker = container.heartbeat()
        assert isinstance(ticker, Ticker)
        for _ in range(2):
            await clock.wait_for_sleepers()
            await clock.advance_and_settle(1)
        assert ticker.ticks == 2


async def test_leader_job_runs_only_while_leader() -> None:
    """The gated job starts on take() and is stopped on lose()."""
    clock = ManualClock()
    election = ManualElection()
    container = make_container(clock, election)
    seen: list[bool] = []
    async with run_components(container) as app:
        seen.append(container.leader_job.started)
        election.take()
        await clock.advance_and_settle(0)
        seen.append(container.leader_job.started)
        election.lose()
        await clock.advance_and_settle(0)
        seen.append(container.leader_job.started)
        assert app.readiness.is_ready()
    assert seen == [False, True, False]


def test_settings_read_the_environment() -> None:
    """Environment variables override the defaults."""
    settings = Settings.from_env({"HEARTBEAT_INTERVAL": "0.5", "LOG_JSON": "0"})
    assert settings.heartbeat_interval == 0.5
    assert settings.log_json is False


def test_bad_interval_is_a_config_error_naming_the_variable() -> None:
    """A value that is not a number names the variable."""
    with pytest.raises(ConfigError, match="HEARTBEAT_INTERVAL"):
        Settings.from_env({"HEARTBEAT_INTERVAL": "soon"})


@pytest.mark.integration
def test_runs_as_a_process_logs_json_and_stops_on_sigterm() -> None:
    """`python -m example_service` logs JSON lifecycle events and exits 0 on SIGTERM."""
    env = {**os.environ, "HEARTBEAT_INTERVAL": "0.05", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "example_service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    records = []
    try:
        for line in proc.stdout:
            records.append(json.loads(line))
            if records[-1]["message"] == "heartbeat":
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    records += [json.loads(line) for line in out.splitlines()]
    assert proc.returncode == 0
    assert "stop order:" in err
    messages = [(r["message"], r.get("component")) for r in records]
    assert ("component started", "leader_job") in messages
    assert ("component stopped", "election") in messages
    assert messages[-1] == ("application stopped", None)
    assert {r["service"] for r in records} == {"example-service"}
