"""``GrpcServerConfig`` and ``GrpcChannelConfig``: frozen, validated at construction."""

from __future__ import annotations

from dataclasses import dataclass

from service_pkg._checks import check_seconds, seconds
from service_pkg.exceptions import ConfigError

__all__ = ("DEFAULT_MAX_MESSAGE_SIZE", "GrpcChannelConfig", "GrpcServerConfig")

DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
"""grpc-go's default receive limit (4 MiB), used for both directions."""

_MAX_PORT = 65535


def _port(value: object, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("port", value, "must be an int from 1 to 65535")
    low = 0 if allow_zero else 1
    if not low <= value <= _MAX_PORT:
        hint = " (0 picks a free port)" if allow_zero else ""
        raise ConfigError("port", value, f"must be an int from {low} to 65535{hint}")
    return value


def _host(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("host", value, "must be a host name or an IP address")
    return value


def _size(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, value, "must be None (no limit) or a number of bytes >= 1")
    return value


def _flag(field: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(field, value, "must be a bool")


def _optional_path(field: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(field, value, "must be None or the path of a PEM file")


@dataclass(frozen=True, slots=True, kw_only=True)
class GrpcServerConfig:
    """How the gRPC server listens, guards calls and drains.

    The defaults are the Go ``server/grpc.go`` ones where Go had one: a 5 s graceful stop,
    reflection off; message limits are grpc-go's 4 MiB. Timeline of a stop (``docs/grpc.md``):
    health turns ``NOT_SERVING`` when the application's drain begins; after the drain delay
    the component stops: new calls get ``UNAVAILABLE``, in-flight calls have
    ``graceful_timeout`` to finish, the rest is cancelled and the server gets
    ``close_timeout`` to close. Keep the component's ``stop_timeout`` above
    ``graceful_timeout + close_timeout`` (the defaults, 5 + 1 s, fit its 10 s default).

    Raises:
        ConfigError: a field is invalid; ``field`` names it.

    .. versionadded:: 0.3.0
    """

    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on every interface
    """Address to bind (Go ``Configs.Port`` held ``host:port``); ``"127.0.0.1"`` for loopback."""
    port: int = 9090
    """TCP port; 0 picks a free one (tests), read it back from :attr:`GrpcServer.port`."""
    reflection: bool = False
    """Serve ``grpc.reflection.v1`` (and v1alpha) for the services (Go ``Configs.Reflection``).
    betterproto services need their descriptor sets (``descriptors=``, made by
    ``scripts/protos.sh``)."""
    health: bool = True
    """Serve ``grpc.health.v1.Health``, fed by the runtime view."""
    max_send_size: int | None = DEFAULT_MAX_MESSAGE_SIZE
    """Largest serialized response in bytes: a larger one becomes ``RESOURCE_EXHAUSTED``
    ``response too large: N > M; use paging/streaming`` (Go ``EnforceMaxSendSize``)."""
    max_receive_size: int | None = DEFAULT_MAX_MESSAGE_SIZE
    """Largest request message in bytes: a larger one becomes ``RESOURCE_EXHAUSTED``. It is
    refused after grpclib buffered it (see ``docs/grpc.md``, limits)."""
    call_timeout: float | None = None
    """Seconds a call may run on the server; past it the handler is cancelled and the call
    ends ``DEADLINE_EXCEEDED`` (Go ``TimeoutUnaryInterceptor``). ``None``: only the client's
    deadline applies."""
    graceful_timeout: float = 5.0
    """Seconds in-flight calls may take to finish once the stop began (after the drain delay,
    Go bug #16); then they are cancelled (Go: 5 s, then ``Stop``)."""
    close_timeout: float = 1.0
    """Seconds the server may take to close after the cancel (grpclib's ``wait_closed`` can
    hang, grpclib #107); past it the stop goes on and logs a warning."""
    access_log: bool = True
    """One INFO line per call on the ``service_pkg.grpc.access`` logger (health and
    reflection calls excluded)."""
    health_poll_interval: float = 5.0
    """Seconds between health rounds while a ``Health.Watch`` stream is open (the runtime's
    coalescing makes them cheap); rounds run by probes update watchers too."""
    tls_cert_file: str | None = None
    """PEM certificate chain: serve TLS (with ALPN ``h2``); needs :attr:`tls_key_file`."""
    tls_key_file: str | None = None
    """PEM private key of :attr:`tls_cert_file`."""

    def __post_init__(self) -> None:
        """Validate every field."""
        _host(self.host)
        _port(self.port, allow_zero=True)
        for name in ("reflection", "health", "access_log"):
            _flag(name, getattr(self, name))
        _size("max_send_size", self.max_send_size)
        _size("max_receive_size", self.max_receive_size)
        check_seconds("call_timeout", self.call_timeout, allow_none=True)
        seconds("graceful_timeout", self.graceful_timeout, allow_zero=True)
        seconds("close_timeout", self.close_timeout)
        seconds("health_poll_interval", self.health_poll_interval)
        _optional_path("tls_cert_file", self.tls_cert_file)
        _optional_path("tls_key_file", self.tls_key_file)
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            given = "tls_cert_file" if self.tls_key_file is None else "tls_key_file"
            raise ConfigError(
                given, getattr(self, given), "give both tls_cert_file and tls_key_file, or none"
            )

    @property
    def address(self) -> str:
        """``host:port`` as configured (``[v6]:port`` for an IPv6 literal)."""
        return _join(self.host, self.port)


@dataclass(frozen=True, slots=True, kw_only=True)
class GrpcChannelConfig:
    """Where an outbound grpclib ``Channel`` connects, and its default health check.

    Raises:
        ConfigError: a field is invalid; ``field`` names it.

    .. versionadded:: 0.3.0
    """

    host: str = "127.0.0.1"
    """Host of the server to call."""
    port: int = 9090
    """Its port."""
    tls: bool = False
    """Connect with TLS (the system's trust store, ALPN ``h2``)."""
    health_service: str | None = ""
    """Service name the default health check asks ``grpc.health.v1.Health/Check`` about
    (``""`` = the server overall); ``None`` turns the remote check off (health = the channel
    is open)."""
    health_timeout: float = 1.0
    """Seconds the health call may take."""

    def __post_init__(self) -> None:
        """Validate every field."""
        _host(self.host)
        _port(self.port, allow_zero=False)
        _flag("tls", self.tls)
        if self.health_service is not None and not isinstance(self.health_service, str):
            raise ConfigError(
                "health_service", self.health_service, "must be None or a service name"
            )
        seconds("health_timeout", self.health_timeout)

    @property
    def address(self) -> str:
        """``host:port`` of the server (``[v6]:port`` for an IPv6 literal)."""
        return _join(self.host, self.port)


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
