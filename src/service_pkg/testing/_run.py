"""``run_components``: start just what a test needs, always stop it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import containers

from service_pkg.app import Application

__all__ = ("run_components",)


@asynccontextmanager
async def run_components(
    container: containers.Container,
    *names: str,
    shutdown_timeout: float = 10.0,
) -> AsyncIterator[Application]:
    """Start the named components and everything they need; stop them on exit.

    With no names, the whole container runs. Signals are left alone. Leader gating still
    applies: a gated component starts when its election (a
    :class:`~service_pkg.testing.ManualElection` in tests) takes leadership. Overrides made
    with dependency-injector's ``override()`` are honoured. The stop always runs, also when
    the body raises; a failed stop raises :class:`~service_pkg.exceptions.StopError`.
    """
    app = Application(
        container,
        install_signals=False,
        components=names or None,
        shutdown_timeout=shutdown_timeout,
    )
    async with app:
        yield app
