"""The HTTP server on a real loopback port, driven by a real httpx client."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from service_pkg.app import RunState, ShutdownReason
from service_pkg.events import DrainEnded
from service_pkg.exceptions import StartError
from service_pkg.http import HttpServer, HttpServerConfig
from service_pkg.testing import FakeRuntime, eventually
from tests.integration.http.apps import AccessLines, build_app, serve

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _access_logger_at_info() -> Iterator[None]:
    """Tests run without ``logs.configure()``: let the access logger's level allow INFO."""
    logger = logging.getLogger("service_pkg.http.access")
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(logging.NOTSET)


XID = re.compile(r"[0-9a-v]{20}")
HOST = "127.0.0.1"


def config(**kwargs: object) -> HttpServerConfig:
    return HttpServerConfig(host=HOST, port=0, **kwargs)  # type: ignore[arg-type]


class TestCorrelationId:
    async def test_a_valid_incoming_id_is_kept_and_bound_for_the_handler(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/cid", headers={"X-Correlation-ID": "req-1.a:b_C"})
        assert response.text == "req-1.a:b_C"
        assert response.headers["x-correlation-id"] == "req-1.a:b_C"

    @pytest.mark.parametrize("bad", ["has space", "x" * 65, "semi;colon", "ünï"])
    async def test_an_invalid_incoming_id_is_replaced_by_a_generated_one(self, bad: str) -> None:
        async with serve() as (_, client):
            headers = [(b"X-Correlation-ID", bad.encode())]
            response = await client.get("/cid", headers=headers)
        assert XID.fullmatch(response.headers["x-correlation-id"])
        assert response.text == response.headers["x-correlation-id"]

    async def test_a_missing_id_is_generated_go_style(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/ping")
        assert XID.fullmatch(response.headers["x-correlation-id"])

    async def test_the_header_is_set_once_never_appended(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/ping", headers={"X-Correlation-ID": "abc"})
        assert response.headers.get_list("x-correlation-id") == ["abc"]

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/no-such-route", 404),
            ("POST", "/ping", 405),
            ("GET", "/boom", 500),
            ("GET", "/count?n=abc", 400),
            ("GET", "/livez", 200),
            ("GET", "/readyz", 200),
        ],
    )
    async def test_every_response_echoes_the_id(self, method: str, path: str, status: int) -> None:
        async with serve() as (_, client):
            response = await client.request(method, path, headers={"X-Correlation-ID": "e-1"})
        assert response.status_code == status
        assert response.headers["x-correlation-id"] == "e-1"


class TestErrors:
    async def test_a_handler_exception_is_a_small_json_500_without_stack(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"error": "internal server error"}
        assert "Traceback" not in response.text
        assert "hunter2" not in response.text

    async def test_a_handler_exception_is_logged_once_with_its_stack(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR)
        async with serve() as (_, client):
            await client.get("/boom", headers={"X-Correlation-ID": "log-1"})
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert errors[0].exc_info is not None
        assert errors[0].exc_info[0] is ValueError

    async def test_validation_errors_pass_through_as_400(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/count", params={"n": "abc"})
        assert response.status_code == 400
        assert response.json()["status_code"] == 400

    async def test_http_exceptions_keep_their_status(self) -> None:
        async with serve() as (_, client):
            response = await client.get("/private")
        assert response.status_code == 401
        assert response.json()["detail"] == "who are you"

    async def test_router_404_and_405_are_litestars_own(self) -> None:
        async with serve() as (_, client):
            missing = await client.get("/nowhere")
            wrong = await client.delete("/ping")
        assert (missing.status_code, wrong.status_code) == (404, 405)
        assert missing.json()["detail"] == "Not Found"


class TestTimeoutAndStreaming:
    async def test_a_handler_slower_than_the_timeout_gets_504(self) -> None:
        async with serve(config(request_timeout=0.2)) as (_, client):
            response = await client.get("/sleep", params={"seconds": 5})
        assert response.status_code == 504
        assert response.json() == {"error": "request timed out"}
        assert "x-correlation-id" in response.headers

    async def test_a_fast_handler_is_unaffected_by_the_timeout(self) -> None:
        async with serve(config(request_timeout=2.0)) as (_, client):
            response = await client.get("/sleep", params={"seconds": 0.01})
        assert (response.status_code, response.text) == (200, "slept")

    async def test_an_sse_stream_outlives_the_request_timeout_through_every_layer(self) -> None:
        access = AccessLines()
        async with (
            serve(config(request_timeout=0.3), access=access) as (_, client),
            client.stream("GET", "/events", params={"n": 4, "gap": 0.2}) as response,
        ):
            arrivals = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    arrivals.append((time.monotonic(), line))  # noqa: PERF401 - timed on arrival
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert [line for _, line in arrivals] == [f"data: event {i}" for i in range(4)]
        # Streamed, not buffered: the first event arrived well before the last.
        assert arrivals[-1][0] - arrivals[0][0] > 0.3
        assert access.records()[-1]["status"] == 200


class TestProbes:
    async def test_readyz_verbose_lists_every_component_with_its_status(self) -> None:
        runtime = FakeRuntime()
        runtime.set_health("db", "ok")
        runtime.set_health("jobs", "standby")
        runtime.set_health("cache", "failed", error="timed out", affects_readiness=False)
        async with serve(runtime=runtime) as (_, client):
            response = await client.get("/readyz", params={"verbose": ""})
        assert response.status_code == 200
        assert response.text.splitlines() == [
            "[+]lifecycle ok",
            "[+]db ok",
            "[~]jobs standby",
            "[-]cache failed: timed out (does not affect readiness)",
            "readyz check passed",
        ]

    async def test_a_failing_check_makes_readyz_503_while_livez_stays_200(self) -> None:
        runtime = FakeRuntime()
        runtime.set_health("db", "failed", error="connection refused")
        async with serve(runtime=runtime) as (_, client):
            ready = await client.get("/readyz?verbose")
            live = await client.get("/livez")
            healthz = await client.get("/healthz")
        assert ready.status_code == 503
        assert "[-]db failed: connection refused" in ready.text
        assert (live.status_code, live.text) == (200, "ok\n")
        assert healthz.status_code == 200

    async def test_non_verbose_readyz_withholds_the_reason(self) -> None:
        runtime = FakeRuntime()
        runtime.set_health("db", "failed", error="connection refused")
        async with serve(runtime=runtime) as (_, client):
            ready = await client.get("/readyz")
        assert "[-]db failed: reason withheld" in ready.text
        assert "refused" not in ready.text

    async def test_readyz_is_503_while_the_application_drains(self) -> None:
        runtime = FakeRuntime()
        async with serve(runtime=runtime) as (_, client):
            before = await client.get("/readyz")
            runtime.readiness.set_not_ready()
            runtime.state = RunState.STOPPING
            during = await client.get("/readyz?verbose")
            served = await client.get("/ping")
        assert before.status_code == 200
        assert during.status_code == 503
        assert "[-]lifecycle failed: draining" in during.text
        assert served.status_code == 200  # requests are still served during the drain delay

    async def test_livez_fails_once_the_application_failed(self) -> None:
        runtime = FakeRuntime()
        async with serve(runtime=runtime) as (_, client):
            runtime.state = RunState.FAILED
            live = await client.get("/livez")
        assert live.status_code == 503

    async def test_probe_paths_are_configurable(self) -> None:
        cfg = config(livez_path="/alive", readyz_path="/ready", healthz_path=None)
        async with serve(cfg, runtime=FakeRuntime()) as (_, client):
            alive = await client.get("/alive")
            ready = await client.get("/ready")
            old = await client.get("/healthz")
        assert (alive.status_code, ready.status_code, old.status_code) == (200, 200, 404)


class TestDrain503:
    async def test_the_go_drain_middleware_answers_503_with_retry_after(self) -> None:
        runtime = FakeRuntime()
        async with serve(config(drain_503=True, graceful_timeout=7), runtime=runtime) as (
            _,
            client,
        ):
            runtime.state = RunState.STOPPING
            response = await client.get("/ping", headers={"X-Correlation-ID": "d-1"})
            live = await client.get("/livez")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.headers["x-correlation-id"] == "d-1"
        assert live.status_code == 200  # probes are never drained

    async def test_without_drain_503_requests_are_served_while_draining(self) -> None:
        runtime = FakeRuntime(state=RunState.STOPPING)
        async with serve(runtime=runtime) as (_, client):
            response = await client.get("/ping")
        assert response.status_code == 200


class TestBodyLimit:
    async def test_a_body_over_the_limit_is_413(self) -> None:
        async with serve(config(max_body_size=100)) as (_, client):
            response = await client.post("/echo", json={"x": "y" * 200})
        assert response.status_code == 413

    async def test_a_chunked_body_over_the_limit_is_413(self) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 50

        async with serve(config(max_body_size=100)) as (_, client):
            response = await client.post(
                "/echo", content=chunks(), headers={"content-type": "application/json"}
            )
        assert response.status_code == 413

    async def test_a_body_under_the_limit_is_served(self) -> None:
        async with serve(config(max_body_size=1000)) as (_, client):
            response = await client.post("/echo", json={"x": "y"})
        assert response.json() == {"x": "y"}


class TestAccessLog:
    async def test_one_line_per_request_with_the_documented_fields(self) -> None:
        access = AccessLines()
        async with serve(access=access) as (_, client):
            await client.get(
                "/count?n=3",
                headers={
                    "X-Correlation-ID": "a-1",
                    "User-Agent": "probe/1",
                    "Authorization": "Bearer s3cret",
                    "Cookie": "session=s3cret",
                },
            )
        (record,) = access.records()
        assert record["message"] == "request completed"
        assert record["logger"] == "service_pkg.http.access"
        assert record["level"] == "INFO"
        assert {k: record[k] for k in ("method", "route", "path", "status", "user_agent")} == {
            "method": "GET",
            "route": "/count",
            "path": "/count",
            "status": 200,
            "user_agent": "probe/1",
        }
        assert record["correlation_id"] == "a-1"
        assert isinstance(record["duration_ms"], float)
        assert "s3cret" not in access.getvalue()

    async def test_the_route_is_the_template_not_the_path(self) -> None:
        access = AccessLines()

        from litestar import Litestar, get  # noqa: PLC0415 - a one-off app
        from litestar.params import FromPath  # noqa: PLC0415

        @get("/items/{item_id:int}")
        async def item(item_id: FromPath[int]) -> int:
            return item_id

        server = HttpServer(Litestar([item]), config(), access_stream=access)
        async with server, httpx.AsyncClient(base_url=server.address) as client:
            await client.get("/items/42")
        assert access.records()[0]["route"] == "/items/{item_id}"
        assert access.records()[0]["path"] == "/items/42"

    async def test_probes_and_metrics_are_not_logged(self) -> None:
        access = AccessLines()

        async def metrics(scope, receive, send):  # type: ignore[no-untyped-def]
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"# metrics\n"})

        async with serve(access=access, runtime=FakeRuntime(), routes={"/metrics": metrics}) as (
            _,
            client,
        ):
            for path in ("/livez", "/readyz", "/healthz", "/metrics"):
                assert (await client.get(path)).status_code == 200
            await client.get("/ping")
        assert [r["path"] for r in access.records()] == ["/ping"]

    async def test_the_access_log_can_be_turned_off(self) -> None:
        access = AccessLines()
        async with serve(config(access_log=False), access=access) as (_, client):
            await client.get("/ping")
        assert access.getvalue() == ""

    async def test_the_logger_level_gates_the_access_log(self) -> None:
        access = AccessLines()
        logger = logging.getLogger("service_pkg.http.access")
        logger.setLevel(logging.WARNING)
        try:
            async with serve(access=access) as (_, client):
                await client.get("/ping")
        finally:
            logger.setLevel(logging.INFO)
        assert access.getvalue() == ""


