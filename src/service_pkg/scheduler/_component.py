"""``scheduler``: the component factory, ``Component(scheduler, config, jobs, election, ...)``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable

from service_pkg.clock import Clock
from service_pkg.exceptions import ConfigError
from service_pkg.leader import LeaderElection
from service_pkg.scheduler._config import JobConfig, SchedulerConfig
from service_pkg.scheduler._scheduler import Scheduler

__all__ = ("scheduler",)


async def scheduler(
    config: SchedulerConfig | None = None,
    jobs: Iterable[JobConfig] = (),
    election: LeaderElection | None = None,
    *,
    clock: Clock | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> AsyncGenerator[Scheduler, object]:
    """Component factory: a started :class:`Scheduler` with ``jobs``, stopped at shutdown.

    For leader-only jobs pass the election twice, as an argument (so every run checks
    ``is_leader()`` right before it starts, and a slow ``LOST`` can never let a run start
    on a former leader) and as ``leader=`` (so the component runs only while leader)::

        jobs = Component(scheduler, config, [cleanup], election, leader=election)

    The stop part calls :meth:`Scheduler.stop` with the
    :class:`~service_pkg.ShutdownReason` for its log lines; its duration is bounded by
    ``stop_timeout + cancel_timeout``, so keep the component's ``stop_timeout`` above that.

    Args:
        config: Shared settings; ``SchedulerConfig()`` when ``None``.
        jobs: The jobs, added in order.
        election: Gate every run on this election (see above).
        clock: See :class:`Scheduler`.
        wall_clock: See :class:`Scheduler`.

    Yields:
        The running scheduler.

    Raises:
        ConfigError: ``jobs`` is not an iterable of :class:`JobConfig`, or another argument
            is invalid.
        DuplicateJobError: two jobs share a name.

    .. versionadded:: 0.1.0
    """
    if isinstance(jobs, JobConfig) or not isinstance(jobs, Iterable):
        raise ConfigError("jobs", jobs, "must be an iterable of JobConfig")
    sched = Scheduler(config, clock=clock, wall_clock=wall_clock, election=election)
    for job in jobs:
        sched.add(job)
    await sched.start()
    reason: object = None
    try:
        reason = yield sched
    finally:
        await sched.stop(reason=None if reason is None else str(reason))
