"""The outbound ``httpx.AsyncClient`` component: correlation id out, closed on stop, health."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import httpx

from service_pkg._checks import seconds
from service_pkg.exceptions import BrokenResourceError, ConfigError
from service_pkg.health import default_health
from service_pkg.logs import get_correlation_id

__all__ = ("HttpClientConfig", "http_client", "propagate_correlation_id")

log = logging.getLogger("service_pkg.http")

_HEADER = "X-Correlation-ID"
_HEALTH_PATHS: weakref.WeakKeyDictionary[httpx.AsyncClient, str] = weakref.WeakKeyDictionary()
"""The ``health_path`` of each client the factory built (httpx clients have no slot for it)."""


def mask(url: httpx.URL | str) -> str:
    """The URL without user-info, query or fragment (they may carry credentials)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


async def propagate_correlation_id(request: httpx.Request) -> None:
    """Request hook for httpx: set ``X-Correlation-ID`` from the bound correlation id.

    A header the caller set explicitly wins. Add it to your own client with
    ``httpx.AsyncClient(event_hooks={"request": [propagate_correlation_id]})``.

    .. versionadded:: 0.3.0
    """
    correlation = get_correlation_id()
    if correlation is not None and _HEADER not in request.headers:
        request.headers[_HEADER] = correlation


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpClientConfig:
    """Configuration of :func:`http_client`.

    Raises:
        ConfigError: a field breaks its rule (the URL is shown without user-info).

    .. versionadded:: 0.3.0
    """

    base_url: str = field(default="", repr=False)
    """Prefix of relative request URLs, e.g. ``"http://orders:8080"``; may be empty."""
    timeout: float = 10.0
    """Seconds for each of connect, read, write and pool acquisition."""
    max_connections: int = 100
    """Connections open at once (httpx ``Limits``)."""
    max_keepalive_connections: int = 20
    """Idle connections kept for reuse."""
    health_path: str | None = None
    """Path (relative to ``base_url``) the health check GETs; a status below 500 passes.
    ``None``: the check only verifies the client is open."""
    verify: bool = True
    """Verify the server's TLS certificate."""

    def __post_init__(self) -> None:
        """Validate the fields."""
        try:
            url = httpx.URL(self.base_url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigError("base_url", "<hidden>", f"is not a valid URL: {exc}") from None
        if self.base_url and url.scheme not in {"http", "https"}:
            raise ConfigError("base_url", mask(url), "must be an http:// or https:// URL")
        seconds("timeout", self.timeout)
        for name in ("max_connections", "max_keepalive_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(name, value, "must be an int > 0")
        if self.health_path is not None and not self.health_path.startswith("/"):
            raise ConfigError("health_path", self.health_path, "must start with '/'")
        if self.health_path is not None and not self.base_url:
            raise ConfigError("health_path", self.health_path, "needs base_url")

    def __repr__(self) -> str:
        """Show the masked URL."""
        return (
            f"HttpClientConfig(base_url={mask(self.base_url) if self.base_url else ''!r}, "
            f"timeout={self.timeout!r}, health_path={self.health_path!r})"
        )


async def _check_health(client: httpx.AsyncClient) -> None:
    """``http_client``'s default check: open, and ``health_path`` (if set) answers below 500.

    Raises:
        BrokenResourceError: closed, no answer, or a 5xx; names the masked URL.
    """
    address = mask(client.base_url)
    if client.is_closed:
        raise BrokenResourceError(f"http client {address}: closed", address=address)
    path = _HEALTH_PATHS.get(client)
    if path is None:
        return
    try:
        response = await client.get(path)
    except httpx.HTTPError as exc:
        raise BrokenResourceError(
            f"http client {address}: GET {path} failed: {type(exc).__name__}: {exc}",
            address=address,
        ) from None  # the request repr may carry headers: keep the chain out
    if response.status_code >= 500:  # noqa: PLR2004 - server errors only
        raise BrokenResourceError(
            f"http client {address}: GET {path} answered {response.status_code}",
            address=address,
        )


@default_health(_check_health, affects_readiness=False)
async def http_client(
    config: HttpClientConfig | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> AsyncGenerator[httpx.AsyncClient, object]:
    """Component factory: an ``httpx.AsyncClient`` that sends the correlation id.

    Give ``config`` (the kit builds the client and closes it on stop) or ``client`` (an
    existing one: the kit adds the correlation hook, removes it on stop, and **never closes
    it**). Each request carries ``X-Correlation-ID`` of the context it is made in (the
    request being served, a job's bound id), unless set explicitly.

    Health (not readiness-affecting by default: a downstream blip must not take every caller
    out of rotation): the client is open and, with ``health_path``, the service answers
    below 500.

    Raises:
        ConfigError: both or neither of ``config`` and ``client`` given.

    .. versionadded:: 0.3.0
    """
    if (config is None) == (client is None):
        given = "both" if config is not None else "neither"
        raise ConfigError("config", given, "give exactly one of config or client")
    if client is not None:
        hooks = client.event_hooks
        client.event_hooks = {
            **hooks,
            "request": [*hooks.get("request", []), propagate_correlation_id],
        }
        try:
            yield client
        finally:
            hooks = client.event_hooks
            remaining = [h for h in hooks.get("request", []) if h is not propagate_correlation_id]
            client.event_hooks = {**hooks, "request": remaining}
        return
    assert config is not None  # noqa: S101 - checked above
    owned = httpx.AsyncClient(
        base_url=config.base_url,
        timeout=config.timeout,
        limits=httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_keepalive_connections,
        ),
        verify=config.verify,
        event_hooks={"request": [propagate_correlation_id]},
    )
    if config.health_path is not None:
        _HEALTH_PATHS[owned] = config.health_path
    log.info("http client opened", extra={"http_client_url": mask(config.base_url)})
    try:
        yield owned
    finally:
        await owned.aclose()
        log.info("http client closed", extra={"http_client_url": mask(config.base_url)})
