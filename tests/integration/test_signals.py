"""Signals reach a real child process running an Application."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service_pkg.app import DUPLICATE_WINDOW

pytestmark = pytest.mark.integration

Spawn = Callable[[str], "subprocess.Popen[str]"]

SCRIPT = Path(__file__).with_name("signal_app.py")
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(name="spawn")
def _spawn() -> Iterator[Spawn]:
    started: list[subprocess.Popen[str]] = []

    def spawn(mode: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        started.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        return proc

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_sigterm_stops_gracefully_with_exit_code_0(spawn: Spawn) -> None:
    """The first SIGTERM runs every stop with reason 'signal' and exits 0."""
    proc = spawn("graceful")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert proc.stdout is not None
    assert proc.stdout.read().strip() == "STOPPED signal"


def force_exit(spawn: Spawn, mode: str, sig: signal.Signals, timeout: float) -> int:
    """Signal a child once, wait until its stop is under way, signal again; its exit code."""
    proc = spawn(mode)
    proc.send_signal(sig)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STOPPED signal"
    # Within DUPLICATE_WINDOW the same signal again counts as the same request (a wrapper
    # forwarding a group kill's signal): the second request comes after it.
    time.sleep(DUPLICATE_WINDOW * 2)
    proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def test_second_sigint_during_a_hanging_stop_forces_exit_130(spawn: Spawn) -> None:
    """A second SIGINT while a stop awaits forever cancels it and exits 128 + 2."""
    # The stop would hang for 30 s; exiting at all proves the force path.
    assert force_exit(spawn, "hang", signal.SIGINT, timeout=5) == 128 + signal.SIGINT


def test_second_signal_exits_even_when_a_worker_thread_is_stuck(spawn: Spawn) -> None:
    """A sync stop stuck in its worker thread cannot hold the process past the backstop."""
    # The stuck stop lasts 30 s; 10 s leaves room for a loaded machine.
    assert force_exit(spawn, "thread", signal.SIGTERM, timeout=10) == 128 + signal.SIGTERM


def test_second_signal_exits_even_when_the_loop_is_blocked(spawn: Spawn) -> None:
    """With the event loop stuck in blocking code, the backstop still exits 128 + signal."""
    assert force_exit(spawn, "block", signal.SIGTERM, timeout=5) == 128 + signal.SIGTERM


def test_another_signal_at_once_forces_the_exit(spawn: Spawn) -> None:
    """Only the same signal again is a duplicate: SIGINT right after SIGTERM forces 128 + 2."""
    proc = spawn("hang")
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STOPPED signal"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=5) == 128 + signal.SIGINT