class TestExtensionPoints:
    async def test_extra_routes_are_served_before_the_app_with_the_id(self) -> None:
        async def metrics(scope, receive, send):  # type: ignore[no-untyped-def]
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"up 1\n"})

        async with serve(routes={"/metrics": metrics}) as (_, client):
            response = await client.get("/metrics", headers={"X-Correlation-ID": "m-1"})
        assert response.text == "up 1\n"
        assert response.headers["x-correlation-id"] == "m-1"

    async def test_wrappers_see_every_request_including_probes(self) -> None:
        seen: list[str] = []

        def wrapper(app):  # type: ignore[no-untyped-def]
            async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
                if scope["type"] == "http":
                    seen.append(scope["path"])
                await app(scope, receive, send)

            return wrapped

        async with serve(wrappers=[wrapper]) as (_, client):
            await client.get("/livez")
            await client.get("/nowhere")
        assert seen == ["/livez", "/nowhere"]


class TestLifecycle:
    async def test_a_taken_port_is_a_start_error_naming_the_address(self) -> None:
        with socket.socket() as taken:
            taken.bind((HOST, 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = HttpServer(build_app(), HttpServerConfig(host=HOST, port=port))
            with pytest.raises(StartError, match=rf"{HOST}:{port}: address already in use"):
                await server.start()

    async def test_start_returns_with_the_port_accepting(self) -> None:
        server = HttpServer(build_app(), config())
        await server.start()
        try:
            with socket.create_connection((HOST, server.port), timeout=1):
                pass
            assert server.serving
        finally:
            await server.aclose()

    async def test_after_aclose_new_connections_are_refused(self) -> None:
        server = HttpServer(build_app(), config())
        await server.start()
        port = server.port
        await server.aclose()
        await server.aclose()  # idempotent
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=1).close()

    async def test_in_flight_requests_finish_during_the_graceful_timeout(self) -> None:
        server = HttpServer(build_app(), config(graceful_timeout=5))
        await server.start()
        async with httpx.AsyncClient(base_url=server.address) as client:
            pending = [
                asyncio.create_task(client.get("/sleep", params={"seconds": 0.3})) for _ in range(5)
            ]
            await asyncio.sleep(0.1)
            await server.aclose()
            responses = await asyncio.gather(*pending)
        assert [r.status_code for r in responses] == [200] * 5

    async def test_requests_past_the_graceful_timeout_are_cancelled(self) -> None:
        server = HttpServer(build_app(), config(graceful_timeout=0.2))
        await server.start()
        async with httpx.AsyncClient(base_url=server.address) as client:
            pending = asyncio.create_task(client.get("/sleep", params={"seconds": 30}))
            await asyncio.sleep(0.1)
            began = time.monotonic()
            await server.aclose()
            took = time.monotonic() - began
            with pytest.raises(httpx.HTTPError):
                (await pending).raise_for_status()
        assert took < 10  # generous: bounded by graceful_timeout, not by the 30 s handler

    async def test_drain_ended_closes_the_listener_before_the_servers_own_stop(self) -> None:
        runtime = FakeRuntime()
        server = HttpServer(build_app(), config(graceful_timeout=5), runtime=runtime)
        await server.start()
        async with httpx.AsyncClient(base_url=server.address) as client:
            pending = asyncio.create_task(client.get("/sleep", params={"seconds": 0.5}))
            await asyncio.sleep(0.1)
            runtime.emit(DrainEnded(reason=ShutdownReason.SIGNAL, delay=1.0))
            await eventually(lambda: _refused(server.port))
            response = await pending
            await server.aclose()
        assert response.status_code == 200

    async def test_the_health_check_fails_once_stopping(self) -> None:
        server = HttpServer(build_app(), config())
        await server.start()
        server.check()
        await server.aclose()
        with pytest.raises(RuntimeError, match="not serving"):
            server.check()

    async def test_a_failing_lifespan_startup_is_a_start_error(self) -> None:
        from litestar import Litestar  # noqa: PLC0415 - a one-off app

        def explode() -> None:
            raise RuntimeError("no database")

        server = HttpServer(Litestar([], on_startup=[explode]), config())
        with pytest.raises(StartError, match="lifespan startup failed"):
            await server.start()
        assert not server.serving


def _refused(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False
