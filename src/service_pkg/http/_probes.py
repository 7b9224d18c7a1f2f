"""``/livez`` and ``/readyz`` from the runtime view, in Kubernetes' text format."""

from __future__ import annotations

from collections.abc import Callable

from service_pkg.app import RunState, Runtime
from service_pkg.health import ComponentHealth, HealthReport, HealthStatus

__all__ = ("Probes", "render_readyz")

Answer = tuple[int, str]


def _line(entry: ComponentHealth, *, verbose: bool) -> str:
    if entry.status is HealthStatus.OK:
        return f"[+]{entry.name} ok"
    if entry.status is HealthStatus.STANDBY:
        return f"[~]{entry.name} standby"
    if entry.status is HealthStatus.STOPPED:
        return f"[~]{entry.name} stopped"
    reason = (entry.error or "unknown error") if verbose else "reason withheld"
    tail = "" if entry.affects_readiness else " (does not affect readiness)"
    return f"[-]{entry.name} failed: {reason}{tail}"


def _lifecycle(runtime: Runtime, report: HealthReport) -> str:
    if report.lifecycle_ready:
        return "[+]lifecycle ok"
    state = runtime.state
    why = "draining" if state is RunState.STOPPING else f"state {state.value}"
    if state is RunState.RUNNING:
        why = "not ready"
    return f"[-]lifecycle failed: {why}"


def render_readyz(runtime: Runtime, report: HealthReport, *, verbose: bool) -> Answer:
    """Status and body of ``/readyz`` for ``report``.

    200 ``ok`` when ready (every line with ``?verbose``); 503 with every line otherwise,
    reasons withheld unless verbose (Kubernetes does the same).
    """
    ready = report.ready
    if ready and not verbose:
        return 200, "ok\n"
    lines = [_lifecycle(runtime, report)]
    lines += [_line(entry, verbose=verbose) for entry in report.components]
    lines.append("readyz check passed" if ready else "readyz check failed")
    return (200 if ready else 503), "\n".join(lines) + "\n"


class Probes:
    """Answers the probe paths; ``serving`` says whether the server itself still serves."""

    __slots__ = ("_runtime", "_serving")

    def __init__(self, runtime: Runtime | None, serving: Callable[[], bool]) -> None:
        self._runtime = runtime
        self._serving = serving

    def livez(self, *, verbose: bool) -> Answer:
        """200 while the application has not failed (no dependency is checked)."""
        failed = self._runtime is not None and self._runtime.state is RunState.FAILED
        if failed:
            return 503, "[-]application failed\nlivez check failed\n"
        if verbose:
            return 200, "[+]ping ok\nlivez check passed\n"
        return 200, "ok\n"

    async def readyz(self, *, verbose: bool) -> Answer:
        """The runtime's verdict; without a runtime, whether this server still serves."""
        if self._runtime is None:
            if self._serving():
                return 200, ("[+]server ok\nreadyz check passed\n" if verbose else "ok\n")
            return 503, "[-]server failed: stopping\nreadyz check failed\n"
        if not self._serving():
            return 503, "[-]server failed: stopping\nreadyz check failed\n"
        return render_readyz(self._runtime, await self._runtime.health(), verbose=verbose)
