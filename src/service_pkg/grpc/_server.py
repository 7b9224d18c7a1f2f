"""``GrpcServer`` and the ``grpc_server`` component factory."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any, Self

from grpclib.encoding.base import StatusDetailsCodecBase
from grpclib.server import Server

from service_pkg._tasks import cancel_and_wait
from service_pkg.app import Runtime, default_stop_timeout
from service_pkg.events import DrainEnded
from service_pkg.exceptions import ClosedResourceError, ConfigError, StartError
from service_pkg.grpc._config import GrpcServerConfig
from service_pkg.grpc._guards import Guards, LimitedCodec
from service_pkg.grpc._health import RuntimeCheck, health_service, service_names
from service_pkg.grpc._reflection import Descriptors, load_descriptor_pool, with_reflection
from service_pkg.health import default_health

__all__ = ("GrpcServer", "grpc_server")

logger = logging.getLogger("service_pkg.grpc")

Instrument = Callable[[Server], None]
"""Called with the grpclib ``Server`` before it starts, to add listeners (metrics, tracing)."""


def _status_details_codec() -> StatusDetailsCodecBase | None:
    # What grpclib picks by default, which it skips once a codec is given.
    try:
        import google.rpc.status_pb2  # noqa: F401, PLC0415 - optional googleapis-common-protos
    except ImportError:
        return None
    from grpclib.encoding.proto import ProtoStatusDetailsCodec  # noqa: PLC0415

    return ProtoStatusDetailsCodec()


def _tls(config: GrpcServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert_file is None or config.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            "tls_cert_file", config.tls_cert_file, f"cannot load the certificate and key: {exc}"
        ) from exc
    context.set_alpn_protocols(["h2"])
    return context


class GrpcServer:
    """A grpclib server for betterproto (or grpclib protobuf) services, with the kit's guards.

    Lifecycle: ``async with GrpcServer(...)`` (or ``Component(grpc_server, ...)``) binds the
    port and serves: start means the port is bound. :meth:`aclose` (idempotent) drains: new
    calls get ``UNAVAILABLE`` at once, in-flight ones get ``graceful_timeout`` to finish, then
    the rest (and open ``Health.Watch`` streams) end with ``UNAVAILABLE`` and grpclib closes,
    all within ``close_timeout``. It never raises for what the calls do; it logs what it had
    to abort. With a runtime, the drain begins at the application's
    :class:`~service_pkg.events.DrainEnded` (the end of its drain delay) rather than at this
    component's turn in the stop order, and ``graceful_timeout`` counts from there: a server
    stopping after another one's graceful wait refuses new calls as early as the first.

    Health: ``grpc.health.v1`` answers with the runtime's verdict for ``""`` and every
    service, ``NOT_SERVING`` from the first moment of the application's drain.

    Raises:
        StartError: at start, the address cannot be bound (taken port, unknown host); the
            message names the address.
        ConfigError: at construction, an argument is invalid; at start, reflection is on and
            a service has no descriptor, or the TLS files cannot be loaded.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        services: Collection[Any],
        config: GrpcServerConfig | None = None,
        *,
        runtime: Runtime | None = None,
        descriptors: Sequence[Descriptors] = (),
        instrument: Sequence[Instrument] = (),
        access_stream: Any = None,
        service: str | None = None,
    ) -> None:
        """Prepare (not start) a server.

        Args:
            services: the grpclib servables (betterproto ``ServiceBase`` instances).
            config: the settings (defaults when ``None``).
            runtime: the application's runtime: health follows its verdict and drain.
            descriptors: file descriptors for reflection.
            instrument: callables given the grpclib ``Server`` before it starts.
            access_stream: where access lines go (``sys.stdout`` by default).
            service: the ``service`` field of access lines, as ``logs.configure(service=)``.

        Raises:
            ConfigError: an argument is invalid.
        """
        if isinstance(services, str | bytes) or not isinstance(services, Collection):
            raise ConfigError("services", type(services), "must be a collection of services")
        if not services:
            raise ConfigError("services", services, "must name at least one service")
        if not all(callable(getattr(s, "__mapping__", None)) for s in services):
            raise ConfigError(
                "services", services, "every service must be a grpclib servable (__mapping__)"
            )
        if runtime is not None and not isinstance(runtime, Runtime):
            raise ConfigError("runtime", type(runtime), "must be a service_pkg.app.Runtime")
        if not all(callable(i) for i in instrument):
            raise ConfigError("instrument", instrument, "must be callables taking the Server")
        self._config = config or GrpcServerConfig()
        self._services = list(services)
        self._names = service_names(self._services)
        self._runtime = runtime
        self._descriptors = tuple(descriptors)
        self._instrument = tuple(instrument)
        self._guards = Guards(self._config, access_stream=access_stream, service=service)
        self._server: Server | None = None
        self._check: RuntimeCheck | None = None
        self._poller: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._closed = False
        self._server_closed = False
        self._stopped = asyncio.Event()
        self._drain_began: float | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def __repr__(self) -> str:
        """Address, services and whether it serves."""
        state = "closed" if self._closed else "serving" if self._server else "not started"
        return f"<GrpcServer {self.address} {state} services={self._names}>"

    @property
    def config(self) -> GrpcServerConfig:
        """The configuration."""
        return self._config

    @property
    def port(self) -> int:
        """The bound port (the one picked when the config says 0).

        Raises:
            RuntimeError: not started yet.
        """
        if self._port is None:
            raise RuntimeError("GrpcServer.port: the server is not started")
        return self._port

    @property
    def address(self) -> str:
        """``host:port``, with the bound port once started."""
        port = self._port if self._port is not None else self._config.port
        host = self._config.host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def services(self) -> tuple[str, ...]:
        """Full names of the user's services (health and reflection not included)."""
        return tuple(self._names)

    @property
    def in_flight(self) -> int:
        """Calls running now (health and reflection streams not counted)."""
        return self._guards.in_flight

    @property
    def serving(self) -> bool:
        """Started, and neither draining nor closed."""
        return self._server is not None and not self._closed and not self._guards.draining

    async def __aenter__(self) -> Self:
        """Bind the port and serve.

        Raises:
            StartError: the address cannot be bound.
            ConfigError: reflection lacks a descriptor, or the TLS files cannot be loaded.
            ClosedResourceError: the server was closed; make a new one.
        """
        if self._closed:
            raise ClosedResourceError("GrpcServer: closed; create a new one")
        if self._server is not None:
            raise RuntimeError("GrpcServer: already started")
        tls = _tls(self._config)
        check = RuntimeCheck(self._runtime, self._config.health_poll_interval)
        try:
            server = await self._start(check, tls)
        except BaseException:
            check.close()  # stop following the runtime's events
            raise
        self._server, self._check = server, check
        if self._runtime is not None:
            self._unsubscribe = self._runtime.subscribe(self._drain, DrainEnded)
        if self._config.health and self._runtime is not None:
            self._poller = asyncio.get_running_loop().create_task(
                check.poll(), name=f"service_pkg:grpc:health:{self.address}"
            )
        logger.info(
            "grpc server listening",
            extra={"address": self.address, "services": self._names, "tls": tls is not None},
        )
        return self

    async def _start(self, check: RuntimeCheck, tls: ssl.SSLContext | None) -> Server:
        handlers = list(self._services)
        if self._config.health:
            handlers.append(health_service(self._services, check))
        if self._config.reflection:
            pool = load_descriptor_pool(*self._descriptors)
            handlers = with_reflection(handlers, service_names(handlers), pool)
        server = Server(
            handlers,
            codec=LimitedCodec(self._config.max_send_size, self._config.max_receive_size),
            status_details_codec=_status_details_codec(),
        )
        self._guards.install(server)
        for instrument in self._instrument:
            instrument(server)
        sock = await self._bind()
        try:
            await server.start(sock=sock, ssl=tls)
        except BaseException:
            sock.close()
            raise
        return server

    async def _bind(self) -> socket.socket:
        """Bind here, not in asyncio, so a taken port is a clear error naming the address."""
        host, port = self._config.host, self._config.port
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            family, kind, proto, _, where = infos[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise StartError(
                f"grpc: cannot listen on {self.address}: {exc.strerror or exc}", "grpc_server"
            ) from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(where)
            sock.listen(socket.SOMAXCONN)
            sock.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        except OSError as exc:
            sock.close()
            raise StartError(
                f"grpc: cannot listen on {self.address}: {exc.strerror or exc}", "grpc_server"
            ) from exc
        self._port = sock.getsockname()[1]
        return sock

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drain and close (:meth:`aclose`)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Drain and close; idempotent, and a concurrent caller waits for the first one.

        1. health ``NOT_SERVING`` (if the drain has not done it yet) and new calls get
           ``UNAVAILABLE``;
        2. in-flight calls have ``graceful_timeout`` seconds to finish;
        3. grpclib cancels what is left and gets ``close_timeout`` seconds to close.

        If the caller is cancelled meanwhile (its stop timeout), the server is still closed
        (step 3 without the wait) before the cancellation propagates.
        """
        if self._closed:
            await self._stopped.wait()
            return
        self._closed = True
        try:
            await self._stop()
        finally:
            if self._server is not None and not self._server_closed:
                self._server_closed = True
                self._server.close()
            self._finish()

    def _drain(self, _: object = None) -> None:
        """Refuse new calls from now on; the graceful wait counts from the first call."""
        if self._drain_began is not None or self._check is None:
            return
        self._drain_began = time.monotonic()
        self._check.stop_serving()
        self._guards.refuse_new_calls()
        logger.info(
            "grpc server draining",
            extra={
                "address": self.address,
                "in_flight": self._guards.in_flight,
                "graceful_timeout": self._config.graceful_timeout,
            },
        )

    async def _stop(self) -> None:
        server = self._server
        if server is None or self._check is None:
            return
        self._drain()
        assert self._drain_began is not None  # noqa: S101 - set by _drain
        left = self._config.graceful_timeout - (time.monotonic() - self._drain_began)
        try:
            async with asyncio.timeout(max(left, 0.0)):
                await self._guards.wait_idle()
        except TimeoutError:
            logger.warning(
                "grpc graceful stop timed out; cancelling the remaining calls",
                extra={"address": self.address, "cancelled": self._guards.in_flight},
            )
        try:
            async with asyncio.timeout(self._config.close_timeout):
                self._guards.abort_calls()
                await self._guards.wait_aborted()
                self._server_closed = True
                server.close()
                await server.wait_closed()
        except TimeoutError:
            logger.warning(
                "grpc server did not close in time; going on",
                extra={"address": self.address, "close_timeout": self._config.close_timeout},
            )
        if self._poller is not None:
            await cancel_and_wait(self._poller)
        logger.info("grpc server stopped", extra={"address": self.address})

    def _finish(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._check is not None:
            self._check.close()
        if self._poller is not None and not self._poller.done():
            # Only when our caller was cancelled before _stop reaped it: the poller only
            # sleeps and awaits health rounds, so it ends at its next step.
            self._poller.cancel()
        self._stopped.set()


def _check_serving(server: GrpcServer) -> None:
    if not server.serving:
        raise ClosedResourceError(f"grpc server {server.address} is not serving")


@default_health(_check_serving, affects_readiness=True)
@default_stop_timeout(lambda server: server.config.stop_timeout)
def grpc_server(
    services: Collection[Any],
    runtime: Runtime | None = None,
    config: GrpcServerConfig | None = None,
    *,
    descriptors: Sequence[Descriptors] = (),
    instrument: Sequence[Instrument] = (),
    access_stream: Any = None,
    service: str | None = None,
) -> GrpcServer:
    """Component factory: an unstarted :class:`GrpcServer`; the component starts and drains it.

    ::

        class Container(containers.DeclarativeContainer):
            runtime = providers.Dependency(instance_of=Runtime)
            links = providers.Singleton(LinksService, db)
            grpc = Component(grpc_server, providers.List(links), runtime, config.grpc,
                             descriptors=[LINKS_DESCRIPTORS], priority=Priority.HIGH)

    Health (no user code): ``ok`` while the server serves. ``instrument`` callables get the
    grpclib ``Server`` before it starts, to add their own listeners (metrics, tracing).
    ``access_stream`` and ``service`` are as for :class:`GrpcServer`.

    The component's stop timeout defaults to the config's :attr:`GrpcServerConfig.stop_timeout`
    (``graceful_timeout + close_timeout`` plus 2 s), so the drain always fits.

    .. versionadded:: 0.3.0
    """
    return GrpcServer(
        services,
        config,
        runtime=runtime,
        descriptors=descriptors,
        instrument=instrument,
        access_stream=access_stream,
        service=service,
    )
