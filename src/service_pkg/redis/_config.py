"""``RedisConfig`` and the URL rules (standalone, TLS, unix socket, Sentinel, Cluster)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS, parse_url

from service_pkg._checks import seconds
from service_pkg.exceptions import ConfigError
from service_pkg.redis._url import (
    MASK,
    SECRET_NAME,
    SENTINEL_PARAMS,
    STANDALONE_PARAMS,
    mask_url,
    split,
)

__all__ = ("RedisConfig",)

_SCHEMES = ("redis", "rediss", "unix")
_GO_DEFAULT_HOST = "localhost"
_GO_DEFAULT_PORT = 6379

ENCODE_HINT = (
    "special characters in a user name or password must be percent-encoded, e.g. "
    'urllib.parse.quote(password, safe=""), or give the password as RedisConfig(password=...)'
)
"""How to fix a URL whose user-info the kit cannot split; every such message ends with it."""
_UNSPLITTABLE = f"cannot tell the user-info from the address: {ENCODE_HINT}"
_UNPARSABLE = f"is not a valid URL: {ENCODE_HINT}"


class _UrlRuleError(ValueError):
    """A rule the URL breaks; its message quotes nothing that :func:`mask_url` hides."""


@dataclass(frozen=True, slots=True)
class _Standalone:
    """Keyword arguments for a ``redis.asyncio.ConnectionPool`` parsed from the URL."""

    kwargs: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Sentinel:
    """A Go-style failover URL: sentinels, the master's name and the sentinels' login."""

    master_name: str
    sentinels: tuple[tuple[str, int], ...]
    db: int
    ssl: bool
    username: str | None
    password: str | None = field(repr=False)
    client_name: str | None


@dataclass(frozen=True, slots=True)
class _Cluster:
    """A Redis Cluster URL (go-redis ``ParseClusterURL``): seed nodes and their login."""

    nodes: tuple[tuple[str, int], ...]
    ssl: bool
    username: str | None
    password: str | None = field(repr=False)
    client_name: str | None


CLUSTER_PARAMS = frozenset({"addr", "client_name"})
"""Query parameters of a cluster URL: more seed nodes (``addr=host:port``), ``client_name``."""


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:  # noqa: PLR2004 - TCP port range
        raise _UrlRuleError(f"the port of the {where} must be a number from 1 to 65535")
    return int(text)


def _host_port(text: str, where: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` too); the Go defaults fill what is missing."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return (host or _GO_DEFAULT_HOST, _port(port, where) if port else _GO_DEFAULT_PORT)


def _db(path: str, query: dict[str, list[str]]) -> int:
    text = query["db"][-1] if "db" in query else path.strip("/")
    if not text:
        return 0
    if not text.isdigit():
        raise _UrlRuleError("the database (the path, or db=) must be a number >= 0")
    return int(text)


def _unknown(names: list[str], allowed: frozenset[str], what: str, hint: str = "") -> None:
    """Reject parameters outside ``allowed``, naming only those no password could hold.

    A parameter after a secret one may be the tail of a password with an unencoded ``&``:
    it is not named, the message says how to encode instead.
    """
    secret = next((i for i, n in enumerate(names) if SECRET_NAME.search(n)), len(names))
    shown = sorted({n for n in names[: secret + 1] if n not in allowed})
    hidden = any(n not in allowed for n in names[secret + 1 :])
    if not shown and not hidden:
        return
    named = [", ".join(shown)] if shown else []
    named += ["some after a password parameter"] if hidden else []
    message = f"unsupported {what} parameter(s): {' and '.join(named)}"
    if hidden:
        message += f"; {ENCODE_HINT}"
    raise _UrlRuleError(message + hint)


def _parse_sentinel(url: str) -> _Sentinel:
    """Parse a Go failover URL (go-redis ``ParseFailoverURL``).

    ``redis[s]://[user:password@]host:port[/db]?master_name=NAME[&addr=host:port...]``: the
    host and every ``addr`` are sentinels; the user-info is the *sentinels'* login; the
    master's password comes from :attr:`RedisConfig.password`.
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        raise _UrlRuleError("a Sentinel URL (with master_name) must use redis:// or rediss://")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query: dict[str, list[str]] = {}
    for key, value in pairs:
        query.setdefault(key, []).append(value)
    _unknown(
        [key for key, _ in pairs],
        SENTINEL_PARAMS,
        "Sentinel URL",
        f"; supported: {', '.join(sorted(SENTINEL_PARAMS))} (timeouts and retries are "
        "RedisConfig fields)",
    )
    master_name = query["master_name"][-1].strip()
    if not master_name:
        raise _UrlRuleError("master_name must not be empty")
    hostport = parts.netloc.rpartition("@")[2]
    sentinels = [_host_port(hostport, "sentinel address")]
    for addr in query.get("addr", []):
        host, _, port = addr.rpartition(":")
        if not host or not port:
            raise _UrlRuleError(f"addr {addr!r} must be host:port")
        sentinels.append(_host_port(addr, f"addr {addr!r}"))
    client_name = query["client_name"][-1] if "client_name" in query else None
    return _Sentinel(
        master_name=master_name,
        sentinels=tuple(sentinels),
        db=_db(parts.path, query),
        ssl=parts.scheme == "rediss",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        client_name=client_name,
    )


