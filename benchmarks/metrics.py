"""Metrics benchmark: what ``service_pkg.metrics`` costs, against the same stack without it.

Six parts, every A/B pair interleaved (A, B, B, A, ...) in one run, medians reported:

* ``scheduler``: CPU per 1,000 runs of the kit's scheduler, 10,000 no-op jobs, tick 1 s,
  aligned, in fresh subprocesses pinned to core 1 and, as root, under ``SCHED_FIFO`` (the
  method of ``benchmarks/scheduler.py``): ``bare`` (nobody listens: no ``JobRun`` is built;
  the scheduler still keeps its per-job counters and histograms), ``noop`` (one no-op
  subscriber: the cost of building and delivering a ``JobRun`` per run, for comparison) and
  ``metrics`` (the metrics as the ``metrics`` and ``scheduler_metrics`` components wire them:
  ``KitMetrics.subscribe_to(bus)``, which takes no ``JobRun``, and
  ``KitMetrics.watch_scheduler(scheduler)``; the scrape of the 10,000 jobs is timed after the
  window). ``--baseline DIR`` adds ``baseline``: the ``bare`` child of another tree
  (``DIR/benchmarks/metrics.py`` with ``DIR/src`` first on the path, e.g. a ``git archive``
  of the commit before a change), to see what the scheduler's own bookkeeping costs;
  ``--variants bare,baseline`` runs only those. Target: metrics <= 1.2x bare.
* ``scrape``: one ``/metrics`` with 50 routes x 10 status codes of
  ``http_server_request_duration_seconds`` (500 histogram series) plus the lifecycle, job and
  leader series of a small application: ``KitMetrics.exposition()`` in-process,
  prometheus-client's ``generate_latest`` of the same registry (for comparison), the ASGI app
  called directly, and a GET through the standalone exporter over loopback. Target < 20 ms.
* ``asgi``: a Litestar ``GET /ping`` called in-process through ASGI (no server, no network),
  bare against ``HttpMetricsMiddleware(app)``, in CPU time of the process: the strictest
  ratio (nothing but Litestar in the denominator) and the added microseconds per request.
* ``http``: requests/s of the same pair served by uvicorn (h11, asyncio loop: what the venv
  has) in two subprocesses on core 0 (as root under ``SCHED_FIFO``), ``wrk -t1 -c64`` on
  core 1, and each server's CPU time per request over the window (/proc). Target >= 0.90x
  bare (``http_ratio`` by requests/s, ``http_cpu_ratio`` by CPU per request).
* ``grpc-inproc``: grpclib ``Health/Check`` calls, both servers and their clients in this
  process, CPU time per call (client and server both in it: the ratio is milder than a
  server-only one, the added microseconds are the listeners' cost).
* ``grpc``: RPCs/s of grpclib's ``Health/Check`` served in two subprocesses on core 0 (as
  root under ``SCHED_FIFO``), ``h2load -c8 -m8`` on core 1, bare server against one with
  ``instrument_grpc_server``, and each server's CPU time per call. Target >= 0.90x.

The last stdout line is one JSON object ``{"benchmark": "metrics", ...}``.

Run: ``.venv/bin/python benchmarks/metrics.py`` (about 4 minutes); ``--parts scrape,asgi,http``
for a subset; ``--reps N`` (default 5). Needs ``wrk`` and ``h2load`` (apt ``wrk``,
``nghttp2-client``) for the http and grpc parts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
# Last, so installed packages and the standard library win: for benchmarks._callgrind.
sys.path.append(str(HERE.parents[1]))
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
JOBS = 10_000
WARMUP = 1.5
WINDOW = 4.0
LOAD_SECONDS = 5
TARGETS = {
    "scheduler_ratio": 1.2,
    "scrape_ms": 20.0,
    "http_ratio": 0.9,
    "grpc_ratio": 0.9,
    "http_cpu_ratio": 0.9,
    "grpc_cpu_ratio": 0.9,
}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def pin(core: int) -> bool:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})
        return True
    return False


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- scheduler ----------------------------------------------------------------------------


async def scheduler_child(variant: str) -> dict[str, float]:
    from service_pkg.events import EventBus  # noqa: PLC0415 - child process only
    from service_pkg.metrics import KitMetrics  # noqa: PLC0415
    from service_pkg.scheduler import Every, JobConfig, RunContext, Scheduler  # noqa: PLC0415

    bus = EventBus()
    kit = KitMetrics()
    if variant == "noop":
        bus.subscribe(lambda _event: None)
    elif variant == "metrics":
        kit.subscribe_to(bus)  # what the metrics component does
    sched = Scheduler(events=bus) if variant != "bare" else Scheduler()
    if variant == "metrics":
        kit.watch_scheduler(sched)  # what scheduler_metrics does
    counted = [0]
    window = [0.0, 0.0]
    mono = time.monotonic

    async def body(_ctx: RunContext) -> None:
        now = mono()
        if window[0] <= now < window[1]:
            counted[0] += 1

    for i in range(JOBS):
        sched.add(JobConfig(name=f"j{i}", func=body, trigger=Every(1.0)))
    anchor = mono()  # Every(1.0) slots fall on anchor + k (k >= 0), give or take the start
    await sched.start()
    # Window edges half-way between slots, so no slot's burst straddles an edge.
    window[0] = anchor + math.ceil(WARMUP) + 0.5
    window[1] = window[0] + WINDOW
    await asyncio.sleep(window[0] - mono())
    c0 = cpu_seconds()
    await asyncio.sleep(window[1] - mono())
    c1 = cpu_seconds()
    scrape_ms, stats_ms, lines = 0.0, 0.0, 0
    if variant == "metrics":
        # Right after the window, half-way between two slots: nothing else runs meanwhile.
        began = time.perf_counter()
        text = kit.exposition()
        scrape_ms = (time.perf_counter() - began) * 1e3
        lines = text.count(b"\n")
        began = time.perf_counter()
        sched.stats()
        stats_ms = (time.perf_counter() - began) * 1e3
    await asyncio.sleep(0.6)
    await sched.stop()
    runs = counted[0]
    cpu = (c1 - c0) * 1e3 / runs * 1e3 if runs else 0.0
    return {
        "runs": runs,
        "cpu_ms_per_1k": cpu,
        "scrape_ms": scrape_ms,
        "stats_ms": stats_ms,
        "scrape_lines": lines,
    }


def _realtime() -> None:
    """In a child before its exec: core 1 and, when allowed (root), SCHED_FIFO.

    Set here rather than in the child's own code so a baseline tree's child gets the same
    treatment. On a shared machine a neighbour's time slice would otherwise land on
    whichever variant runs; the kernel's RT throttling still leaves 5 % to everything else.
    """
    pin(1)
    with contextlib.suppress(PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))


def run_scheduler(
    reps: int, baseline: Path | None = None, only: Sequence[str] = ()
) -> dict[str, Any]:
    variants: tuple[str, ...] = ("bare", "noop", "metrics")
    if baseline is not None:
        variants = ("baseline", *variants)
    if only:
        variants = tuple(v for v in variants if v in only)
    results: dict[str, list[float]] = {v: [] for v in variants}
    scrapes: list[float] = []
    stats_ms: list[float] = []
    lines = 0
    for rep in range(reps):
        order = variants if rep % 2 == 0 else tuple(reversed(variants))
        for variant in order:
            env = None
            command = [sys.executable, "-P", str(HERE), "--child-scheduler", variant]
            if variant == "baseline":
                assert baseline is not None
                script = baseline / "benchmarks" / "metrics.py"
                command = [sys.executable, "-P", str(script), "--child-scheduler", "bare"]
                env = {**os.environ, "PYTHONPATH": str(baseline / "src")}
            out = subprocess.run(  # preexec_fn: the driver has no threads
                command,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
                env=env,
                preexec_fn=_realtime,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            results[variant].append(figures["cpu_ms_per_1k"])
            if variant == "metrics":
                scrapes.append(figures["scrape_ms"])
                stats_ms.append(figures["stats_ms"])
                lines = figures["scrape_lines"]
            log(f"scheduler {variant} rep {rep}: {figures}")
    medians = {v: statistics.median(xs) for v, xs in results.items()}
    summary: dict[str, Any] = {"runs": results, "median": medians}
    for a, b in (
        ("metrics", "bare"),
        ("noop", "bare"),
        ("bare", "baseline"),
        ("metrics", "baseline"),
    ):
        if a in medians and b in medians:
            summary[f"{a}_vs_{b}"] = medians[a] / medians[b]
    if scrapes:
        summary["scrape_10k_jobs_ms"] = statistics.median(scrapes)
        summary["scrape_10k_jobs_all_ms"] = scrapes
        summary["stats_10k_jobs_ms"] = statistics.median(stats_ms)
        summary["scrape_10k_jobs_lines"] = lines
    return summary


# -- scrape -------------------------------------------------------------------------------


def populated_kit() -> Any:
    from service_pkg.app import RunState, ShutdownReason  # noqa: PLC0415
    from service_pkg.events import (  # noqa: PLC0415
        ComponentStarted,
        ComponentStopped,
        JobOutcome,
        LeadershipChanged,
    )
    from service_pkg.leader import LeaderEvent  # noqa: PLC0415
    from service_pkg.metrics import KitMetrics  # noqa: PLC0415
    from service_pkg.scheduler import (  # noqa: PLC0415
        DEFAULT_JOB_BUCKETS,
        JobStats,
        SchedulerState,
        SchedulerStats,
        Timing,
    )

    kit = KitMetrics()
    kit.seed(RunState.RUNNING, ready=True)
    statuses = (200, 201, 204, 301, 400, 401, 403, 404, 409, 500)
    for r in range(50):
        for status in statuses:
            child = kit.http_duration.child("GET", f"/api/v1/resource{r}/{{id}}", str(status), "")
            for i in range(5):
                child.observe(0.001 * (i + 1) * (r % 7 + 1))
    for name in ("redis", "db", "election", "jobs", "http", "grpc"):
        kit.observe(ComponentStarted(component=name, duration=0.05))
        kit.observe(ComponentStopped(component=name, duration=0.01, reason=ShutdownReason.SIGNAL))
    kit.observe(
        LeadershipChanged(election="cron", event=LeaderEvent.TAKEN, epoch=3, reason="acquired")
    )
    # Ten jobs, each with one ok run, one failed run and one skipped slot, as a scheduler's
    # stats report them (the scheduler_metrics component reads Scheduler.stats()).
    buckets = (0, 1) + (0,) * (len(DEFAULT_JOB_BUCKETS) - 1)
    late = (2,) + (0,) * len(DEFAULT_JOB_BUCKETS)
    ran = Timing(count=1, total=0.05, max=0.05, last=0.05, buckets=buckets)
    job_stats = {
        f"job{j}": JobStats(
            name=f"job{j}",
            runs=2,
            succeeded=1,
            failed=1,
            skipped=1,
            lateness=Timing(count=2, total=0.004, max=0.002, last=0.002, buckets=late),
            durations={JobOutcome.OK: ran, JobOutcome.FAILED: ran},
        )
        for j in range(10)
    }

    class Jobs:
        def stats(self) -> SchedulerStats:
            return SchedulerStats(
                name="main",
                state=SchedulerState.RUNNING,
                jobs=job_stats,
                job_buckets=DEFAULT_JOB_BUCKETS,
            )

    kit.watch_scheduler(Jobs())
    return kit


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1e3)
    return out


async def scrape_asgi(app: Any) -> bytes:
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/metrics",
        "query_string": b"",
        "headers": [],
    }
    await app(scope, receive, send)
    return bytes(body)


async def scrape_exporter(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await reader.read()
    writer.close()
    return data


async def run_scrape(n: int = 40) -> dict[str, Any]:
    from prometheus_client import generate_latest  # noqa: PLC0415

    from service_pkg.metrics import ExporterConfig, MetricsExporter, metrics_asgi_app  # noqa: PLC0415

    kit = populated_kit()
    size = len(kit.exposition())
    lines = kit.exposition().count(b"\n")
    direct = timed(kit.exposition, n)
    # prometheus-client's own rendering of the same registry, for comparison.
    reference = timed(lambda: generate_latest(kit.registry), max(n // 4, 3))
    app = metrics_asgi_app(kit)
    asgi_ms = []
    for _ in range(n):
        began = time.perf_counter()
        await scrape_asgi(app)
        asgi_ms.append((time.perf_counter() - began) * 1e3)
    exporter_ms = []
    async with MetricsExporter(kit, ExporterConfig(host="127.0.0.1", port=0)) as exporter:
        for _ in range(n):
            began = time.perf_counter()
            await scrape_exporter(exporter.port)
            exporter_ms.append((time.perf_counter() - began) * 1e3)
    return {
        "bytes": size,
        "lines": lines,
        "exposition_ms": statistics.median(direct),
        "exposition_max_ms": max(direct),
        "prometheus_client_generate_latest_ms": statistics.median(reference),
        "asgi_ms": statistics.median(asgi_ms),
        "exporter_ms": statistics.median(exporter_ms),
        "exporter_max_ms": max(exporter_ms),
    }


# -- HTTP ---------------------------------------------------------------------------------


def litestar_app(variant: str) -> Any:
    from litestar import Litestar, get  # noqa: PLC0415

    from service_pkg.metrics import HttpMetricsMiddleware, KitMetrics  # noqa: PLC0415

    @get("/ping", sync_to_thread=False)
    def ping() -> str:
        return "ok"

    app = Litestar([ping], logging_config=None)
    return HttpMetricsMiddleware(app, KitMetrics()) if variant == "metrics" else app


def fifo() -> None:
    """Real-time priority when allowed (root), as benchmarks/grpc.py gives its server.

    On a shared machine a neighbour's time slice would otherwise land on whichever variant is
    under load; both servers get it. The kernel's RT throttling leaves 5 % to the rest.
    """
    with contextlib.suppress(PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_http(variant: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415

    fifo()

    config = uvicorn.Config(
        litestar_app(variant),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    print("ready", flush=True)
    server.run()


def serve_grpc(variant: str, port: int) -> None:
    from grpclib.health.service import Health  # noqa: PLC0415
    from grpclib.server import Server  # noqa: PLC0415

    from service_pkg.metrics import KitMetrics, instrument_grpc_server  # noqa: PLC0415

    fifo()

    async def main() -> None:
        server = Server([Health()])
        if variant == "metrics":
            instrument_grpc_server(server, KitMetrics())
        await server.start("127.0.0.1", port)
        print("ready", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


@contextlib.contextmanager
def server(
    kind: str, variant: str, prefix: Sequence[str] | None = None
) -> Iterator[tuple[int, int]]:
    """A server subprocess (on core 0 unless ``prefix`` says otherwise): its port and pid."""
    port = free_port()
    if prefix is None:
        pinned = shutil.which("taskset") and (os.cpu_count() or 1) > 1
        prefix = ["taskset", "-c", "0"] if pinned else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-P", str(HERE), f"--serve-{kind}", variant, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"{kind} server did not start: {line!r}")
        deadline = time.monotonic() + 120  # generous: valgrind starts a server slowly
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, proc.pid  # taskset execs the server: the same pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_prefix() -> list[str]:
    return ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def wrk(port: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        [
            *load_prefix(),
            "wrk",
            "-t1",
            "-c64",
            f"-d{seconds}s",
            "--latency",
            f"http://127.0.0.1:{port}/ping",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": done, "non_2xx": float(non2xx.group(1)) if non2xx else 0.0}


def h2load(port: int, seconds: int, body: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            *load_prefix(),
            "h2load",
            "-D",
            str(seconds),
            "-c",
            "8",
            "-m",
            "8",
            "-H",
            "content-type:application/grpc",
            "-H",
            "te:trailers",
            "-d",
            str(body),
            f"http://127.0.0.1:{port}{HEALTH_CHECK}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    failed = re.search(r"(\d+) failed", out)
    return {
        "rps": rps,
        "requests": float(done.group(1)) if done else 0.0,
        "failed": float(failed.group(1)) if failed else 0.0,
    }


def run_instructions(kind: str, calls: int) -> dict[str, Any]:
    """Server instructions per request under callgrind, bare and metrics, one process each.

    ``benchmarks/_callgrind.py`` has the method: the count does not move with the machine's
    other load (requests/s and CPU time do, by more than the 10 % being measured here).
    """
    from benchmarks._callgrind import Callgrind  # noqa: PLC0415 - only this mode needs it

    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "req.bin"
        body.write_bytes(b"\x00\x00\x00\x00\x00")
        for variant in ("bare", "metrics"):
            grind = Callgrind(Path(tmp) / f"{kind}-{variant}.out")
            with server(kind, variant, grind.command()) as (port, pid):
                if kind == "http":
                    send = ["--h1", "-m", "1", f"http://127.0.0.1:{port}/ping"]
                else:
                    send = ["-m", "8", "-d", str(body), "-H", "content-type:application/grpc"]
                    send += ["-H", "te:trailers", f"http://127.0.0.1:{port}{HEALTH_CHECK}"]
                per_request[variant] = grind.per_request(pid, variant, send, calls)
    return {
        "calls": calls,
        "instructions_per_request": {k: round(v) for k, v in per_request.items()},
        "ratio": round(per_request["bare"] / per_request["metrics"], 3),
    }


def run_pair(kind: str, reps: int, measure: Callable[[int], dict[str, float]]) -> dict[str, Any]:
    """Both servers run at once (core 0), loaded one at a time, alternating A B B A ...

    Besides the load generator's rate, the server's own CPU time per request over each window
    (from /proc): steadier than requests/s when other processes share the machine.
    """
    results: dict[str, list[dict[str, float]]] = {"bare": [], "metrics": []}
    with server(kind, "bare") as bare, server(kind, "metrics") as metrics:
        servers = {"bare": bare, "metrics": metrics}
        for port, _ in servers.values():
            measure(port)  # warm-up, discarded
        for rep in range(reps):
            order = ("bare", "metrics") if rep % 2 == 0 else ("metrics", "bare")
            for variant in order:
                port, pid = servers[variant]
                before = process_cpu(pid)
                figures = measure(port)
                used = process_cpu(pid) - before
                figures["cpu_us_per_request"] = used / figures["requests"] * 1e6
                results[variant].append(figures)
                log(f"{kind} {variant} rep {rep}: {figures}")
    med = {v: statistics.median(r["rps"] for r in rs) for v, rs in results.items()}
    cpu = {v: statistics.median(r["cpu_us_per_request"] for r in rs) for v, rs in results.items()}
    pairs = [m["rps"] / b["rps"] for b, m in zip(results["bare"], results["metrics"], strict=True)]
    return {
        "runs": results,
        "median_rps": med,
        "ratio": med["metrics"] / med["bare"],
        "pair_ratios": pairs,
        "median_pair_ratio": statistics.median(pairs),
        "median_cpu_us_per_request": cpu,
        "cpu_ratio": cpu["bare"] / cpu["metrics"],
        "cpu_added_us": cpu["metrics"] - cpu["bare"],
    }


async def asgi_rps(app: Any, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/ping",
        "raw_path": b"/ping",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"t")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    # CPU time of this process, not wall time: other processes on the box (the machine is
    # shared) then do not count against either variant.
    began = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return n / (time.process_time() - began)


async def run_asgi(reps: int, n: int = 5_000) -> dict[str, Any]:
    apps = {v: litestar_app(v) for v in ("bare", "metrics")}
    for app in apps.values():
        await asgi_rps(app, 2_000)
    results: dict[str, list[float]] = {"bare": [], "metrics": []}
    for rep in range(reps * 4):  # short alternating chunks: drift hits both alike
        order = ("bare", "metrics") if rep % 2 == 0 else ("metrics", "bare")
        for variant in order:
            results[variant].append(await asgi_rps(apps[variant], n))
    med = {v: statistics.median(xs) for v, xs in results.items()}
    per_request_us = (1 / med["metrics"] - 1 / med["bare"]) * 1e6
    return {
        "runs": results,
        "median_rps": med,
        "ratio": med["metrics"] / med["bare"],
        "added_us": per_request_us,
    }


async def run_grpc_inprocess(reps: int, n: int = 1_000) -> dict[str, Any]:
    """Both servers and their clients in this process: CPU time per call, alternating."""
    from grpclib.client import Channel  # noqa: PLC0415
    from grpclib.health.service import Health  # noqa: PLC0415
    from grpclib.health.v1.health_grpc import HealthStub  # noqa: PLC0415
    from grpclib.health.v1.health_pb2 import HealthCheckRequest  # noqa: PLC0415
    from grpclib.server import Server  # noqa: PLC0415

    from service_pkg.metrics import KitMetrics, instrument_grpc_server  # noqa: PLC0415

    servers, stubs, channels = [], {}, []
    for variant in ("bare", "metrics"):
        srv = Server([Health()])
        if variant == "metrics":
            instrument_grpc_server(srv, KitMetrics())
        port = free_port()
        await srv.start("127.0.0.1", port)
        channel = Channel("127.0.0.1", port)
        servers.append(srv)
        channels.append(channel)
        stubs[variant] = HealthStub(channel)
    request = HealthCheckRequest()
    results: dict[str, list[float]] = {"bare": [], "metrics": []}
    for stub in stubs.values():
        for _ in range(200):
            await stub.Check(request)
    for rep in range(reps * 2):
        order = ("bare", "metrics") if rep % 2 == 0 else ("metrics", "bare")
        for variant in order:
            began = time.process_time()
            for _ in range(n):
                await stubs[variant].Check(request)
            results[variant].append((time.process_time() - began) / n * 1e6)
    for channel in channels:
        channel.close()
    for srv in servers:
        srv.close()
        await srv.wait_closed()
    med = {v: statistics.median(xs) for v, xs in results.items()}
    return {
        "us_per_call": results,
        "median_us": med,
        "added_us": med["metrics"] - med["bare"],
        "ratio": med["bare"] / med["metrics"],
    }


# -- driver -------------------------------------------------------------------------------


def scheduler_summary(sched: dict[str, Any]) -> dict[str, Any]:
    """The scheduler part's keys of the final JSON line."""
    summary: dict[str, Any] = {"scheduler_cpu_ms_per_1k": sched["median"]}
    for key, name in (
        ("metrics_vs_bare", "scheduler_ratio"),
        ("noop_vs_bare", "scheduler_noop_ratio"),
        ("bare_vs_baseline", "scheduler_bare_vs_baseline"),
        ("metrics_vs_baseline", "scheduler_metrics_vs_baseline"),
        ("scrape_10k_jobs_ms", "scheduler_scrape_10k_jobs_ms"),
    ):
        if key in sched:
            summary[name] = sched[key]
    return summary


