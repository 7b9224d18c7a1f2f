"""HttpMetricsMiddleware around a tiny Litestar app, driven in-process through httpx."""

from __future__ import annotations

import asyncio
import random
import string

import httpx
import pytest
from litestar import Litestar, get
from litestar.handlers import asgi
from litestar.params import FromPath

from service_pkg.exceptions import ConfigError
from service_pkg.metrics import HttpMetricsMiddleware, KitMetrics, metrics_asgi_app

from .conftest import settle, value

COUNT = "http_server_request_duration_seconds_count"
ACTIVE = "http_server_active_requests"


@get("/items/{item_id:int}", sync_to_thread=False)
def item(item_id: FromPath[int]) -> dict[str, int]:
    return {"id": item_id}


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("handler bug")


gate = asyncio.Event()


@get("/slow")
async def slow() -> str:
    await gate.wait()
    return "done"


def client_for(kit: KitMetrics) -> httpx.AsyncClient:
    app = Litestar(
        [item, boom, slow, asgi("/metrics", is_mount=True, copy_scope=True)(metrics_asgi_app(kit))],
        logging_config=None,
    )
    wrapped = HttpMetricsMiddleware(app, kit)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t")


async def test_requests_are_labelled_by_route_template_not_path() -> None:
    """Three ids are one series with the template as http_route."""
    kit = KitMetrics()
    async with client_for(kit) as client:
        for i in (1, 2, 3):
            assert (await client.get(f"/items/{i}")).status_code == 200
    labels = {"http_request_method": "GET", "http_response_status_code": "200", "error_type": ""}
    assert value(kit, COUNT, http_route="/items/{item_id}", **labels) == 3


async def test_a_flood_of_random_404s_stays_one_series() -> None:
    """200 random paths give one _OTHER series, not 200."""
    kit = KitMetrics()
    rng = random.Random(14)
    async with client_for(kit) as client:
        for _ in range(200):
            path = "".join(rng.choices(string.ascii_lowercase, k=12))
            assert (await client.get(f"/{path}")).status_code == 404
    labels = {"http_request_method": "GET", "http_response_status_code": "404", "error_type": ""}
    assert value(kit, COUNT, http_route="_OTHER", **labels) == 200
    series = [line for line in kit.exposition().decode().splitlines() if line.startswith(COUNT)]
    assert len(series) == 1


async def test_a_failing_handler_is_a_500_with_an_error_type() -> None:
    """Litestar turns the exception into a 500; error_type carries the status."""
    kit = KitMetrics()
    async with client_for(kit) as client:
        assert (await client.get("/boom")).status_code == 500
    labels = {"http_request_method": "GET", "http_route": "/boom", "error_type": "500"}
    assert value(kit, COUNT, http_response_status_code="500", **labels) == 1


async def test_an_app_that_raises_is_counted_with_the_exception_class() -> None:
    """An exception escaping the app: status 500, error_type the class, and it propagates."""
    kit = KitMetrics()

    async def broken(scope: object, receive: object, send: object) -> None:
        raise LookupError("escaped")

    wrapped = HttpMetricsMiddleware(broken, kit)
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with pytest.raises(LookupError):
        await wrapped(scope, _never, _discard)
    labels = {"http_request_method": "GET", "http_route": "_OTHER"}
    assert (
        value(kit, COUNT, http_response_status_code="500", error_type="LookupError", **labels) == 1
    )
    assert value(kit, "http_server_active_requests", http_request_method="GET") == 0


async def _never() -> dict[str, object]:
    raise AssertionError("not read")


async def _discard(message: object) -> None:
    pass


async def test_active_requests_counts_requests_in_flight() -> None:
    """While a request waits the gauge is 1; after it, 0."""
    kit = KitMetrics()
    gate.clear()
    async with client_for(kit) as client:
        pending = asyncio.create_task(client.get("/slow"))
        await settle(lambda: value(kit, ACTIVE, http_request_method="GET") == 1)
        gate.set()
        assert (await pending).text == "done"
    assert value(kit, "http_server_active_requests", http_request_method="GET") == 0


async def test_the_scrape_path_is_served_and_not_measured() -> None:
    """/metrics answers with the exposition and adds no request series."""
    kit = KitMetrics()
    async with client_for(kit) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "http_server_request_duration_seconds" in response.text
    assert (
        value(
            kit,
            COUNT,
            http_request_method="GET",
            http_route="/metrics",
            http_response_status_code="200",
            error_type="",
        )
        is None
    )


async def test_an_unknown_method_is_other() -> None:
    """A made-up method is labelled _OTHER (semconv), so it cannot grow the series."""
    kit = KitMetrics()
    async with client_for(kit) as client:
        await client.request("BREW", "/items/1")
    counted = [
        line
        for line in kit.exposition().decode().splitlines()
        if line.startswith(COUNT) and 'http_request_method="_OTHER"' in line
    ]
    assert len(counted) == 1


async def test_lifespan_scopes_pass_through() -> None:
    """A non-HTTP scope reaches the app untouched and records nothing."""
    kit = KitMetrics()
    seen: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    await HttpMetricsMiddleware(app, kit)({"type": "lifespan"}, _never, _discard)
    assert seen == ["lifespan"]
    assert COUNT not in kit.exposition().decode().replace("# ", "")


def test_a_missing_kit_is_refused() -> None:
    """The middleware names the argument."""
    with pytest.raises(ConfigError, match="kit"):
        HttpMetricsMiddleware(_discard, object())  # type: ignore[arg-type]
