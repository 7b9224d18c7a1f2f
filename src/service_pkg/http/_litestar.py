"""The Litestar side: ``HttpPlugin`` (500 handler, logging) and ``provide`` (container bridge)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response
from litestar.plugins import InitPlugin
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from service_pkg.exceptions import ConfigTypeError

__all__ = ("HttpPlugin", "internal_error_handler", "provide")

log = logging.getLogger("service_pkg.http")


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for status 500: log once with the stack, answer small JSON.

    Registered under the **status code** ``500``, not under ``Exception``: Litestar gives a
    ``500`` handler every exception that is not an ``HTTPException``, so 404, 405 and 400
    validation errors keep Litestar's own answers (an ``Exception`` handler would swallow them
    too, ``prior-art-http-grpc.md`` §1 note 1). An ``HTTPException`` with status 500 that a
    handler raised on purpose keeps its detail.
    """
    if isinstance(exc, HTTPException):
        return create_exception_response(request, exc)
    log.error(
        "unhandled error in request",
        exc_info=exc,
        extra={"http_method": request.method, "http_path": request.url.path},
    )
    return Response(
        content={"error": "internal server error"},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


class HttpPlugin(InitPlugin):
    """Make a Litestar app behave as the kit promises: ``Litestar(..., plugins=[HttpPlugin()])``.

    * registers :func:`internal_error_handler` for status 500 unless the app has one;
    * with ``kit_logging=True`` (default), sets ``logging_config=None``: Litestar's default
      config would put its own queue handler on the root logger, over
      ``service_pkg.logs.configure()``. Pass ``HttpPlugin(kit_logging=False)`` to keep a
      ``logging_config=`` of your own (Litestar's default cannot be told from an explicit one).

    The server works without it, but then an unexpected exception is answered by Litestar's
    default handler and, outside debug mode, never logged.

    .. versionadded:: 0.3.0
    """

    __slots__ = ("_kit_logging",)

    def __init__(self, *, kit_logging: bool = True) -> None:
        self._kit_logging = kit_logging

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the 500 handler and, unless told otherwise, leave logging to the kit."""
        app_config.exception_handlers.setdefault(
            HTTP_500_INTERNAL_SERVER_ERROR, internal_error_handler
        )
        if self._kit_logging:
            app_config.logging_config = None
        return app_config


def provide(provider: Callable[[], Any], *, use_cache: bool = False) -> Provide:
    """A Litestar dependency that resolves a dependency-injector provider per request.

    ``dependencies={"jobs": provide(container.jobs)}`` in a route, controller or the app:
    the handler's ``jobs`` parameter gets ``container.jobs()`` (awaited when the provider is
    async). Components resolve to their started value. This is the kit's one way for route
    handlers to reach the container; dependency-injector's ``@inject`` is not used because
    Litestar reads handler signatures and would take ``Provide[...]`` defaults for query
    parameters.

    .. versionadded:: 0.3.0
    """
    checked: object = provider  # a provider built from settings may be anything
    if not callable(checked):
        raise ConfigTypeError("provider", checked, "must be a dependency-injector provider")

    async def resolve() -> Any:
        value = provider()
        return await value if inspect.isawaitable(value) else value

    return Provide(resolve, use_cache=use_cache)
