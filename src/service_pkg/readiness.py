"""The readiness barrier: one flag that says whether the service should receive traffic.

A port of the Go ``readiness_barrier`` package without its queue. The application sets the
barrier ready once every always-on component has started and not ready when shutdown begins;
the HTTP ``/readyz`` route and the gRPC health service report it.

Go → Python:

.. code-block:: text

    ReadySignalToggle / NotReadySignalToggle    ReadinessSignal.READY / .NOT_READY
    ReadinessBarrierConfig{Name}                ReadinessConfig(name=...)
    NewReadinessBarrier(ctx, cfg)               ReadinessBarrier(config)
    Start() / Stop()                            start() / stop()
    IsReady()                                   is_ready()
    SendSignalCtx(ctx, sig) error               send(sig)  (applied at once; never blocks)
    (none)                                      set_ready(), set_not_ready(), await wait_ready()

Deviations from Go (``docs/readiness.md`` lists them with reasons):

* A signal is applied before :meth:`ReadinessBarrier.send` returns; Go only queued it. There is
  no queue, so a signal can never survive ``stop()`` and reappear after ``start()`` (bug #26),
  and sending never blocks.
* An unknown signal raises :class:`~service_pkg.exceptions.ConfigError`; Go ignored it.
* No parent context: only ``stop()`` stops the barrier, so it can never be half-stopped
  (bug #26: a cancelled parent left Go's barrier "running" with a dead listener).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Self

from service_pkg.exceptions import ConfigError, NotRunningError

__all__ = (
    "ReadinessBarrier",
    "ReadinessConfig",
    "ReadinessSignal",
    "readiness_barrier",
)


class ReadinessSignal(enum.StrEnum):
    """What :meth:`ReadinessBarrier.send` can be told; the values are the Go constants.

    .. versionadded:: 0.1.0
    """

    READY = "ready"
    """Go ``ReadySignalToggle``: start receiving traffic."""
    NOT_READY = "not_ready"
    """Go ``NotReadySignalToggle``: stop receiving traffic."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadinessConfig:
    """Configuration of a :class:`ReadinessBarrier`.

    Raises:
        ConfigError: ``name`` is empty or blank (``field == "name"``).

    .. versionadded:: 0.1.0
    """

    name: str = "readiness"
    """Names the barrier in errors and its repr (Go ``ReadinessBarrierConfig.Name``)."""

    def __post_init__(self) -> None:
        """Reject a name that would make error messages unreadable."""
        name: object = self.name  # settings loaded at run time may not honour the annotation
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name", name, "must be a non-empty string")


class ReadinessBarrier:
    """A ready / not-ready flag with a running state, the Go ``ReadinessBarrier``.

    Lifecycle contract:

    * A new barrier is **not running and not ready**.
    * :meth:`start` makes it accept signals; it stays not ready until told otherwise.
      Calling it while running does nothing (the flag keeps its value).
    * :meth:`send` (and :meth:`set_ready` / :meth:`set_not_ready`) applies the signal before
      returning, so :meth:`is_ready` reflects it at once. While the barrier is not running it
      raises :class:`~service_pkg.exceptions.NotRunningError`
      (``"readiness barrier <name>: not running"``) and changes nothing.
    * :meth:`stop` makes it not running **and not ready**; calling it again does nothing.
      :meth:`start` after :meth:`stop` works and starts not ready: no signal sent before the
      stop is applied later.
    * ``async with barrier:`` starts it and :meth:`aclose` (or leaving the block) stops it,
      the shape of every kit resource.
    * :meth:`is_ready` never blocks and works in any state; :meth:`wait_ready` waits until the
      barrier is ready (forever if nobody makes it ready: bound it with ``asyncio.timeout``).

    The barrier belongs to one event loop and is not thread-safe, except :meth:`is_ready`,
    which only reads a flag.

    .. versionadded:: 0.1.0
    """

    def __init__(self, config: ReadinessConfig | None = None) -> None:
        """Create a barrier that is not running and not ready.

        Args:
            config: The barrier's configuration; ``ReadinessConfig()`` when ``None``.
        """
        self._config = ReadinessConfig() if config is None else config
        self._running = False
        self._ready = asyncio.Event()

    @property
    def name(self) -> str:
        """The configured name."""
        return self._config.name

    @property
    def running(self) -> bool:
        """Whether the barrier accepts signals (between :meth:`start` and :meth:`stop`)."""
        return self._running

    def start(self) -> None:
        """Start accepting signals; the barrier stays as ready as it was (not ready when new).

        Idempotent: a second call while running does nothing.
        """
        self._running = True

    def stop(self) -> None:
        """Stop accepting signals and become not ready. Idempotent."""
        self._running = False
        self._ready.clear()

    async def __aenter__(self) -> Self:
        """:meth:`start` the barrier and return it.

        .. versionadded:: 0.2.0
        """
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        """:meth:`aclose` the barrier."""
        await self.aclose()

    async def aclose(self) -> None:
        """:meth:`stop` the barrier (not running, not ready). Idempotent.

        .. versionadded:: 0.2.0
        """
        self.stop()

    def send(self, signal: ReadinessSignal | str) -> None:
        """Apply a signal: ``"ready"`` makes the barrier ready, ``"not_ready"`` not ready.

        Unlike Go's ``SendSignalCtx`` the signal is applied before this returns and the call
        never blocks, so it needs no context or timeout.

        Args:
            signal: A :class:`ReadinessSignal` or its string value.

        Raises:
            ConfigError: ``signal`` is not a known signal (``field == "signal"``); checked
                first, whatever the state. Go silently ignored unknown signals.
            NotRunningError: The barrier is not running.
        """
        try:
            parsed = ReadinessSignal(signal)
        except ValueError:
            raise ConfigError("signal", signal, "must be 'ready' or 'not_ready'") from None
        if not self._running:
            raise NotRunningError(f"readiness barrier {self.name}: not running")
        if parsed is ReadinessSignal.READY:
            self._ready.set()
        else:
            self._ready.clear()

    def set_ready(self) -> None:
        """Shorthand for ``send(ReadinessSignal.READY)``.

        Raises:
            NotRunningError: The barrier is not running.
        """
        self.send(ReadinessSignal.READY)

    def set_not_ready(self) -> None:
        """Shorthand for ``send(ReadinessSignal.NOT_READY)``.

        Raises:
            NotRunningError: The barrier is not running.
        """
        self.send(ReadinessSignal.NOT_READY)

    def is_ready(self) -> bool:
        """Tell whether the barrier is ready. Never blocks; ``False`` when not running."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        """Return once the barrier is ready; at once if it already is.

        Waits across not-ready periods and restarts: it returns the next time the barrier
        becomes ready, however that happens.
        """
        await self._ready.wait()

    def __repr__(self) -> str:
        """Show name and state: ``<ReadinessBarrier name='api' running=True ready=False>``."""
        return (
            f"<ReadinessBarrier name={self.name!r} running={self._running} "
            f"ready={self._ready.is_set()}>"
        )


def readiness_barrier(config: ReadinessConfig | None = None) -> ReadinessBarrier:
    """Component factory: ``Component(readiness_barrier, ReadinessConfig(name="api"))``.

    Returns the barrier unstarted; the component starts it (``async with``), so its value is
    running and not ready, and stops it (not ready) when the component stops.

    Args:
        config: The barrier's configuration; ``ReadinessConfig()`` when ``None``.

    Returns:
        The barrier, started by the component.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 returns the barrier (an async context manager) instead of
       being an async generator.
    """
    return ReadinessBarrier(config)
