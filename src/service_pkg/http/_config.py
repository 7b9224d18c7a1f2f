"""``HttpServerConfig``: where the server listens, its timeouts, limits, TLS and probe paths."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from service_pkg._checks import check_seconds, seconds
from service_pkg.exceptions import ConfigError

__all__ = ("DEFAULT_GRACEFUL_TIMEOUT", "HttpServerConfig")

DEFAULT_GRACEFUL_TIMEOUT = 5.0
"""Seconds in-flight requests may take to finish once the listener closed (the Go 5 s)."""
STOP_MARGIN = 2.0
"""Seconds the stop needs beyond ``graceful_timeout``: cancelling the rest, lifespan shutdown."""

_MASK = "***"


def _path(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "?" in value:
        raise ConfigError(name, value, "must be a path starting with '/' and without a query")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpServerConfig:
    """Configuration of :func:`~service_pkg.http.http_server` (validated at construction).

    Raises:
        ConfigError: a field breaks its rule; the message names the field, the rule and the
            value (``ssl_keyfile_password`` is never shown).

    .. versionadded:: 0.3.0
    """

    host: str = "0.0.0.0"  # noqa: S104 - the Go ":8080" listened on every interface
    """Address to bind; ``"0.0.0.0"`` (every IPv4 interface, as Go's ``":8080"``), ``"::"``,
    or ``"127.0.0.1"`` for loopback only."""
    port: int = 8080
    """TCP port; ``0`` lets the OS pick one (read it back from ``HttpServer.port``)."""
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT
    """Seconds in-flight requests may take after the listener closed. The clock starts when
    the component stops, i.e. **after** the application's drain delay (Go bug #16); what is
    still running then is cancelled. ``stop_timeout`` of the component must exceed it:
    :attr:`stop_timeout` is the value to pass."""
    request_timeout: float | None = None
    """Seconds a handler may take until its response **starts**; then 504. ``None``: no
    limit. Streaming and SSE bodies are not bounded once the headers are sent (Go bug #18)."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle keep-alive connection stays open (uvicorn ``timeout_keep_alive``)."""
    max_body_size: int | None = 10_000_000
    """Largest request body in bytes, else 413 (Litestar's default, enforced before the app
    for every route, chunked bodies too). ``None``: no limit in the kit layer."""
    backlog: int = 2048
    """Listen backlog of the socket."""
    limit_concurrency: int | None = None
    """Connections plus in-flight tasks above which uvicorn answers 503; ``None``: no limit."""
    livez_path: str = "/livez"
    """Liveness probe: 200 while the loop answers and the application has not failed."""
    readyz_path: str = "/readyz"
    """Readiness probe: 200 when running, not draining and every readiness check passes;
    ``?verbose`` lists the checks in Kubernetes' format."""
    healthz_path: str | None = "/healthz"
    """Alias of the liveness probe for old probes; ``None`` to not serve it."""
    access_log: bool = True
    """One JSON line per request (``docs/http.md``); probe and :attr:`access_log_exclude`
    paths never log. The ``service_pkg.http.access`` logger's level gates it too."""
    access_log_exclude: tuple[str, ...] = ("/metrics",)
    """Exact paths that are not access-logged (the probes never are)."""
    drain_503: bool = False
    """The Go ``DrainMiddleware``: while the application drains, answer every request (not
    the probes) with 503 and ``Retry-After``. Off by default: during the drain delay requests
    are still served, which is what a rolling update wants."""
    forwarded_allow_ips: tuple[str, ...] | None = None
    """Proxies whose ``X-Forwarded-*`` headers uvicorn trusts; ``None`` ignores the headers."""
    ssl_certfile: Path | str | None = None
    """PEM certificate chain; with :attr:`ssl_keyfile` the server speaks HTTPS (Go bug #19)."""
    ssl_keyfile: Path | str | None = None
    """PEM private key of :attr:`ssl_certfile`."""
    ssl_keyfile_password: str | None = field(default=None, repr=False)
    """Password of an encrypted key; never shown in a repr or an error."""
    ssl_ca_certs: Path | str | None = None
    """CA bundle to verify client certificates with (mutual TLS, see the next field)."""
    ssl_require_client_cert: bool = False
    """Refuse clients without a certificate signed by :attr:`ssl_ca_certs`."""

    def __post_init__(self) -> None:
        """Validate every field and the cross-field rules."""
        host: object = self.host
        if not isinstance(host, str) or not host.strip():
            raise ConfigError("host", host, "must be a host name or IP address")
        port: object = self.port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:  # noqa: PLR2004
            raise ConfigError("port", port, "must be an int from 0 to 65535 (0: any free port)")
        seconds("graceful_timeout", self.graceful_timeout, allow_zero=True)
        check_seconds("request_timeout", self.request_timeout, allow_none=True)
        seconds("keep_alive_timeout", self.keep_alive_timeout)
        for name in ("max_body_size", "limit_concurrency"):
            _positive_int(name, getattr(self, name), allow_none=True)
        _positive_int("backlog", self.backlog, allow_none=False)
        paths = [_path("livez_path", self.livez_path), _path("readyz_path", self.readyz_path)]
        if self.healthz_path is not None:
            paths.append(_path("healthz_path", self.healthz_path))
        if len(set(paths)) != len(paths):
            raise ConfigError("readyz_path", tuple(paths), "probe paths must differ")
        exclude: object = self.access_log_exclude
        if not isinstance(exclude, tuple):
            raise ConfigError("access_log_exclude", exclude, "must be a tuple of paths")
        for item in exclude:
            _path("access_log_exclude", item)
        for name in ("access_log", "drain_503", "ssl_require_client_cert"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, getattr(self, name), "must be a bool")
        self._check_tls()

    def _check_tls(self) -> None:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ConfigError(
                "ssl_keyfile",
                self.ssl_keyfile,
                "ssl_certfile and ssl_keyfile go together: give both for HTTPS, or neither",
            )
        if self.ssl_keyfile_password is not None and self.ssl_keyfile is None:
            raise ConfigError("ssl_keyfile_password", _MASK, "needs ssl_keyfile")
        if self.ssl_require_client_cert and self.ssl_ca_certs is None:
            raise ConfigError(
                "ssl_ca_certs", None, "ssl_require_client_cert needs the CA bundle to verify with"
            )
        for name in ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_file():
                raise ConfigError(name, str(value), "must name an existing PEM file")

    @property
    def tls(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.ssl_certfile is not None

    @property
    def stop_timeout(self) -> float:
        """A component ``stop_timeout`` that covers :attr:`graceful_timeout` (plus 2 s).

        ``Component(http_server, ..., stop_timeout=config.stop_timeout)``; the default
        ``stop_timeout`` (10 s) already covers the default ``graceful_timeout`` (5 s).
        """
        return self.graceful_timeout + STOP_MARGIN

    @property
    def retry_after(self) -> int:
        """Whole seconds of the drain 503's ``Retry-After`` (Go: the shutdown time)."""
        return max(1, math.ceil(self.graceful_timeout))


def _positive_int(name: str, value: object, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(name, value, "must be an int > 0" + (" or None" if allow_none else ""))
