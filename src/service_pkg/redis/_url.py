"""Where a Redis URL's secrets are, whatever characters they have: ``split`` and ``mask_url``.

A password pasted into a URL unencoded may contain any of ``@ : / ? # [ ]``; the standard
split (``urllib.parse.urlsplit``) then ends the address inside the password and hands parts of
it out as a port, a path, a query or a fragment (issue 9). This module never trusts that
split alone: an ``@`` after the standard address that is not inside the value of a known
query parameter means the user-info runs up to the *last* ``@``, and everything up to it is
treated as secret. It does no I/O and never raises, so every message and repr can use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS

__all__ = (
    "KNOWN_PARAMS",
    "MASK",
    "SECRET_NAME",
    "SENTINEL_PARAMS",
    "STANDALONE_PARAMS",
    "UrlParts",
    "mask_url",
    "split",
)

MASK = "***"
"""What a password is replaced with wherever the kit prints an address."""

STANDALONE_PARAMS = frozenset(URL_QUERY_ARGUMENT_PARSERS) | {
    "client_name",
    "username",
    "password",
}
"""Query parameters redis-py understands in a standalone URL (its parsers plus strings)."""
SENTINEL_PARAMS = frozenset({"master_name", "addr", "db", "client_name"})
"""Query parameters of a Go failover (Sentinel) URL that the kit maps."""
KNOWN_PARAMS = STANDALONE_PARAMS | SENTINEL_PARAMS

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
SECRET_NAME = re.compile(r"pass|secret|token", re.IGNORECASE)
"""A query parameter whose name matches holds a secret."""
_SECRET_PARAM = re.compile(r"[?&][^&=]*(?:pass|secret|token)[^&=]*=", re.IGNORECASE)
# host[:port] or [v6][:port], strictly: "admin:" or "admin:S3cret" is a password cut short.
_HOST_PORT = re.compile(r"(?:[^\s:/?#\[\]@]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
# A user name shown in front of "***" when the split is ambiguous: plain characters only.
_PLAIN_USER = re.compile(r"[A-Za-z0-9._~%!$'()*+,;=-]*")


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A URL cut into what may be shown and what may not."""

    prefix: str
    """``scheme://``, or ``""`` for text without a well-formed scheme."""
    userinfo: str | None
    """Everything before the ``@`` that ends the user-info (secret in part), or ``None``."""
    rest: str
    """Host, port, path and query after the user-info."""
    ambiguous: bool
    """The standard split would end the address inside the user-info: a user name or
    password has unencoded ``/ ? # @`` (or a look-alike of them)."""


def _authority_end(body: str) -> int:
    ends = [i for i in (body.find(c) for c in "/?#") if i >= 0]
    return min(ends, default=len(body))


def _ats_only_in_known_values(after: str) -> bool:
    """Whether every ``@`` after the address sits inside a known query parameter's value.

    That is the one place an ``@`` after the address is legitimate
    (``?client_name=svc@host``, ``?password=p@ss``).
    """
    before_fragment, _, fragment = after.partition("#")
    path, _, query = before_fragment.partition("?")
    if "@" in fragment or "@" in path:
        return False
    for piece in query.split("&"):
        name, equals, value = piece.partition("=")
        if "@" in name or ("@" in value and (not equals or name not in KNOWN_PARAMS)):
            return False
    return True


def split(url: str) -> UrlParts:
    """Cut ``url`` into prefix, user-info and the rest; never raises."""
    match = _SCHEME.match(url)
    prefix = match.group(0) if match else ""
    body = url[len(prefix) :]
    end = _authority_end(body)
    authority, after = body[:end], body[end:]
    hostport = authority.rpartition("@")[2]
    if "@" in after and not (_HOST_PORT.fullmatch(hostport) and _ats_only_in_known_values(after)):
        userinfo, _, rest = body.rpartition("@")
        return UrlParts(prefix, userinfo, rest, ambiguous=True)
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        return UrlParts(prefix, userinfo, hostport + after, ambiguous=False)
    return UrlParts(prefix, None, body, ambiguous=False)


def _mask_query(rest: str) -> str:
    """Mask the value of every secret parameter up to the next known parameter.

    A password with an unencoded ``&`` or ``#`` would otherwise show its tail as a parameter
    of its own, so everything after a secret value up to ``&<known name>=`` stays hidden.
    """
    head, question, query = rest.partition("?")
    if not question:
        return rest
    shown: list[str] = []
    masking = False
    for piece in query.split("&"):
        name, equals, _ = piece.partition("=")
        if masking and not (equals and name in KNOWN_PARAMS):
            continue
        masking = False
        if equals and SECRET_NAME.search(name):
            shown.append(f"{name}={MASK}")
            masking = True
        else:
            shown.append(piece)
    return f"{head}?{'&'.join(shown)}"


def mask_url(url: str) -> str:
    """Return ``url`` with every password replaced by ``***``, whatever characters it has.

    Masks the password of the user-info part (``redis://user:***@host``) and every query
    parameter whose name mentions a password, secret or token (``?password=***``). The rest
    of the text is kept as given, so the result still says where the client connects.
    A password with unencoded special characters (``redis://u:p#ss/w?rd@host``) is masked up
    to the last ``@``: no part of it is ever shown. A query password's value ends only at
    ``&<known parameter>=`` (``&db=``...), which is how such a password must not be written
    unencoded. Text that is not a URL at all is returned as given, masked the same way.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Masks passwords with unencoded ``@ / ? # [ ]`` instead of hiding the whole URL, and
       quotes scheme-less input as given.
    """
    parts = split(url)
    if parts.ambiguous and _SECRET_PARAM.search(parts.userinfo or ""):
        # A query password holds the "@" the user-info was cut at: its value runs on past
        # it, so nothing after the scheme can be shown safely.
        return f"{parts.prefix}{MASK}"
    shown = ""
    if parts.userinfo is not None:
        user, colon, _ = parts.userinfo.partition(":")
        if parts.ambiguous and not (colon and _PLAIN_USER.fullmatch(user)):
            shown = f"{MASK}@"
        else:
            shown = f"{user}:{MASK}@" if colon else f"{user}@"
    return f"{parts.prefix}{shown}{_mask_query(parts.rest)}"
