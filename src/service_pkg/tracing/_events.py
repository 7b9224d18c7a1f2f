"""Spans from the event stream: application start and stop, each component's, job runs."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from service_pkg.app import Priority, RunState, Runtime
from service_pkg.events import (
    ApplicationStateChanged,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStarting,
    ComponentStopFailed,
    ComponentStopped,
    ComponentStopping,
    Event,
    JobOutcome,
    JobRun,
)
from service_pkg.exceptions import ConfigError
from service_pkg.tracing._logs import install_log_correlation

__all__ = ("INSTRUMENTATION", "TRACING_PRIORITY", "EventTracer", "tracing")

INSTRUMENTATION = "service_pkg"
"""The instrumentation scope name of every span the kit makes."""

TRACING_PRIORITY = Priority.LOWEST + 1
"""As ``METRICS_PRIORITY``: the tracing component starts first and stops last."""

_FINAL = frozenset({RunState.STOPPED, RunState.FAILED})
_RAN = frozenset({JobOutcome.OK, JobOutcome.FAILED, JobOutcome.TIMED_OUT, JobOutcome.CANCELLED})


class EventTracer:
    """Turns lifecycle events into spans on ``tracer``.

    * ``application start`` (from the moment :meth:`begin_start` is called, or the
      ``STARTING`` event, to ``RUNNING``), with a child ``start <component>`` per component;
    * ``application stop`` (``STOPPING`` to ``STOPPED`` / ``FAILED``, attribute
      ``service_pkg.shutdown.reason``), with a child ``stop <component>`` per component;
      components of a gated group started or stopped while running get root spans;
    * ``job <name>`` per run that began (``JobRun``), back-dated by its duration, with
      ``service_pkg.job.outcome`` and ``.lateness``; ``failed`` and ``timed_out`` are errors.
      The run's own spans are not its children: the event arrives when the run has ended.

    A failed start or stop sets the span's status to error and records the exception (type,
    message and traceback: what the kit's own log lines show for it; the kit's errors carry
    masked addresses only, a job's own exception is whatever the job raised).

    Its lifecycle is the subscription's: it owns no task; :meth:`end_all` ends whatever is
    still open.
    """

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._root: Span | None = None
        self._open: dict[tuple[str, str], Span] = {}

    def begin_start(self) -> None:
        """Open the ``application start`` span now (the subscriber joins while starting)."""
        self._root = self._tracer.start_span("application start", kind=SpanKind.INTERNAL)

    def __call__(self, event: Event) -> None:
        """Record one event."""
        if isinstance(event, JobRun):
            self._job(event)
        elif isinstance(event, ComponentStarting):
            self._open_child("start", event.component)
        elif isinstance(event, ComponentStopping):
            span = self._open_child("stop", event.component)
            span.set_attribute("service_pkg.shutdown.reason", event.reason.value)
        elif isinstance(event, ComponentStarted):
            self._close_child("start", event.component, None)
        elif isinstance(event, ComponentStartFailed):
            self._close_child("start", event.component, event.error)
        elif isinstance(event, ComponentStopped):
            self._close_child("stop", event.component, None)
        elif isinstance(event, ComponentStopFailed):
            self._close_child("stop", event.component, event.error)
        elif isinstance(event, ApplicationStateChanged):
            self._state(event)

    def end_all(self) -> None:
        """End every span still open (the subscriber leaves)."""
        for span in self._open.values():
            span.end()
        self._open.clear()
        if self._root is not None:
            self._root.end()
            self._root = None

    def _state(self, event: ApplicationStateChanged) -> None:
        if event.new is RunState.STARTING:
            self.begin_start()
            return
        if self._root is not None:
            if event.new is not RunState.RUNNING:
                self._root.set_status(Status(StatusCode.ERROR, f"start ended {event.new.value}"))
            self._root.end()
            self._root = None
        if event.new is RunState.STOPPING:
            self._root = self._tracer.start_span("application stop", kind=SpanKind.INTERNAL)
            if event.reason is not None:
                self._root.set_attribute("service_pkg.shutdown.reason", event.reason.value)

    def _open_child(self, phase: str, component: str) -> Span:
        parent = trace.set_span_in_context(self._root) if self._root is not None else None
        span = self._tracer.start_span(
            f"{phase} {component}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes={"service_pkg.component": component},
        )
        previous = self._open.pop((phase, component), None)
        if previous is not None:
            previous.end()
        self._open[phase, component] = span
        return span

    def _close_child(self, phase: str, component: str, error: BaseException | None) -> None:
        span = self._open.pop((phase, component), None)
        if span is None:
            return
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def _job(self, event: JobRun) -> None:
        if event.outcome not in _RAN:
            return
        end = time.time_ns()
        span = self._tracer.start_span(
            f"job {event.job}",
            context=None,
            kind=SpanKind.INTERNAL,
            start_time=end - int(event.duration * 1e9),
            attributes={
                "service_pkg.scheduler": event.scheduler,
                "service_pkg.job": event.job,
                "service_pkg.job.outcome": event.outcome.value,
                "service_pkg.job.lateness": event.lateness,
            },
        )
        if event.outcome in {JobOutcome.FAILED, JobOutcome.TIMED_OUT}:
            if event.error is not None:
                span.record_exception(event.error)
            span.set_status(Status(StatusCode.ERROR, event.outcome.value))
        span.end(end_time=end)


_LIFECYCLE: tuple[type[Event], ...] = (
    ApplicationStateChanged,
    ComponentStarting,
    ComponentStarted,
    ComponentStartFailed,
    ComponentStopping,
    ComponentStopped,
    ComponentStopFailed,
)


async def tracing(
    runtime: Runtime,
    *,
    tracer_provider: TracerProvider | None = None,
    log_correlation: bool = True,
    job_spans: bool = True,
) -> AsyncGenerator[Tracer, object]:
    """Component factory: spans from the application's event stream; its value is the tracer.

    ``Component(tracing, runtime, priority=TRACING_PRIORITY)``. Start subscribes an
    :class:`EventTracer` (opening ``application start`` when the application is starting)
    and, with ``log_correlation``, makes the kit's log formatters add ``trace_id`` and
    ``span_id`` while a span records. Stop leaves the stream (after the application's final
    state change when the application is stopping, so ``application stop`` is complete),
    ends what is still open and removes the log hook. Exporting is the SDK's business:
    configure a ``TracerProvider`` (or pass one) before the application starts.

    A recorded span costs about 20 µs with the SDK (a scheduler run costs 4): for
    many fast jobs, sample (``TraceIdRatioBased``: about 4 µs per unsampled run) or pass
    ``job_spans=False``, which subscribes to the lifecycle events only, so the scheduler
    does not even build its ``JobRun`` events for tracing.
    """
    if not isinstance(runtime, Runtime):
        raise ConfigError("runtime", type(runtime).__name__, "must be the Runtime dependency")
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer(INSTRUMENTATION)
    recorder = EventTracer(tracer)
    if runtime.state is RunState.STARTING:
        recorder.begin_start()
    closing = False

    def observe(event: Event) -> None:
        recorder(event)
        if closing and isinstance(event, ApplicationStateChanged) and event.new in _FINAL:
            unsubscribe()
            recorder.end_all()

    kinds = (*_LIFECYCLE, JobRun) if job_spans else _LIFECYCLE
    unsubscribe = runtime.subscribe(observe, *kinds)
    uninstall = install_log_correlation() if log_correlation else None
    try:
        yield tracer
    finally:
        if uninstall is not None:
            uninstall()
        if runtime.state is RunState.STOPPING:
            closing = True
        else:
            unsubscribe()
            recorder.end_all()
