"""Lock benchmark: acquire + release cycles/s of ``RedisLock`` against redis-py's asyncio ``Lock``.

Method (prior-art-lock-leader.md §6.4): one Redis, one client process, the same
``redis.asyncio.Redis`` client for every tool. By default the script starts its own
``redis-server`` on a free loopback port (no persistence) and, on a machine with two or more
cores, pins Redis to core 0 and itself to core 1 (both under ``SCHED_FIFO`` when run as root);
``--url`` measures an existing server instead (its ``INFO commandstats`` must not see other
traffic for the command count).

Tools, each on its own key per task, TTL 30 s:

* ``kit``: one ``RedisLock`` per task, reused: ``acquire()`` + ``release()``;
* ``redis-py new``: a new ``redis.asyncio.lock.Lock(timeout=30)`` per cycle (as most code
  uses it): ``acquire(blocking=False)`` + ``release()``;
* ``redis-py reused``: one such ``Lock`` per task, reused.

Each window runs ``concurrency`` tasks for ``--window`` seconds (2 s quick, 5 s with
``--full``). Windows are interleaved A/B/C with the order rotating every repetition, 5
repetitions; the figure is the median of cycles/s, plus CPU µs per cycle
(``time.process_time``) and p50/p99 latency of one cycle. The ratio is the kit's median over
the **better** redis-py median at that concurrency. Commands per successful cycle come from
``INFO commandstats`` deltas over 1,000 sequential cycles per tool (client-sent commands only:
Redis also counts the calls a Lua script makes, under their own names).

The last line printed is one JSON object::

    {"benchmark": "lock", "ratio_conc1": ..., "ratio_conc16": ..., "commands_per_cycle": ...}

Run it with ``.venv/bin/python benchmarks/lock.py`` (``--full`` adds concurrency 64 and
5 s windows; ``--check`` exits 1 when a target is missed). ``--sentinel`` measures through a
private Sentinel topology instead (a master, a replica, three sentinels, no pinning) and adds
``kit replicas=1`` (``min_replicas=1``: each acquire waits for the replica's ``WAIT`` reply,
pipelined with the script). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio as aredis
from redis.asyncio.lock import Lock as RedisPyLock
from redis.asyncio.sentinel import Sentinel

from service_pkg.leader import LeaderConfig, LockElection
from service_pkg.lock import AcquireStatus, RedisLock, RedisLockConfig

KIT = "kit"
KIT_CONFIRMED = "kit replicas=1"
NEW = "redis-py new"
REUSED = "redis-py reused"
TOOLS = (KIT, NEW, REUSED)
SENTINEL_TOOLS = (KIT, KIT_CONFIRMED, NEW, REUSED)
ACTIVE: dict[str, tuple[str, ...]] = {"tools": TOOLS}
"""The tools of this run: ``--sentinel`` adds the kit with ``min_replicas=1``."""
TTL = 30
REPEAT = 5
COUNT_CYCLES = 1_000
FAILED_ATTEMPTS = 200

TARGET_RATIO_CONC1 = 1.25
TARGET_RATIO_CONC16 = 1.2
TARGET_COMMANDS = 2.0

# Commands a client sends itself. Lua scripts' own calls (GET, SET, DEL...) are counted by
# Redis under their names too; SET is a client command only for redis-py, whose acquire is a
# bare SET NX PX (its release script calls GET and DEL, never SET).
WIRE = ("evalsha", "eval", "evalsha_ro", "eval_ro", "script|load", "script|exists", "ping")
WIRE_REDIS_PY = (*WIRE, "set")

Cycle = Callable[[], Awaitable[None]]


# -- the server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pinning() -> tuple[list[str], set[int] | None]:
    """``taskset`` prefix for Redis and the CPU set for this process, when 2+ cores exist."""
    cores = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if len(cores) < 2 or taskset is None:
        return [], None
    prefix = [taskset, "-c", str(cores[0])]
    # Real-time priority for the server and this client when allowed (root): on a shared
    # machine other processes otherwise stall either side mid-window. Every tool gets it.
    chrt = shutil.which("chrt")
    if os.geteuid() == 0 and chrt is not None:
        prefix += [chrt, "-f", "10"]
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    return prefix, {cores[1]}


@contextlib.contextmanager
def own_server(prefix: list[str]) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed; pass --url or run `make servers`")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="lock-bench-")
    argv = [*prefix, binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", workdir, "--logfile", str(Path(workdir) / "log")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the benchmark's redis-server did not start") from None
                time.sleep(0.01)
        probe.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()  # only the PID started here
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


# -- the tools ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def cycles(tool: str, client: aredis.Redis, task: int) -> AsyncIterator[Cycle]:
    """One task's acquire + release for ``tool`` (setup outside the timed window)."""
    name = f"bench:{tool.replace(' ', '-').replace('=', '')}:{task}"
    if tool in {KIT, KIT_CONFIRMED}:
        replicas = 1 if tool == KIT_CONFIRMED else 0
        config = RedisLockConfig(ttl=TTL, restart_grace=False, prefix="", min_replicas=replicas)
        async with RedisLock(client, name, config) as lock:

            async def kit_cycle() -> None:
                if not (await lock.acquire()).acquired:
                    raise RuntimeError("kit: not acquired")
                await lock.release()

            yield kit_cycle
        return
    if tool == NEW:

        async def new_cycle() -> None:
            lock = RedisPyLock(client, name, timeout=TTL)
            if not await lock.acquire(blocking=False):
                raise RuntimeError("redis-py: not acquired")
            await lock.release()

        yield new_cycle
        return
    reused = RedisPyLock(client, name, timeout=TTL)

    async def reused_cycle() -> None:
        if not await reused.acquire(blocking=False):
            raise RuntimeError("redis-py: not acquired")
        await reused.release()

    yield reused_cycle


