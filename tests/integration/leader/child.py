"""What the candidate scripts share: JSON event lines on stdout and an announced serve()."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from service_pkg import Application

PID = os.getpid()


def emit(event: str, **fields: object) -> None:
    """Print one JSON line ``{"ev", "pid", "t" = time.monotonic(), **fields}`` and flush."""
    line = {"ev": event, "pid": PID, "t": time.monotonic(), **fields}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def serve_announcing(app: Application) -> int:
    """``app.serve()``, emitting ``ready`` once the app is ready and ``exit`` at the end."""

    async def announce() -> None:
        await app.readiness.wait_ready()
        emit("ready")

    announcer = asyncio.create_task(announce())
    try:
        return await app.serve()
    finally:
        announcer.cancel()
        emit("exit")