def _parse_cluster(url: str) -> _Cluster:
    """Parse a cluster URL: ``redis[s]://[user:password@]host:port[?addr=host:port...]``.

    The host and every ``addr`` are seed nodes; the client discovers the rest from them.
    A cluster has database 0 only, so a path other than ``/`` or ``/0`` is refused.
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        raise _UrlRuleError("a cluster URL must use redis:// or rediss://")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    _unknown(
        [key for key, _ in pairs],
        CLUSTER_PARAMS,
        "cluster URL",
        f"; supported: {', '.join(sorted(CLUSTER_PARAMS))}",
    )
    if _db(parts.path, {}) != 0:
        raise _UrlRuleError("a cluster has database 0 only: drop the path (or use /0)")
    nodes = [_host_port(parts.netloc.rpartition("@")[2], "address")]
    client_name = None
    for key, value in pairs:
        if key == "client_name":
            client_name = value
            continue
        host, _, port = value.rpartition(":")
        if not host or not port:
            raise _UrlRuleError(f"addr {value!r} must be host:port")
        nodes.append(_host_port(value, f"addr {value!r}"))
    return _Cluster(
        nodes=tuple(dict.fromkeys(nodes)),
        ssl=parts.scheme == "rediss",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        client_name=client_name,
    )


def _parses(name: str, value: str) -> bool:
    """Whether redis-py can read ``value`` for query parameter ``name`` (strings always)."""
    parser = URL_QUERY_ARGUMENT_PARSERS.get(name)
    if parser is None:
        return True
    try:
        parser(value)
    except (TypeError, ValueError):
        return False  # not re-raised: the parser's message quotes the value
    return True


def _parse_standalone(url: str) -> _Standalone:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    _unknown([key for key, _ in pairs], STANDALONE_PARAMS, "URL")
    bad = next((name for name, value in pairs if not _parses(name, value)), None)
    if bad is not None:
        raise _UrlRuleError(f"URL parameter {bad} has an invalid value")
    if parts.scheme == "unix":
        if not parts.path:
            raise _UrlRuleError("a unix:// URL needs the socket path: unix:///run/redis.sock")
    else:
        hostport = parts.netloc.rpartition("@")[2]
        if hostport.rpartition(":")[1]:
            _host_port(hostport, "address")
        _db(parts.path, {})
    return _Standalone(kwargs=dict(parse_url(url)))


def _check_form(url: str) -> set[str]:
    """The rules every Redis URL follows; returns the names of its query parameters.

    Raises:
        _UrlRuleError: a rule is broken; the message quotes nothing :func:`mask_url` hides.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise _UrlRuleError("must start with redis://, rediss:// or unix://")
    parts = split(url)
    if parts.ambiguous or (parts.userinfo is not None and any(c in parts.userinfo for c in "[]")):
        raise _UrlRuleError(_UNSPLITTABLE)
    if "#" in parts.rest:
        raise _UrlRuleError(
            f"has a '#' fragment, which a Redis URL cannot have (a '#' in a password is %23): "
            f"{ENCODE_HINT}"
        )
    return {key for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def _parse(url: str) -> _Standalone | _Sentinel:
    """Parse a Redis URL (standalone or Sentinel).

    Raises:
        _UrlRuleError: a rule is broken; the message quotes nothing :func:`mask_url` hides.
        ValueError: ``urllib`` or redis-py refused it; their messages may quote the URL,
            password included, so callers never show them.
    """
    if "master_name" in _check_form(url):
        return _parse_sentinel(url)
    return _parse_standalone(url)


def _parse_cluster_url(url: str) -> _Cluster:
    """Parse a cluster URL; raises as :func:`_parse` does."""
    if "master_name" in _check_form(url):
        raise _UrlRuleError("a cluster URL cannot name a Sentinel master (master_name)")
    return _parse_cluster(url)


def _url_problem(url: str, *, cluster: bool) -> str | None:
    """Why ``url`` cannot be used, in words that never contain a secret; ``None`` if it can."""
    try:
        _parse_cluster_url(url) if cluster else _parse(url)
    except _UrlRuleError as exc:
        return str(exc)
    except ValueError:  # urllib's and redis-py's messages may quote the password
        return _UNPARSABLE
    return None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class RedisConfig:
    """How to reach Redis: the URL plus the Go client's timeouts and retry policy.

    URLs:

    * ``redis://[user:password@]host[:port][/db]``: TCP; ``rediss://`` adds TLS;
    * ``unix://[user:password@]/path/to/redis.sock[?db=N]``: a unix socket;
    * ``redis[s]://[user:password@]sentinel:port[/db]?master_name=NAME[&addr=host:port]...``:
      Redis Sentinel, as in Go (the failover URL of go-redis): the host and each ``addr`` are
      sentinels, the user-info is the sentinels' login, :attr:`password` the master's.

    With :attr:`cluster` set, the URL is a Redis Cluster's (go-redis ``ParseClusterURL``):
    ``redis[s]://[user:password@]host:port[?addr=host:port...]``, the host and each ``addr``
    being seed nodes; build the client with :func:`~service_pkg.redis.redis_cluster`.

    A standalone URL may carry redis-py's own query parameters (``socket_timeout``,
    ``max_connections``, ``protocol``...); as in redis-py they win over the fields below.

    The defaults are the Go ``redis`` package's: dial timeout 10 s, read timeout 3 s, 5
    retries, 2 s maximum backoff. Passwords never appear in ``repr()``/``str()``: the URL is
    shown through :func:`mask_url` and the password fields as ``***``.

    Raises:
        ConfigError: a field is invalid; ``field`` names it, ``value`` is the masked value.

    .. versionadded:: 0.1.0
    """

    url: str
    """Where Redis is: ``redis://``, ``rediss://``, ``unix://`` or a Sentinel URL (above)."""
    password: str | None = None
    """Password of the Redis server (Go ``WithPassword``); overrides the URL's. With Sentinel,
    the master's password (the URL's user-info is the sentinels' login)."""
    sentinel_password: str | None = None
    """Password of the sentinels (Go ``WithSentinelPassword``); overrides the URL's. Ignored
    without ``master_name``, as in Go."""
    connect_timeout: float = 10.0
    """Seconds to establish a connection (Go ``DialTimeout``, default 10 s)."""
    socket_timeout: float = 3.0
    """Seconds to wait for a reply (Go ``ReadTimeout``, default 3 s)."""
    retries: int = 5
    """Retries of a command after a connection error or timeout (Go ``MaxRetries``, default 5;
    0 disables). Each retry reconnects."""
    min_backoff: float = 0.008
    """Seconds of the first retry's backoff (go-redis ``MinRetryBackoff``, 8 ms); it doubles
    per retry, with jitter, up to :attr:`max_backoff`."""
    max_backoff: float = 2.0
    """Longest backoff between retries in seconds (Go ``MaxRetryBackoff``, default 2 s)."""
    decode_responses: bool = False
    """Return ``str`` instead of ``bytes`` (redis-py's option)."""
    max_connections: int | None = None
    """Upper bound of the connection pool; ``None`` is redis-py's default (unbounded)."""
    client_name: str | None = None
    """``CLIENT SETNAME`` of every connection, shown by ``CLIENT LIST``."""
    cluster: bool = False
    """The URL names Redis Cluster seed nodes (see above); for
    :func:`~service_pkg.redis.redis_cluster` / :func:`~service_pkg.redis.open_redis_cluster`.

    .. versionadded:: 0.3.0"""

    def __post_init__(self) -> None:
        """Validate every field; the URL is parsed here, so a bad one fails at construction."""
        url: object = self.url
        if not isinstance(url, str):
            # type(), not the value: a URL object's repr may show its password.
            raise ConfigError("url", type(url), "must be a str")
        if not url.strip():
            raise ConfigError("url", url, "must be a URL")
        if not isinstance(self.cluster, bool):
            raise ConfigError("cluster", self.cluster, "must be a bool")
        problem = _url_problem(url, cluster=self.cluster)
        if problem is not None:  # raised here, outside any except: nothing to chain
            raise ConfigError("url", mask_url(url), problem)
        self._check_strings()
        seconds("connect_timeout", self.connect_timeout)
        seconds("socket_timeout", self.socket_timeout)
        retries: object = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError("retries", retries, "must be an int >= 0")
        seconds("min_backoff", self.min_backoff)
        seconds("max_backoff", self.max_backoff)
        if self.min_backoff > self.max_backoff:
            raise ConfigError(
                "min_backoff", self.min_backoff, f"must be <= max_backoff ({self.max_backoff:g} s)"
            )
        limit: object = self.max_connections
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ConfigError("max_connections", limit, "must be None or an int >= 1")
        if not isinstance(self.decode_responses, bool):
            raise ConfigError("decode_responses", self.decode_responses, "must be a bool")

    def _check_strings(self) -> None:
        for name in ("password", "sentinel_password", "client_name"):
            value: object = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(name, MASK if "password" in name else value, "must be a str")

    def __repr__(self) -> str:
        """Show every field with the URL masked and passwords as ``***``."""
        shown = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "url":
                value = mask_url(value)
            elif name in {"password", "sentinel_password"} and value is not None:
                value = MASK
            shown.append(f"{name}={value!r}")
        return f"RedisConfig({', '.join(shown)})"

    __str__ = __repr__

    @property
    def address(self) -> str:
        """The URL with passwords masked: what logs and errors name."""
        return mask_url(self.url)

    @property
    def sentinel(self) -> bool:
        """True when the URL names a Sentinel master (``master_name``)."""
        return not self.cluster and isinstance(_parse(self.url), _Sentinel)
