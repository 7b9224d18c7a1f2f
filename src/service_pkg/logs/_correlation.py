"""The correlation id of the work in progress, kept in a context variable."""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from service_pkg.exceptions import ConfigError

from ._xid import GENERATOR

if TYPE_CHECKING:
    from collections.abc import Iterator

ACCEPTED_ID = "[A-Za-z0-9._:-]{1,64}"
"""What an incoming correlation id (HTTP header, gRPC metadata) must be; else one is generated."""
accepted_id = re.compile(ACCEPTED_ID).fullmatch
"""Match a ``str`` id against :data:`ACCEPTED_ID`."""
accepted_id_bytes = re.compile(ACCEPTED_ID.encode()).fullmatch
"""Match a raw header value (``bytes``) against :data:`ACCEPTED_ID`."""

CORRELATION_ID: ContextVar[str | None] = ContextVar("service_pkg_correlation_id", default=None)
"""The id every log record emitted in this context carries; ``None`` when unbound."""


def new_correlation_id() -> str:
    """Return a new correlation id in the Go library's format.

    The id is an `xid <https://github.com/rs/xid>`_: 20 characters of lower-case base32hex
    (``0-9a-v``) encoding 4 bytes of Unix seconds, 5 bytes fixed per process and a 3-byte
    counter. Ids made in the same second by one process sort in creation order (until the
    counter wraps after 16,777,216 ids).

    Returns:
        The new id, for example ``"9m4e2mr0ui3e8a215n4g"``.

    .. versionadded:: 0.1.0
    """
    return GENERATOR.new()


def get_correlation_id() -> str | None:
    """Return the correlation id bound in the current context, or ``None``.

    Returns:
        The id set by the innermost active :func:`bind_correlation_id`, else ``None``.

    .. versionadded:: 0.1.0
    """
    return CORRELATION_ID.get()


@contextmanager
def bind_correlation_id(value: str | None = None) -> Iterator[str]:
    """Bind a correlation id to the current context for the duration of a ``with`` block.

    Every record logged inside the block, and inside asyncio tasks created inside it (they copy
    the context), carries the id. On exit the previous id (or ``None``) is restored, also when
    the block raises. Binds nest.

    Args:
        value: The id to bind, for example a validated incoming ``X-Correlation-ID`` header;
            ``None`` generates a new one with :func:`new_correlation_id`.

    Yields:
        The id that is bound.

    Raises:
        ConfigError: ``value`` is an empty string (``field == "correlation_id"``).

    .. versionadded:: 0.1.0
    """
    if value == "":
        raise ConfigError("correlation_id", value, "must be a non-empty string or None")
    bound = new_correlation_id() if value is None else value
    token = CORRELATION_ID.set(bound)
    try:
        yield bound
    finally:
        CORRELATION_ID.reset(token)
