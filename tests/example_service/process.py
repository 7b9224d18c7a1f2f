"""``python -m example_service`` as a child process, read through its JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "example_service"


class ServiceProcess:
    """One replica. Its stdout (JSON lines) is collected by a reader thread into ``records``."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        python_path = os.pathsep.join(
            p for p in (str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")) if p
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", PACKAGE],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": python_path, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.records: list[dict[str, Any]] = []
        self.stderr = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"message": line.rstrip("\n"), "raw": True}
            with self._lock:
                self.records.append(record)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def messages(self) -> list[str]:
        with self._lock:
            return [str(r.get("message")) for r in self.records]

    def find(self, message: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.records if r.get("message") == message]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
        """Poll ``predicate`` (every 20 ms) until truthy; fail with the log tail otherwise."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = "\n".join(self.messages()[-20:])
        raise AssertionError(
            f"{what or predicate} not seen (exit code {self.proc.poll()}); log tail:\n{tail}\n"
            f"stderr:\n{self.stderr[-2000:]}"
        )

    def ready(self, timeout: float = 45) -> tuple[str, int]:
        """Wait for both servers; return the HTTP base URL and the gRPC port."""
        http = self.wait_for(lambda: self.find("http server started"), timeout, "http started")
        grpc = self.wait_for(lambda: self.find("grpc server listening"), timeout, "grpc started")
        return str(http[0]["http_address"]), int(str(grpc[0]["address"]).rsplit(":", 1)[1])

    def leads(self) -> bool:
        return bool(self.find("leadership taken, starting gated group"))

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no stop, no release of the lock."""
        self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        self._err_reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
