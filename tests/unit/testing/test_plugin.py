"""The pytest plugin: registered through ``pytest11`` and its fixtures behave as documented.

The fixtures are exercised in a child pytest run (so the entry point itself is what loads the
plugin); each test here checks one outcome of that run.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

InnerRun = tuple[dict[str, str], list[str]]
"""Outcome per inner test, and the lines the inner components logged."""

INNER = """
import os
from pathlib import Path

from dependency_injector import containers, providers

from service_pkg import Component, RunState
from service_pkg.testing import FakeRuntime, ManualClock, ManualElection

LOG = Path(os.environ["PLUGIN_LOG"])


def note(line):
    with LOG.open("a") as f:
        f.write(line + "\\n")


async def db():
    note("start db")
    yield "real-db"
    note("stop db")


async def api(db):
    note(f"start api with {db}")
    yield "api"
    note("stop api")


class Container(containers.DeclarativeContainer):
    db = Component(db)
    api = Component(api, db)


CONTAINER = Container()


async def test_runs_with_overrides(components):
    app = await components.start(CONTAINER, "api", overrides={"db": providers.Object("fake")})
    assert app.state is RunState.RUNNING
    note("body done")


async def test_overrides_were_reset():
    assert not CONTAINER.db.overridden


async def test_fails_after_start(components):
    await components.start(CONTAINER, "api")
    raise AssertionError("the body fails")


def test_doubles(manual_clock, manual_leader, fake_runtime):
    assert isinstance(manual_clock, ManualClock) and manual_clock.monotonic() == 0
    assert isinstance(manual_leader, ManualElection) and not manual_leader.is_leader()
    assert isinstance(fake_runtime, FakeRuntime) and fake_runtime.state is RunState.RUNNING
"""


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    """Installing service-pkg makes pytest load ``service_pkg.testing._plugin``."""
    plugins = importlib.metadata.entry_points(group="pytest11")
    assert {ep.name: ep.value for ep in plugins}["service_pkg"] == "service_pkg.testing._plugin"


@pytest.fixture(scope="module")
def inner_run(tmp_path_factory: pytest.TempPathFactory) -> InnerRun:
    """Run INNER with pytest in a child process: outcome per test, and the lifecycle log."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "test_inner.py").write_text(INNER)
    log = root / "log.txt"
    report = root / "report.xml"
    env = {**os.environ, "PLUGIN_LOG": str(log)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            f"--junitxml={report}",
            "-q",
            "test_inner.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
        timeout=50,
    )
    outcomes: dict[str, str] = {}
    tree = ET.parse(report)  # noqa: S314 - the report the child run just wrote
    for case in tree.getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.attrib["name"]] = "failed" if failed else "passed"
    return outcomes, log.read_text().splitlines()


def test_components_runs_the_subgraph_with_the_override(inner_run: InnerRun) -> None:
    """The fixture starts api on the overridden db; the real db never starts."""
    outcomes, log = inner_run
    assert outcomes["test_runs_with_overrides"] == "passed"
    assert log[:3] == ["start api with fake", "body done", "stop api"]


def test_components_resets_the_overrides_at_teardown(inner_run: InnerRun) -> None:
    """The next test sees the container as it was declared."""
    outcomes, _ = inner_run
    assert outcomes["test_overrides_were_reset"] == "passed"


def test_components_stops_the_subgraph_when_the_test_fails(inner_run: InnerRun) -> None:
    """A failing test's components are stopped too, dependents first."""
    outcomes, log = inner_run
    assert outcomes["test_fails_after_start"] == "failed"
    assert log[3:] == ["start db", "start api with real-db", "stop api", "stop db"]


def test_the_double_fixtures_are_fresh_doubles(inner_run: InnerRun) -> None:
    """manual_clock at 0, manual_leader a follower, fake_runtime RUNNING."""
    outcomes, _ = inner_run
    assert outcomes["test_doubles"] == "passed"
