"""Running health rounds for an application: concurrent checks, timeouts, coalescing."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from service_pkg.events import EventBus, HealthChecked
from service_pkg.health import ComponentHealth, HealthCheck, HealthReport, HealthStatus

__all__ = ("HealthProbe", "HealthRunner", "mask_secrets")


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """What the application knows of one component when a round begins."""

    name: str
    status: HealthStatus
    """``ok`` = running, check it; otherwise reported as is, without a check."""
    check: HealthCheck | None = None
    value: object = None
    error: str | None = None
    affects_readiness: bool = True


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@]*?:)[^\s]*@")
_KEY_VALUE = re.compile(r"(?i)(?P<head>\b(?:password|passwd|pwd|secret|token)\s*[=:]\s*)\S+")


def mask_secrets(text: str) -> str:
    """Mask what looks like a secret in a check's error text.

    A URL's password (``scheme://user:…@``, up to the last ``@`` before a space) and
    ``password=…``-style pairs become ``***``. A check should not put secrets in its errors;
    this is the safety net for drivers that do.
    """
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _KEY_VALUE.sub(r"\g<head>***", text)


def _describe(exc: BaseException) -> str:
    message = str(exc).strip()
    name = type(exc).__name__
    return mask_secrets(f"{name}: {message}" if message else name)


def _entry(
    probe: HealthProbe, check: HealthCheck, began: float, error: str | None
) -> ComponentHealth:
    return ComponentHealth(
        name=probe.name,
        status=HealthStatus.OK if error is None else HealthStatus.FAILED,
        error=error,
        duration_ms=round((time.perf_counter() - began) * 1000, 3),
        affects_readiness=check.affects_readiness,
    )


async def _finish(
    probe: HealthProbe, check: HealthCheck, began: float, pending: Awaitable[object]
) -> ComponentHealth:
    error: str | None = None
    try:
        async with asyncio.timeout(max(0.0, check.timeout - (time.perf_counter() - began))):
            await pending
    except TimeoutError:
        error = f"timed out after {check.timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - a failing check is a result, not an error
        error = _describe(exc)
    return _entry(probe, check, began, error)


def _static(probe: HealthProbe) -> ComponentHealth:
    return ComponentHealth(
        name=probe.name,
        status=probe.status,
        error=probe.error,
        affects_readiness=probe.affects_readiness,
    )


class HealthRunner:
    """Runs rounds of checks; concurrent callers share one round, fresh results are reused.

    ``probes()`` is called at the start of each round and describes every component as the
    application sees it then; ``lifecycle_ready()`` gives the barrier's value; a report is
    stale as soon as ``generation()`` returns something else than when its round began.
    """

    def __init__(
        self,
        probes: Callable[[], Sequence[HealthProbe]],
        lifecycle_ready: Callable[[], bool],
        generation: Callable[[], object],
        bus: EventBus,
        *,
        max_age: float,
    ) -> None:
        self._probes = probes
        self._lifecycle_ready = lifecycle_ready
        self._generation = generation
        self._bus = bus
        self._max_age = max_age
        self._round: asyncio.Task[HealthReport] | None = None
        self._last: HealthReport | None = None
        self._last_generation: object = None

    async def report(self) -> HealthReport:
        """A report no older than ``max_age``; one round at a time, shared by every caller."""
        last = self._last
        fresh = last is not None and time.monotonic() - last.checked_at < self._max_age
        if last is not None and fresh and self._generation() == self._last_generation:
            return last
        if self._round is None or self._round.done():
            self._round = asyncio.get_running_loop().create_task(
                self._run(), name="service_pkg:health"
            )
        # Shielded: a caller that gives up (a probe's own timeout) does not cancel the round
        # the other callers wait for; each check is bounded by its own timeout anyway.
        return await asyncio.shield(self._round)

    async def _run(self) -> HealthReport:
        checked_at = time.monotonic()
        generation = self._generation()
        lifecycle_ready = self._lifecycle_ready()
        probes = self._probes()
        entries: list[ComponentHealth | None] = [None] * len(probes)
        waiting: list[tuple[int, Coroutine[Any, Any, ComponentHealth]]] = []
        for i, probe in enumerate(probes):
            check = probe.check
            if probe.status is not HealthStatus.OK or check is None:
                entries[i] = _static(probe)
                continue
            # A sync check is called inline (it must be quick: it runs on the loop); only an
            # awaitable result costs a task.
            began = time.perf_counter()
            try:
                result = check.check(probe.value)
            except Exception as exc:  # noqa: BLE001 - a failing check is a result
                entries[i] = _entry(probe, check, began, _describe(exc))
                continue
            if inspect.isawaitable(result):
                waiting.append((i, _finish(probe, check, began, result)))
            else:
                entries[i] = _entry(probe, check, began, None)
        if waiting:
            async with asyncio.TaskGroup() as group:
                tasks = [(i, group.create_task(c)) for i, c in waiting]
            for i, task in tasks:
                entries[i] = task.result()
        report = HealthReport(
            components=tuple(e for e in entries if e is not None),
            lifecycle_ready=lifecycle_ready,
            checked_at=checked_at,
        )
        self._last = report
        self._last_generation = generation
        if self._bus.wants(HealthChecked):
            self._bus.emit(HealthChecked(report=report))
        return report
