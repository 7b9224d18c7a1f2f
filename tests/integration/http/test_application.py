"""The server as a component of a real Application: probes from its runtime, TLS, the client."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component, Priority
from service_pkg.app import Runtime
from service_pkg.exceptions import StartError
from service_pkg.http import (
    HttpClientConfig,
    HttpServer,
    HttpServerConfig,
    http_client,
    http_server,
)
from service_pkg.logs import bind_correlation_id
from service_pkg.testing import run_components
from tests.integration.certificates import make_certificate
from tests.integration.http.apps import build_app

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


class Flaky:
    """A dependency whose health the test flips."""

    def __init__(self) -> None:
        self.down = False

    def ping(self) -> None:
        if self.down:
            raise ConnectionError("db at 10.0.0.5:5432 refused")


async def open_flaky(flaky: Flaky) -> AsyncIterator[Flaky]:
    yield flaky


def make_container(flaky: Flaky, config: HttpServerConfig) -> containers.DeclarativeContainer:
    class Service(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        db = Component(open_flaky, providers.Object(flaky), health=Flaky.ping)
        web_app = providers.Singleton(build_app)
        http = Component(http_server, web_app, runtime, config, priority=Priority.HIGH)

    return Service()


def http_config(**kwargs: object) -> HttpServerConfig:
    return HttpServerConfig(host=HOST, port=0, **kwargs)  # type: ignore[arg-type]


class TestProbesFromTheRuntime:
    async def test_readyz_verbose_lists_the_applications_components(self) -> None:
        flaky = Flaky()
        container = make_container(flaky, http_config())
        async with Application(container, install_signals=False):
            server: HttpServer = container.http()
            async with httpx.AsyncClient(base_url=server.address) as client:
                ready = await client.get("/readyz?verbose")
        assert ready.status_code == 200
        assert ready.text.splitlines() == [
            "[+]lifecycle ok",
            "[+]db ok",
            "[+]http ok",
            "readyz check passed",
        ]

    async def test_a_failing_dependency_turns_readyz_503_and_livez_stays_200(self) -> None:
        flaky = Flaky()
        container = make_container(flaky, http_config())
        async with Application(container, install_signals=False) as app:
            server: HttpServer = container.http()
            flaky.down = True
            async with httpx.AsyncClient(base_url=server.address) as client:
                await asyncio.sleep(1.1)  # past the health report's max_age
                ready = await client.get("/readyz?verbose")
                live = await client.get("/livez")
            assert not (await app.health()).ready
        assert ready.status_code == 503
        assert "[-]db failed: ConnectionError: db at 10.0.0.5:5432 refused" in ready.text
        assert live.status_code == 200

    async def test_readyz_fails_at_once_when_the_drain_begins_while_requests_are_served(
        self,
    ) -> None:
        container = make_container(Flaky(), http_config())
        app = Application(container, install_signals=False, drain_delay=1.0)
        await app.start()
        server: HttpServer = container.http()
        async with httpx.AsyncClient(base_url=server.address) as client:
            stopping = asyncio.create_task(app.stop())
            await asyncio.sleep(0.05)
            ready = await client.get("/readyz")
            served = await client.get("/ping")
            await stopping
        assert ready.status_code == 503
        assert served.status_code == 200


class TestTls:
    async def test_the_server_speaks_https_with_the_configured_certificate(
        self, tmp_path: Path
    ) -> None:
        cert, key = make_certificate(tmp_path)
        server = HttpServer(build_app(), http_config(ssl_certfile=cert, ssl_keyfile=key))
        context = ssl.create_default_context(cafile=str(cert))
        async with server, httpx.AsyncClient(base_url=server.address, verify=context) as client:
            response = await client.get("/ping")
        assert server.address.startswith("https://")
        assert (response.status_code, response.text) == (200, "pong")

    async def test_plain_http_to_a_tls_server_fails(self, tmp_path: Path) -> None:
        cert, key = make_certificate(tmp_path)
        server = HttpServer(build_app(), http_config(ssl_certfile=cert, ssl_keyfile=key))
        plain = server.address.replace("https://", "http://")
        async with server, httpx.AsyncClient(base_url=plain) as client:
            with pytest.raises(httpx.HTTPError):
                await client.get("/ping")

    async def test_a_key_that_does_not_match_is_a_start_error(self, tmp_path: Path) -> None:
        cert, _ = make_certificate(tmp_path)
        (tmp_path / "other").mkdir()
        _, other_key = make_certificate(tmp_path / "other")
        server = HttpServer(build_app(), http_config(ssl_certfile=cert, ssl_keyfile=other_key))
        with pytest.raises(StartError, match=r"http server https://127.0.0.1"):
            await server.start()


class TestHttpClient:
    async def test_the_correlation_id_of_the_context_reaches_the_called_service(self) -> None:
        async with HttpServer(build_app(), http_config()) as server:

            class Service(containers.DeclarativeContainer):
                client = Component(http_client, HttpClientConfig(base_url=server.address))

            container = Service()
            async with run_components(container, "client"):
                client: httpx.AsyncClient = container.client()
                with bind_correlation_id("out-1"):
                    response = await client.get("/cid")
                unbound = await client.get("/cid")
        assert response.text == "out-1"
        assert unbound.text != "out-1"  # the server generated one

    async def test_an_explicit_header_wins_over_the_bound_id(self) -> None:
        async with (
            HttpServer(build_app(), http_config()) as server,
            httpx.AsyncClient(base_url=server.address) as plain,
        ):
            gen = http_client(client=plain)
            client = await anext(gen)
            with bind_correlation_id("bound"):
                response = await client.get("/cid", headers={"X-Correlation-ID": "explicit"})
            await gen.aclose()
            assert not plain.is_closed  # a client given from outside is never closed
        assert response.text == "explicit"

    async def test_the_owned_client_is_closed_on_stop(self) -> None:
        gen = http_client(HttpClientConfig(base_url="http://127.0.0.1:9"))
        client = await anext(gen)
        await gen.aclose()
        assert client.is_closed

    async def test_health_passes_while_the_service_answers_and_fails_when_it_is_gone(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        server = HttpServer(build_app(), http_config())
        await server.start()

        class Service(containers.DeclarativeContainer):
            client = Component(
                http_client,
                HttpClientConfig(base_url=server.address, health_path="/livez", timeout=1),
            )

        app = Application(Service(), install_signals=False)
        async with app:
            assert (await app.health())["client"].status.value == "ok"
            await server.aclose()
            await asyncio.sleep(1.1)  # past the report's max_age
            entry = (await app.health())["client"]
        assert entry.status.value == "failed"
        assert "GET /livez failed" in (entry.error or "")
        assert not entry.affects_readiness
