"""Leader failover timings: S1 (SIGKILL) and S2 (SIGTERM) with E = 3 s, three candidates.

Each trial waits for a stable leader and a random phase U(E/3, 2E/3) of its renew cycle,
then kills (S1) or stops (S2) it, measures, and replaces the candidate. Every candidate acts
every 10 ms only while ``is_leader()``; stale actions are counted over the whole run.

* crash failover = t(first TAKEN by another candidate) - t(SIGKILL sent)
* handover = t(first TAKEN by another candidate) - t(old leader's gated group stopped);
  the stop itself (SIGTERM → group stopped) is reported apart as ``stop_ms``.
* step-down (issue 8): a replica whose gated group cannot start wins the election while a
  healthy replica follows. takeover = t(the healthy replica's group started) - t(the failing
  replica's TAKEN); resign = t(its LOST) - t(its TAKEN). Each attempt starts a healthy
  leader, a failing and a healthy follower, then stops the leader gracefully; only attempts
  the failing follower wins count (``--step-down-trials`` of them).

Run: ``.venv/bin/python benchmarks/failover.py [--trials N]`` (20 trials by default; p99 is
nearest-rank, so over 20 trials it is the slowest one). It starts its own
``redis-server`` on a free port and ends it. Last line: one JSON object.

``--sentinel [--trials N]`` measures failovers through Sentinel instead (issue 10): a private
topology (a master, a replica, three sentinels, ``down-after-milliseconds`` 1000), three
candidates reaching Redis only through the sentinels, E = 3 s, ``min_replicas`` 0 and 1, N
trials (default 5) of each fault:

* F1 ``SENTINEL FAILOVER``; F2 SIGKILL of the master, which then comes back as a replica;
* recovery = t(first TAKEN after the fault) - t(fault);
* leaderless = t(first TAKEN after the fault) - t(the last action of any candidate before it):
  how long nobody acted.

``--sentinel --replicas 2`` runs the same on a topology with two promotable replicas (with
``min_replicas=1`` the replica that is not promoted confirms on the new master).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.leader.harness import Candidate, leader_of, stale_actions
from tests.integration.leader.test_sentinel_faults import f1_sentinel_failover, f2_master_killed
from tests.integration.redis_server import RedisServer, wait_until
from tests.integration.sentinel_topology import SentinelTopology
from tests.integration.step_down.harness import Replica

E = 3.0


def first_taken_after(group: list[Candidate], old: Candidate, since: float) -> float:
    times = [r["t"] for c in group if c is not old for r in c.events("taken") if r["t"] > since]
    return float(min(times))


def trial(
    server: RedisServer, group: list[Candidate], kind: str, rng: random.Random
) -> dict[str, float]:
    wait_until(lambda: leader_of(group) is not None, 10 * E, "a leader")
    old = leader_of(group)
    assert old is not None
    time.sleep(rng.uniform(E / 3, 2 * E / 3))
    sent = old.send(signal.SIGKILL if kind == "kill" else signal.SIGTERM)
    wait_until(
        lambda: any(c is not old and any(r["t"] > sent for r in c.events("taken")) for c in group),
        3 * E,
        "a new leader",
    )
    taken = first_taken_after(group, old, sent)
    result = {"failover_s": taken - sent}
    if kind == "term":
        old.wait_exit()
        stopped = old.events("stopped")[-1]["t"]
        result["handover_ms"] = (taken - stopped) * 1000
        result["stop_ms"] = (stopped - sent) * 1000
    else:
        old.wait_exit()
    group.remove(old)
    group.append(Candidate(server.port, E, grace=True))
    wait_until(lambda: bool(group[-1].events("ready")), 20, "the replacement candidate")
    return result


def step_down_attempt(port: int) -> dict[str, float] | None:
    """One attempt; ``None`` when the healthy follower, not the failing one, won the handover."""
    first = Replica(port, E, fail=False, backoff=E)
    replicas = [first]
    try:
        wait_until(lambda: bool(first.events("working")), 10 * E, "a healthy leader")
        failing = Replica(port, E, fail=True, backoff=E)
        healthy = Replica(port, E, fail=False, backoff=E)
        replicas += [failing, healthy]
        wait_until(
            lambda: bool(failing.events("ready") and healthy.events("ready")), 20, "followers"
        )
        first.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: bool(healthy.events("working")), 10 * E, "the healthy group")
        if not failing.events("taken"):
            return None
        taken = failing.events("taken")[0]["t"]
        lost = failing.events("lost")[0]["t"]
        working = healthy.events("working")[0]["t"]
        return {"takeover_ms": (working - taken) * 1000, "resign_ms": (lost - taken) * 1000}
    finally:
        for replica in replicas:
            replica.close()


def step_down(port: int, trials: int) -> tuple[list[float], list[float], int]:
    """Takeover and resign times (ms) over ``trials`` counted attempts, and the attempts made."""
    takeover: list[float] = []
    resign: list[float] = []
    attempts = 0
    while len(takeover) < trials and attempts < 10 * trials:
        attempts += 1
        result = step_down_attempt(port)
        if result is not None:
            takeover.append(result["takeover_ms"])
            resign.append(result["resign_ms"])
    return sorted(takeover), sorted(resign), attempts


def sentinel_trial(
    topo: SentinelTopology, fault: str, min_replicas: int, started: list[Candidate]
) -> dict[str, float]:
    """One Sentinel trial at E = 3 s: a fresh trio, the fault, a leader again."""
    topo.wait_settled()  # the master the sentinels name, with every replica online
    group = [Candidate(topo.url, E, grace=True, min_replicas=min_replicas) for _ in range(3)]
    started.extend(group)
    wait_until(lambda: all(c.events("ready") for c in group), 30, "three ready candidates")
    wait_until(lambda: leader_of(group) is not None, 10 * E, "a first leader")
    time.sleep(E / 2)
    fault_at = time.monotonic()
    (f1_sentinel_failover if fault == "F1" else f2_master_killed)(topo, group)

    def taken_after() -> list[float]:
        return [r["t"] for c in group for r in c.events("taken") if r["t"] > fault_at]

    wait_until(lambda: bool(taken_after()), 90, "a leader after the failover")
    taken = min(taken_after())
    time.sleep(E)
    acts = [r["t"] for c in group for r in c.events("act") if r["t"] < taken]
    result = {
        "recovery_s": taken - fault_at,
        "leaderless_s": taken - max(acts, default=fault_at),
        "stale": float(len(stale_actions(group))),
    }
    for candidate in group:
        candidate.close()
    return result


def sentinel_main(trials: int, replicas: int) -> None:
    """F1/F2 through Sentinel, min_replicas 0 and 1; prints a table and a JSON line."""
    rows: dict[str, list[dict[str, float]]] = {}
    started: list[Candidate] = []
    try:
        for min_replicas in (0, 1):
            for fault in ("F1", "F2"):
                with SentinelTopology(replicas=replicas) as topo:
                    key = f"{fault} min_replicas={min_replicas}"
                    for n in range(trials):
                        result = sentinel_trial(topo, fault, min_replicas, started)
                        rows.setdefault(key, []).append(result)
                        print(f"  {key} trial {n + 1}: {result}", file=sys.stderr)
    finally:
        for candidate in started:
            candidate.close()
    print(
        f"Sentinel, {replicas} replica(s), E = {E:g} s, {trials} trials each, 3 candidates, "
        "down-after 1000 ms"
    )
    med = statistics.median
    summary: dict[str, object] = {"benchmark": "failover-sentinel", "E_s": E, "replicas": replicas}
    for key, results in rows.items():
        recovery = sorted(r["recovery_s"] for r in results)
        gap = sorted(r["leaderless_s"] for r in results)
        stale = int(sum(r["stale"] for r in results))
        print(
            f"{key}: recovery (s) min {recovery[0]:.2f} median {med(recovery):.2f} "
            f"max {recovery[-1]:.2f}; leaderless (s) median {med(gap):.2f} max {gap[-1]:.2f}; "
            f"stale actions {stale}; leaderless per trial "
            + " ".join(f"{r['leaderless_s']:.2f}" for r in results)
        )
        slug = key.replace(" min_replicas=", "_mr")
        summary[f"{slug}_recovery_median_s"] = round(med(recovery), 2)
        summary[f"{slug}_leaderless_max_s"] = round(gap[-1], 2)
        summary[f"{slug}_stale"] = stale
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--step-down-trials", type=int, default=5)
    parser.add_argument("--sentinel", action="store_true", help="F1/F2 through Sentinel")
    parser.add_argument("--replicas", type=int, default=1, help="replicas (with --sentinel)")
    args = parser.parse_args()
    if args.sentinel:
        sentinel_main(args.trials or 5, args.replicas)
        return
    args.trials = args.trials or 20
    rng = random.Random(2026)
    retired: list[Candidate] = []
    with RedisServer() as server:
        group = [Candidate(server.port, E, grace=True) for _ in range(3)]
        try:
            kills = []
            terms = []
            for _ in range(args.trials):
                before = list(group)
                kills.append(trial(server, group, "kill", rng))
                retired += [c for c in before if c not in group]
            for _ in range(args.trials):
                before = list(group)
                terms.append(trial(server, group, "term", rng))
                retired += [c for c in before if c not in group]
            stale = len(stale_actions([*retired, *group]))
        finally:
            for candidate in [*retired, *group]:
                candidate.close()
        takeover, resign, attempts = step_down(server.port, args.step_down_trials)
    crash = sorted(k["failover_s"] for k in kills)
    handover = sorted(t["handover_ms"] for t in terms)
    stop = sorted(t["stop_ms"] for t in terms)
    print(f"E = {E:g} s, {args.trials} trials each, 3 candidates, loopback Redis")
    med = statistics.median
    print(f"S1 crash failover (s): min {crash[0]:.3f} median {med(crash):.3f} max {crash[-1]:.3f}")
    p99 = handover[min(len(handover) - 1, math.ceil(0.99 * len(handover)) - 1)]
    print(
        f"S2 handover (ms): min {handover[0]:.1f} p50 {med(handover):.1f} p99 {p99:.1f} "
        f"max {handover[-1]:.1f}"
    )
    print(f"S2 stop (SIGTERM to group stopped, ms): p50 {med(stop):.1f} max {stop[-1]:.1f}")
    print(f"stale actions: {stale}")
    if takeover:
        print(
            f"step-down takeover (ms, {len(takeover)} of {attempts} attempts): "
            f"min {takeover[0]:.1f} median {med(takeover):.1f} max {takeover[-1]:.1f}; "
            f"failing leader resigned after (ms): median {med(resign):.1f} max {resign[-1]:.1f}"
        )
    targets = {
        "crash_failover_max_s <= E + 0.1": crash[-1] <= E + 0.1,
        "crash_failover_median_s <= 0.85 E": statistics.median(crash) <= 0.85 * E,
        "handover_p50_ms <= 20": statistics.median(handover) <= 20,
        "handover_p99_ms <= 50": p99 <= 50,
        "stale_actions == 0": stale == 0,
    }
    for name, met in targets.items():
        print(f"  {name}: {'met' if met else 'MISSED'}")
    print(
        json.dumps(
            {
                "benchmark": "failover",
                "E_s": E,
                "crash_failover_max_s": round(crash[-1], 3),
                "crash_failover_median_s": round(statistics.median(crash), 3),
                "handover_p50_ms": round(statistics.median(handover), 1),
                "handover_p99_ms": round(p99, 1),
                "stale_actions": stale,
                "step_down_takeover_median_ms": round(med(takeover), 1) if takeover else None,
                "step_down_takeover_max_ms": round(takeover[-1], 1) if takeover else None,
            },
        ),
    )


if __name__ == "__main__":
    main()
