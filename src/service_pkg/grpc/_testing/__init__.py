"""A small gRPC service the kit's tests, benchmarks and docs run against (not public API).

``EchoService`` implements ``servicepkg.testing.v1.Echo`` (``protos/``, generated code in
``gen/``): it answers with the request's message after ``sleep_ms``, with ``reply_bytes`` of
payload, and raises an unexpected error when ``fail`` is set. ``ECHO_DESCRIPTORS`` is the
descriptor set reflection needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from service_pkg.grpc._testing.gen.servicepkg.testing.v1 import (
    EchoBase,
    EchoReply,
    EchoRequest,
    EchoStub,
)
from service_pkg.logs import get_correlation_id

__all__ = ("ECHO_DESCRIPTORS", "EchoReply", "EchoRequest", "EchoService", "EchoStub")

ECHO_DESCRIPTORS = Path(__file__).with_name("gen") / "descriptors.binpb"


class EchoFailedError(RuntimeError):
    """What a ``fail=True`` request raises: an unexpected handler error."""


class EchoService(EchoBase):
    """``servicepkg.testing.v1.Echo``; counts the calls it finished in ``finished``."""

    def __init__(self) -> None:
        self.finished = 0

    async def echo(self, echo_request: EchoRequest) -> EchoReply:
        """Sleep, fail or answer, as the request says."""
        if echo_request.sleep_ms:
            await asyncio.sleep(echo_request.sleep_ms / 1000)
        if echo_request.fail:
            raise EchoFailedError("echo asked to fail: boom-7f3a")
        self.finished += 1
        return EchoReply(
            message=echo_request.message,
            payload=b"x" * echo_request.reply_bytes,
            correlation_id=get_correlation_id() or "",
        )

    async def echo_stream(self, echo_request: EchoRequest) -> AsyncIterator[EchoReply]:
        """``reply_bytes`` replies, one per ``sleep_ms``."""
        for index in range(echo_request.reply_bytes):
            if echo_request.sleep_ms:
                await asyncio.sleep(echo_request.sleep_ms / 1000)
            yield EchoReply(message=f"{echo_request.message} {index}")
        self.finished += 1
