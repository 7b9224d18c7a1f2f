from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest

from service_pkg import ShutdownReason


class Recorder:
    """Collects lifecycle events of fake components in order."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.reasons: dict[str, object] = {}

    def of(self, kind: str) -> list[str]:
        return [e.split(" ", 1)[1] for e in self.events if e.startswith(kind + " ")]

    def factory(
        self,
        name: str,
        *,
        fail_start: bool = False,
        fail_stop: bool = False,
        hang_start: bool = False,
        hang_stop: bool = False,
    ) -> Callable[..., AsyncGenerator[str, object]]:
        async def resource(*deps: Any, **kwdeps: Any) -> AsyncGenerator[str, object]:
            self.events.append(f"start {name}")
            if hang_start:
                await asyncio.Event().wait()
            if fail_start:
                raise RuntimeError(f"{name} cannot start")
            reason = yield name
            self.reasons[name] = reason
            self.events.append(f"stop {name}")
            if hang_stop:
                await asyncio.Event().wait()
            if fail_stop:
                raise RuntimeError(f"{name} cannot stop")

        resource.__name__ = f"make_{name}"
        return resource

    def hook(self, name: str) -> Callable[[], None]:
        def run() -> None:
            self.events.append(f"stop {name}")

        return run


async def settle(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition()`` holds (at most 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polls a double's state, bounded above
            await asyncio.sleep(0)


@pytest.fixture(name="rec")
def _rec() -> Recorder:
    return Recorder()


__all__ = ["Recorder", "ShutdownReason", "settle"]
