"""Running one plan step: start or stop a component, or call a shutdown hook, and publish it."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from service_pkg.app._di import Slot
from service_pkg.app._state import ShutdownReason
from service_pkg.events import (
    ComponentOverridden,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStarting,
    ComponentStopFailed,
    ComponentStopped,
    ComponentStopping,
    EventBus,
    _current,
)
from service_pkg.exceptions import ComponentStopError, ComponentTimeoutError, StartError

__all__ = ("Hook", "HookSpec", "Steps")

Hook = Callable[[], object]


@dataclass(frozen=True, slots=True)
class HookSpec:
    """An ``on_shutdown`` registration."""

    fn: Hook
    priority: int
    timeout: float


class Steps:
    """Starts and stops the nodes of a plan by name, each under its timeout.

    Every step is published on the application's :class:`~service_pkg.events.EventBus`
    (the lifecycle log is one subscriber). Stops never raise (except a cancellation of the
    caller): they return the error to collect. Failures of stops that happen outside an
    application stop (a gated group stopping on ``LOST``) are kept in :attr:`late_errors`
    for the final report.
    """

    def __init__(self, bus: EventBus) -> None:
        self.slots: dict[str, Slot] = {}
        self.hooks: dict[str, HookSpec] = {}
        self.late_errors: list[Exception] = []
        self.bus = bus
        self.changes = 0
        """Count of starts and stops run so far: a health report from before a change is stale."""

    def value(self, name: str) -> Any:
        """The started value (or override) of a component."""
        return self.slots[name].declared()

    def is_started(self, name: str) -> bool:
        """Whether the component runs (an override never does)."""
        component = self.slots[name].component
        return component is not None and component.started

    async def start(self, name: str) -> None:
        """Start one component under its ``start_timeout``.

        Raises:
            StartError: it failed or timed out (the cause says which).
        """
        bus = self.bus
        component = self.slots[name].component
        if component is None:
            bus.emit(ComponentOverridden(component=name))
            return
        if bus.wants(ComponentStarting):
            bus.emit(ComponentStarting(component=name))
        began = time.perf_counter()
        scope = asyncio.timeout(component.start_timeout)
        token = _current.set(bus)
        try:
            async with scope:
                await component._start()  # noqa: SLF001
        except TimeoutError as exc:
            if not scope.expired():
                raise self._start_failed(name, exc, began) from exc
            timeout = ComponentTimeoutError(name, "start", component.start_timeout)
            raise self._start_failed(name, timeout, began, timed_out=True) from timeout
        except Exception as exc:
            raise self._start_failed(name, exc, began) from exc
        finally:
            _current.reset(token)
            self.changes += 1
        if bus.wants(ComponentStarted):
            bus.emit(ComponentStarted(component=name, duration=_elapsed(began)))

    async def stop_all(
        self,
        names: Iterable[str],
        reason: ShutdownReason,
        deadline: float,
    ) -> list[Exception]:
        """Stop each node in order; return the errors, one per failed node."""
        errors: list[Exception] = []
        for name in names:
            error = await self.stop(name, reason, deadline)
            if error is not None:
                errors.append(error)
        return errors

    async def stop(self, name: str, reason: ShutdownReason, deadline: float) -> Exception | None:
        """Stop one node under ``min(its stop timeout, time left until deadline)``."""
        hook = self.hooks.get(name)
        if hook is not None:
            call: Callable[[], Awaitable[object]] = lambda: _call_hook(hook.fn)  # noqa: E731
            timeout = hook.timeout
        else:
            component = self.slots[name].component
            if component is None or not component.started:
                return None
            call = lambda: component._stop(reason)  # noqa: E731, SLF001
            timeout = component.stop_timeout
        # Past the deadline the stop still runs, cancelled at its first suspension point.
        timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        bus = self.bus
        if bus.wants(ComponentStopping):
            bus.emit(ComponentStopping(component=name, reason=reason))
        began = time.perf_counter()
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                try:
                    await call()
                finally:
                    self.changes += 1
        except TimeoutError as exc:
            if scope.expired():
                error = ComponentTimeoutError(name, "stop", timeout)
                return self._stop_failed(name, reason, error, began, timed_out=True)
            return self._stop_failed(name, reason, exc, began)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller is cancelled (a forced exit): stop stopping
            return self._stop_failed(name, reason, exc, began)
        except Exception as exc:  # noqa: BLE001 - every stop must run; errors are collected
            return self._stop_failed(name, reason, exc, began)
        if bus.wants(ComponentStopped):
            bus.emit(ComponentStopped(component=name, duration=_elapsed(began), reason=reason))
        return None

    def _start_failed(
        self, name: str, exc: Exception, began: float, *, timed_out: bool = False
    ) -> StartError:
        self.bus.emit(
            ComponentStartFailed(
                component=name, duration=_elapsed(began), error=exc, timed_out=timed_out
            )
        )
        return StartError(f"{name} failed to start: {exc}", name)

    def _stop_failed(
        self,
        name: str,
        reason: ShutdownReason,
        exc: BaseException,
        began: float,
        *,
        timed_out: bool = False,
    ) -> Exception:
        self.bus.emit(
            ComponentStopFailed(
                component=name,
                duration=_elapsed(began),
                reason=reason,
                error=exc,
                timed_out=timed_out,
            )
        )
        if timed_out:
            assert isinstance(exc, ComponentTimeoutError)  # noqa: S101 - by construction
            return exc
        error = ComponentStopError(f"{name} failed to stop: {exc!r}", name)
        error.__cause__ = exc
        return error


async def _call_hook(fn: Hook) -> None:
    result = fn()
    if inspect.isawaitable(result):
        await result


def _elapsed(began: float) -> float:
    return time.perf_counter() - began
