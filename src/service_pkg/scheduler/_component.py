"""``scheduler``: the component factory, ``Component(scheduler, config, jobs, election, ...)``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from service_pkg.clock import Clock
from service_pkg.events import EventBus
from service_pkg.exceptions import ConfigError
from service_pkg.health import default_health
from service_pkg.leader import LeaderElection
from service_pkg.scheduler._config import JobConfig, SchedulerConfig
from service_pkg.scheduler._scheduler import Scheduler

__all__ = ("scheduler",)


def _dispatcher_runs(sched: Scheduler) -> None:
    sched.check_dispatcher()


@default_health(_dispatcher_runs, affects_readiness=False)
def scheduler(
    config: SchedulerConfig | None = None,
    jobs: Iterable[JobConfig] = (),
    election: LeaderElection | None = None,
    *,
    clock: Clock | None = None,
    wall_clock: Callable[[], float] | None = None,
    events: EventBus | None = None,
) -> Scheduler:
    """Component factory: a :class:`Scheduler` with ``jobs`` added, not started yet.

    ``Component(scheduler, ...)`` starts it (``async with``: its ``__aenter__``) and stops it
    at shutdown (``__aexit__``, that is :meth:`Scheduler.aclose`, whose log lines carry the
    :class:`~service_pkg.ShutdownReason`). The stop is bounded by ``stop_timeout +
    cancel_timeout`` of the :class:`SchedulerConfig`, so keep the component's
    ``stop_timeout`` above that. Its :class:`~service_pkg.events.JobRun` events go to the
    application's event stream.

    For leader-only jobs pass the election twice, as an argument (so every run checks
    ``is_leader()`` right before it starts, and a slow ``LOST`` can never let a run start
    on a former leader) and as ``leader=`` (so the component runs only while leader)::

        jobs = Component(scheduler, config, [cleanup], election, leader=election)

    Health (no user code): the component reports ``ok`` while the dispatcher runs, whatever
    its jobs do, and ``failed`` if the dispatcher crashed (:meth:`Scheduler.check_dispatcher`);
    it does not affect readiness.

    Args:
        config: Shared settings; ``SchedulerConfig()`` when ``None``.
        jobs: The jobs, added in order.
        election: Gate every run on this election (see above).
        clock: See :class:`Scheduler`.
        wall_clock: See :class:`Scheduler`.
        events: See :class:`Scheduler`; the application's bus when ``None``.

    Returns:
        The scheduler, stopped; the component starts it.

    Raises:
        ConfigError: ``jobs`` is not an iterable of :class:`JobConfig`, or another argument
            is invalid (the component's start fails with it).
        DuplicateJobError: two jobs share a name.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       A plain function returning the unstarted scheduler (was an async generator); a
       default health check; ``events=``.
    """
    if isinstance(jobs, JobConfig) or not isinstance(jobs, Iterable):
        raise ConfigError("jobs", jobs, "must be an iterable of JobConfig")
    sched = Scheduler(config, clock=clock, wall_clock=wall_clock, election=election, events=events)
    for job in jobs:
        sched.add(job)
    return sched
