"""The pytest plugin (entry point ``pytest11``): fixtures over the public test doubles.

Installed with service-pkg, it is active in every pytest run of that environment; disable it
with ``-p no:service_pkg``. Fixtures:

* ``components``: a :class:`~service_pkg.testing.ComponentRunner`; every subgraph a test
  starts through it is stopped and its overrides reset at teardown, also when the test fails.
  Async, so it needs pytest-asyncio (or another plugin that runs async fixtures).
* ``manual_clock``: a fresh :class:`~service_pkg.testing.ManualClock`.
* ``manual_leader``: a fresh :class:`~service_pkg.testing.ManualElection` (a follower until the
  test calls ``take()``).
* ``fake_runtime``: a fresh :class:`~service_pkg.testing.FakeRuntime`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service_pkg.testing._clock import ManualClock
from service_pkg.testing._components import ComponentRunner
from service_pkg.testing._election import ManualElection
from service_pkg.testing._runtime import FakeRuntime

__all__ = ("components", "fake_runtime", "manual_clock", "manual_leader")


async def _components() -> AsyncIterator[ComponentRunner]:
    """Start container subgraphs with overrides; all are stopped at teardown."""
    async with ComponentRunner() as runner:
        yield runner


def _components_need_pytest_asyncio() -> ComponentRunner:
    """Stands in for ``components`` when pytest-asyncio is missing, to say so."""
    pytest.fail(
        "the `components` fixture of service_pkg is async and needs pytest-asyncio: "
        "pip install pytest-asyncio",
        pytrace=False,
    )


# Typed as object: the two branches hold different fixture wrapper types; pytest only looks
# the fixture up by its name.
components: object
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the kit's own tests always have pytest-asyncio
    components = pytest.fixture(_components_need_pytest_asyncio, name="components")
else:
    components = pytest_asyncio.fixture(_components, name="components")


@pytest.fixture
def manual_clock() -> ManualClock:
    """A :class:`ManualClock` at time 0 that moves only when the test advances it."""
    return ManualClock()


@pytest.fixture
def manual_leader() -> ManualElection:
    """A :class:`ManualElection`, a follower until the test calls ``take()``."""
    return ManualElection()


@pytest.fixture
def fake_runtime() -> FakeRuntime:
    """A :class:`FakeRuntime` to override a container's ``runtime`` dependency with."""
    return FakeRuntime()
