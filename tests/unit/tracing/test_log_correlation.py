"""trace_id and span_id in the kit's JSON and text log lines while a span records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from service_pkg.logs._formatters import KitJsonFormatter, KitTextFormatter
from service_pkg.testing import FakeRuntime
from service_pkg.tracing import current_trace_ids, install_log_correlation, tracing

from .spans import Spans


def record() -> logging.LogRecord:
    return logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)


def json_line() -> dict[str, object]:
    parsed = json.loads(KitJsonFormatter().format(record()))
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(name="hooked")
def _hooked() -> Iterator[None]:
    uninstall = install_log_correlation()
    yield
    uninstall()


@pytest.mark.usefixtures("hooked")
def test_a_recording_span_puts_its_ids_in_the_json_line(spans: Spans) -> None:
    """32 and 16 lower-hex digits, the span's own."""
    tracer = spans.provider.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json_line()
        context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert list(line)[:7] == [
        "timestamp",
        "level",
        "logger",
        "message",
        "correlation_id",
        "trace_id",
        "span_id",
    ]


@pytest.mark.usefixtures("hooked")
def test_the_text_line_carries_the_ids_too(spans: Spans) -> None:
    """key=value pairs after the message."""
    with spans.provider.get_tracer("test").start_as_current_span("work") as span:
        text = KitTextFormatter().format(record())
    assert f"span_id={format(span.get_span_context().span_id, '016x')}" in text


@pytest.mark.usefixtures("hooked")
def test_outside_a_span_there_are_no_ids() -> None:
    """No current span: the keys are absent, not null."""
    line = json_line()
    assert "trace_id" not in line
    assert "span_id" not in line


@pytest.mark.usefixtures("hooked")
def test_a_sampled_out_span_adds_nothing() -> None:
    """A span that does not record has no ids in the logs."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    with provider.get_tracer("test").start_as_current_span("dropped"):
        assert current_trace_ids() is None
        assert "trace_id" not in json_line()


def test_without_the_hook_a_span_adds_nothing(spans: Spans) -> None:
    """The formatters only know the ids through the installed hook."""
    with spans.provider.get_tracer("test").start_as_current_span("work"):
        assert "trace_id" not in json_line()


def test_an_extra_named_trace_id_cannot_forge_the_field() -> None:
    """extra={"trace_id": ...} is renamed extra_trace_id, as every schema key."""
    item = record()
    item.trace_id = "forged"
    parsed = json.loads(KitJsonFormatter().format(item))
    assert parsed["extra_trace_id"] == "forged"
    assert "trace_id" not in parsed


async def test_the_tracing_component_installs_the_hook_and_its_stop_removes_it(
    spans: Spans,
) -> None:
    """While the component runs job logs carry ids; after its stop they do not."""
    gen = tracing(FakeRuntime(), tracer_provider=spans.provider)
    await anext(gen)
    with spans.provider.get_tracer("test").start_as_current_span("work"):
        assert "trace_id" in json_line()
        await gen.aclose()
        assert "trace_id" not in json_line()


def test_the_ids_of_the_current_span_are_read_from_the_context(spans: Spans) -> None:
    """current_trace_ids reads the context's span, whichever provider made it."""
    span = spans.provider.get_tracer("test").start_span("outer")
    with trace.use_span(span, end_on_exit=True):
        ids = current_trace_ids()
    assert ids == (
        format(span.get_span_context().trace_id, "032x"),
        format(span.get_span_context().span_id, "016x"),
    )
