"""HTTP benchmark: the kit's server stack against bare Litestar on the same uvicorn, one run.

Method (prior-art-http-grpc.md §4.2): one server process holds every variant, each on its own
loopback port, same Python, same uvicorn settings (h11, no access log of uvicorn's, no server
header), same ``GET /ping`` handler. On a machine with two or more cores the server process is
pinned to core 0 (under ``SCHED_FIFO`` when run as root, so other processes cannot stall it
mid-window) and ``wrk`` to core 1. Windows are interleaved (the order rotates every
round), ``wrk -t1 -c64 --latency``; each figure is the median over the rounds. Ratios are
``rps(variant) / rps(bare)`` in the same run, so most machine noise cancels.

Variants (each adds to the one before, except ``generic-log``):

* ``bare``: ``uvicorn.Server`` + ``Litestar([ping], logging_config=None)``;
* ``kit-min``: ``HttpServer`` with ``HttpPlugin``; access log and body limit off (the
  correlation id, the probe dispatch and the last-resort 500 remain);
* ``kit-no-log``: + the default body limit: the shipped defaults with ``access_log=False``;
* ``kit-full``: + the access line (fast path, written to ``/dev/null``): the shipped defaults;
* ``kit-timeout``: ``kit-full`` + ``request_timeout=30`` (off by default);
* ``generic-log``: ``kit-no-log`` plus the same line through ``logging`` and the kit's
  python-json-logger formatter (what the fast path replaces), for comparison;
* ``kit-metrics``: ``kit-full`` plus ``service_pkg.metrics``' ``HttpMetricsMiddleware``: the
  metrics-on row of issue 14, read against ``kit-full`` (``metrics_ratio``, target ≥ 0.9).

Besides requests/s, the harness reads the server process's CPU time (``/proc/<pid>/stat``)
around every window: **server CPU µs per request** is far less sensitive to other load on
the machine than throughput, and ``cpu(bare) / cpu(variant)`` is the capacity ratio at
saturation.

A micro-benchmark runs too: each variant's ASGI callable invoked in-process (no sockets) on
a synthetic ``GET /ping``, µs per request, median of 5 x 20,000 calls: the cost of each
layer without the server and the network.

The last line printed is one JSON object::

    {"benchmark": "http", "ratio_no_access_log": ..., "ratio_full": ..., "p99_ratio": ...,
     "non_2xx": ..., "metrics_ratio": ...}

Run: ``bash scripts/bench-tools.sh`` (installs wrk), then ``.venv/bin/python benchmarks/http.py``
(quick: 7 rounds x 3 s; ``--full``: 9 rounds x 8 s). Never run in CI.
"""

from __future__ import annotations

import sys
import tempfile
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
from service_pkg.metrics import HttpMetricsMiddleware, KitMetrics

VARIANTS = (
    "bare",
    "kit-min",
    "kit-no-log",
    "kit-full",
    "kit-timeout",
    "generic-log",
    "kit-metrics",
)
HOST = "127.0.0.1"


@get("/ping")
async def ping() -> str:
    return "ok"


def kit_config(variant: str) -> HttpServerConfig:
    steps: dict[str, dict[str, Any]] = {
        "kit-min": {"access_log": False, "max_body_size": None},
        "kit-no-log": {"access_log": False},
        "kit-full": {},
        "kit-timeout": {"request_timeout": 30.0},
        "generic-log": {"access_log": False},
        "kit-metrics": {},
    }
    return HttpServerConfig(host=HOST, port=0, **steps[variant])


def variant_wrappers(variant: str, devnull: Any) -> list[Callable[[ASGIApp], ASGIApp]]:
    """The ``HttpServer(wrappers=...)`` of a variant."""
    if variant == "generic-log":
        return [generic_access_log(devnull)]
    if variant == "kit-metrics":
        kit = KitMetrics()
        return [lambda app: HttpMetricsMiddleware(app, kit)]
    return []


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
        wrappers = variant_wrappers(variant, devnull)
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
    cpu_us: float
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


