"""Job and scheduler configuration: frozen dataclasses that validate themselves."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from service_pkg._checks import bucket_bounds, check_seconds, seconds
from service_pkg.exceptions import ConfigError
from service_pkg.scheduler._stats import RunContext
from service_pkg.scheduler._triggers import Cron, Every, Once

__all__ = (
    "DEFAULT_JOB_BUCKETS",
    "JobConfig",
    "JobFunc",
    "OverlapPolicy",
    "SchedulerConfig",
    "StopMode",
    "Trigger",
)

JobFunc = Callable[[RunContext], Awaitable[object]]
"""What a job runs: ``async def job(ctx: RunContext) -> None``; the return value is ignored."""

Trigger = Every | Cron | Once
"""When a job runs: a fixed interval, a cron spec, or once."""

DEFAULT_JOB_BUCKETS: tuple[float, ...] = (
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Seconds: the default bounds a scheduler counts run durations and lateness in (the job
histograms of ``service_pkg.metrics``)."""


class StopMode(enum.IntEnum):
    """What :meth:`Scheduler.stop` does to a run in progress; the numbers are the Go constants.

    .. versionadded:: 0.1.0
    """

    IMMEDIATE = 0
    """Go ``StopImmediate``: the run is cancelled at once."""
    GRACEFUL = 1
    """Go ``StopGraceful``: the run may finish, bounded by its deadline and ``stop_timeout``."""


