"""The shortener itself: links and clicks in SQL, shared by the HTTP and gRPC APIs.

:class:`Links` owns one transaction per call (``service_pkg.http.unit_of_work``), so both
front ends get the same behaviour and the same errors: :class:`InvalidUrlError` (HTTP 400,
gRPC ``INVALID_ARGUMENT``) and :class:`LinkNotFoundError` (404, ``NOT_FOUND``).
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from service_pkg.http import unit_of_work
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from example_service.db import click_events, link_counters, links

__all__ = (
    "CODE_LENGTH",
    "MAX_URL_LENGTH",
    "ClickSink",
    "InvalidUrlError",
    "Link",
    "LinkNotFoundError",
    "Links",
    "check_url",
    "valid_code",
)

log = logging.getLogger("example_service.links")

CODE_LENGTH = 7
MAX_URL_LENGTH = 2048
_ALPHABET = string.ascii_letters + string.digits
_CODE = re.compile(r"[A-Za-z0-9]{1,16}")
_ATTEMPTS = 5  # 62**7 codes: a collision is rare, five in a row means something else is wrong


# Up to the last "@": a password may hold "@" or "/" unencoded, and showing a bit more
# masked than needed is the safe side.
_CREDENTIALS = re.compile(r"//.*@", re.DOTALL)
_SHOWN_LENGTH = 60


def _shown(value: object) -> str:
    """``value`` as an error message may show it: credentials masked, long URLs cut short.

    The 400 body goes back to the caller, but the line also reaches logs and traces, and a
    URL's ``user:password@`` part is a secret whatever else is wrong with the URL.
    """
    if not isinstance(value, str):
        return type(value).__name__
    text = _CREDENTIALS.sub("//***@", value)
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return repr(text)


class InvalidUrlError(ValueError):
    """The URL to shorten is not an absolute ``http``/``https`` URL the service accepts."""


class LinkNotFoundError(LookupError):
    """No link has this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"no link with code {code[:32]!r}")


@dataclass(frozen=True, slots=True)
class Link:
    """A short code and the URL it points to."""

    code: str
    url: str


class ClickSink(Protocol):
    """Where clicks go besides SQL (ClickHouse); best effort, never the counters' source."""

    def record(self, code: str) -> None:
        """Take one click; must not block nor raise."""
        ...


def check_url(url: object) -> str:
    """Return ``url`` if the service accepts it.

    Raises:
        InvalidUrlError: not a string, longer than :data:`MAX_URL_LENGTH`, with whitespace or
            control characters or non-ASCII ones, not ``http``/``https``, or without a host.
    """
    if not isinstance(url, str) or not url:
        raise InvalidUrlError(f"url: must be a non-empty string (got {_shown(url)})")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(
            f"url: must be at most {MAX_URL_LENGTH} characters (got {len(url)} characters)"
        )
    if not url.isascii():
        raise InvalidUrlError(
            f"url: must be ASCII; percent-encode other characters (got {_shown(url)})"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidUrlError(
            f"url: must not contain whitespace or control characters (got {_shown(url)})"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise InvalidUrlError(f"url: is not a valid URL (got {_shown(url)})") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidUrlError(f"url: must start with http:// or https:// (got {_shown(url)})")
    if not host:
        raise InvalidUrlError(
            f"url: must name a host, e.g. https://example.com/page (got {_shown(url)})"
        )
    return url


def valid_code(code: str) -> bool:
    """Whether ``code`` could be a code at all (checked before any query)."""
    return _CODE.fullmatch(code) is not None


class Links:
    """Create, resolve and click links; read their rolled-up counters.

    Stateless apart from the session factory: every method runs in its own transaction,
    committed when it returns. Database errors propagate (HTTP answers 500, gRPC
    ``INTERNAL``); the clicks sink only sees committed clicks.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], sink: ClickSink | None = None
    ) -> None:
        self._sessions = sessions
        self._sink = sink

    async def create(self, url: object) -> Link:
        """Store ``url`` under a new random code.

        Raises:
            InvalidUrlError: see :func:`check_url`.
        """
        checked = check_url(url)
        for _ in range(_ATTEMPTS):
            code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                async with unit_of_work(self._sessions) as session:
                    await session.execute(insert(links).values(code=code, url=checked))
            except IntegrityError:
                continue  # the code is taken: draw another
            log.info("link created", extra={"code": code})
            return Link(code, checked)
        raise RuntimeError(f"no free code after {_ATTEMPTS} attempts")

    async def resolve(self, code: str) -> Link:
        """The link of ``code`` (no click is recorded).

        Raises:
            LinkNotFoundError: no such code.
        """
        async with unit_of_work(self._sessions) as session:
            return Link(code, await self._url(session, code))

    async def click(self, code: str) -> str:
        """Record a click on ``code`` and return its URL, in one transaction.

        Raises:
            LinkNotFoundError: no such code (nothing recorded).
        """
        async with unit_of_work(self._sessions) as session:
            url = await self._url(session, code)
            await session.execute(insert(click_events).values(code=code))
        if self._sink is not None:
            self._sink.record(code)
        return url

    async def clicks(self, code: str) -> int:
        """Clicks of ``code`` counted by the rollup job so far.

        Raises:
            LinkNotFoundError: no such code.
        """
        async with unit_of_work(self._sessions) as session:
            await self._url(session, code)
            counted = await session.scalar(
                select(link_counters.c.clicks).where(link_counters.c.code == code)
            )
        return int(counted or 0)

    async def recorded_clicks(self) -> int:
        """Click events recorded in total (the rollup's input), for tests and operators."""
        async with unit_of_work(self._sessions) as session:
            return int(await session.scalar(select(func.count()).select_from(click_events)) or 0)

    @staticmethod
    async def _url(session: AsyncSession, code: str) -> str:
        if not valid_code(code):
            raise LinkNotFoundError(code)
        url = await session.scalar(select(links.c.url).where(links.c.code == code))
        if url is None:
            raise LinkNotFoundError(code)
        return str(url)