def parse_wrk(text: str, cpu_seconds: float) -> Window:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    done = re.search(r"(\d+) requests in", text)
    requests = int(done.group(1)) if done else 0
    return Window(
        rps=float(rps.group(1)) if rps else 0.0,
        cpu_us=cpu_seconds / requests * 1e6 if requests else float("nan"),
        p50_ms=_latency(text, "50"),
        p99_ms=_latency(text, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def pin(core: int, *, realtime: bool = False) -> list[str]:
    """Pin to ``core``; with ``realtime``, also run under ``SCHED_FIFO`` when allowed (root).

    Real-time priority keeps other processes on a shared machine from stalling the server
    mid-window (they showed up as p99 outliers); both stacks run in the same server process,
    so both get the same treatment, and the kernel's RT throttling leaves 5 % of the core.
    """
    prefix: list[str] = []
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        prefix += ["taskset", "-c", str(core)]
    if realtime and os.geteuid() == 0 and shutil.which("chrt"):
        prefix += ["chrt", "-f", "10"]
    return prefix


def cpu_time(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, seconds: float, pid: int) -> Window:
    wrk = shutil.which("wrk")
    assert wrk is not None, "wrk is missing: bash scripts/bench-tools.sh"
    before = cpu_time(pid)
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
    return parse_wrk(out, cpu_time(pid) - before)


# -- micro-benchmark -------------------------------------------------------------------


def ping_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """A fresh ASGI scope of ``GET /ping`` as uvicorn builds it."""
    return {
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


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_: dict[str, Any]) -> None:
    return None


async def _measure(app: Callable[[Any, Any, Any], Awaitable[None]], calls: int) -> float:
    """µs per call of ``app`` on a fresh ``GET /ping`` scope."""
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")]
    began = time.perf_counter()
    for index in range(calls):
        if index % 64 == 0:
            # Let the loop run, as a server's does between requests: it drops the
            # cancelled timer handles request timeouts leave in its heap.
            await asyncio.sleep(0)
        await app(ping_scope(headers), _receive, _send)
    return (time.perf_counter() - began) / calls * 1e6


def micro(calls: int, repeats: int) -> dict[str, float]:
    """µs per in-process ASGI call of each variant's app (no sockets, no server)."""
    devnull = open(os.devnull, "w")  # noqa: SIM115, PTH123 - closed below
    logging.getLogger("service_pkg.http.access").setLevel(logging.INFO)
    apps: dict[str, Callable[[Any, Any, Any], Awaitable[None]]] = {"bare": bare_app()}
    for variant in VARIANTS[1:]:
        wrappers = variant_wrappers(variant, devnull)
        server = HttpServer(
            kit_app(), kit_config(variant), access_stream=devnull, wrappers=wrappers
        )
        apps[variant] = server._layer()  # noqa: SLF001 - the benchmark measures the layer alone

    async def main() -> dict[str, float]:
        for app in apps.values():  # warm up Litestar's caches
            await _measure(app, calls)
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(repeats):
            for name, app in apps.items():
                samples[name].append(await _measure(app, calls))
        return {name: statistics.median(values) for name, values in samples.items()}

    try:
        return asyncio.run(main())
    finally:
        devnull.close()


def _group(filename: str, function: str) -> str:
    if "service_pkg/http" in filename:
        return f"service_pkg.http ({Path(filename).name})"
    if "service_pkg/logs" in filename or "base64" in filename:
        return "service_pkg.logs (xid)"
    if "litestar" in filename:
        return "litestar"
    if filename == "~":
        return "builtins (msgspec)" if "msgspec" in function else "builtins (other)"
    return "other stdlib (asyncio, time, ...)"


def profile(calls: int) -> None:
    """Where a kit-full request's in-process time goes, grouped by package (cProfile tottime)."""
    import cProfile  # noqa: PLC0415 - only for --profile
    import pstats  # noqa: PLC0415

    devnull = open(os.devnull, "w")  # noqa: SIM115, PTH123 - closed below
    logging.getLogger("service_pkg.http.access").setLevel(logging.INFO)
    server = HttpServer(kit_app(), kit_config("kit-full"), access_stream=devnull)
    layer = server._layer()  # noqa: SLF001 - the benchmark profiles the layer alone
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"wrk")]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: dict[str, Any]) -> None:
        return None

    async def run(n: int) -> None:
        for _ in range(n):
            await layer(ping_scope(headers), receive, send)

    async def main() -> None:
        await run(2000)
        profiler = cProfile.Profile()
        profiler.enable()
        await run(calls)
        profiler.disable()
        stats = pstats.Stats(profiler)
        groups: dict[str, float] = {}
        for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
            group = _group(filename, function)
            groups[group] = groups.get(group, 0.0) + row[2]
        total = sum(groups.values())
        print(f"profile of kit-full, in-process, {calls} requests (cProfile inflates small calls):")
        for group, seconds in sorted(groups.items(), key=lambda item: -item[1]):
            print(f"  {group:40} {seconds / calls * 1e6:7.2f} µs  {seconds / total:6.1%}")

    try:
        asyncio.run(main())
    finally:
        devnull.close()


