"""Database benchmark: the kit's PostgreSQL and ClickHouse components against the bare drivers.

(a) PostgreSQL: ``SELECT 1`` round trips (one pool checkout each, ``pool_pre_ping`` on, as
services use an engine) through the engine of the kit's ``postgres_engine`` component
(``open_postgres``) against a plain ``create_async_engine`` with the same settings (same URL,
pool size, recycle, pre-ping, ``application_name``, timeouts). The kit's engine is a plain
engine plus an idle-limit listener on checkout/checkin, so the ratio measures that listener.

Its 10,000 round trips per side run in windows of 500 (``--pg-window``), kit and plain
alternating (20 windows each): short windows keep the drift of a shared machine out of the
comparison (10,000-trip windows of 6 s each drifted by up to 2x).

(b) ClickHouse: a bulk insert of narrow rows ``(UInt64, UInt32)`` through ``ClickHouse.insert``
(native transport, LZ4, one worker thread) against ``clickhouse_driver.Client.execute(
"INSERT ... VALUES", rows)`` with the same compression, into a fresh ``MergeTree`` table.
The rows are built once, before timing.

Windows are interleaved A/B with the order alternating every repetition. The rates printed
are medians over the windows; the ratios in the JSON line are the **median of the paired
ratios** (kit/plain of the two back-to-back windows of each repetition; higher is better for
the kit, 1.0 = no cost), which cancels most of the drift of a shared machine; the ratio of
the medians is printed too. The machine is shared (2 cores, other engineers run things): figures
are noisy, read the medians and the spread.

The last line printed is one JSON object::

    {"benchmark": "databases", "pg_ratio": ..., "ch_insert_ratio": ...,
     "ch_insert_rows_per_s": ...}

Run it with ``.venv/bin/python benchmarks/databases.py`` (10,000 round trips per side;
1,000,000 rows per window, 7 repetitions; ``--quick`` uses 2,000 and 200,000, 3 repetitions;
``--check`` exits 1 when ``pg_ratio < 0.95`` or ``ch_insert_ratio < 0.9``). Servers: the
PostgreSQL on 127.0.0.1:5432 (``--pg-url``) and ClickHouse on 127.0.0.1:9000.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from clickhouse_driver import Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service_pkg.clickhouse import ClickHouse, ClickHouseConfig
from service_pkg.postgres import PostgresConfig, open_postgres

PG_TARGET = 0.95
CH_TARGET = 0.9


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="kit vs bare drivers: PostgreSQL, ClickHouse")
    parser.add_argument("--quick", action="store_true", help="smaller windows, 3 repetitions")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--ch-host", default="127.0.0.1")
    parser.add_argument("--ch-port", type=int, default=9000)
    parser.add_argument("--repetitions", type=int, default=None, help="ClickHouse windows")
    parser.add_argument("--pg-window", type=int, default=500, help="round trips per window")
    return parser.parse_args(argv)


def plain_engine(config: PostgresConfig) -> AsyncEngine:
    """What a service would write by hand with the same settings."""
    return create_async_engine(
        config.sqlalchemy_url,
        pool_size=config.pool_size,
        max_overflow=config.max_overflow,
        pool_timeout=config.pool_timeout,
        pool_recycle=config.max_lifetime or -1,
        pool_pre_ping=config.pre_ping,
        connect_args=config.connect_args(),
    )


def paired_ratio(kit: Sequence[float], plain: Sequence[float]) -> float:
    """Median of kit/plain per repetition: the two windows of a pair ran back to back, so a
    slow phase of the shared machine hits both and cancels out."""
    return statistics.median(k / p for k, p in zip(kit, plain, strict=True))


async def round_trips(engine: AsyncEngine, count: int) -> float:
    """Seconds for ``count`` sequential ``SELECT 1``, one checkout each."""
    query = text("SELECT 1")
    gc.collect()
    started = time.perf_counter()
    for _ in range(count):
        async with engine.connect() as conn:
            await conn.execute(query)
    return time.perf_counter() - started


async def interleave(
    label: str,
    a: Callable[[], Awaitable[float]],
    b: Callable[[], Awaitable[float]],
    repetitions: int,
    work: int,
    *,
    quiet: bool = False,
) -> tuple[list[float], list[float]]:
    """Run a/b alternately (order flipping each repetition); return their rates per second."""
    rates_a: list[float] = []
    rates_b: list[float] = []
    for rep in range(repetitions):
        order = [("kit", a, rates_a), ("plain", b, rates_b)]
        if rep % 2:
            order.reverse()
        for name, fn, rates in order:
            elapsed = await fn()
            rates.append(work / elapsed)
            if not quiet:
                print(f"{label} rep {rep + 1} {name}: {work / elapsed:,.0f}/s", flush=True)
    return rates_a, rates_b


async def bench_postgres(args: argparse.Namespace, total: int, window: int) -> float:
    """``total`` round trips per side, in windows of ``window`` alternating kit/plain."""
    config = PostgresConfig(url=args.pg_url, application_name="bench-databases")
    plain = plain_engine(config)
    try:
        async with open_postgres(config) as kit:
            await round_trips(plain, 200)  # warm both pools and prepared-statement caches
            await round_trips(kit, 200)
            kit_rates, plain_rates = await interleave(
                "pg",
                lambda: round_trips(kit, window),
                lambda: round_trips(plain, window),
                max(1, total // window),
                window,
                quiet=True,
            )
    finally:
        await plain.dispose()
    kit_median, plain_median = statistics.median(kit_rates), statistics.median(plain_rates)
    ratio = paired_ratio(kit_rates, plain_rates)
    print(
        f"pg SELECT 1 x{total} per side in {len(kit_rates)} windows of {window}: kit median "
        f"{kit_median:,.0f}/s (min {min(kit_rates):,.0f}, max {max(kit_rates):,.0f}); plain "
        f"median {plain_median:,.0f}/s (min {min(plain_rates):,.0f}, max {max(plain_rates):,.0f}); "
        f"ratio of medians {kit_median / plain_median:.3f}, median of paired ratios {ratio:.3f}"
    )
    return ratio


async def bench_clickhouse(
    args: argparse.Namespace, rows_count: int, reps: int
) -> tuple[float, float]:
    rows = [(i, i % 1000) for i in range(rows_count)]
    table = f"bench_{uuid.uuid4().hex[:10]}"
    ddl = f"CREATE TABLE {table} (id UInt64, v UInt32) ENGINE = MergeTree ORDER BY id"
    client = Client(args.ch_host, port=args.ch_port, compression="lz4")
    config = ClickHouseConfig(host=args.ch_host, port=args.ch_port)
    client.execute(ddl)
    try:
        async with ClickHouse(config) as kit:

            async def kit_insert() -> float:
                gc.collect()
                started = time.perf_counter()
                await kit.insert(table, rows, columns=["id", "v"])
                return time.perf_counter() - started

            async def plain_insert() -> float:
                gc.collect()
                started = time.perf_counter()
                # The bare driver blocks the loop; that is what the plain peer does.
                client.execute(f"INSERT INTO {table} (id, v) VALUES", rows)
                return time.perf_counter() - started

            await kit_insert()  # warm-up: connections, first block
            await plain_insert()
            kit_rates, plain_rates = await interleave(
                "ch", kit_insert, plain_insert, reps, rows_count
            )
    finally:
        client.execute(f"DROP TABLE IF EXISTS {table}")
        client.disconnect()
    kit_median, plain_median = statistics.median(kit_rates), statistics.median(plain_rates)
    ratio = paired_ratio(kit_rates, plain_rates)
    print(
        f"ch insert x{rows_count:,}: kit median {kit_median:,.0f} rows/s "
        f"(min {min(kit_rates):,.0f}, max {max(kit_rates):,.0f}); plain median "
        f"{plain_median:,.0f} rows/s (min {min(plain_rates):,.0f}, max {max(plain_rates):,.0f}); "
        f"ratio of medians {kit_median / plain_median:.3f}, median of paired ratios {ratio:.3f}"
    )
    return ratio, kit_median


async def main(args: argparse.Namespace) -> int:
    count, rows_count, reps = (2_000, 200_000, 3) if args.quick else (10_000, 1_000_000, 7)
    reps = args.repetitions or reps
    pg_ratio = await bench_postgres(args, count, args.pg_window)
    ch_ratio, ch_rate = await bench_clickhouse(args, rows_count, reps)
    missed = [
        name
        for name, value, target in (
            ("pg_ratio", pg_ratio, PG_TARGET),
            ("ch_insert_ratio", ch_ratio, CH_TARGET),
        )
        if value < target
    ]
    for name in missed:
        print(f"target missed: {name}", file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "databases",
                "pg_ratio": round(pg_ratio, 3),
                "ch_insert_ratio": round(ch_ratio, 3),
                "ch_insert_rows_per_s": round(ch_rate),
            }
        )
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
