"""The one place that installs OS signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

__all__ = ("DUPLICATE_WINDOW", "FORCE_EXIT_GRACE", "SignalCatcher")

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)

FORCE_EXIT_GRACE = 1.0
"""Seconds a forced exit may take before the process is ended with ``os._exit``."""

DUPLICATE_WINDOW = 0.1
"""Seconds after the first signal in which the same signal again is the same request.

A wrapper that forwards what a process-group kill already delivered (GNU ``make`` passes
SIGTERM on to its job; systemd's default ``KillMode=control-group`` signals every process of
the unit) makes one request arrive twice within a millisecond; forcing the exit on it would
skip every stop. A person pressing Ctrl-C twice is slower than this."""

Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class SignalCatcher:
    """Routes SIGTERM/SIGINT/SIGQUIT to the event loop, and restores what was there before.

    The first signal calls ``on_signal(signum, forced=False)`` on the loop. The same signal
    again within :data:`DUPLICATE_WINDOW` of it (by ``monotonic``) is the same request
    delivered twice: ``on_duplicate(signum)`` is called instead. Every other later signal
    calls ``on_signal`` with ``forced=True`` and, from the signal handler itself (so it works
    even when the loop is stuck in blocking code), arms a backstop that ends the process with
    ``128 + signum`` if it is still alive :data:`FORCE_EXIT_GRACE` seconds later.

    The kernel may deliver a signal to any thread, e.g. a worker thread stuck in a sync stop;
    Python then runs the handler only once the main thread executes bytecode again. A wake-up
    socket (``signal.set_wakeup_fd``) watched by the loop makes its ``epoll`` return, so the
    handler runs at once even when the loop was idle. When a wake-up fd is already set (asyncio
    sets one for ``loop.add_signal_handler``), that one is kept: it wakes the loop too.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_signal: Callable[[int, bool], None],
        on_duplicate: Callable[[int], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loop = loop
        self._on_signal = on_signal
        self._on_duplicate = on_duplicate
        self._monotonic = monotonic
        self._previous: dict[int, Handler] = {}
        self._count = 0
        self._first: tuple[int, float] | None = None
        self._backstop: threading.Timer | None = None
        self._wakeup: tuple[socket.socket, socket.socket] | None = None

    @property
    def installed(self) -> bool:
        """Whether the handlers are in place."""
        return bool(self._previous)

    def install(self) -> None:
        """Install the handlers (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "signal handlers can only be installed from the main thread; "
                "pass install_signals=False and stop the application yourself",
            )
        for sig in HANDLED:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)
        reader, writer = socket.socketpair()
        reader.setblocking(False)  # noqa: FBT003 - the stdlib signature
        writer.setblocking(False)  # noqa: FBT003 - the stdlib signature
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        if previous != -1:
            # The loop already has one (asyncio's add_signal_handler uses it to receive its
            # own signals): it wakes the loop just as well, and must not be taken away.
            signal.set_wakeup_fd(previous)
            reader.close()
            writer.close()
            return
        self._wakeup = (reader, writer)
        self._loop.add_reader(reader.fileno(), self._drain)

    def restore(self) -> None:
        """Put the previous handlers back.

        An armed backstop stays armed: after a forced signal the process is leaving, and a
        worker thread still stuck in a stop must not keep it alive past the grace period.
        """
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()
        if self._wakeup is not None:
            reader, writer = self._wakeup
            self._wakeup = None
            signal.set_wakeup_fd(-1)
            with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to remove
                self._loop.remove_reader(reader.fileno())
            reader.close()
            writer.close()

    def _drain(self) -> None:
        # The bytes only woke the loop up; the handler itself already ran (or is about to).
        if self._wakeup is not None:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                self._wakeup[0].recv(4096)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        now = self._monotonic()
        if self._first is None:
            self._first = (signum, now)
        elif (
            self._count == 1
            and self._first[0] == signum
            and now - self._first[1] < DUPLICATE_WINDOW
        ):
            self._loop.call_soon_threadsafe(self._on_duplicate, signum)
            return
        self._count += 1
        forced = self._count > 1
        if forced and self._backstop is None:
            self._backstop = threading.Timer(FORCE_EXIT_GRACE, os._exit, (128 + signum,))
            self._backstop.daemon = True
            self._backstop.start()
        # Runs on the loop's thread between bytecodes; the loop may be mid-callback.
        self._loop.call_soon_threadsafe(self._on_signal, signum, forced)
