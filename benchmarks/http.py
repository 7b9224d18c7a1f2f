"""HTTP benchmark: the kit's server stack against bare Litestar on the same uvicorn, one run.

Method (prior-art-http-grpc.md §4.2): one server process holds every variant, each on its own
loopback port, same Python, same uvicorn settings (h11, no access log of uvicorn's, no server
header), same ``GET /ping`` handler. On a machine with two or more cores the server process is
pinned to core 0 and ``wrk`` to core 1. Windows are interleaved (the order rotates every
round), ``wrk -t1 -c64 --latency``; each figure is the median over the rounds. Ratios are
``rps(variant) / rps(bare)`` in the same run, so most machine noise cancels.

Variants (each adds to the one before, except ``generic-log``):

* ``bare``: ``uvicorn.Server`` + ``Litestar([ping], logging_config=None)``;
* ``kit-min``: ``HttpServer`` with ``HttpPlugin``; access log, body limit and timeout off
  (the correlation id, the probe dispatch and the last-resort 500 remain);
* ``kit-timeout``: + ``request_timeout=30`` (an ``asyncio.timeout`` per request);
* ``kit-no-log``: + the default body limit: the shipped config with ``access_log=False``;
* ``kit-full``: + the access line (fast path, written to ``/dev/null``): the shipped config;
* ``generic-log``: ``kit-no-log`` plus the same line through ``logging`` and the kit's
  python-json-logger formatter (what the fast path replaces), for comparison.

A micro-benchmark runs too: each variant's ASGI callable invoked in-process (no sockets) on
a synthetic ``GET /ping``, µs per request, median of 5 x 20,000 calls: the cost of each
layer without the server and the network.

The last line printed is one JSON object::

    {"benchmark": "http", "ratio_no_access_log": ..., "ratio_full": ..., "p99_ratio": ...,
     "non_2xx": ...}

Run: ``bash scripts/bench-tools.sh`` (installs wrk), then ``.venv/bin/python benchmarks/http.py``
(quick: 3 rounds x 5 s; ``--full``: 5 rounds x 8 s). Never run in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is sys.path[0], and "http.py" would shadow the standard
# library's http package that Litestar and uvicorn import.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, get

from service_pkg.http import ASGIApp, HttpPlugin, HttpServer, HttpServerConfig
from service_pkg.logs._formatters import KitJsonFormatter

VARIANTS = ("bare", "kit-min", "kit-timeout", "kit-no-log", "kit-full", "generic-log")
HOST = "127.0.0.1"


@get("/ping")
async def ping() -> str:
    return "ok"


def kit_config(variant: str) -> HttpServerConfig:
    minimal = {"access_log": False, "max_body_size": None, "request_timeout": None}
    steps: dict[str, dict[str, Any]] = {
        "kit-min": minimal,
        "kit-timeout": {**minimal, "request_timeout": 30.0},
        "kit-no-log": {"access_log": False, "request_timeout": 30.0},
        "kit-full": {"request_timeout": 30.0},
        "generic-log": {"access_log": False, "request_timeout": 30.0},
    }
    return HttpServerConfig(host=HOST, port=0, **steps[variant])


def generic_access_log(devnull: Any) -> Callable[[ASGIApp], ASGIApp]:
    """The naive access line: ``logger.info(extra=...)`` through the kit's JSON formatter."""
    logger = logging.getLogger("bench.generic_access")
    handler = logging.StreamHandler(devnull)
    handler.setFormatter(KitJsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def wrap(app: ASGIApp) -> ASGIApp:
        async def logged(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            began = time.perf_counter()
            status = [500]

            async def capture(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            await app(scope, receive, capture)
            agent = dict(scope["headers"]).get(b"user-agent", b"").decode("latin-1")
            logger.info(
                "request completed",
                extra={
                    "method": scope["method"],
                    "route": scope.get("path_template"),
                    "path": scope["path"],
                    "status": status[0],
                    "duration_ms": round((time.perf_counter() - began) * 1000, 3),
                    "user_agent": agent,
                },
            )

        return logged

    return wrap


def bare_app() -> Litestar:
    return Litestar([ping], logging_config=None)


def kit_app() -> Litestar:
    return Litestar([ping], plugins=[HttpPlugin()])


# -- server process --------------------------------------------------------------------


async def serve_all(devnull: Any) -> None:
    logging.getLogger("service_pkg.http.access").setLevel(logging.INFO)
    servers: list[HttpServer] = []
    ports: dict[str, int] = {}
    bare = uvicorn.Server(
        uvicorn.Config(
            bare_app(),
            host=HOST,
            port=0,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
    )
    bare_task = asyncio.create_task(bare.serve())
    while not bare.started:  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.01)
    ports["bare"] = bare.servers[0].sockets[0].getsockname()[1]
    for variant in VARIANTS[1:]:
        wrappers = [generic_access_log(devnull)] if variant == "generic-log" else []
        server = HttpServer(
            kit_app(), kit_config(variant), access_stream=devnull, wrappers=wrappers
        )
        await server.start()
        servers.append(server)
        ports[variant] = server.port
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.aclose()
    bare.should_exit = True
    await bare_task


# -- harness ---------------------------------------------------------------------------


@dataclass
class Window:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


@dataclass
class Series:
    windows: list[Window] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(w, attr) for w in self.windows))


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def parse_wrk(text: str) -> Window:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Window(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=_latency(text, "50"),
        p99_ms=_latency(text, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def pin(core: int) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core)]
    return []


def run_wrk(port: int, seconds: float) -> Window:
    wrk = shutil.which("wrk")
    assert wrk is not None, "wrk is missing: bash scripts/bench-tools.sh"
    out = subprocess.run(
        [
            *pin(1),
            wrk,
            "-t1",
            "-c64",
            f"-d{seconds:g}s",
            "--latency",
            f"http://{HOST}:{port}/ping",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(out)


# -- micro-benchmark -------------------------------------------------------------------


def micro(calls: int, repeats: int) -> dict[str, float]:
    """µs per in-process ASGI call of each variant's app (no sockets, no server)."""
    devnull = open(os.devnull, "w")  # noqa: SIM115, PTH123 - closed below
    logging.getLogger("service_pkg.http.access").setLevel(logging.INFO)
    apps: dict[str, Callable[[Any, Any, Any], Awaitable[None]]] = {"bare": bare_app()}
    for variant in VARIANTS[1:]:
        wrappers = [generic_access_log(devnull)] if variant == "generic-log" else []
        server = HttpServer(
            kit_app(), kit_config(variant), access_stream=devnull, wrappers=wrappers
        )
        apps[variant] = server._layer()  # noqa: SLF001 - the benchmark measures the layer alone
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: dict[str, Any]) -> None:
        return None

    async def measure(app: Callable[[Any, Any, Any], Awaitable[None]]) -> float:
        began = time.perf_counter()
        for _ in range(calls):
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/ping",
                "raw_path": b"/ping",
                "root_path": "",
                "query_string": b"",
                "headers": headers,
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80),
                "state": {},
            }
            await app(scope, receive, send)
        return (time.perf_counter() - began) / calls * 1e6

    async def main() -> dict[str, float]:
        for app in apps.values():  # warm up Litestar's caches
            await measure(app)
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(repeats):
            for name, app in apps.items():
                samples[name].append(await measure(app))
        return {name: statistics.median(values) for name, values in samples.items()}

    try:
        return asyncio.run(main())
    finally:
        devnull.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="5 rounds of 8 s windows")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        with open(os.devnull, "w") as devnull:  # noqa: PTH123
            asyncio.run(serve_all(devnull))
        return 0
    rounds, seconds = (5, 8.0) if args.full else (3, 5.0)

    print("micro (in-process ASGI call, µs/request, median of 5 x 20,000):")
    costs = micro(20_000, 5)
    for name, cost in costs.items():
        print(f"  {name:12} {cost:7.2f} µs   (+{cost - costs['bare']:6.2f} over bare)")

    child = subprocess.Popen(
        [*pin(0), sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    ports: dict[str, int] = json.loads(child.stdout.readline())
    series = {name: Series() for name in VARIANTS}
    try:
        for name in VARIANTS:  # warm-up
            run_wrk(ports[name], 2)
        for index in range(rounds):
            order = VARIANTS[index % len(VARIANTS) :] + VARIANTS[: index % len(VARIANTS)]
            for name in order:
                window = run_wrk(ports[name], seconds)
                series[name].windows.append(window)
                print(
                    f"round {index + 1} {name:12} {window.rps:9.0f} rps "
                    f"p50 {window.p50_ms:6.2f} ms p99 {window.p99_ms:6.2f} ms "
                    f"non-2xx {window.non_2xx} errors {window.errors}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()

    bare_rps = series["bare"].median("rps")
    bare_p99 = series["bare"].median("p99_ms")
    print(f"\nwrk -t1 -c64 -d{seconds:g}s, {rounds} rounds, medians (server on core 0, wrk on 1):")
    print(f"  {'variant':12} {'rps':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}  per-window rps")
    for name, s in series.items():
        rps = s.median("rps")
        every = " ".join(f"{w.rps:.0f}" for w in s.windows)
        print(
            f"  {name:12} {rps:9.0f} {rps / bare_rps:6.3f} {s.median('p50_ms'):7.2f} "
            f"{s.median('p99_ms'):7.2f}  {every}"
        )
    non_2xx = sum(w.non_2xx + w.errors for s in series.values() for w in s.windows)
    result = {
        "benchmark": "http",
        "ratio_no_access_log": round(series["kit-no-log"].median("rps") / bare_rps, 3),
        "ratio_full": round(series["kit-full"].median("rps") / bare_rps, 3),
        "p99_ratio": round(series["kit-full"].median("p99_ms") / bare_p99, 3),
        "non_2xx": non_2xx,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
