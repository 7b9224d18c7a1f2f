"""Public test doubles; the kit's own tests use them too.

* :class:`ManualClock`: a :class:`~service_pkg.clock.Clock` that moves when told.
* :class:`ManualElection` and :func:`manual_election`: an election driven by ``take()`` /
  ``lose()``; :class:`Resignation` records each of its ``resign()`` calls.
* :class:`InMemoryLock` over a shared :class:`LockStore`: the ``RedisLock`` rules in memory.
* :func:`run_components`: start only the subgraph a test needs and always stop it.
* :class:`ComponentRunner`: the same with overrides, for several subgraphs a test starts; the
  ``components`` pytest fixture hands one to a test and closes it at teardown.
* :func:`eventually`: wait for a condition instead of guessing a sleep.
* :class:`FakeRuntime`: a :class:`~service_pkg.app.Runtime` whose state, readiness and
  health the test sets, to override the container's runtime dependency.

The pytest plugin (entry point ``pytest11``, module ``service_pkg.testing._plugin``) adds the
fixtures ``components``, ``manual_clock``, ``manual_leader`` and ``fake_runtime``; see
``docs/testing.md``.
"""

from service_pkg.testing._clock import ManualClock as ManualClock
from service_pkg.testing._components import ComponentRunner as ComponentRunner
from service_pkg.testing._election import ManualElection as ManualElection
from service_pkg.testing._election import Resignation as Resignation
from service_pkg.testing._election import manual_election as manual_election
from service_pkg.testing._eventually import eventually as eventually
from service_pkg.testing._lock import InMemoryLock as InMemoryLock
from service_pkg.testing._lock import LockStore as LockStore
from service_pkg.testing._run import run_components as run_components
from service_pkg.testing._runtime import FakeRuntime as FakeRuntime

__all__ = (
    "ComponentRunner",
    "FakeRuntime",
    "InMemoryLock",
    "LockStore",
    "ManualClock",
    "ManualElection",
    "Resignation",
    "eventually",
    "manual_election",
    "run_components",
)
