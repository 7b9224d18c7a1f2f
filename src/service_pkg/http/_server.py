"""``HttpServer`` and the ``http_server`` component: uvicorn inside the application's loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from typing import Any, Self, cast

import uvicorn

from service_pkg.app import RunState, Runtime, default_stop_timeout
from service_pkg.events import DrainEnded
from service_pkg.exceptions import ConfigTypeError, StartError
from service_pkg.health import default_health
from service_pkg.http._access import AccessLog
from service_pkg.http._config import STOP_MARGIN, HttpServerConfig
from service_pkg.http._deadlines import Deadlines
from service_pkg.http._layer import ASGIApp, KitLayer, LayerSettings
from service_pkg.http._probes import Probes

__all__ = ("ASGIWrapper", "HttpServer", "http_server")

log = logging.getLogger("service_pkg.http")

ASGIWrapper = Callable[[ASGIApp], ASGIApp]
"""Wraps the kit's layer in an outer ASGI app (sees every request, probes included)."""


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handling: the Application owns the signals."""

    def __init__(self, config: uvicorn.Config, started: asyncio.Event) -> None:
        super().__init__(config)
        self._started_event = started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn.Server.serve() would install SIGINT/SIGTERM handlers with signal.signal and
        # re-raise the signal after its shutdown (prior-art-http-grpc.md §2.1).
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._started_event.set()


class HttpServer:
    """A Litestar (or any ASGI) app served by uvicorn in the running event loop.

    Lifecycle contract:

    * :meth:`start` (or ``async with``) binds the socket, runs the ASGI lifespan startup and
      returns once uvicorn accepts connections: started means ready. A taken port or a
      failed lifespan startup raises :class:`~service_pkg.exceptions.StartError` naming the
      address; nothing is left listening.
    * :meth:`aclose` stops accepting at once (the listener closes, new connections are
      refused), lets in-flight requests finish for ``graceful_timeout`` seconds, cancels the
      rest, runs the lifespan shutdown and returns. It is idempotent. Run inside an
      :class:`~service_pkg.Application`, it is called after the drain delay, so the timeout
      starts then (Go bug #16). With a runtime the listener closes at the application's
      :class:`~service_pkg.events.DrainEnded` already, and the timeout counts from there:
      a server whose stop comes after another server's graceful wait refuses new
      connections as early as the first.
    * The server never installs signal handlers.

    Every response passes the kit's layer (``docs/http.md``): correlation id, probes,
    drain 503, body limit, request timeout, last-resort 500 and the access line.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        app: ASGIApp,
        config: HttpServerConfig | None = None,
        *,
        runtime: Runtime | None = None,
        routes: Mapping[str, ASGIApp] | None = None,
        wrappers: Sequence[ASGIWrapper] = (),
        access_stream: Any = None,
        service: str | None = None,
    ) -> None:
        """Prepare (not start) a server.

        Args:
            app: the ASGI app, normally a ``Litestar`` built with ``plugins=[HttpPlugin()]``.
            config: where and how to serve; ``HttpServerConfig()`` by default.
            runtime: the application's runtime view the probes report; without it ``/readyz``
                reports only whether this server still serves.
            routes: extra exact paths served before the app by an ASGI callable (e.g.
                ``{"/metrics": metrics_app}``); they get the correlation id header and are
                access-logged unless listed in ``access_log_exclude``.
            wrappers: callables wrapping the kit layer, first = innermost; each sees every
                request (probes, 504s and 500s of the kit layer included).
            access_stream: where access lines go (``sys.stdout`` by default).
            service: the ``service`` field of access lines, as ``logs.configure(service=)``.

        Raises:
            ConfigTypeError: ``app``, a route or a wrapper is not callable.
        """
        if not callable(app):
            raise ConfigTypeError("app", app, "must be an ASGI app such as a Litestar instance")
        for path, route in (routes or {}).items():
            if not callable(route):
                raise ConfigTypeError(f"routes[{path!r}]", route, "must be an ASGI app")
        for wrapper in wrappers:
            if not callable(wrapper):
                raise ConfigTypeError("wrappers", wrapper, "must be callables taking an ASGI app")
        self._app = app
        self._config = config or HttpServerConfig()
        self._runtime = runtime
        self._routes = dict(routes or {})
        self._wrappers = tuple(wrappers)
        self._access_stream = access_stream
        self._service = service
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._closed = False
        self._stopping = False
        self._closing = False
        self._stop_began = 0.0
        self._unsubscribe: Callable[[], None] | None = None
        timeout = self._config.request_timeout
        self._deadlines = Deadlines(timeout) if timeout is not None else None
        self._sweeper: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        """Show the address and whether it serves."""
        return f"<HttpServer {self.address} serving={self.serving}>"

    @property
    def config(self) -> HttpServerConfig:
        """The configuration."""
        return self._config

    @property
    def port(self) -> int:
        """The bound port (the OS's pick when the config said 0), else the configured one."""
        return self._port if self._port is not None else self._config.port

    @property
    def address(self) -> str:
        """``http://host:port`` (``https`` with TLS); an IPv6 host is bracketed."""
        host = self._config.host
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self._config.tls else 'http'}://{host}:{self.port}"

    @property
    def serving(self) -> bool:
        """Started, its serve task alive, and no stop begun."""
        return self._task is not None and not self._task.done() and not self._stopping

    def check(self) -> None:
        """The component's health check: raises unless :attr:`serving`."""
        if not self.serving:
            raise RuntimeError(f"http server {self.address}: not serving")

    def _draining(self) -> bool:
        runtime = self._runtime
        return self._stopping or (runtime is not None and runtime.state is RunState.STOPPING)

    def _layer(self) -> ASGIApp:
        cfg = self._config
        livez = {cfg.livez_path} | ({cfg.healthz_path} if cfg.healthz_path else set())
        probes = frozenset({*livez, cfg.readyz_path})
        access = AccessLog(self._access_stream, service=self._service) if cfg.access_log else None
        settings = LayerSettings(
            probes=Probes(self._runtime, lambda: self.serving),
            livez=frozenset(livez),
            readyz=cfg.readyz_path,
            routes=self._routes,
            access_log=access,
            quiet=probes | frozenset(cfg.access_log_exclude),
            special=probes | frozenset(self._routes),
            deadlines=self._deadlines,
            max_body_size=cfg.max_body_size,
            draining=self._draining if cfg.drain_503 else None,
            retry_after=str(cfg.retry_after).encode(),
        )
        asgi: ASGIApp = KitLayer(self._app, settings)
        for wrap in self._wrappers:
            asgi = wrap(asgi)
        return asgi

    def _uvicorn_config(self, asgi: ASGIApp) -> uvicorn.Config:
        cfg = self._config
        return uvicorn.Config(
            asgi,
            host=cfg.host,
            port=self.port,
            lifespan="auto",
            log_config=None,
            access_log=False,
            # uvicorn annotates whole seconds but only passes them to asyncio.wait_for.
            timeout_graceful_shutdown=cast("int", cfg.graceful_timeout),
            timeout_keep_alive=cast("int", cfg.keep_alive_timeout),
            limit_concurrency=cfg.limit_concurrency,
            backlog=cfg.backlog,
            proxy_headers=cfg.forwarded_allow_ips is not None,
            forwarded_allow_ips=list(cfg.forwarded_allow_ips or ()) or None,
            server_header=False,
            ssl_certfile=cfg.ssl_certfile,
            ssl_keyfile=cfg.ssl_keyfile,
            ssl_keyfile_password=cfg.ssl_keyfile_password,
            ssl_ca_certs=cfg.ssl_ca_certs,
            ssl_cert_reqs=ssl.CERT_REQUIRED if cfg.ssl_require_client_cert else ssl.CERT_NONE,
        )

    def _bind(self) -> socket.socket:
        cfg = self._config
        family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it Nagle + delayed ACKs hold small responses for ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((cfg.host, cfg.port))
            sock.listen(cfg.backlog)
        except OSError as exc:
            sock.close()
            why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise StartError(
                f"http server: cannot listen on {cfg.host}:{cfg.port}: {why or exc}", "http"
            ) from exc
        sock.setblocking(False)  # noqa: FBT003 - the socket API
        self._port = sock.getsockname()[1]
        return sock

    async def start(self) -> None:
        """Bind, run the lifespan startup and start serving; see the class docstring.

        Raises:
            StartError: the port is taken or cannot be bound, TLS files are unusable, or the
                app's lifespan startup failed; the message names the address.
            RuntimeError: started twice, or after :meth:`aclose`.
        """
        if self._task is not None or self._closed:
            raise RuntimeError(f"http server {self.address}: already started or closed")
        sock = self._bind()
        started = asyncio.Event()
        try:
            config = self._uvicorn_config(self._layer())
            config.load()  # TLS files are read here: a bad key fails the start, not a request
        except (OSError, ssl.SSLError, ValueError) as exc:
            sock.close()
            raise StartError(f"http server {self.address}: {exc}", "http") from exc
        self._server = _Uvicorn(config, started)
        self._task = asyncio.create_task(self._serve(sock), name=f"service_pkg:http:{self.port}")
        waiter = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            waiter.cancel()
            await self.aclose()
            raise
        waiter.cancel()
        if not started.is_set():
            error = self._task.exception() if not self._task.cancelled() else None
            self._closed = True
            raise StartError(
                f"http server {self.address}: the app's lifespan startup failed", "http"
            ) from error
        if self._runtime is not None:
            self._unsubscribe = self._runtime.subscribe(self._begin_stop, DrainEnded)
        if self._deadlines is not None:
            self._sweeper = asyncio.create_task(
                self._deadlines.run(), name=f"service_pkg:http:{self.port}:deadlines"
            )
        log.info(
            "http server started",
            extra={"http_address": self.address, "http_tls": self._config.tls},
        )

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None  # noqa: S101 - set before the task is created
        try:
            await self._server.serve(sockets=[sock])
        except SystemExit as exc:
            # uvicorn exits the process when the lifespan startup fails; a component fails
            # its start instead (the Application decides what the process does).
            raise RuntimeError("uvicorn gave up (lifespan startup failed)") from exc
        finally:
            sock.close()

    def _begin_stop(self, _: object = None) -> None:
        """Close the listener (uvicorn's shutdown); the graceful time counts from here."""
        if self._stopping or self._server is None:
            return
        self._stopping = True
        self._stop_began = time.monotonic()
        log.info(
            "http server stopping",
            extra={
                "http_address": self.address,
                "http_graceful_timeout": self._config.graceful_timeout,
            },
        )
        self._server.should_exit = True

    async def aclose(self) -> None:
        """Stop accepting, drain for ``graceful_timeout``, cancel the rest; idempotent."""
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, server = self._task, self._server
        if task is None or server is None or self._closing:
            if task is not None:
                await asyncio.wait({task})
            return
        self._closing = True
        self._begin_stop()
        # uvicorn cancels what outlives graceful_timeout itself; the margin covers its 0.1 s
        # polling and the lifespan shutdown. Past it, force the exit.
        left = self._config.graceful_timeout + STOP_MARGIN - (time.monotonic() - self._stop_began)
        done, _ = await asyncio.wait({task}, timeout=max(left, 0.0))
        if not done:
            server.force_exit = True
            task.cancel()
            await asyncio.wait({task})
        if self._sweeper is not None:  # after the drain: late requests still get their 504
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper})
        if not task.cancelled() and task.exception() is not None:
            log.error("http server ended with an error", exc_info=task.exception())
        log.info("http server stopped", extra={"http_address": self.address})

    async def __aenter__(self) -> Self:
        """Start; see :meth:`start`."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop; see :meth:`aclose`."""
        await self.aclose()


