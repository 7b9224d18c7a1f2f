"""A service with an HTTP server, run as a child process by test_drain.py.

``python -m tests.integration.http.drain_app DRAIN_DELAY GRACEFUL_TIMEOUT`` starts an
Application whose container serves the test app on a free loopback port, prints
``READY {"http": <port>}`` once ready and exits with the Application's exit code after a
signal. More servers join by adding a component to ``Service`` and a port to ``ports()``
(the gRPC half adds its server the same way); the announcement stays one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys

from dependency_injector import containers, providers

from service_pkg import Application, Component, Priority
from service_pkg.app import Runtime
from service_pkg.http import HttpServerConfig, http_server
from tests.integration.http.apps import build_app


def make_service(graceful_timeout: float) -> containers.DeclarativeContainer:
    class Service(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        web_app = providers.Singleton(build_app)
        http = Component(
            http_server,
            web_app,
            runtime,
            HttpServerConfig(host="127.0.0.1", port=0, graceful_timeout=graceful_timeout),
            priority=Priority.HIGH,
            stop_timeout=graceful_timeout + 5,
        )

    return Service()


def ports(service: containers.DeclarativeContainer) -> dict[str, int]:
    """The bound port of every server, by name; the test connects to these."""
    return {"http": service.http().port}


def main(drain_delay: float, graceful_timeout: float) -> int:
    service = make_service(graceful_timeout)
    app = Application(service, drain_delay=drain_delay, shutdown_timeout=60)

    async def serve() -> int:
        async def announce() -> None:
            await app.readiness.wait_ready()
            print("READY " + json.dumps(ports(service)), flush=True)  # noqa: T201 - to the test

        announcer = asyncio.create_task(announce())
        try:
            return await app.serve()
        finally:
            announcer.cancel()

    return asyncio.run(serve())


if __name__ == "__main__":
    raise SystemExit(main(float(sys.argv[1]), float(sys.argv[2])))
