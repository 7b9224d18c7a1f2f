"""The job scheduler: fixed-rate, cron and one-shot jobs with deadlines and a bounded stop.

A port of the Go ``scheduler`` package (``JobScheduler``, ``TaskSupervisor``, ``Cron``) with
its bugs fixed; ``docs/scheduler.md`` has the semantics with timelines.

.. code-block:: python

    jobs = [
        JobConfig(name="cleanup", func=cleanup, trigger=Every(60), deadline=30),
        JobConfig(name="report", func=report, trigger=Cron("0 0 6 * * *"),
                  stop_mode=StopMode.GRACEFUL, deadline=300),
    ]

    class Container(containers.DeclarativeContainer):
        election = Component(standalone_election)
        jobs = Component(scheduler, SchedulerConfig(max_concurrent_runs=4), jobs, election,
                         leader=election)

``Component(scheduler, ...)`` builds the :class:`Scheduler` and the component starts it
(``async with``) and stops it (``aclose()``). Every slot ends in one
:class:`~service_pkg.events.JobRun` on the application's event stream; the component's
health is ``ok`` while the dispatcher runs (:meth:`Scheduler.check_dispatcher`).

Go → Python:

.. code-block:: text

    NewJobScheduler(rate)                  Scheduler(SchedulerConfig(max_concurrent_runs=rate))
    JobConfiguration{Name, Func, Tick,     JobConfig(name=, func=, trigger=Every(tick),
      Deadline, StopMode}                      deadline=, stop_mode=)
    StopImmediate / StopGraceful (0 / 1)   StopMode.IMMEDIATE / StopMode.GRACEFUL (0 / 1)
    Add(cfg) error                         add(cfg): DuplicateJobError, SchedulerRunningError
    Start(ctx)() / Stop()()                await start() / await stop() -> StopReport
    TaskSupervisor{Schedulers}             several scheduler components in one Application
    NewCron(); Add(ctx, spec, fn)          JobConfig(name=, func=, trigger=Cron(spec))

.. versionadded:: 0.1.0
"""

from service_pkg.scheduler._component import scheduler as scheduler
from service_pkg.scheduler._config import DEFAULT_JOB_BUCKETS as DEFAULT_JOB_BUCKETS
from service_pkg.scheduler._config import JobConfig as JobConfig
from service_pkg.scheduler._config import JobFunc as JobFunc
from service_pkg.scheduler._config import OverlapPolicy as OverlapPolicy
from service_pkg.scheduler._config import SchedulerConfig as SchedulerConfig
from service_pkg.scheduler._config import StopMode as StopMode
from service_pkg.scheduler._config import Trigger as Trigger
from service_pkg.scheduler._scheduler import Scheduler as Scheduler
from service_pkg.scheduler._stats import JobStats as JobStats
from service_pkg.scheduler._stats import RunContext as RunContext
from service_pkg.scheduler._stats import SchedulerState as SchedulerState
from service_pkg.scheduler._stats import SchedulerStats as SchedulerStats
from service_pkg.scheduler._stats import StopReport as StopReport
from service_pkg.scheduler._stats import Timing as Timing
from service_pkg.scheduler._triggers import Cron as Cron
from service_pkg.scheduler._triggers import Every as Every
from service_pkg.scheduler._triggers import Once as Once

__all__ = (
    "DEFAULT_JOB_BUCKETS",
    "Cron",
    "Every",
    "JobConfig",
    "JobFunc",
    "JobStats",
    "Once",
    "OverlapPolicy",
    "RunContext",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerState",
    "SchedulerStats",
    "StopMode",
    "StopReport",
    "Timing",
    "Trigger",
    "scheduler",
)
