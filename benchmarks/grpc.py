"""gRPC benchmark: the kit's ``GrpcServer`` stack against bare grpclib, in one server process.

Method (prior-art-http-grpc.md §4.2): one child process pinned to core 0 serves the same
betterproto ``Echo`` service on four ports (h2load pinned to core 1):

* ``bare``: ``grpclib.server.Server([service])``, nothing else;
* ``codec``: bare plus the kit's size-limited codec only (the size guards' cost);
* ``kit-nolog``: ``GrpcServer`` with every guard, health and the correlation id,
  ``access_log=False``;
* ``kit``: the same with the access log on: the kit's access lines (its msgspec fast path)
  written to a sink that counts them and drops them;
* ``kit-metrics``: ``kit`` plus ``service_pkg.metrics`` (``instrument_grpc_server``): the
  metrics-on row of issue 14, read against ``kit``.

The server child runs under ``SCHED_FIFO`` when the script runs as root.

Load: ``h2load -c 8 -m 8`` unary calls of a 5-byte-prefixed ``EchoRequest`` (h2load counts
HTTP statuses only, and gRPC errors travel as HTTP 200), so correctness is checked twice:
a grpclib client loop (200 calls per port must all be ``OK``) and the server's own counter of
finished calls, which must equal h2load's succeeded requests. Windows alternate between the
variants, the order rotating every repetition (warm-up 2 s per variant, then 5 repetitions of
``--window`` s each); each figure is the median; ratios are ``rps(variant) / rps(bare)``.
Beside calls/s the script prints the server's CPU per call (total, and user only: bare
grpclib stalls under h2load, so calls/s ratios are not usable, and the kernel's share of a
stalled server is smaller; see docs/performance.md).

The last line printed is one JSON object::

    {"benchmark": "grpc", "ratio_no_access_log": ..., "ratio_full": ..., "metrics_ratio": ...,
     "non_ok": ...}

(``metrics_ratio``: ``kit-metrics`` over ``kit``, the issue-14 target ≥ 0.9.)

Run it with ``.venv/bin/python benchmarks/grpc.py`` (``--full``: 8 s windows). Needs
``h2load`` (``apt-get install nghttp2-client``) and ``taskset``. ``--instructions N`` counts
the server's instructions per call under callgrind instead (valgrind), the figure that other
load on the machine cannot move. See docs/performance.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is sys.path[0], where benchmarks/http.py would shadow
# the standard library's http package that grpclib imports.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
# Last, so installed packages and the standard library win: for benchmarks._callgrind.
sys.path.append(str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TextIO, cast

from grpclib.client import Channel
from grpclib.events import RecvRequest, SendInitialMetadata, SendTrailingMetadata, listen
from grpclib.server import Server

from service_pkg.grpc import GrpcServer, GrpcServerConfig
from service_pkg.grpc._guards import Guards, LimitedCodec
from service_pkg.grpc._testing import EchoReply, EchoRequest, EchoService, EchoStub
from service_pkg.metrics import KitMetrics, instrument_grpc_server

VARIANTS = ("bare", "codec", "kit-nolog", "kit", "kit-metrics")
LAYERS = ("codec only", "1 no-op listener", "3 no-op listeners", "kit RecvRequest", "kit, all 3")
METHOD = "/servicepkg.testing.v1.Echo/Echo"
TARGETS = {"kit-nolog": 0.85, "kit": 0.75}
METRICS_TARGET = 0.9  # issue 14: metrics cost <= 10 % against the same stack without them


# -- the server child ---------------------------------------------------------------------


class _BenchEcho(EchoService):
    """The same reply under every variant.

    The test service puts the bound correlation id into its reply, which only the kit binds:
    the kit's replies would be 22 bytes larger and cost betterproto more to serialize.
    """

    async def echo(self, echo_request: EchoRequest) -> EchoReply:
        self.finished += 1
        return EchoReply(message=echo_request.message)


class _CountingSink(io.TextIOBase):
    """Where the child's JSON log lines go: counted (to prove the access log ran), dropped."""

    def __init__(self) -> None:
        self.access_lines = 0

    def write(self, text: str) -> int:
        self.access_lines += text.count('"call completed"')
        return len(text)


