"""Candidate processes and the safety analysis of their event logs (prior-art §6.1 and §6.2)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("candidate.py")
ROOT = Path(__file__).resolve().parents[3]

Record = dict[str, Any]


class JsonLinesProcess:
    """A child process that prints one JSON object per line; a thread collects them."""

    def __init__(self, argv: list[str]) -> None:
        # A PYTHONPATH the test run was given stays after ours (e.g. another redis-py).
        paths = [str(ROOT / "src"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.records.append(json.loads(line))

    def events(self, kind: str) -> list[Record]:
        with self._lock:
            return [r for r in self.records if r["ev"] == kind]

    def _reap(self) -> None:
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Candidate(JsonLinesProcess):
    """One candidate process of the fault tests."""

    def __init__(
        self,
        port: int | str,
        expiration: float,
        *,
        grace: bool,
        stall: float = 0.0,
        min_replicas: int = 0,
    ) -> None:
        super().__init__(
            [
                sys.executable,
                str(SCRIPT),
                str(port),
                str(expiration),
                "1" if grace else "0",
                str(stall),
                str(min_replicas),
            ]
        )

    def is_leading(self) -> bool:
        """Whether its last taken/lost event was a taken."""
        with self._lock:
            states = [r["ev"] for r in self.records if r["ev"] in {"taken", "lost"}]
        return bool(states) and states[-1] == "taken"

    def send(self, sig: signal.Signals) -> float:
        sent = time.monotonic()
        self.proc.send_signal(sig)
        return sent

    def wait_exit(self, timeout: float = 15.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reap()


def leader_of(candidates: Iterable[Candidate]) -> Candidate | None:
    leading = [c for c in candidates if c.proc.poll() is None and c.is_leading()]
    return leading[0] if len(leading) == 1 else None


@dataclass(frozen=True)
class Stale:
    """An action under an epoch after a larger epoch was taken elsewhere."""

    pid: int
    epoch: int
    t: float
    newer_epoch: int
    newer_t: float


def stale_actions(candidates: Iterable[Candidate]) -> list[Stale]:
    """Actions by one candidate after another one took a later epoch (should be none)."""
    records = [r for c in candidates for r in c.records]
    # When did each epoch begin? Its taken event, or its first action if that came earlier.
    began: dict[int, tuple[float, int]] = {}
    for r in records:
        if r["ev"] in {"taken", "act"}:
            t, pid = began.get(r["epoch"], (float("inf"), r["pid"]))
            if r["t"] < t:
                began[r["epoch"]] = (r["t"], r["pid"])
    stale = []
    for r in records:
        if r["ev"] != "act":
            continue
        for epoch, (t, pid) in began.items():
            if epoch > r["epoch"] and pid != r["pid"] and r["t"] > t:
                stale.append(Stale(r["pid"], r["epoch"], r["t"], epoch, t))
                break
    return stale


def terms(candidates: Iterable[Candidate]) -> list[tuple[float, int, int]]:
    """Every ``taken`` as ``(t, epoch, pid)``, in time order."""
    return sorted((r["t"], r["epoch"], r["pid"]) for c in candidates for r in c.events("taken"))


def epochs_strictly_increase(candidates: Iterable[Candidate]) -> bool:
    """Whether each term (``taken``) has a larger epoch than every term taken before it."""
    epochs = [epoch for _, epoch, _ in terms(candidates)]
    return all(a < b for a, b in itertools.pairwise(epochs))


def term_log(candidates: Iterable[Candidate]) -> str:
    """Every ``taken`` and ``lost`` in time order, one per line: a failed check's message."""
    rows = sorted(
        (r["t"], r["pid"], r["ev"], r["epoch"], r.get("reason"))
        for c in candidates
        for r in list(c.records)
        if r["ev"] in {"taken", "lost"}
    )
    return "\n".join(
        f"{t:.3f} pid={pid} {ev} epoch={epoch} ({reason})" for t, pid, ev, epoch, reason in rows
    )


def transitions(candidates: Iterable[Candidate], since: float) -> int:
    """taken + lost events after ``since``."""
    return sum(
        1
        for c in candidates
        for r in list(c.records)
        if r["ev"] in {"taken", "lost"} and r["t"] > since
    )
