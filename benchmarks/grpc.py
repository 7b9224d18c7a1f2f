"""gRPC benchmark: the kit's ``GrpcServer`` stack against bare grpclib, in one server process.

Method (prior-art-http-grpc.md §4.2): one child process pinned to core 0 serves the same
betterproto ``Echo`` service on four ports (h2load pinned to core 1):

* ``bare``: ``grpclib.server.Server([service])``, nothing else;
* ``codec``: bare plus the kit's size-limited codec only (the size guards' cost);
* ``kit-nolog``: ``GrpcServer`` with every guard, health and the correlation id,
  ``access_log=False``;
* ``kit``: the same with the access log on, JSON lines (``service_pkg.logs.configure``)
  written to ``/dev/null``.

Load: ``h2load -c 8 -m 8`` unary calls of a 5-byte-prefixed ``EchoRequest`` (h2load counts
HTTP statuses only, and gRPC errors travel as HTTP 200), so correctness is checked twice:
a grpclib client loop (200 calls per port must all be ``OK``) and the server's own counter of
finished calls, which must equal h2load's succeeded requests. Windows alternate between the
variants, the order rotating every repetition (warm-up 2 s per variant, then 5 repetitions of
``--window`` s each); each figure is the median; ratios are ``rps(variant) / rps(bare)``.

The last line printed is one JSON object::

    {"benchmark": "grpc", "ratio_no_access_log": ..., "ratio_full": ..., "non_ok": ...}

Run it with ``.venv/bin/python benchmarks/grpc.py`` (``--full``: 8 s windows). Needs
``h2load`` (``apt-get install nghttp2-client``) and ``taskset``. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO, cast

from grpclib.client import Channel
from grpclib.server import Server

from service_pkg.grpc import GrpcServer, GrpcServerConfig
from service_pkg.grpc._guards import LimitedCodec
from service_pkg.grpc._testing import EchoRequest, EchoService, EchoStub

VARIANTS = ("bare", "codec", "kit-nolog", "kit")
METHOD = "/servicepkg.testing.v1.Echo/Echo"
TARGETS = {"kit-nolog": 0.85, "kit": 0.75}


# -- the server child ---------------------------------------------------------------------


class _CountingSink(io.TextIOBase):
    """Where the child's JSON log lines go: counted (to prove the access log ran), dropped."""

    def __init__(self) -> None:
        self.access_lines = 0

    def write(self, text: str) -> int:
        self.access_lines += text.count('"call completed"')
        return len(text)


async def _serve(sink: _CountingSink) -> None:
    services = {name: EchoService() for name in VARIANTS}
    bare = Server([services["bare"]])
    codec = Server([services["codec"]], codec=LimitedCodec(4 << 20, 4 << 20))
    bare_sock, codec_sock = _listening(), _listening()
    await bare.start(sock=bare_sock)
    await codec.start(sock=codec_sock)
    nolog = GrpcServer([services["kit-nolog"]], _config(access_log=False))
    full = GrpcServer([services["kit"]], _config(access_log=True))
    async with nolog, full:
        ports = {
            "bare": bare_sock.getsockname()[1],
            "codec": codec_sock.getsockname()[1],
            "kit-nolog": nolog.port,
            "kit": full.port,
        }
        print(json.dumps(ports), flush=True)
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            if line.strip() == b"counts":
                counts = {n: s.finished for n, s in services.items()}
                counts["access_lines"] = sink.access_lines
                print(json.dumps(counts), flush=True)
    bare.close()
    codec.close()
    await bare.wait_closed()
    await codec.wait_closed()


def _config(*, access_log: bool) -> GrpcServerConfig:
    return GrpcServerConfig(host="127.0.0.1", port=0, access_log=access_log)


def _listening() -> socket.socket:
    # grpclib has no public "bound port", so the bare servers get a socket bound here.
    sock = socket.socket()
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="8 s windows instead of 5 s")
    parser.add_argument("--window", type=float, default=None, help="seconds per window")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        from service_pkg.logs import configure  # noqa: PLC0415 - only the child logs

        sink = _CountingSink()
        configure(level="info", stream=cast("TextIO", sink))
        asyncio.run(_serve(sink))
        return 0
    if shutil.which("h2load") is None:
        print("h2load not found: apt-get install nghttp2-client", file=sys.stderr)
        return 2
    window = args.window or (8.0 if args.full else 5.0)
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server_cmd = [sys.executable, __file__, "--serve"]
    if pin:
        server_cmd = ["taskset", "-c", "0", *server_cmd]
    child = subprocess.Popen(server_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        ports: dict[str, int] = json.loads(child.stdout.readline())
        results = _run(ports, window, args.repetitions, "1" if pin else None)
        child.stdin.write("counts\n")
        child.stdin.flush()
        counts: dict[str, int] = json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    return _report(results, counts, window, args.repetitions, pin)


def _run(
    ports: dict[str, int], window: float, repetitions: int, cores: str | None
) -> dict[str, Any]:
    rps: dict[str, list[float]] = {name: [] for name in VARIANTS}
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
                value, done = _h2load(ports[name], window, body, cores)
                rps[name].append(value)
                succeeded[name] += done
                print(f"rep {repetition + 1} {name}: {value:.0f} req/s", file=sys.stderr)
    return {"rps": rps, "succeeded": succeeded, "loop_failures": loop_failures}


def _report(
    results: dict[str, Any], counts: dict[str, int], window: float, reps: int, pinned: bool
) -> int:
    rps: dict[str, list[float]] = results["rps"]
    medians = {name: statistics.median(values) for name, values in rps.items()}
    base = medians["bare"]
    print(f"gRPC unary Echo, h2load -c8 -m8, {reps} x {window:g} s per variant, pinned={pinned}")
    print(f"{'variant':<10} {'median rps':>10} {'ratio':>6}  runs")
    for name in VARIANTS:
        runs = " ".join(f"{v:.0f}" for v in rps[name])
        print(f"{name:<10} {medians[name]:>10.0f} {medians[name] / base:>6.3f}  {runs}")
    # A call h2load counts as succeeded but the handler never finished is an error in an HTTP
    # 200. The handler may finish more calls than h2load counts: those still in flight when a
    # window ends (up to 64 per h2load run) are abandoned by h2load, not failed.
    non_ok = sum(results["loop_failures"].values())
    for name in VARIANTS:
        claimed = results["succeeded"][name] + 200 - results["loop_failures"][name]
        non_ok += max(0, claimed - counts[name])
    print(f"client-loop failures: {results['loop_failures']}; server counts: {counts}")
    lines, calls = counts["access_lines"], counts["kit"]
    print(f"access lines written by the kit variant: {lines} (calls: {calls})")
    ratio_nolog = medians["kit-nolog"] / base
    ratio_full = medians["kit"] / base
    for name, target in TARGETS.items():
        ratio = medians[name] / base
        verdict = "met" if ratio >= target else "MISSED"
        print(f"target {name} >= {target:.2f}x bare: {ratio:.3f} ({verdict})")
    print(
        json.dumps(
            {
                "benchmark": "grpc",
                "ratio_no_access_log": round(ratio_nolog, 3),
                "ratio_full": round(ratio_full, 3),
                "ratio_codec_only": round(medians["codec"] / base, 3),
                "bare_rps": round(base),
                "non_ok": non_ok,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