async def _serve(sink: _CountingSink) -> None:
    services = {name: _BenchEcho() for name in VARIANTS}
    bare = Server([services["bare"]])
    codec = Server([services["codec"]], codec=LimitedCodec(4 << 20, 4 << 20))
    bare_sock, codec_sock = _listening(), _listening()
    await bare.start(sock=bare_sock)
    await codec.start(sock=codec_sock)
    nolog = GrpcServer([services["kit-nolog"]], _config(access_log=False))
    full = GrpcServer([services["kit"]], _config(access_log=True), access_stream=sink)
    measured = GrpcServer(
        [services["kit-metrics"]],
        _config(access_log=True),
        access_stream=sink,
        instrument=[partial(instrument_grpc_server, kit=KitMetrics())],
    )
    async with nolog, full, measured:
        ports = {
            "bare": bare_sock.getsockname()[1],
            "codec": codec_sock.getsockname()[1],
            "kit-nolog": nolog.port,
            "kit": full.port,
            "kit-metrics": measured.port,
        }
        print(json.dumps(ports), flush=True)
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            if line.strip() == b"counts":
                counts: dict[str, float] = {n: s.finished for n, s in services.items()}
                counts["access_lines"] = sink.access_lines
                counts["cpu"] = time.process_time()
                counts["user"] = os.times().user
                print(json.dumps(counts), flush=True)
    bare.close()
    codec.close()
    await bare.wait_closed()
    await codec.wait_closed()


def _config(*, access_log: bool) -> GrpcServerConfig:
    return GrpcServerConfig(host="127.0.0.1", port=0, access_log=access_log)


def _listening() -> socket.socket:
    # grpclib has no public "bound port", so the bare servers get a socket bound here. The
    # protocol must be IPPROTO_TCP, not 0: grpclib and asyncio set TCP_NODELAY only on sockets
    # whose proto says TCP, and without it Nagle holds each response's DATA and trailers
    # until the client's delayed ACK (~40 ms), which stalled the bare servers of earlier runs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(socket.SOMAXCONN)
    sock.setblocking(False)  # noqa: FBT003 - the stdlib signature
    return sock


# -- the driver ---------------------------------------------------------------------------


def _body(directory: Path) -> Path:
    message = bytes(EchoRequest(message="bench"))
    path = directory / "req.bin"
    path.write_bytes(b"\x00" + struct.pack(">I", len(message)) + message)
    return path


def _h2load(port: int, seconds: float, body: Path, cores: str | None) -> tuple[float, int]:
    command = [
        "h2load",
        "-D",
        f"{seconds:g}",
        "-c",
        "8",
        "-m",
        "8",
        "-d",
        str(body),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        f"http://127.0.0.1:{port}{METHOD}",
    ]
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out.stdout)
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out.stdout)
    if rps is None or done is None:
        raise RuntimeError(f"unexpected h2load output:\n{out.stdout}")
    return float(rps.group(1)), int(done.group(1))


async def _client_loop(port: int, calls: int) -> int:
    """Calls that did not end OK (an exception of any kind)."""
    channel = Channel("127.0.0.1", port)
    stub = EchoStub(channel)
    failed = 0
    for _ in range(calls):
        try:
            await stub.echo(EchoRequest(message="check"))
        except Exception:  # noqa: BLE001 - every failure counts
            failed += 1
    channel.close()
    return failed


async def _noop(_: object) -> None:
    return None


def _layer_server(kind: str) -> Server:
    server = Server([_BenchEcho()], codec=LimitedCodec(4 << 20, 4 << 20))
    guards = Guards(_config(access_log=False))
    if kind == "1 no-op listener":
        listen(server, RecvRequest, _noop)
    elif kind == "3 no-op listeners":
        for event in (RecvRequest, SendInitialMetadata, SendTrailingMetadata):
            listen(server, event, _noop)
    elif kind == "kit RecvRequest":
        listen(server, RecvRequest, guards._on_request)  # noqa: SLF001 - one layer alone
    elif kind == "kit, all 3":
        guards.install(server)
    return server


