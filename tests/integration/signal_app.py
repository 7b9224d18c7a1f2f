"""A tiny service run as a child process by test_signals.py.

``python signal_app.py MODE`` where MODE is ``graceful`` (stops at once), ``hang`` (its stop
awaits forever), ``block`` (its stop blocks the event loop with time.sleep) or ``thread``
(a sync generator whose stop blocks its worker thread). It prints
``READY`` once started and ``STOPPED <reason>`` when its component's stop runs.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator

from dependency_injector import containers

from service_pkg import Application, Component


def main(mode: str) -> int:
    async def worker() -> AsyncIterator[str]:
        reason = yield "worker"
        print(f"STOPPED {getattr(reason, 'value', reason)}", flush=True)
        if mode == "hang":
            await asyncio.Event().wait()
        if mode == "block":
            time.sleep(30)

    def threaded() -> Iterator[str]:
        reason = yield "threaded"
        print(f"STOPPED {getattr(reason, 'value', reason)}", flush=True)
        time.sleep(30)

    class Service(containers.DeclarativeContainer):
        worker_ = Component(threaded if mode == "thread" else worker, stop_timeout=30)

    app = Application(Service(), shutdown_timeout=60)

    async def serve() -> int:
        async def announce() -> None:
            await app.readiness.wait_ready()
            print("READY", flush=True)

        announcer = asyncio.create_task(announce())
        try:
            return await app.serve()
        finally:
            announcer.cancel()

    return asyncio.run(serve())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
