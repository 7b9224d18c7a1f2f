"""Spans from the event stream: application start/stop with component children, job runs."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest
from dependency_injector import containers, providers
from opentelemetry.trace import StatusCode

from service_pkg import Application, Component, ShutdownReason
from service_pkg.app import Runtime
from service_pkg.events import EventBus, JobOutcome, JobRun
from service_pkg.exceptions import ConfigError, StartError
from service_pkg.testing import FakeRuntime
from service_pkg.tracing import TRACING_PRIORITY, tracing

from .spans import Spans


async def resource(value: str = "ok") -> AsyncGenerator[str, object]:
    yield value


async def broken(fail: bool = True) -> AsyncGenerator[str, object]:
    if fail:
        raise RuntimeError("cannot start")
    yield "never"


def container_class(spans: Spans, *, fail: bool = False) -> type[containers.DeclarativeContainer]:
    class C(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        trace = Component(
            tracing,
            runtime,
            tracer_provider=providers.Object(spans.provider),
            priority=TRACING_PRIORITY,
        )
        db = Component(broken if fail else resource, priority=1000)
        api = Component(resource, db, priority=100)

    return C


async def test_the_start_is_one_span_with_a_child_per_component(spans: Spans) -> None:
    """application start is the parent of start db and start api, in one trace."""
    async with Application(container_class(spans)(), install_signals=False):
        root = spans.named("application start")
        for name in ("start db", "start api"):
            child = spans.named(name)
            assert child.parent is not None
            assert child.parent.span_id == root.context.span_id
            assert child.context.trace_id == root.context.trace_id
        assert root.status.status_code is StatusCode.UNSET


async def test_the_stop_is_one_span_with_the_reason_and_a_child_per_component(
    spans: Spans,
) -> None:
    """application stop ends after the final state change and names the reason."""
    app = Application(container_class(spans)(), install_signals=False)
    await app.start()
    await app.stop(ShutdownReason.SIGNAL)
    root = spans.named("application stop")
    assert root.attributes is not None
    assert root.attributes["service_pkg.shutdown.reason"] == "signal"
    for name in ("stop db", "stop api"):
        child = spans.named(name)
        assert child.parent is not None
        assert child.parent.span_id == root.context.span_id


async def test_a_failed_start_marks_the_component_and_the_start_as_errors(spans: Spans) -> None:
    """The component's span records the exception; the start span ends with an error."""
    with pytest.raises(StartError):
        await Application(container_class(spans, fail=True)(), install_signals=False).start()
    failed = spans.named("start db")
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    assert spans.named("application start").status.status_code is StatusCode.ERROR


def job(outcome: JobOutcome, duration: float = 0.25) -> JobRun:
    return JobRun(
        scheduler="main",
        job="sync",
        scheduled=0.0,
        lateness=0.01,
        duration=duration,
        outcome=outcome,
        error=RuntimeError("job bug") if outcome is JobOutcome.FAILED else None,
    )


async def test_a_job_run_is_a_span_back_dated_by_its_duration(spans: Spans) -> None:
    """The span lasts as long as the run did and carries the job and outcome."""
    runtime = FakeRuntime()
    gen = tracing(runtime, tracer_provider=spans.provider)
    await anext(gen)
    runtime.emit(job(JobOutcome.OK, duration=0.25))
    span = spans.named("job sync")
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.end_time - span.start_time == 250_000_000
    assert span.attributes is not None
    assert span.attributes["service_pkg.job.outcome"] == "ok"
    await gen.aclose()


async def test_a_failed_run_is_an_error_span_with_the_exception(spans: Spans) -> None:
    """outcome failed: status ERROR and an exception event."""
    runtime = FakeRuntime()
    gen = tracing(runtime, tracer_provider=spans.provider)
    await anext(gen)
    runtime.emit(job(JobOutcome.FAILED))
    span = spans.named("job sync")
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    await gen.aclose()


async def test_slots_that_never_ran_make_no_span(spans: Spans) -> None:
    """Skipped, missed and fenced slots have no duration to show: no span."""
    runtime = FakeRuntime()
    gen = tracing(runtime, tracer_provider=spans.provider)
    await anext(gen)
    for outcome in (JobOutcome.SKIPPED, JobOutcome.MISSED, JobOutcome.FENCED):
        runtime.emit(job(outcome, duration=0.0))
    assert spans.finished() == ()
    await gen.aclose()


async def test_the_stop_leaves_the_stream(spans: Spans) -> None:
    """After the component stopped, job runs make no spans."""
    runtime = FakeRuntime()
    gen = tracing(runtime, tracer_provider=spans.provider)
    await anext(gen)
    await gen.aclose()
    runtime.emit(job(JobOutcome.OK))
    assert spans.finished() == ()


async def test_a_runtime_that_is_not_one_is_refused() -> None:
    """The factory names the argument."""
    with pytest.raises(ConfigError, match="runtime"):
        await anext(tracing(object()))  # type: ignore[arg-type]


async def test_without_job_spans_job_runs_are_not_even_wanted(spans: Spans) -> None:
    """job_spans=False subscribes to lifecycle events only: the bus does not want JobRun."""
    bus = EventBus()

    class Stream(FakeRuntime):
        def subscribe(self, fn, *kinds):  # type: ignore[no-untyped-def]
            return bus.subscribe(fn, *kinds)

    gen = tracing(Stream(), tracer_provider=spans.provider, job_spans=False)
    await anext(gen)
    assert not bus.wants(JobRun)
    bus.emit(job(JobOutcome.OK))
    assert spans.finished() == ()
    await gen.aclose()