class OverlapPolicy(enum.Enum):
    """What happens to a slot that comes due while the job's previous run is still going.

    A run never overlaps another run of the same job, whatever the policy.

    .. versionadded:: 0.1.0
    """

    SKIP = "skip"
    """The slot is skipped and counted in ``skipped`` (the default)."""
    DEFER = "defer"
    """Go's ticker: the first such slot runs as soon as the current run ends (still subject
    to ``misfire_grace``); further slots in the same run are skipped and counted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobConfig:
    """One job: what to run, when, how long a run may take, and what a stop does to it.

    The Go ``JobConfiguration{Name, Func, Tick, Deadline, StopMode}``; ``Tick`` became
    ``trigger=Every(tick)``. Every field is checked here, so a bad job fails where it is
    declared, before :meth:`Scheduler.add` (which adds the checks that need the scheduler:
    duplicate names, adding after start).

    Raises:
        ConfigError: a field is invalid; ``.field`` names it (Go accepted ``Tick <= 0`` and
            panicked at start, and ran ``Deadline <= 0`` with an expired context, bug #8).

    .. versionadded:: 0.1.0
    """

    name: str
    """Unique within a scheduler; used in logs (``extra={"job": name}``), stats and errors."""
    func: JobFunc
    """``async def func(ctx: RunContext)``. Exceptions it raises are logged and counted, never
    propagated (Go bug #10)."""
    trigger: Trigger
    """:class:`Every`, :class:`Cron` or :class:`Once`."""
    deadline: float | None = None
    """Seconds a run may take (clock time, from the start of the body) before it is cancelled
    and counted as timed out; ``None`` = no limit (Go had no such mode)."""
    stop_mode: StopMode = StopMode.IMMEDIATE
    """What :meth:`Scheduler.stop` does to a run in progress."""
    overlap: OverlapPolicy = OverlapPolicy.SKIP
    """What happens to a slot that comes due while the previous run is still going."""
    misfire_grace: float | None = None
    """Seconds a slot may be late and still run; later ones are counted as missed instead.
    ``None`` = Go ticker semantics: after a stall, one late run whatever the delay."""
    run_immediately: bool = False
    """Run at start instead of one interval after it (Go waits one tick)."""
    jitter: float = 0.0
    """Seconds: each slot is delayed by a random amount in ``[0, jitter)``, drawn per slot
    against the grid (never accumulated). Needs a fixed interval; must be ``< interval``."""

    def __post_init__(self) -> None:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        name: object = self.name
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", name, "must be a non-empty string")
        _check_func(self.func)
        trigger: object = self.trigger
        if not isinstance(trigger, Every | Cron | Once):
            raise ConfigError("trigger", trigger, "must be Every(...), Cron(...) or Once(...)")
        object.__setattr__(
            self, "deadline", check_seconds("deadline", self.deadline, allow_none=True)
        )
        _check_enum("stop_mode", self.stop_mode, StopMode)
        _check_enum("overlap", self.overlap, OverlapPolicy)
        grace = check_seconds("misfire_grace", self.misfire_grace, allow_none=True)
        object.__setattr__(self, "misfire_grace", grace)
        if not isinstance(self.run_immediately, bool):
            raise ConfigError("run_immediately", self.run_immediately, "must be a bool")
        jitter = seconds("jitter", self.jitter, allow_zero=True)
        object.__setattr__(self, "jitter", jitter)
        if jitter:
            interval = trigger.interval if isinstance(trigger, Every | Cron) else None
            if interval is None:
                raise ConfigError(
                    "jitter",
                    jitter,
                    "needs a fixed interval (Every or Cron('@every ...')); "
                    "cron specs and Once have none",
                )
            if jitter >= interval:
                raise ConfigError("jitter", jitter, f"must be < the interval ({interval:g} s)")


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    """Settings shared by every job of one :class:`Scheduler`.

    Raises:
        ConfigError: a field is invalid; ``.field`` names it.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``job_buckets``.
    """

    name: str = "scheduler"
    """Names the scheduler in logs (``extra={"scheduler": name}``) and its repr."""
    max_concurrent_runs: int | None = None
    """How many runs of all its jobs may be in progress at once (Go's misnamed ``rate``,
    bug #9); a slot that finds the cap full waits for a free place, first come first
    served. ``None`` = no cap. Go turned ``rate <= 0`` into 1; here it is an error."""
    stop_timeout: float = 5.0
    """Seconds :meth:`Scheduler.stop` lets ``GRACEFUL`` runs go on before cancelling them."""
    cancel_timeout: float = 1.0
    """Seconds a cancelled run may take to end before the stop reports it abandoned. A stop
    returns within ``stop_timeout + cancel_timeout`` (``cancel_timeout`` when no
    ``GRACEFUL`` run is in progress); keep that below the component's ``stop_timeout``."""
    job_buckets: tuple[float, ...] = DEFAULT_JOB_BUCKETS
    """Bucket bounds (seconds, strictly increasing) of the histograms the scheduler keeps of
    every job's durations and lateness (``Timing.buckets`` in :meth:`Scheduler.stats`);
    ``service_pkg.metrics`` exposes them as ``service_pkg_job_duration_seconds`` and
    ``service_pkg_job_lateness_seconds``. A run pays one bisection of this tuple per figure,
    so keep it short."""

    def __post_init__(self) -> None:
        """Check every field; raise :class:`ConfigError` naming the first bad one."""
        name: object = self.name
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", name, "must be a non-empty string")
        cap: object = self.max_concurrent_runs
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError("max_concurrent_runs", cap, "must be an int >= 1 or None")
        object.__setattr__(self, "stop_timeout", seconds("stop_timeout", self.stop_timeout))
        cancel = seconds("cancel_timeout", self.cancel_timeout)
        object.__setattr__(self, "cancel_timeout", cancel)
        object.__setattr__(self, "job_buckets", bucket_bounds("job_buckets", self.job_buckets))


def _check_func(func: object) -> None:
    if inspect.isasyncgenfunction(func):
        raise ConfigError("func", func, "must be an async function, not an async generator")
    if (
        inspect.isfunction(func)
        and not inspect.iscoroutinefunction(func)
        and func.__name__ != "<lambda>"  # a lambda may return a coroutine; checked per run
    ):
        raise ConfigError(
            "func",
            func,
            "must be an async function (async def); a sync function would block the event loop",
        )
    if not callable(func):
        raise ConfigError("func", func, "must be an async function taking a RunContext")


def _check_enum(field: str, value: object, kind: type[enum.Enum]) -> None:
    if not isinstance(value, kind):
        names = ", ".join(f"{kind.__name__}.{m.name}" for m in kind)
        raise ConfigError(field, value, f"must be one of {names}")
