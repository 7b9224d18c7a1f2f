"""In-process signal handling: installed at start, restored after, interrupting a start."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

from dependency_injector import containers

from service_pkg import Application, Component, RunState, ShutdownReason
from service_pkg.testing import ManualClock

from .conftest import Recorder


async def test_handlers_are_installed_during_the_run_and_restored_after(rec: Recorder) -> None:
    """The application owns SIGTERM/SIGINT/SIGQUIT only while it runs."""

    class One(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)}
    app = Application(One())
    await app.start()
    assert all(signal.getsignal(s) is not h for s, h in before.items())
    await app.stop()
    assert {s: signal.getsignal(s) for s in before} == before


async def test_sigterm_during_start_rolls_back_and_exits_0(rec: Recorder) -> None:
    """A signal while a component starts cancels that start and stops what already ran."""
    started = asyncio.Event()

    async def slow(first: object) -> AsyncIterator[None]:
        started.set()
        await asyncio.Event().wait()
        yield None

    class Two(containers.DeclarativeContainer):
        first = Component(rec.factory("first"))
        second = Component(slow, first)

    app = Application(Two())
    serving = asyncio.create_task(app.serve())
    await started.wait()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await serving == 0
    assert rec.events == ["start first", "stop first"]
    assert rec.reasons["first"] is ShutdownReason.SIGNAL
    assert app.state is RunState.STOPPED


async def test_sigterm_while_running_stops_with_reason_signal(rec: Recorder) -> None:
    """The first signal makes serve() stop gracefully and return 0."""

    class One(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))

    app = Application(One())
    serving = asyncio.create_task(app.serve())
    await app.readiness.wait_ready()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await serving == 0
    assert rec.reasons["a"] is ShutdownReason.SIGNAL
    assert app.shutdown_reason is ShutdownReason.SIGNAL


async def test_loop_signal_handlers_keep_working_while_the_app_runs(rec: Recorder) -> None:
    """A handler added with loop.add_signal_handler before the start still runs (SIGUSR1)."""

    class One(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))

    loop = asyncio.get_running_loop()
    received = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, received.set)
    try:
        app = Application(One())
        async with app:
            os.kill(os.getpid(), signal.SIGUSR1)
            async with asyncio.timeout(5):
                await received.wait()
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)


async def test_wakeup_fd_is_restored_after_the_run(rec: Recorder) -> None:
    """With no wake-up fd before the start, none is left set after the stop."""

    class One(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))

    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    async with Application(One()):
        pass
    after = signal.set_wakeup_fd(before)
    assert after == before


async def test_the_same_signal_twice_at_once_is_one_graceful_request(rec: Recorder) -> None:
    """A SIGTERM forwarded on top of a group kill's SIGTERM (make, systemd) stops gracefully.

    The forced paths run in a child process (tests/integration/test_signals.py): a forced
    exit arms the backstop, which would end this process.
    """

    class Two(containers.DeclarativeContainer):
        a = Component(rec.factory("a"))
        b = Component(rec.factory("b"), a)

    app = Application(Two(), clock=ManualClock())
    serving = asyncio.create_task(app.serve())
    await app.readiness.wait_ready()
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await serving == 0
    assert rec.of("stop") == ["b", "a"]
