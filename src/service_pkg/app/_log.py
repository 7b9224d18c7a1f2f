"""The lifecycle log: the event-stream subscriber that writes the ``service_pkg.app`` lines."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from service_pkg.app._state import RunState
from service_pkg.events import (
    ApplicationStateChanged,
    ComponentOverridden,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStarting,
    ComponentStopFailed,
    ComponentStopped,
    ComponentStopping,
    Event,
    EventBus,
    StartAborted,
)

__all__ = ("KINDS", "log_event", "subscribe_log")

log = logging.getLogger("service_pkg.app")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# The four per-component INFO writers run only while INFO is on: subscribe_log gates them
# with when=, so they need no level check of their own.
def _starting(event: ComponentStarting) -> None:
    log.info("component starting", extra={"component": event.component})


def _started(event: ComponentStarted) -> None:
    log.info(
        "component started",
        extra={"component": event.component, "duration_ms": _ms(event.duration)},
    )


def _start_failed(event: ComponentStartFailed) -> None:
    log.error(
        "component start failed",
        exc_info=event.error,
        extra={"component": event.component, "duration_ms": _ms(event.duration)},
    )


def _stopping(event: ComponentStopping) -> None:
    log.info(
        "component stopping",
        extra={"component": event.component, "reason": event.reason.value},
    )


def _stopped(event: ComponentStopped) -> None:
    log.info(
        "component stopped",
        extra={"component": event.component, "duration_ms": _ms(event.duration)},
    )


def _stop_failed(event: ComponentStopFailed) -> None:
    extra = {"component": event.component, "duration_ms": _ms(event.duration)}
    if event.timed_out:
        log.error("component stop timed out", extra=extra)
    else:
        log.error("component stop failed", exc_info=event.error, extra=extra)


def _overridden(event: ComponentOverridden) -> None:
    log.info("component overridden", extra={"component": event.component})


def _log_state(event: ApplicationStateChanged) -> None:
    reason = {} if event.reason is None else {"reason": event.reason.value}
    if event.new is RunState.RUNNING:
        log.info("application started", extra={"duration_ms": _ms(event.duration)})
    elif event.new is RunState.STOPPING and event.old is RunState.RUNNING:
        log.info("application stopping", extra=reason)
    elif event.new is RunState.STOPPING:
        log.warning("start aborted, rolling back", extra=reason)
    elif event.old is RunState.STOPPING:
        log.info("application stopped", extra={**reason, "duration_ms": _ms(event.duration)})


def _log_aborted(event: StartAborted) -> None:
    # The last line of a failed start: one sentence a reader can act on, below the traceback.
    cause = "interrupted" if event.error is None else _one_line(event.error)
    rolled = ", ".join(event.rolled_back) if event.rolled_back else "nothing had started"
    log.error(
        "start failed: %s did not start (%s); rolled back: %s",
        event.component or "the application",
        cause,
        rolled,
        extra={
            "component": event.component,
            "reason": event.reason.value,
            "rolled_back": list(event.rolled_back),
        },
    )


def _one_line(error: BaseException) -> str:
    root: BaseException = error
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(root).splitlines()[0] if str(root) else ""
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


_WRITERS: dict[type[Event], Callable[[Any], None]] = {
    ComponentStarting: _starting,
    ComponentStarted: _started,
    ComponentStartFailed: _start_failed,
    ComponentStopping: _stopping,
    ComponentStopped: _stopped,
    ComponentStopFailed: _stop_failed,
    ComponentOverridden: _overridden,
    StartAborted: _log_aborted,
    ApplicationStateChanged: _log_state,
}
"""One writer per event class: a dict lookup per event (a component start emits two)."""

KINDS = tuple(_WRITERS)

_INFO_ONLY = (ComponentStarting, ComponentStarted, ComponentStopping, ComponentStopped)
"""The per-component INFO lines: with INFO off nobody needs these events built."""


def log_event(event: Event) -> None:
    """Write the log line of one lifecycle event (see the table in docs/lifecycle.md)."""
    writer = _WRITERS.get(type(event))
    if writer is not None:
        writer(event)


def subscribe_log(bus: EventBus) -> None:
    """Make the lifecycle log a subscriber of ``bus`` (lifecycle events only)."""
    bus.subscribe(log_event, *_INFO_ONLY, when=lambda: log.isEnabledFor(logging.INFO))
    bus.subscribe(log_event, *(k for k in KINDS if k not in _INFO_ONLY))
