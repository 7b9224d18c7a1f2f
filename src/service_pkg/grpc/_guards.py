"""Per-call guards as grpclib event listeners plus one handler wrapper.

* ``RecvRequest``: binds the correlation id, refuses calls while draining (``UNAVAILABLE``),
  counts in-flight calls and wraps ``method_func``: per-call timeout
  (``DEADLINE_EXCEEDED``) and unexpected exceptions (``INTERNAL``
  ``internal server error (<full method>)``, logged once with the stack).
* ``SendInitialMetadata``: the correlation id goes back in the initial metadata.
* ``SendTrailingMetadata``: in the trailers of a trailers-only (error) response too, and the
  access log line, which needs the final status: one msgspec-encoded JSON line through the
  shared fast path (``service_pkg._access_line``), not a ``logging`` record.
* The codec refuses oversized messages (``RESOURCE_EXHAUSTED``) on the bytes it encodes or
  decodes anyway, so the size checks cost no second serialization.

grpclib runs every request in its own task and fires ``SendTrailingMetadata`` after the
handler (and so our wrapper) returned, so per-call state lives in context variables set in the
``RecvRequest`` listener and never reset: the task's context ends with the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import IO, Any

from grpclib.const import Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.events import RecvRequest, SendInitialMetadata, SendTrailingMetadata, listen
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from service_pkg._access_line import LineWriter
from service_pkg.grpc._config import GrpcServerConfig
from service_pkg.logs._correlation import CORRELATION_ID, accepted_id, new_correlation_id

__all__ = ("ACCESS_LOGGER", "CORRELATION_KEY", "Guards", "LimitedCodec", "valid_correlation_id")

logger = logging.getLogger("service_pkg.grpc")
ACCESS_LOGGER = "service_pkg.grpc.access"

CORRELATION_KEY = "x-correlation-id"
"""Metadata key of the correlation id (lower case, as gRPC metadata keys are)."""

_ABORT = "service_pkg.grpc: the server stops"
# Not waited for by the drain: they last as long as the client keeps them open (grpclib's
# Health.Watch sleeps forever), so the final cancel ends them. Not access-logged either.
_INFRASTRUCTURE = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def valid_correlation_id(value: object) -> str | None:
    """``value`` if it is an acceptable incoming id (1-64 of ``[A-Za-z0-9._:-]``), else None."""
    if isinstance(value, str) and accepted_id(value):
        return value
    return None


class LimitedCodec(ProtoCodec):
    """grpclib's protobuf codec (betterproto messages too) with message size limits.

    ``encode`` runs for responses only and ``decode`` for requests only on a server, both
    inside the handler's task, so the ``GRPCError`` ends the call with that status.
    """

    def __init__(self, max_send: int | None, max_receive: int | None) -> None:
        self._max_send = max_send
        self._max_receive = max_receive

    def encode(self, message: Any, message_type: Any) -> bytes:
        """Serialize; a result over the send limit is ``RESOURCE_EXHAUSTED`` (Go wording)."""
        data = super().encode(message, message_type)
        if self._max_send is not None and len(data) > self._max_send:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"response too large: {len(data)} > {self._max_send}; use paging/streaming",
            )
        return data

    def decode(self, data: bytes, message_type: Any) -> Any:
        """Parse; a message over the receive limit is ``RESOURCE_EXHAUSTED`` (grpc-go wording)."""
        if self._max_receive is not None and len(data) > self._max_receive:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"received message larger than max ({len(data)} vs. {self._max_receive})",
            )
        return super().decode(data, message_type)


class _Call:
    """What the listeners of one call share."""

    __slots__ = ("correlation_id", "counted", "headers_sent", "logged", "method", "peer", "started")

    def __init__(self, method: str, correlation_id: str, peer: object, counted: bool) -> None:
        self.method = method
        self.correlation_id = correlation_id
        self.peer = peer
        self.counted = counted
        self.started = time.perf_counter()
        self.headers_sent = False
        self.logged = False


_CALL: ContextVar[_Call | None] = ContextVar("service_pkg_grpc_call", default=None)


class Guards:
    """The listeners of one server, and its drain state.

    Composable: other listeners (metrics, tracing) may be added to the same server with
    ``grpclib.events.listen`` before or after :meth:`install`. A ``RecvRequest`` listener
    added later wraps ``method_func`` outside ours; the final status of every call, ours
    included, is in ``SendTrailingMetadata.status``.

    Per call the hot path does no more than it must: one ``RecvRequest`` listener, the
    handler wrapper made once per method (not per call), one bound method as the task's done
    callback, and the access line through the shared msgspec fast path.
    """

    def __init__(
        self,
        config: GrpcServerConfig,
        *,
        access_stream: IO[str] | None = None,
        service: str | None = None,
    ) -> None:
        self._timeout = config.call_timeout
        self._access: LineWriter | None = (
            LineWriter(access_stream, ACCESS_LOGGER, "call completed", service)
            if config.access_log
            else None
        )
        self._draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # The running calls by task: the drain cancels them, the done callback finds its call.
        self._calls: dict[asyncio.Task[Any], _Call] = {}
        self._none_left = asyncio.Event()
        self._aborting = False
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    @property
    def in_flight(self) -> int:
        """Calls running now, health and reflection streams not counted."""
        return self._in_flight

    @property
    def draining(self) -> bool:
        """Whether new calls are refused."""
        return self._draining

    def install(self, server: Server) -> None:
        """Register the listeners on ``server`` (before it starts)."""
        listen(server, RecvRequest, self._on_request)
        listen(server, SendInitialMetadata, self._on_initial_metadata)
        listen(server, SendTrailingMetadata, self._on_trailing_metadata)

    def refuse_new_calls(self) -> None:
        """From now on every new call (health and reflection aside) gets ``UNAVAILABLE``."""
        self._draining = True

    async def wait_idle(self) -> None:
        """Return once no counted call runs."""
        await self._idle.wait()

    async def _on_request(self, event: RecvRequest) -> None:
        method = event.method_name
        counted = not method.startswith(_INFRASTRUCTURE)
        incoming = event.metadata.get(CORRELATION_KEY)
        correlation_id = valid_correlation_id(incoming) or new_correlation_id()
        CORRELATION_ID.set(correlation_id)
        call = _Call(method, correlation_id, event.peer, counted)
        _CALL.set(call)
        if counted and self._draining:
            raise GRPCError(Status.UNAVAILABLE, "server is shutting down; retry another replica")
        task = asyncio.current_task()
        if task is not None:
            # The request's task ends after grpclib sent the trailers: only then is the call
            # over for the drain (a close before that would cut the trailers off).
            self._calls[task] = call
            if counted:
                self._in_flight += 1
                self._idle.clear()
            task.add_done_callback(self._finished)
        method_func = event.method_func
        cached = self._wrapped.get(method)
        if cached is None or cached[0] is not method_func:
            cached = (method_func, self._wrap(method_func, method))
            self._wrapped[method] = cached
        event.method_func = cached[1]

    def _finished(self, task: asyncio.Task[Any]) -> None:
        call = self._calls.pop(task, None)
        if not self._calls:
            self._none_left.set()
        if call is None or not call.counted:
            return
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()
        if not call.logged:
            # Ended without trailers: the client reset the stream.
            self._log(call, "CANCELLED")

    def abort_calls(self) -> None:
        """End every running call (health watches too) with ``UNAVAILABLE`` trailers.

        grpclib's own close would cancel them without a word to the client, whose call then
        hangs until its deadline on the still-open connection.
        """
        self._aborting = True
        for task in self._calls:
            task.cancel(_ABORT)

    async def wait_aborted(self) -> None:
        """Return once every call's task has ended."""
        if self._calls:
            self._none_left.clear()
            await self._none_left.wait()

    def _wrap(self, method_func: Callable[[Any], Any], method: str) -> Any:
        timeout = self._timeout

        async def guarded(stream: Any) -> None:
            try:
                if timeout is None:
                    await method_func(stream)
                else:
                    async with asyncio.timeout(timeout):
                        await method_func(stream)
            except GRPCError:
                raise
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._aborting and task is not None and task.cancelling() == 1:
                    # Only our abort_calls() cancelled it: the call ends with a status the
                    # client can act on (retry elsewhere), instead of a silent cancel.
                    task.uncancel()
                    raise GRPCError(
                        Status.UNAVAILABLE,
                        "server stopped before the call finished; retry another replica",
                    ) from None
                raise
            except TimeoutError as exc:
                # Ours only: the client's deadline cancels the task, which is not a
                # TimeoutError inside this scope.
                raise GRPCError(
                    Status.DEADLINE_EXCEEDED,
                    f"deadline exceeded: the call ran longer than {timeout:g} s ({method})",
                ) from exc
            except Exception as exc:
                logger.exception("unexpected error in gRPC handler", extra={"rpc.method": method})
                raise GRPCError(Status.INTERNAL, f"internal server error ({method})") from exc

        return guarded

    async def _on_initial_metadata(self, event: SendInitialMetadata) -> None:
        call = _CALL.get()
        if call is not None:
            event.metadata[CORRELATION_KEY] = call.correlation_id
            call.headers_sent = True

    async def _on_trailing_metadata(self, event: SendTrailingMetadata) -> None:
        call = _CALL.get()
        if call is None:
            return
        if not call.headers_sent:
            # A trailers-only response (an error before any message): its one header block
            # is all the client gets, so the id travels there.
            event.metadata[CORRELATION_KEY] = call.correlation_id
        self._log(call, event.status.name)

    def _log(self, call: _Call, status: str) -> None:
        call.logged = True
        access = self._access
        if access is None or not call.counted or not access.enabled():
            return
        duration_ms = round((time.perf_counter() - call.started) * 1000, 3)
        record = access.head(call.correlation_id)
        record["rpc.method"] = call.method
        record["rpc.status_code"] = status
        record["duration_ms"] = duration_ms
        record["peer"] = _peer(call.peer)
        access.write(record)


def _peer(peer: Any) -> str | None:
    """``host:port`` of the client, from grpclib's public ``Peer.addr()``."""
    try:
        addr = peer.addr()
    except (AttributeError, OSError):
        return None
    if isinstance(addr, tuple) and len(addr) >= 2:  # noqa: PLR2004 - (host, port, ...)
        return f"{addr[0]}:{addr[1]}"
    return None if addr is None else str(addr)