@dataclass
class Window:
    tool: str
    concurrency: int
    cycles: int
    seconds: float
    cpu: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds


async def run_window(tool: str, client: aredis.Redis, concurrency: int, seconds: float) -> Window:
    async with contextlib.AsyncExitStack() as stack:
        bodies = [
            await stack.enter_async_context(cycles(tool, client, i)) for i in range(concurrency)
        ]
        latencies: list[float] = []
        count = 0
        gc.collect()
        cpu0, start = time.process_time(), time.perf_counter()
        stop = start + seconds

        async def worker(cycle: Cycle) -> None:
            nonlocal count
            now = time.perf_counter()
            while now < stop:
                await cycle()
                done = time.perf_counter()
                latencies.append(done - now)
                count += 1
                now = done

        async with asyncio.TaskGroup() as group:
            for body in bodies:
                group.create_task(worker(body))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    return Window(tool, concurrency, count, elapsed, cpu, latencies)


# -- commands per cycle ---------------------------------------------------------------------


async def commandstats(client: aredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {key.removeprefix("cmdstat_"): int(value["calls"]) for key, value in stats.items()}


def wire_delta(before: dict[str, int], after: dict[str, int], names: Sequence[str]) -> int:
    return sum(after.get(n, 0) - before.get(n, 0) for n in names)


async def count_commands(client: aredis.Redis) -> dict[str, float]:
    """Client commands per successful cycle per tool, and per failed kit attempt."""
    counted: dict[str, float] = {}
    for tool in ACTIVE["tools"]:
        async with cycles(tool, client, 10_000) as cycle:
            await cycle()  # connect and load scripts outside the count
            before = await commandstats(client)
            for _ in range(COUNT_CYCLES):
                await cycle()
            after = await commandstats(client)
        names = (*WIRE, "wait") if tool in {KIT, KIT_CONFIRMED} else WIRE_REDIS_PY
        counted[tool] = wire_delta(before, after, names) / COUNT_CYCLES
    config = RedisLockConfig(ttl=TTL, restart_grace=False, prefix="")
    async with RedisLock(client, "bench:held", config) as holder:
        async with RedisLock(client, "bench:held", config) as other:
            await holder.acquire()
            await other.acquire()
            before = await commandstats(client)
            for _ in range(FAILED_ATTEMPTS):
                await other.acquire()
            after = await commandstats(client)
        await holder.release()
    counted["kit failed attempt"] = wire_delta(before, after, WIRE) / FAILED_ATTEMPTS
    return counted


# -- driver ---------------------------------------------------------------------------------


@dataclass
class Cell:
    windows: list[Window] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(w.rate for w in self.windows)

    def spread(self) -> tuple[float, float]:
        rates = [w.rate for w in self.windows]
        return min(rates), max(rates)

    def cpu_us(self) -> float:
        return statistics.median(w.cpu / w.cycles * 1e6 for w in self.windows)

    def latency_us(self, q: float) -> float:
        merged = sorted(x for w in self.windows for x in w.latencies)
        return merged[min(len(merged) - 1, int(q * len(merged)))] * 1e6


async def measure(
    client: aredis.Redis, concurrencies: Sequence[int], window: float, repeat: int
) -> dict[tuple[str, int], Cell]:
    cells: dict[tuple[str, int], Cell] = {}
    tools = ACTIVE["tools"]
    for tool in tools:  # warm-up: connections, scripts, code paths
        await run_window(tool, client, max(concurrencies), 0.3)
    for conc in concurrencies:
        for rep in range(repeat):
            turn = rep % len(tools)
            order = tools[turn:] + tools[:turn]
            for tool in order:
                result = await run_window(tool, client, conc, window)
                cells.setdefault((tool, conc), Cell()).windows.append(result)
                print(
                    f"  conc {conc:>2} rep {rep + 1}: {tool:<15} {result.rate:>8,.0f} cycles/s",
                    file=sys.stderr,
                )
    return cells


def ratio(cells: dict[tuple[str, int], Cell], conc: int, tool: str = KIT) -> float:
    best_redis_py = max(cells[(NEW, conc)].median(), cells[(REUSED, conc)].median())
    return cells[(tool, conc)].median() / best_redis_py


def print_report(
    cells: dict[tuple[str, int], Cell],
    *,
    concurrencies: Sequence[int],
    counted: dict[str, float],
    layout: str,
    window: float,
    repeat: int,
) -> None:
    print(f"\nlock: acquire + release cycles/s, {window:g} s windows, median of {repeat}")
    print(
        f"python {platform.python_version()}, redis-py {redis.__version__}, "
        f"{platform.machine()}, nproc {os.cpu_count()}; {layout}"
    )
    header = (
        f"{'conc':>4}  {'tool':<15} {'median':>9} {'min':>9} {'max':>9} "
        f"{'CPU µs/cycle':>12} {'p50 µs':>8} {'p99 µs':>8}"
    )
    print(header)
    print("-" * len(header))
    for conc in concurrencies:
        for tool in ACTIVE["tools"]:
            cell = cells[(tool, conc)]
            low, high = cell.spread()
            print(
                f"{conc:>4}  {tool:<15} {cell.median():>9,.0f} {low:>9,.0f} {high:>9,.0f} "
                f"{cell.cpu_us():>12.1f} {cell.latency_us(0.5):>8.0f} {cell.latency_us(0.99):>8.0f}"
            )
        kit_cpu = cells[(KIT, conc)].cpu_us()
        best_cpu = min(cells[(NEW, conc)].cpu_us(), cells[(REUSED, conc)].cpu_us())
        print(
            f"      kit / best redis-py: {ratio(cells, conc):.3f}x cycles/s, "
            f"{kit_cpu / best_cpu:.3f}x CPU per cycle"
        )
        if KIT_CONFIRMED in ACTIVE["tools"]:
            print(
                f"      kit replicas=1 / best redis-py: "
                f"{ratio(cells, conc, KIT_CONFIRMED):.3f}x cycles/s"
            )
    print("\nclient commands per successful cycle (INFO commandstats deltas):")
    for tool, value in counted.items():
        print(f"  {tool:<20} {value:.3f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else "")
    parser.add_argument("--url", help="measure this Redis instead of starting one")
    parser.add_argument("--full", action="store_true", help="5 s windows, also concurrency 64")
    parser.add_argument("--window", type=float, help="seconds per window (default 2, full 5)")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="repetitions (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--sentinel",
        action="store_true",
        help="measure through Sentinel (a master, a replica, 3 sentinels), also min_replicas=1",
    )
    return parser.parse_args(argv)


FIRST_NAMES = 20
TARGET_FIRST_MS = 100.0


async def first_acquisitions(client: aredis.Redis) -> tuple[int, list[float], list[float]]:
    """Milliseconds to the first ACQUIRED / TAKEN of brand-new names, restart grace on.

    Returns the server's uptime (it must exceed the lease for the rule to apply), the lock
    times (construction to ``ACQUIRED``) and the election times (``start()`` to leader).
    """
    info = await client.info("server")
    uptime = int(info["uptime_in_seconds"])
    locks: list[float] = []
    elections: list[float] = []
    for i in range(FIRST_NAMES):
        begin = time.perf_counter()
        async with RedisLock(client, f"bench:first:{i}", RedisLockConfig(ttl=TTL)) as lock:
            result = await lock.acquire()
            locks.append((time.perf_counter() - begin) * 1000)
            if result.status is not AcquireStatus.ACQUIRED:
                raise RuntimeError(f"first acquisition: {result}")
        name = f"bench:first-election:{i}"
        lock = RedisLock(client, name, RedisLockConfig(ttl=TTL))
        election = LockElection(lock, LeaderConfig(name=name, expiration=TTL))
        begin = time.perf_counter()
        await election.start()
        elections.append((time.perf_counter() - begin) * 1000)
        if not election.is_leader():
            raise RuntimeError("first election: not leader")
        await election.aclose()
        await lock.aclose()
    return uptime, locks, elections


async def run(url: str, args: argparse.Namespace, layout: str) -> int:
    concurrencies = (1, 16, 64) if args.full else (1, 16)
    window = args.window or (5.0 if args.full else 2.0)
    sentinels: list[aredis.Redis] = []
    if url.startswith("sentinel:"):
        addresses = [("127.0.0.1", int(p)) for p in url.removeprefix("sentinel:").split(",")]
        manager = Sentinel(addresses)  # type: ignore[no-untyped-call]  # redis-py: unannotated
        sentinels = list(manager.sentinels)
        client = manager.master_for("ha", max_connections=256)
    else:
        client = aredis.Redis.from_url(url, max_connections=256)
    try:
        counted = await count_commands(client)
        cells = await measure(client, concurrencies, window, args.repeat)
        if sentinels:  # a topology just started: its uptime is below the TTL
            return sentinel_report(
                cells,
                concurrencies=concurrencies,
                counted=counted,
                layout=layout,
                window=window,
                repeat=args.repeat,
            )
        uptime, firsts, elections = await first_acquisitions(client)
    finally:
        await client.aclose()
        for sentinel in sentinels:
            await sentinel.aclose()
    print_report(
        cells,
        concurrencies=concurrencies,
        counted=counted,
        layout=layout,
        window=window,
        repeat=args.repeat,
    )
    print(
        f"\nfirst acquisition of a new name, restart_grace on, TTL {TTL} s, Redis up {uptime} s:"
        f"\n  RedisLock acquire: p50 {statistics.median(firsts):.2f} ms, max {max(firsts):.2f} ms"
        f"\n  LockElection start to leader: p50 {statistics.median(elections):.2f} ms, "
        f"max {max(elections):.2f} ms ({FIRST_NAMES} names each)"
    )
    first_max = max(*firsts, *elections)
    r1, r16, commands = ratio(cells, 1), ratio(cells, 16), counted[KIT]
    checks = [
        (f"ratio_conc1 = {r1:.3f} (≥ {TARGET_RATIO_CONC1})", r1 >= TARGET_RATIO_CONC1),
        (f"ratio_conc16 = {r16:.3f} (≥ {TARGET_RATIO_CONC16})", r16 >= TARGET_RATIO_CONC16),
        (f"commands_per_cycle = {commands:g} (= {TARGET_COMMANDS:g})", commands == TARGET_COMMANDS),
        (
            f"kit failed attempt = {counted['kit failed attempt']:g} commands (= 1)",
            counted["kit failed attempt"] == 1,
        ),
        (
            f"first acquisition max = {first_max:.2f} ms (< {TARGET_FIRST_MS:g}, uptime > TTL)",
            first_max < TARGET_FIRST_MS and uptime > TTL,
        ),
    ]
    print("\ntargets:")
    for text, ok in checks:
        print(f"  {text}: {'met' if ok else 'MISSED'}")
    summary = {
        "benchmark": "lock",
        "ratio_conc1": round(r1, 3),
        "ratio_conc16": round(r16, 3),
        "commands_per_cycle": commands,
        "first_acquisition_max_ms": round(first_max, 2),
    }
    print(json.dumps(summary))
    return 1 if args.check and not all(ok for _, ok in checks) else 0


def sentinel_report(
    cells: dict[tuple[str, int], Cell],
    *,
    concurrencies: Sequence[int],
    counted: dict[str, float],
    layout: str,
    window: float,
    repeat: int,
) -> int:
    """The Sentinel rows: the kit with and without min_replicas against redis-py's Lock."""
    print_report(
        cells,
        concurrencies=concurrencies,
        counted=counted,
        layout=layout,
        window=window,
        repeat=repeat,
    )
    summary: dict[str, object] = {"benchmark": "lock-sentinel"}
    for conc in concurrencies:
        summary[f"ratio_conc{conc}"] = round(ratio(cells, conc), 3)
        summary[f"ratio_replicas1_conc{conc}"] = round(ratio(cells, conc, KIT_CONFIRMED), 3)
    summary["commands_per_cycle_replicas1"] = counted[KIT_CONFIRMED]
    print(json.dumps(summary))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sentinel:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.integration.sentinel_topology import SentinelTopology  # noqa: PLC0415

        ACTIVE["tools"] = SENTINEL_TOOLS
        with SentinelTopology() as topology:
            ports = ",".join(str(port) for _, port in topology.sentinel_addresses)
            layout = "Sentinel: 1 master + 1 replica + 3 sentinels, no pinning"
            return asyncio.run(run(f"sentinel:{ports}", args, layout))
    if args.url:
        return asyncio.run(run(args.url, args, "Redis at --url, no pinning"))
    prefix, client_cores = _pinning()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)
        layout = f"redis-server pinned to core {prefix[2]}, client to core {min(client_cores)}"
        if "-f" in prefix:
            layout += ", both under SCHED_FIFO"
    else:
        layout = "no pinning (one core or no taskset)"
    with own_server(prefix) as url:
        return asyncio.run(run(url, args, layout))


if __name__ == "__main__":
    sys.exit(main())
