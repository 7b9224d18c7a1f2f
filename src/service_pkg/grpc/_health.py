"""``grpc.health.v1`` answers from the runtime view, through grpclib's ``Health`` service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import Any

from grpclib.health.check import CheckBase
from grpclib.health.service import Health

from service_pkg.app import Runtime
from service_pkg.events import Event, HealthChecked, ReadinessChanged

__all__ = ("RuntimeCheck", "health_service", "service_names")

logger = logging.getLogger("service_pkg.grpc")


def service_names(services: Collection[Any]) -> list[str]:
    """The full gRPC names (``pkg.Service``) of grpclib servables, from their ``__mapping__``."""
    names: list[str] = []
    for service in services:
        mapping = service.__mapping__()
        for path in mapping:
            name = path.split("/")[1]
            if name not in names:
                names.append(name)
    return names


class RuntimeCheck(CheckBase):
    """A grpclib health check whose status is the runtime's verdict (``report.ready``).

    ``NOT_SERVING`` from the first moment of a drain: the application's
    ``ReadinessChanged(ready=False)`` event flips it synchronously, before any stop runs.
    Every health round anyone runs (``/readyz``, a ``Check`` call) updates it and wakes the
    ``Watch`` streams; while one is open, :meth:`poll` runs a round every interval.
    Without a runtime the status is "serving unless draining".
    """

    def __init__(self, runtime: Runtime | None, poll_interval: float) -> None:
        self._runtime = runtime
        self._interval = poll_interval
        self._value: bool | None = None if runtime is not None else True
        self._stopping = False
        self._events: set[asyncio.Event] = set()
        self._watched = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        if runtime is not None:
            self._unsubscribe = runtime.subscribe(self._on_event, ReadinessChanged, HealthChecked)

    def close(self) -> None:
        """Stop following the runtime's events."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def stop_serving(self) -> None:
        """``NOT_SERVING`` for good: the server is stopping."""
        self._stopping = True
        self._set(value=False)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReadinessChanged):
            if not event.ready:
                # "stopping" (the drain began) or "stopped": never serving again.
                self.stop_serving()
        elif isinstance(event, HealthChecked) and not self._stopping:
            self._set(value=event.report.ready)

    def _set(self, *, value: bool) -> None:
        if value != self._value:
            self._value = value
            for event in self._events:
                event.set()

    def __status__(self) -> bool | None:
        """The last verdict (``None`` = unknown, before the first round)."""
        return self._value

    async def __check__(self) -> bool | None:
        """Run (or reuse, via the runtime's coalescing) a round; the drain wins."""
        if self._stopping:
            return False
        if self._runtime is not None:
            report = await self._runtime.health()
            if not self._stopping:
                self._set(value=report.ready)
        return self._value

    async def __subscribe__(self) -> asyncio.Event:
        """A ``Watch`` stream opened: it is woken on every change.

        grpclib sends the current status right after this returns, so a check runs first:
        the first answer is a verdict, not ``UNKNOWN``.
        """
        await self.__check__()
        event = asyncio.Event()
        self._events.add(event)
        self._watched.set()
        return event

    async def __unsubscribe__(self, event: asyncio.Event) -> None:
        """A ``Watch`` stream ended."""
        self._events.discard(event)
        if not self._events:
            self._watched.clear()

    async def poll(self) -> None:
        """Run a round every interval while a ``Watch`` stream is open; runs until cancelled."""
        while True:
            await self._watched.wait()
            try:
                await self.__check__()
            except Exception:
                logger.warning("health round for grpc.health.v1 Watch failed", exc_info=True)
            await asyncio.sleep(self._interval)


def health_service(services: Collection[Any], check: RuntimeCheck) -> Health:
    """The ``Health`` service of grpclib, answering for every service and ``""`` with ``check``."""
    checks: dict[Any, list[CheckBase]] = {service: [check] for service in services}
    return Health(checks)
