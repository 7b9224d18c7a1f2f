"""HTTP for services: a Litestar app served by uvicorn as a component, and an httpx client.

A port of the Go ``server`` package's HTTP half (chi / gorilla servers, their middlewares and
``PreShutdownState``) over Litestar and uvicorn (extra ``http``). Go → Python:

.. code-block:: text

    CreateHTTPChiServer(routes, port, state)  Component(http_server, app, runtime, config)
    RecoverChiMiddleware                      HttpPlugin (500 handler) + the layer's last 500
    LoggingChiMiddleware                      the kit layer: X-Correlation-ID + one JSON access line
    DrainMiddleware(state, cb)                HttpServerConfig(drain_503=True)
    RequestTimeout(d)                         HttpServerConfig(request_timeout=d) → 504
    PreShutdownState{TimeForDraining, ...}    Application(drain_delay=...) + graceful_timeout
    WithTLSConfig (no effect in Go)           HttpServerConfig(ssl_certfile=, ssl_keyfile=)

Deviations from Go (``docs/http.md``): the incoming correlation id is kept when valid and is
readable (``service_pkg.logs.get_correlation_id``) (bug #17); the graceful timeout starts after
the drain delay (bug #16); the timeout bounds the time to the first response byte and streaming
works through every layer (bug #18); TLS works (bug #19); a taken port fails the start
(bug #20); probes ``/livez``, ``/readyz``, ``/healthz`` come from the runtime view.

.. versionadded:: 0.3.0
"""

try:
    import httpx as _httpx
    import litestar as _litestar
    import uvicorn as _uvicorn
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.http", "http") from exc

from service_pkg.http._access import ACCESS_LOGGER as ACCESS_LOGGER
from service_pkg.http._client import HttpClientConfig as HttpClientConfig
from service_pkg.http._client import http_client as http_client
from service_pkg.http._client import propagate_correlation_id as propagate_correlation_id
from service_pkg.http._config import DEFAULT_GRACEFUL_TIMEOUT as DEFAULT_GRACEFUL_TIMEOUT
from service_pkg.http._config import HttpServerConfig as HttpServerConfig
from service_pkg.http._layer import ASGIApp as ASGIApp
from service_pkg.http._litestar import HttpPlugin as HttpPlugin
from service_pkg.http._litestar import internal_error_handler as internal_error_handler
from service_pkg.http._litestar import provide as provide
from service_pkg.http._server import ASGIWrapper as ASGIWrapper
from service_pkg.http._server import HttpServer as HttpServer
from service_pkg.http._server import http_server as http_server
from service_pkg.http._uow import provide_unit_of_work as provide_unit_of_work
from service_pkg.http._uow import unit_of_work as unit_of_work

del _httpx, _litestar, _uvicorn

__all__ = (
    "ACCESS_LOGGER",
    "DEFAULT_GRACEFUL_TIMEOUT",
    "ASGIApp",
    "ASGIWrapper",
    "HttpClientConfig",
    "HttpPlugin",
    "HttpServer",
    "HttpServerConfig",
    "http_client",
    "http_server",
    "internal_error_handler",
    "propagate_correlation_id",
    "provide",
    "provide_unit_of_work",
    "unit_of_work",
)
