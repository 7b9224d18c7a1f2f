"""The gRPC API: ``links.v1.Links`` (``protos/links/v1/links.proto``) over :class:`Links`.

Same behaviour as HTTP: a bad URL is ``INVALID_ARGUMENT``, an unknown code ``NOT_FOUND``.
``Resolve`` looks the link up without recording a click (clicks are the HTTP redirect's).
"""

from __future__ import annotations

from pathlib import Path

from grpclib import GRPCError
from grpclib.const import Status

from example_service.links import InvalidUrlError, LinkNotFoundError, Links
from example_service.proto.links.v1 import (
    CreateRequest,
    Link,
    LinksBase,
    ResolveRequest,
    Stats,
    StatsRequest,
)

__all__ = ("LINKS_DESCRIPTORS", "LinksService")

LINKS_DESCRIPTORS = Path(__file__).parent / "proto" / "descriptors.binpb"
"""The descriptor set reflection answers from (written by ``scripts/protos.sh``)."""


class LinksService(LinksBase):
    """``links.v1.Links``: Create, Resolve, Stats."""

    def __init__(self, links: Links) -> None:
        self._links = links

    async def create(self, create_request: CreateRequest) -> Link:
        """Shorten a URL; ``INVALID_ARGUMENT`` says what is wrong with it."""
        try:
            link = await self._links.create(create_request.url)
        except InvalidUrlError as error:
            raise GRPCError(Status.INVALID_ARGUMENT, str(error)) from None
        return Link(code=link.code, url=link.url)

    async def resolve(self, resolve_request: ResolveRequest) -> Link:
        """The URL of a code; ``NOT_FOUND`` for an unknown one."""
        try:
            link = await self._links.resolve(resolve_request.code)
        except LinkNotFoundError as error:
            raise GRPCError(Status.NOT_FOUND, str(error)) from None
        return Link(code=link.code, url=link.url)

    async def stats(self, stats_request: StatsRequest) -> Stats:
        """Clicks rolled up so far; ``NOT_FOUND`` for an unknown code."""
        try:
            clicks = await self._links.clicks(stats_request.code)
        except LinkNotFoundError as error:
            raise GRPCError(Status.NOT_FOUND, str(error)) from None
        return Stats(code=stats_request.code, clicks=clicks)
