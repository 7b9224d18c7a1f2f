"""Issue 14's test: a real scrape of the running example's ``/metrics`` after real traffic.

The example runs in-process (embedded mode) over real sockets: HTTP and gRPC traffic, the
rollup job, leadership taken, lost (the gated scheduler stops), taken again (it restarts)
and resigned; then ``GET /metrics`` on its own HTTP server shows every family of the issue
with the values that traffic implies. The election is the manual test double, built by the
container so it publishes on the application's event bus.
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from grpclib.client import Channel
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from service_pkg import Application, Component
from service_pkg.grpc import GrpcChannelConfig, grpc_channel
from service_pkg.testing import ManualElection, eventually, manual_election
from service_pkg.tracing import instrument_grpc_channel

from example_service.containers import Container, create_app
from example_service.http_api import build_app
from example_service.links import Links
from example_service.proto.links.v1 import LinksStub, StatsRequest
from example_service.settings import Settings
from tests.example_service.flow import create, create_resolve_click_count

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


@pytest.fixture
async def scraped(embedded: Settings) -> Samples:
    """Run the example through the issue's scenario and return one scrape of /metrics."""
    app, container = create_app(embedded, install_signals=False)
    container.election.override(Component(manual_election))
    async with app:
        election = container.election()
        assert isinstance(election, ManualElection)
        election.take()
        await eventually(lambda: container.jobs.started)
        url = container.http().address
        # 1 POST /links, 1 Resolve and 1 Stats RPC, 3 redirects, the rollup counts them.
        await create_resolve_click_count(url, container.grpc().port, clicks=3)
        election.lose()  # the gated scheduler stops ...
        await eventually(lambda: not container.jobs.started)
        election.take()  # ... and starts again
        await eventually(lambda: container.jobs.started)
        await election.resign("drill", hold_off=0)
        await eventually(lambda: not container.jobs.started)
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(25):  # a 404 flood of random paths
                missing = await client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")
                assert missing.status_code == 404
            assert (await client.get("/readyz")).status_code == 200  # one health round
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return parse(response.text)


def test_http_requests_are_counted_by_route_template_and_status(scraped: Samples) -> None:
    name = "http_server_request_duration_seconds_count"
    ok = {"http_request_method": "GET", "error_type": ""}
    assert value(scraped, name, **ok, http_route="/{code}", http_response_status_code="307") == 3
    created = {"http_request_method": "POST", "http_route": "/links", "error_type": ""}
    assert value(scraped, name, **created, http_response_status_code="201") == 1
    routes = {labels["http_route"] for labels in series(scraped, name)}
    assert routes == {"/links", "/{code}", "/links/{code}/stats", "_OTHER"}  # no probe, no scrape
    assert value(scraped, "http_server_active_requests", http_request_method="GET") == 0


def test_a_404_flood_of_random_paths_stays_one_series(scraped: Samples) -> None:
    name = "http_server_request_duration_seconds_count"
    misses = [labels for labels in series(scraped, name) if labels["http_route"] == "_OTHER"]
    assert misses == [
        {
            "http_request_method": "GET",
            "http_route": "_OTHER",
            "http_response_status_code": "404",
            "error_type": "",
        }
    ]
    assert value(scraped, name, **misses[0]) == 25


def test_grpc_calls_are_counted_by_method_and_status(scraped: Samples) -> None:
    name = "rpc_server_call_duration_seconds_count"
    ok = {"rpc_system_name": "grpc", "rpc_status_code": "OK", "error_type": ""}
    assert value(scraped, name, **ok, rpc_method="links.v1.Links/Resolve") == 1
    assert value(scraped, name, **ok, rpc_method="links.v1.Links/Stats") == 1
    assert value(scraped, "rpc_server_active_calls", rpc_system_name="grpc") == 0


def test_the_rollup_runs_show_with_their_duration_and_lateness(scraped: Samples) -> None:
    job = {"scheduler": "rollup", "job": "rollup"}
    runs = value(scraped, "service_pkg_job_runs_total", **job, outcome="ok")
    assert runs >= 1
    duration = value(scraped, "service_pkg_job_duration_seconds_count", **job, outcome="ok")
    assert duration == runs
    assert value(scraped, "service_pkg_job_lateness_seconds_count", **job) >= runs