def _check_health(server: HttpServer) -> None:
    server.check()


@default_health(_check_health, affects_readiness=True)
@default_stop_timeout(lambda server: server.config.stop_timeout)
async def http_server(
    app: ASGIApp,
    runtime: Runtime | None = None,
    config: HttpServerConfig | None = None,
    *,
    routes: Mapping[str, ASGIApp] | None = None,
    wrappers: Sequence[ASGIWrapper] = (),
    access_stream: Any = None,
    service: str | None = None,
) -> AsyncGenerator[HttpServer, object]:
    """Component factory: an :class:`HttpServer` started until the component stops.

    ``Component(http_server, web_app, runtime, config.http, priority=Priority.HIGH)``; the
    arguments are those of :class:`HttpServer`. Start means the port is bound and uvicorn
    accepts connections; the stop closes the listener and drains in-flight requests for
    ``graceful_timeout``; the component's stop timeout defaults to the config's
    :attr:`HttpServerConfig.stop_timeout` (``graceful_timeout`` plus 2 s), so the drain always
    fits. Health: the server still serves (readiness-affecting).

    Raises:
        StartError: the port is taken (the message names the address) or the app's lifespan
            startup failed.

    .. versionadded:: 0.3.0
    """
    async with HttpServer(
        app,
        config,
        runtime=runtime,
        routes=routes,
        wrappers=wrappers,
        access_stream=access_stream,
        service=service,
    ) as server:
        yield server