def instructions(calls: int) -> int:
    """Server instructions per request of every variant (``benchmarks/_callgrind.py``)."""
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # last: the stdlib's http wins
    from benchmarks._callgrind import Callgrind  # noqa: PLC0415 - only this mode needs it

    with tempfile.TemporaryDirectory() as scratch:
        per_request = Callgrind(Path(scratch) / "server.out").per_variant(
            [sys.executable, __file__, "--serve"],
            lambda port: ["--h1", "-m", "1", f"http://{HOST}:{port}/ping"],
            calls,
        )
    print(f"server instructions per request under callgrind, {calls} per variant")
    for name, value in per_request.items():
        print(f"  {name:12} {value:>12,.0f}  ratio {per_request['bare'] / value:.3f}")
    ratios = {name: round(per_request["bare"] / value, 3) for name, value in per_request.items()}
    metrics = round(per_request["kit-full"] / per_request["kit-metrics"], 3)
    print(
        json.dumps(
            {"benchmark": "http-instructions", "calls": calls, **ratios, "metrics_ratio": metrics}
        )
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="9 rounds of 8 s windows")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile", action="store_true", help="only the grouped profile of kit-full"
    )
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="count the server's instructions per request under callgrind over N per variant",
    )
    args = parser.parse_args()
    if args.instructions:
        return instructions(args.instructions)
    if args.profile:
        profile(20_000)
        return 0
    if args.serve:
        with open(os.devnull, "w") as devnull:  # noqa: PTH123
            asyncio.run(serve_all(devnull))
        return 0
    rounds, seconds = (9, 8.0) if args.full else (7, 3.0)

    print("micro (in-process ASGI call, µs/request, median of 5 x 20,000):")
    costs = micro(20_000, 5)
    for name, cost in costs.items():
        print(f"  {name:12} {cost:7.2f} µs   (+{cost - costs['bare']:6.2f} over bare)")

    child = subprocess.Popen(
        [*pin(0, realtime=True), sys.executable, __file__, "--serve"],
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
            run_wrk(ports[name], 2, child.pid)
        for index in range(rounds):
            order = VARIANTS[index % len(VARIANTS) :] + VARIANTS[: index % len(VARIANTS)]
            for name in order:
                window = run_wrk(ports[name], seconds, child.pid)
                series[name].windows.append(window)
                print(
                    f"round {index + 1} {name:12} {window.rps:9.0f} rps "
                    f"p50 {window.p50_ms:6.2f} ms p99 {window.p99_ms:6.2f} ms "
                    f"cpu {window.cpu_us:6.1f} µs/req "
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
    bare_cpu = series["bare"].median("cpu_us")
    print(f"\nwrk -t1 -c64 -d{seconds:g}s, {rounds} rounds, medians (server on core 0, wrk on 1):")
    print(
        f"  {'variant':12} {'rps':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu µs':>7} {'cpu ratio':>9}  per-window rps | cpu µs/req"
    )
    for name, s in series.items():
        rps, cpu = s.median("rps"), s.median("cpu_us")
        every = " ".join(f"{w.rps:.0f}" for w in s.windows)
        every_cpu = " ".join(f"{w.cpu_us:.0f}" for w in s.windows)
        print(
            f"  {name:12} {rps:7.0f} {rps / bare_rps:6.3f} {s.median('p50_ms'):7.2f} "
            f"{s.median('p99_ms'):7.2f} {cpu:7.1f} {bare_cpu / cpu:9.3f}  {every} | {every_cpu}"
        )
    non_2xx = sum(w.non_2xx + w.errors for s in series.values() for w in s.windows)
    result = {
        "benchmark": "http",
        "ratio_no_access_log": round(series["kit-no-log"].median("rps") / bare_rps, 3),
        "ratio_full": round(series["kit-full"].median("rps") / bare_rps, 3),
        "p99_ratio": round(series["kit-full"].median("p99_ms") / bare_p99, 3),
        "non_2xx": non_2xx,
        "cpu_ratio_no_access_log": round(bare_cpu / series["kit-no-log"].median("cpu_us"), 3),
        "cpu_ratio_full": round(bare_cpu / series["kit-full"].median("cpu_us"), 3),
        "metrics_ratio": round(
            series["kit-metrics"].median("rps") / series["kit-full"].median("rps"), 3
        ),
        "cpu_metrics_ratio": round(
            series["kit-full"].median("cpu_us") / series["kit-metrics"].median("cpu_us"), 3
        ),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