def run_parts(
    parts: Sequence[str],
    reps: int,
    baseline: Path | None = None,
    variants: Sequence[str] = (),
) -> dict[str, Any]:
    summary: dict[str, Any] = {"benchmark": "metrics"}
    log(f"python {sys.version.split()[0]}, cores {os.cpu_count()}, load {os.getloadavg()}")
    if "scrape" in parts:
        scrape = asyncio.run(run_scrape())
        print(f"scrape: {json.dumps(scrape)}")
        summary["scrape_ms"] = scrape["exporter_ms"]
        summary["scrape_exposition_ms"] = scrape["exposition_ms"]
    if "scheduler" in parts:
        sched = run_scheduler(reps, baseline, variants)
        print(f"scheduler: {json.dumps(sched)}")
        summary.update(scheduler_summary(sched))
    if "asgi" in parts:
        inproc = asyncio.run(run_asgi(reps))
        print(f"http in-process: {json.dumps(inproc)}")
        summary["http_asgi_ratio"] = inproc["ratio"]
        summary["http_asgi_added_us"] = inproc["added_us"]
    if "grpc-inproc" in parts:
        inproc_grpc = asyncio.run(run_grpc_inprocess(reps))
        print(f"grpc in-process: {json.dumps(inproc_grpc)}")
        summary["grpc_inproc_ratio"] = inproc_grpc["ratio"]
        summary["grpc_inproc_added_us"] = inproc_grpc["added_us"]
    if "http" in parts:
        if shutil.which("wrk"):
            http = run_pair("http", reps, lambda port: wrk(port, LOAD_SECONDS))
            print(f"http wrk: {json.dumps(http)}")
            summary["http_ratio"] = http["ratio"]
            summary["http_rps"] = http["median_rps"]
            summary["http_cpu_ratio"] = http["cpu_ratio"]
            summary["http_cpu_us_per_request"] = http["median_cpu_us_per_request"]
        else:
            log("wrk not found: http server part skipped (apt-get install wrk)")
    if "grpc" in parts:
        if shutil.which("h2load"):
            with tempfile.TemporaryDirectory() as tmp:
                body = Path(tmp) / "req.bin"
                body.write_bytes(b"\x00\x00\x00\x00\x00")
                grpc = run_pair("grpc", reps, lambda port: h2load(port, LOAD_SECONDS, body))
            print(f"grpc h2load: {json.dumps(grpc)}")
            summary["grpc_ratio"] = grpc["ratio"]
            summary["grpc_rps"] = grpc["median_rps"]
            summary["grpc_cpu_ratio"] = grpc["cpu_ratio"]
            summary["grpc_cpu_us_per_call"] = grpc["median_cpu_us_per_request"]
        else:
            log("h2load not found: grpc part skipped (apt-get install nghttp2-client)")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--parts", default="scheduler,scrape,asgi,grpc-inproc,http,grpc")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--variants", default="", help="scheduler variants to run (default all)")
    parser.add_argument("--child-scheduler", default=None)
    parser.add_argument("--serve-http", default=None)
    parser.add_argument("--serve-grpc", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="http and grpc: server instructions per request under callgrind over N requests",
    )
    args = parser.parse_args(argv)
    if args.instructions:
        counted = {kind: run_instructions(kind, args.instructions) for kind in ("http", "grpc")}
        print(json.dumps({"benchmark": "metrics-instructions", **counted}))
        return 0
    if args.child_scheduler:
        print(json.dumps(asyncio.run(scheduler_child(args.child_scheduler))))
        return 0
    if args.serve_http:
        serve_http(args.serve_http, args.port)
        return 0
    if args.serve_grpc:
        serve_grpc(args.serve_grpc, args.port)
        return 0

    variants = [v for v in args.variants.split(",") if v]
    summary = run_parts(args.parts.split(","), args.reps, args.baseline, variants)
    upper = {"scheduler_ratio", "scrape_ms"}
    summary["missed_targets"] = [
        key
        for key, bound in TARGETS.items()
        if key in summary and (summary[key] > bound if key in upper else summary[key] < bound)
    ]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