def test_leadership_changes_show_as_transitions_gauges_and_a_resignation(
    scraped: Samples,
) -> None:
    name = "service_pkg_leader_transitions_total"
    election = {"election": "manual"}
    assert value(scraped, name, **election, event="taken", reason="acquired") == 2
    assert value(scraped, name, **election, event="lost", reason="lost") == 1
    assert value(scraped, name, **election, event="lost", reason="resigned:drill") == 1
    assert value(scraped, "service_pkg_leader_resignations_total", **election) == 1
    assert value(scraped, "service_pkg_leader_is_leader", **election) == 0
    assert value(scraped, "service_pkg_leader_epoch", **election) == 2


def test_the_gated_scheduler_stop_and_restart_are_counted(scraped: Samples) -> None:
    started = value(
        scraped,
        "service_pkg_component_start_duration_seconds_count",
        component="jobs",
        outcome="ok",
    )
    assert started == 2
    stops = {
        labels["reason"]: value(
            scraped, "service_pkg_component_stop_duration_seconds_count", **labels
        )
        for labels in series(scraped, "service_pkg_component_stop_duration_seconds_count")
        if labels["component"] == "jobs"
    }
    assert sum(stops.values()) == 2  # lost, then resigned
    assert value(scraped, "service_pkg_component_state", component="jobs", state="stopped") == 1


def test_lifecycle_and_health_show_the_running_application(scraped: Samples) -> None:
    assert value(scraped, "service_pkg_application_state", state="running") == 1
    assert value(scraped, "service_pkg_application_start_duration_seconds") > 0
    assert value(scraped, "service_pkg_readiness") == 1
    assert value(scraped, "service_pkg_health_ready") == 1
    for component in ("db", "http", "grpc"):
        checks = value(scraped, "service_pkg_health_checks_total", component=component, status="ok")
        assert checks >= 1
        assert value(scraped, "service_pkg_component_state", component=component, state="running")


def test_the_database_pool_gauges_are_read_at_scrape_time(scraped: Samples) -> None:
    size = value(scraped, "service_pkg_pool_size", pool="db")
    assert size >= 1
    assert value(scraped, "service_pkg_pool_checked_out", pool="db") >= 0
    assert ("service_pkg_pool_overflow", frozenset({("pool", "db")})) in scraped
    assert ("service_pkg_pool_idle", frozenset({("pool", "db")})) in scraped


def traced_app(
    embedded: Settings,
) -> tuple[Application, Container, TracerProvider, InMemorySpanExporter]:
    """The example with its ``tracer_provider`` overridden by one exporting to memory."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app, container = create_app(embedded, install_signals=False)
    container.tracer_provider.override(providers.Object(provider))
    return app, container, provider, spans


async def test_with_a_tracer_provider_lifecycle_jobs_and_rpcs_are_traced(
    embedded: Settings,
) -> None:
    """The container's ``tracer_provider`` seam: spans of the start, the rollup and each RPC."""
    app, container, provider, spans = traced_app(embedded)
    async with app:
        assert container.tracing() is provider
        await create_resolve_click_count(container.http().address, container.grpc().port, clicks=1)
    names = {span.name for span in spans.get_finished_spans()}
    assert {"application start", "start http", "job rollup", "application stop"} <= names
    assert {"POST /links", "GET /{code}", "GET /links/{code}/stats"} <= names  # Litestar
    assert {"links.v1.Links/Resolve", "links.v1.Links/Stats"} <= names
    rpc = next(s for s in spans.get_finished_spans() if s.name == "links.v1.Links/Resolve")
    assert rpc.kind is SpanKind.SERVER


