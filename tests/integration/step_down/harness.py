"""Candidate processes whose gated group may fail to start (tests and the failover benchmark)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.leader.harness import JsonLinesProcess

SCRIPT = Path(__file__).with_name("candidate.py")
BACKOFF = 0.3
"""Seconds of the first hold-off after a failed gated start (then doubling)."""


class Replica(JsonLinesProcess):
    """One ``candidate.py`` process; ``fail=True`` makes its gated group fail to start."""

    def __init__(
        self, port: int, expiration: float, *, fail: bool, backoff: float = BACKOFF
    ) -> None:
        super().__init__(
            [
                sys.executable,
                str(SCRIPT),
                str(port),
                str(expiration),
                "1" if fail else "0",
                str(backoff),
            ]
        )

    def close(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it takes longer than 15 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reap()
