"""The HTTP API (Litestar): ``POST /links``, ``GET /{code}``, ``GET /links/{code}/stats``.

The kit's layer around the app answers ``/livez``, ``/readyz`` and ``/healthz`` and binds the
correlation id; Litestar serves the OpenAPI schema at ``/schema`` (``/schema/openapi.json``).
With tracing on, Litestar's OpenTelemetry plugin (``service_pkg.tracing.litestar_tracing``)
opens a server span per request, named after the route template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Litestar, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_307_TEMPORARY_REDIRECT
from service_pkg.http import HttpPlugin

from example_service.links import MAX_URL_LENGTH, InvalidUrlError, LinkNotFoundError, Links

if TYPE_CHECKING:
    from litestar.plugins import PluginProtocol
    from opentelemetry.trace import TracerProvider

__all__ = ("CreateLink", "LinkBody", "LinkStats", "build_app")


class CreateLink(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /links`` body."""

    url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            description="An absolute http or https URL (ASCII, no whitespace).",
            examples=["https://example.com/some/page?q=1"],
        ),
    ]


class LinkBody(msgspec.Struct):
    """A created link."""

    code: str
    url: str


class LinkStats(msgspec.Struct):
    """Clicks counted so far (the rollup job runs every few seconds)."""

    code: str
    clicks: int


@post("/links", status_code=HTTP_201_CREATED, raises=[ValidationException])
async def create_link(data: JSONBody[CreateLink], links: NamedDependency[Links]) -> LinkBody:
    """Shorten ``url`` (an absolute http or https URL); 400 says what is wrong with it."""
    try:
        link = await links.create(data.url)
    except InvalidUrlError as error:
        raise ValidationException(detail=str(error)) from None
    return LinkBody(code=link.code, url=link.url)


@get(
    "/{code:str}",
    status_code=HTTP_307_TEMPORARY_REDIRECT,
    raises=[NotFoundException],
    response_headers=[
        ResponseHeader(name="location", description="The link's URL", documentation_only=True)
    ],
)
async def follow_link(code: FromPath[str], links: NamedDependency[Links]) -> Response[None]:
    """Redirect (307) to the link's URL and record a click; 404 for an unknown code."""
    try:
        url = await links.click(code)
    except LinkNotFoundError as error:
        raise NotFoundException(detail=str(error)) from None
    # The stored URL as it is: Litestar's Redirect would percent-encode characters such as
    # ``{`` or ``|`` that the link's owner typed (and that browsers accept).
    return Response(None, status_code=HTTP_307_TEMPORARY_REDIRECT, headers={"location": url})


@get("/links/{code:str}/stats", raises=[NotFoundException])
async def link_stats(code: FromPath[str], links: NamedDependency[Links]) -> LinkStats:
    """The link's clicks as rolled up so far; 404 for an unknown code."""
    try:
        clicks = await links.clicks(code)
    except LinkNotFoundError as error:
        raise NotFoundException(detail=str(error)) from None
    return LinkStats(code=code, clicks=clicks)


def build_app(
    links: Links, *, debug: bool = False, tracer_provider: TracerProvider | None = None
) -> Litestar:
    """The Litestar app over ``links``: ``web_app = providers.Singleton(build_app, links)``.

    ``tracer_provider``: the provider of the ``tracing`` component when tracing is on (its
    value; ``None`` when off). Then every request gets an HTTP server span, the parent of
    whatever the handler calls (an outbound gRPC call's client span, through the kit's
    instrumented channel); off, nothing of OpenTelemetry is imported.
    """

    def get_links() -> Links:
        return links

    dependencies: dict[str, Any] = {"links": Provide(get_links, sync_to_thread=False)}
    plugins: list[PluginProtocol] = [HttpPlugin()]
    if tracer_provider is not None:
        from service_pkg.tracing import litestar_tracing  # noqa: PLC0415 - the tracing extra

        plugins.extend(litestar_tracing(tracer_provider=tracer_provider))
    return Litestar(
        [create_link, follow_link, link_stats],
        dependencies=dependencies,
        openapi_config=OpenAPIConfig(title="example-service links", version="1.0.0"),
        plugins=plugins,
        debug=debug,
    )