class ClicksOverGrpc(Links):
    """Links whose click counts the HTTP handler asks of the example's own gRPC API.

    A test double for an HTTP handler that calls another service: ``clicks`` goes out through
    the kit's outbound client (``grpc_channel`` with the tracing listener), set in ``channel``
    once the servers are up.
    """

    channel: Channel | None = None

    async def clicks(self, code: str) -> int:
        assert self.channel is not None
        return (await LinksStub(self.channel).stats(StatsRequest(code=code))).clicks


async def test_an_http_request_is_the_parent_of_the_grpc_call_it_makes(
    embedded: Settings,
) -> None:
    """HTTP server span → gRPC client span → gRPC server span, under the caller's traceparent."""
    app, container, provider, spans = traced_app(embedded)
    relay = providers.Singleton(ClicksOverGrpc, container.sessions)
    container.web_app.override(
        providers.Singleton(build_app, relay, tracer_provider=container.tracing)
    )
    caller = provider.get_tracer("caller").start_span("caller")
    headers: dict[str, str] = {}
    propagate.inject(headers, context=trace.set_span_in_context(caller))
    hook = functools.partial(instrument_grpc_channel, tracer_provider=provider)
    async with app:
        config = GrpcChannelConfig(port=container.grpc().port)
        outbound = contextlib.asynccontextmanager(grpc_channel)
        async with outbound(config, instrument=[hook]) as channel:
            relay().channel = channel
            async with httpx.AsyncClient(base_url=container.http().address) as client:
                code = await create(client, "https://example.com/traced")
                response = await client.get(f"/links/{code}/stats", headers=headers)
    caller.end()
    assert response.status_code == 200, response.text
    finished = spans.get_finished_spans()

    def one(name: str, kind: SpanKind) -> ReadableSpan:
        (span,) = [s for s in finished if s.name == name and s.kind is kind]
        return span

    http = one("GET /links/{code}/stats", SpanKind.SERVER)
    client_span = one("links.v1.Links/Stats", SpanKind.CLIENT)
    server_span = one("links.v1.Links/Stats", SpanKind.SERVER)
    assert http.parent is not None
    assert http.parent.span_id == caller.get_span_context().span_id
    assert client_span.parent is not None
    assert client_span.parent.span_id == http.context.span_id
    assert server_span.parent is not None
    assert server_span.parent.span_id == client_span.context.span_id
    trace_ids = {s.context.trace_id for s in (http, client_span, server_span)}
    assert trace_ids == {caller.get_span_context().trace_id}
    assert one("POST /links", SpanKind.SERVER).parent is None  # no traceparent: a new trace


# A fresh interpreter where importing OpenTelemetry fails, as without the tracing extra.
WITHOUT_OPENTELEMETRY = textwrap.dedent(
    """
    import asyncio, importlib.abc, sys

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())
    from example_service.containers import Container, create_app
    from example_service.settings import load_settings

    settings = load_settings(database_url=sys.argv[1], http_port=0, grpc_port=0, drain_delay=0)

    async def main():
        app, container = create_app(settings, install_signals=False)
        async with app:
            assert container.tracing() is None
            container.web_app()

    asyncio.run(main())
    assert not [m for m in sys.modules if m.split(".")[0] == "opentelemetry"]
    print("ok")
    """
)


def test_with_tracing_off_the_example_runs_without_opentelemetry(tmp_path: Path) -> None:
    """The HTTP app, the gRPC server and the tracing component import none of it when off."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPENTELEMETRY, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={"PYTHONPATH": str(root)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


async def test_tracing_is_off_by_default(embedded: Settings) -> None:
    app, container = create_app(embedded, install_signals=False)
    async with app:
        assert container.tracing() is None


async def test_the_console_exporter_prints_the_spans_by_the_stop(
    embedded: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``LINKS_TRACING_EXPORTER=console``: a provider of the container's own, flushed at stop."""
    settings = embedded.model_copy(update={"tracing_exporter": "console"})
    app, container = create_app(settings, install_signals=False)
    async with app:
        assert isinstance(container.tracing(), TracerProvider)
    printed = capsys.readouterr().out
    assert '"name": "application start"' in printed
    assert '"name": "application stop"' in printed
