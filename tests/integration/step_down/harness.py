"""Candidate processes whose gated group may fail to start (tests and the failover benchmark)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("candidate.py")
ROOT = Path(__file__).resolve().parents[3]
BACKOFF = 0.3
"""Seconds of the first hold-off after a failed gated start (then doubling)."""


class Replica:
    """One candidate process; its JSON lines are collected by a reader thread."""

    def __init__(
        self, port: int, expiration: float, *, fail: bool, backoff: float = BACKOFF
    ) -> None:
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        args = [
            sys.executable,
            str(SCRIPT),
            str(port),
            str(expiration),
            "1" if fail else "0",
            str(backoff),
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.records.append(json.loads(line))

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.records if r["ev"] == kind]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