async def _drive(port: int, calls: int = 2000, tasks: int = 16) -> float:
    channel = Channel("127.0.0.1", port)
    stub = EchoStub(channel)
    await stub.echo(EchoRequest(message="warm-up"))

    async def worker() -> None:
        for _ in range(calls // tasks):
            await stub.echo(EchoRequest(message="bench"))

    began = time.process_time()
    async with asyncio.TaskGroup() as group:
        for _ in range(tasks):
            group.create_task(worker())
    spent = time.process_time() - began
    channel.close()
    return spent / calls * 1e6


async def _layers(repetitions: int) -> dict[str, list[float]]:
    """Client+server CPU µs per call in one process, adding the kit's listeners one by one."""
    ports: dict[str, int] = {}
    servers = []
    for kind in LAYERS:
        server, sock = _layer_server(kind), _listening()
        await server.start(sock=sock)
        servers.append(server)
        ports[kind] = sock.getsockname()[1]
    results: dict[str, list[float]] = {kind: [] for kind in LAYERS}
    for _ in range(repetitions):
        for kind in LAYERS:
            results[kind].append(await _drive(ports[kind]))
    for server in servers:
        server.close()
        await server.wait_closed()
    return results


def _child(*, profile: bool) -> int:
    from service_pkg.logs import configure  # noqa: PLC0415 - only the child logs

    # Real-time priority when allowed (root), as benchmarks/scheduler.py does: on a shared
    # machine a neighbour's time slice would otherwise land on whichever variant is under
    # load. Every variant gets the same treatment (one process serves all four).
    with contextlib.suppress(PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    sink = _CountingSink()
    configure(level="info", stream=cast("TextIO", sink))
    if not profile:
        asyncio.run(_serve(sink))
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(_serve(sink))
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="8 s windows instead of 5 s")
    parser.add_argument("--window", type=float, default=None, help="seconds per window")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--profile",
        choices=VARIANTS,
        default=None,
        help="cProfile the server while only this variant is under load",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="in-process client+server CPU per call, adding the kit's listeners one by one",
    )
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="count the server's instructions per call under callgrind over N calls per variant",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        return _instructions(args.instructions)
    if args.layers:
        layers = asyncio.run(_layers(args.repetitions))
        print("client+server CPU us/call, one process, 2000 calls at concurrency 16")
        for kind, values in layers.items():
            runs = " ".join(f"{v:.0f}" for v in values)
            print(f"{kind:<18} {statistics.median(values):>6.0f}  {runs}")
        return 0
    if args.serve:
        return _child(profile=args.profile is not None)
    if shutil.which("h2load") is None:
        print("h2load not found: apt-get install nghttp2-client", file=sys.stderr)
        return 2
    window = args.window or (8.0 if args.full else 5.0)
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server_cmd = [
        sys.executable,
        __file__,
        "--serve",
        *(["--profile", args.profile] if args.profile else []),
    ]
    if pin:
        server_cmd = ["taskset", "-c", "0", *server_cmd]
    child = subprocess.Popen(server_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        ports: dict[str, int] = json.loads(child.stdout.readline())
        if args.profile:
            with tempfile.TemporaryDirectory() as scratch:
                body = _body(Path(scratch))
                rps, _ = _h2load(ports[args.profile], window, body, "1" if pin else None)
            print(f"profiled {args.profile}: {rps:.0f} req/s; top functions on stderr")
            return 0
        stdin, stdout = child.stdin, child.stdout

        def query() -> dict[str, float]:
            stdin.write("counts\n")
            stdin.flush()
            answer: dict[str, float] = json.loads(stdout.readline())
            return answer

        results = _run(ports, window, args.repetitions, "1" if pin else None, query)
        counts = query()
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    return _report(results, counts, window, args.repetitions, pin)


def _instructions(calls: int) -> int:
    """Server instructions per call, each variant in turn (``benchmarks/_callgrind.py``).

    The one server child serves every variant, so the variants share one process and its
    warm state; the counters are dumped around each variant's batch.
    """
    from benchmarks._callgrind import Callgrind  # noqa: PLC0415 - only this mode needs it

    with tempfile.TemporaryDirectory() as scratch:
        body = _body(Path(scratch))
        grpc = ["-m", "8", "-d", str(body), "-H", "content-type: application/grpc"]
        grpc += ["-H", "te: trailers"]
        per_call = Callgrind(Path(scratch) / "server.out").per_variant(
            [sys.executable, "-P", __file__, "--serve"],
            lambda port: [*grpc, f"http://127.0.0.1:{port}{METHOD}"],
            calls,
        )
    print(f"server instructions per call under callgrind, {calls} calls per variant")
    for name, value in per_call.items():
        print(f"{name:<12} {value:>12,.0f}  ratio {per_call['bare'] / value:.3f}")
    ratios = {name: round(per_call["bare"] / per_call[name], 3) for name in VARIANTS}
    metrics = round(per_call["kit"] / per_call["kit-metrics"], 3)
    print(f"kit-metrics against kit: {metrics:.3f}")
    summary = {"benchmark": "grpc-instructions", "calls": calls, **ratios, "metrics_ratio": metrics}
    print(json.dumps(summary))
    return 0


def _run(
    ports: dict[str, int],
    window: float,
    repetitions: int,
    cores: str | None,
    query: Callable[[], dict[str, float]],
) -> dict[str, Any]:
    rps: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu_us: dict[str, list[float]] = {name: [] for name in VARIANTS}
    user_us: dict[str, list[float]] = {name: [] for name in VARIANTS}
    succeeded = dict.fromkeys(VARIANTS, 0)
    loop_failures = {name: asyncio.run(_client_loop(port, 200)) for name, port in ports.items()}
    with tempfile.TemporaryDirectory() as scratch:
        body = _body(Path(scratch))
        for name in VARIANTS:
            _, done = _h2load(ports[name], 2.0, body, cores)
            succeeded[name] += done
            print(f"warm-up {name}: done", file=sys.stderr)
        for repetition in range(repetitions):
            order = VARIANTS[repetition % len(VARIANTS) :] + VARIANTS[: repetition % len(VARIANTS)]
            for name in order:
                before = query()
                value, done = _h2load(ports[name], window, body, cores)
                after = query()
                calls = after[name] - before[name]
                cpu_us[name].append((after["cpu"] - before["cpu"]) / max(calls, 1) * 1e6)
                user_us[name].append((after["user"] - before["user"]) / max(calls, 1) * 1e6)
                rps[name].append(value)
                succeeded[name] += done
                print(f"rep {repetition + 1} {name}: {value:.0f} req/s", file=sys.stderr)
    return {
        "rps": rps,
        "cpu_us": cpu_us,
        "user_us": user_us,
        "succeeded": succeeded,
        "loop_failures": loop_failures,
    }


def _report(
    results: dict[str, Any], counts: dict[str, float], window: float, reps: int, pinned: bool
) -> int:
    rps: dict[str, list[float]] = results["rps"]
    cpu: dict[str, list[float]] = results["cpu_us"]
    medians = {name: statistics.median(values) for name, values in rps.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    user: dict[str, list[float]] = results["user_us"]
    user_medians = {name: statistics.median(values) for name, values in user.items()}
    base = medians["bare"]
    print(f"gRPC unary Echo, h2load -c8 -m8, {reps} x {window:g} s per variant, pinned={pinned}")
    print(
        f"{'variant':<10} {'median rps':>10} {'ratio':>6} {'CPU us/call':>11} {'ratio':>6} "
        f"{'user us/call':>12} {'ratio':>6}  runs"
    )
    for name in VARIANTS:
        runs = " ".join(f"{v:.0f}" for v in rps[name])
        cpus = " ".join(f"{v:.0f}" for v in cpu[name])
        users = " ".join(f"{v:.0f}" for v in user[name])
        cpu_ratio = cpu_medians["bare"] / cpu_medians[name]
        user_ratio = user_medians["bare"] / user_medians[name]
        print(
            f"{name:<10} {medians[name]:>10.0f} {medians[name] / base:>6.3f} "
            f"{cpu_medians[name]:>11.1f} {cpu_ratio:>6.3f} {user_medians[name]:>12.1f} "
            f"{user_ratio:>6.3f}  rps: {runs}; us: {cpus}; user us: {users}"
        )
    # A call h2load counts as succeeded but the handler never finished is an error in an HTTP
    # 200. The handler may finish more calls than h2load counts: those still in flight when a
    # window ends (up to 64 per h2load run) are abandoned by h2load, not failed.
    non_ok = sum(results["loop_failures"].values())
    for name in VARIANTS:
        claimed = results["succeeded"][name] + 200 - results["loop_failures"][name]
        non_ok += max(0, claimed - counts[name])
    print(f"client-loop failures: {results['loop_failures']}; server counts: {counts}")
    lines, calls = counts["access_lines"], counts["kit"] + counts["kit-metrics"]
    print(f"access lines written by the kit variants: {lines} (calls: {calls})")
    ratio_nolog = medians["kit-nolog"] / base
    ratio_full = medians["kit"] / base
    for name, target in TARGETS.items():
        ratio = medians[name] / base
        verdict = "met" if ratio >= target else "MISSED"
        print(f"target {name} >= {target:.2f}x bare: {ratio:.3f} ({verdict})")
    metrics_ratio = medians["kit-metrics"] / medians["kit"]
    verdict = "met" if metrics_ratio >= METRICS_TARGET else "MISSED"
    print(f"target kit-metrics >= {METRICS_TARGET:.2f}x kit: {metrics_ratio:.3f} ({verdict})")
    print(
        json.dumps(
            {
                "benchmark": "grpc",
                "ratio_no_access_log": round(ratio_nolog, 3),
                "ratio_full": round(ratio_full, 3),
                "ratio_codec_only": round(medians["codec"] / base, 3),
                "bare_rps": round(base),
                "cpu_ratio_no_access_log": round(cpu_medians["bare"] / cpu_medians["kit-nolog"], 3),
                "cpu_ratio_full": round(cpu_medians["bare"] / cpu_medians["kit"], 3),
                "user_cpu_ratio_no_access_log": round(
                    user_medians["bare"] / user_medians["kit-nolog"], 3
                ),
                "user_cpu_ratio_full": round(user_medians["bare"] / user_medians["kit"], 3),
                "metrics_ratio": round(metrics_ratio, 3),
                "cpu_metrics_ratio": round(cpu_medians["kit"] / cpu_medians["kit-metrics"], 3),
                "non_ok": non_ok,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
