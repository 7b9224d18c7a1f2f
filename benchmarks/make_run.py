"""Setup benchmark: a fresh clone's first ``make run``, and the second one.

Each round clones the repository's committed HEAD into a temporary folder (``git clone``, so
nothing of this checkout's ``.venv``/``.uv`` is reused) and then, in that clone:

* **first** ``make run``: uv is installed into ``.uv/`` with pip, ``.venv`` is created and
  the example's dependencies are installed from ``uv.lock``, then the example starts;
* **second** ``make run``: everything is installed, only the stamp check and the start remain.

For each run it records, from the moment ``make run`` is started: the first JSON log line of
the example (``first_log_s``), readiness (``ready_s``: with ``--url``, the first HTTP 200 from
that URL, polled every 50 ms — the example's ``/readyz`` once it serves HTTP; without it, the
``application started`` record), then sends SIGTERM to the example process and records the
exit code of ``make run`` and the time the stop took (``stop_s``).

Caches: by default the machine's uv and pip caches are used as they are (a developer machine
that has installed anything before; with a warm cache uv links files instead of downloading
them). ``--cold`` gives every round an empty uv cache and disables pip's cache, so all the
packages are downloaded from the index again: a machine that never ran uv.

The last line printed is one JSON object::

    {"benchmark": "make_run", "cache": "warm"|"cold", "first_ready_s": <median>,
     "second_ready_s": <median>, "exit_codes": [...], "rounds": N}

Run it with ``.venv/bin/python benchmarks/make_run.py [--rounds 3] [--cold] [--url URL]``.
Targets (issue 13): first ≤ 30 s including the install, second ≤ 3 s. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class Run:
    """One ``make run``: seconds from its start, and its exit code after SIGTERM."""

    first_log_s: float
    ready_s: float
    stop_s: float
    exit_code: int


def _child_pid(pid: int) -> int | None:
    """The example process: the python that make runs (a direct child of make)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _url_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URL given by the caller
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(
    proc: subprocess.Popen[str],
    started: threading.Event,
    url: str | None,
    start: float,
    output: list[str],
) -> None:
    if url is None:
        if not started.wait(TIMEOUT):
            raise TimeoutError("no 'application started' record:\n" + "".join(output[-20:]))
        return
    while not _url_ok(url):
        if time.monotonic() - start > TIMEOUT or proc.poll() is not None:
            raise TimeoutError(f"{url} never answered 200")
        time.sleep(0.05)


def make_run(clone: Path, env: dict[str, str], url: str | None) -> Run:
    """Start ``make run`` in ``clone``, wait for readiness, SIGTERM the example, time it all."""
    start = time.monotonic()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],  # noqa: S607 - make from PATH, as a user runs it
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first_log: float | None = None
    started = threading.Event()
    output: list[str] = []

    def read() -> None:
        nonlocal first_log
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("{"):
                if first_log is None:
                    first_log = time.monotonic() - start
                if json.loads(line).get("message") == "application started":
                    started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait_ready(proc, started, url, start, output)
        ready = time.monotonic() - start
        child = _child_pid(proc.pid)
        if child is None:
            raise RuntimeError("make run has no child process")
        stop_start = time.monotonic()
        os.kill(child, signal.SIGTERM)
        code = proc.wait(timeout=60)
        stop = time.monotonic() - stop_start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    return Run(first_log or ready, ready, stop, code)


def one_round(cold: bool, url: str | None) -> tuple[Run, Run]:
    """Clone, first make run, second make run."""
    with tempfile.TemporaryDirectory(prefix="make-run-") as tmp:
        clone = Path(tmp) / "clone"
        branch = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        subprocess.run(
            ["git", "clone", "--quiet", "--branch", branch, str(ROOT), str(clone)],  # noqa: S607
            check=True,
        )
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV"}}
        if cold:
            env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")
            env["PIP_NO_CACHE_DIR"] = "1"
        first = make_run(clone, env, url)
        second = make_run(clone, env, url)
    return first, second


def main() -> None:
    """Run the rounds and print the figures, then the JSON summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty uv cache, no pip cache")
    parser.add_argument("--url", help="poll this URL for 200 instead of the log record")
    args = parser.parse_args()
    firsts: list[Run] = []
    seconds: list[Run] = []
    for i in range(args.rounds):
        first, second = one_round(args.cold, args.url)
        firsts.append(first)
        seconds.append(second)
        for name, run in (("first", first), ("second", second)):
            print(
                f"round {i + 1} {name:6}: first log {run.first_log_s:6.2f} s, "
                f"ready {run.ready_s:6.2f} s, stop {run.stop_s:5.2f} s, exit {run.exit_code}"
            )
        sys.stdout.flush()
    print(
        json.dumps(
            {
                "benchmark": "make_run",
                "cache": "cold" if args.cold else "warm",
                "ready_by": args.url or "application started",
                "first_ready_s": round(statistics.median(r.ready_s for r in firsts), 2),
                "second_ready_s": round(statistics.median(r.ready_s for r in seconds), 2),
                "exit_codes": [r.exit_code for r in firsts + seconds],
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
