"""Litestar's OpenTelemetry plugin, plus the route template as the span's name."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.plugins import InitPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

__all__ = ("RouteSpanNames", "litestar_plugins")


def _span_details(scope: Any) -> tuple[str, dict[str, str]]:
    # Called before routing (the plugin's middleware wraps the router): no template yet, so
    # a request that no route matches keeps this bounded name; RouteSpanNames renames the rest.
    method = str(scope.get("method", "")).strip()
    return (f"{method} _OTHER" if method else "_OTHER"), {}


class _NameFromRoute(ASGIMiddleware):
    """Runs after routing, inside the plugin's server span: name it after the template."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        span = trace.get_current_span()
        template = scope.get("path_template")
        if template and span.is_recording():
            span.update_name(f"{scope.get('method', '')} {template}")
            span.set_attribute("http.route", template)
        await next_app(scope, receive, send)


class RouteSpanNames(InitPlugin):
    """Adds the middleware that names each server span ``METHOD <route template>``."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Append the renaming middleware (it runs after routing, per route)."""
        app_config.middleware = [*app_config.middleware, _NameFromRoute()]
        return app_config


def litestar_plugins(
    tracer_provider: TracerProvider | None, exclude: Collection[str]
) -> tuple[OpenTelemetryPlugin, RouteSpanNames]:
    """The configured OTel plugin and the span-naming plugin."""
    patterns = [f"^{re.escape(path)}$" for path in exclude]
    config = OpenTelemetryConfig(
        tracer_provider=tracer_provider,
        scope_span_details_extractor=_span_details,
        exclude=patterns or None,
        exclude_spans=["receive", "send"],
    )
    return OpenTelemetryPlugin(config), RouteSpanNames()
