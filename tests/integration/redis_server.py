"""A private ``redis-server`` for tests that flush, pause, block or kill Redis.

The shared Redis on 127.0.0.1:6379 (``make servers``) is for ordinary tests; it must never be
flushed, paused or killed. A test that needs any of that starts its own server with
:class:`RedisServer` (or the ``redis_server`` fixture below) on a free loopback port::

    from tests.integration.redis_server import RedisServer, redis_server_fixture  # noqa: F401

    def test_x(redis_server: RedisServer) -> None:
        redis_server.kill()       # SIGKILL by PID: the data is gone
        redis_server.start()      # same port, empty, answering PING

The server runs without persistence (``--save '' --appendonly no``), with ``DEBUG`` allowed
from loopback (``--enable-debug-command local``, Redis >= 7; needed by :meth:`debug_sleep`),
in a temporary directory that also holds its log. Only the PID this object started is ever
signalled, and the fixture always stops it. The helpers are synchronous (a raw RESP2 socket):
call them from async tests freely, they take microseconds (except :meth:`debug_sleep`'s
thread, which runs in the background).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

__all__ = ("RedisReplyError", "RedisServer", "free_port", "redis_server_fixture", "wait_until")

HOST = "127.0.0.1"
BINARY = shutil.which("redis-server")

Reply = bytes | int | list["Reply"] | None


class RedisReplyError(Exception):
    """Redis answered a command with an error reply (``-ERR ...``)."""


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (blocking: harness code outside the event loop) for ``timeout`` s.

    The async tests use :func:`service_pkg.testing.eventually`; this is for the synchronous
    fixtures that drive server processes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _encode(*args: str | bytes | float) -> bytes:
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def _read(stream: io.BufferedReader) -> Reply:
    line = stream.readline()
    if not line:
        raise ConnectionError("redis-server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RedisReplyError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = stream.read(size + 2)
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read(stream) for _ in range(count)]
    raise ConnectionError(f"unexpected reply {line!r}")


def _version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out.stdout)
    return tuple(int(x) for x in found.groups()) if found else (0,)


class RedisServer:
    """One ``redis-server`` process on a loopback port, tracked by PID.

    Args:
        port: The port to listen on; a free one when ``None``. It is kept across
            :meth:`kill` / :meth:`start`, so clients reconnect to the same address.
        args: Extra ``redis-server`` arguments, e.g. ``("--requirepass", "s3cret")``.
        password: Sent as ``AUTH`` by the helpers when the server requires one.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        args: tuple[str, ...] = (),
        password: str | None = None,
    ) -> None:
        if BINARY is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = BINARY
        self.host = HOST
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.args = args
        self.password = password
        self._dir = Path(tempfile.mkdtemp(prefix="service-pkg-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path = self._dir / "redis.log"
        self._debug_ok = _version(self.binary) >= (7,)
        self.debug_sleep_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<RedisServer {self.host}:{self.port} pid={self.pid}>"

    # -- identity --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``."""
        return (self.host, self.port)

    @property
    def pid(self) -> int | None:
        """PID of the running server, ``None`` when it is not running."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the process this object started is alive."""
        return self.pid is not None

    # -- process control -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (empty) and return once it answers ``PING``.

        With an automatic port, a port taken in the meantime is replaced by another one.

        Raises:
            RuntimeError: it did not start within ``timeout``; the message has its log tail.
        """
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        attempts = 1 if self._fixed_port else 5
        for attempt in range(attempts):
            if self._spawn_and_wait(timeout):
                return
            if attempt + 1 < attempts:
                self.port = free_port()
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{self.log_tail()}")

    def _spawn_and_wait(self, timeout: float) -> bool:
        argv = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._dir),
            "--logfile",
            str(self._log),
            "--daemonize",
            "no",
        ]
        if self._debug_ok:
            argv += ["--enable-debug-command", "local"]
        argv += list(self.args)
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:  # exited: e.g. the port was taken
                self._proc = None
                return False
            if self.ping():
                return True
            time.sleep(0.01)
        self._signal(signal.SIGKILL)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout``. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        self.thaw()  # a stopped (SIGSTOP) process cannot handle SIGTERM
        self._signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            proc.wait(timeout)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, data lost) and reap it. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        self._signal(signal.SIGKILL)
        proc.wait(10)
        self._proc = None

    def restart(self, timeout: float = 10.0) -> None:
        """:meth:`kill`, then :meth:`start` on the same port: an empty Redis at the same address."""
        self._fixed_port = True
        self.kill()
        self.start(timeout)

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open, nothing is answered (a hung host)."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, sig)  # only the PID this object started

    def close(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------

    def command(self, *args: str | bytes | float, timeout: float = 5.0) -> Reply:
        """Send one command on a fresh connection and return the decoded RESP2 reply.

        Raises:
            RedisReplyError: the server answered with an error.
            OSError: the server is not reachable.
        """
        with socket.create_connection(self.address, timeout=timeout) as sock:
            stream = sock.makefile("rb")
            try:
                if self.password is not None:
                    sock.sendall(_encode("AUTH", self.password))
                    _read(stream)
                sock.sendall(_encode(*args))
                return _read(stream)
            finally:
                stream.close()

    def ping(self) -> bool:
        """True if the server answers ``PING`` within 0.5 s."""
        try:
            return self.command("PING", timeout=0.5) == b"PONG"
        except (OSError, RedisReplyError):
            return False

    def flushall(self) -> None:
        """``FLUSHALL``: every key is gone (scripts stay cached)."""
        self.command("FLUSHALL")

    def script_flush(self) -> None:
        """``SCRIPT FLUSH``: the next ``EVALSHA`` of every script gets ``NOSCRIPT``."""
        self.command("SCRIPT", "FLUSH")

    def pause(self, seconds: float, mode: str = "ALL") -> None:
        """``CLIENT PAUSE <ms> <mode>``; returns at once. Key expiry is frozen meanwhile."""
        reply = self.command("CLIENT", "PAUSE", round(seconds * 1000), mode)
        if reply != b"OK":
            raise RedisReplyError(f"CLIENT PAUSE answered {reply!r}")

    def unpause(self) -> None:
        """``CLIENT UNPAUSE``."""
        self.command("CLIENT", "UNPAUSE")

    def debug_sleep(self, seconds: float) -> threading.Thread:
        """Block the server with ``DEBUG SLEEP`` from a background thread.

        Returns the started thread; ``join()`` it. The thread raises (seen by ``join()``'s
        caller through :attr:`debug_sleep_error`) if ``DEBUG`` was refused, which Redis >= 7
        does unless started with ``--enable-debug-command`` (prior-art-lock-leader.md §6.5).
        """
        self.debug_sleep_error = None

        def run() -> None:
            try:
                reply = self.command("DEBUG", "SLEEP", seconds, timeout=seconds + 5)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.debug_sleep_error = exc
                return
            if reply != b"OK":
                self.debug_sleep_error = RedisReplyError(f"DEBUG SLEEP answered {reply!r}")

        thread = threading.Thread(target=run, name=f"debug-sleep-{self.port}", daemon=True)
        thread.start()
        return thread

    def kill_clients(self, client_type: str = "normal") -> int:
        """``CLIENT KILL TYPE <type>``: drop every client connection of that type."""
        reply = self.command("CLIENT", "KILL", "TYPE", client_type)
        return reply if isinstance(reply, int) else 0

    def info(self, section: str = "default") -> dict[str, str]:
        """``INFO <section>`` as a dict."""
        reply = self.command("INFO", section)
        text = reply.decode() if isinstance(reply, bytes) else ""
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return dict(pairs)

    def _write_confirmed(self, count: int, within_ms: int) -> bool:
        """One write here, then ``WAIT count within_ms`` on the same connection."""
        with socket.create_connection(self.address, timeout=5) as sock:
            stream = sock.makefile("rb")
            try:
                if self.password is not None:
                    sock.sendall(_encode("AUTH", self.password))
                    _read(stream)
                probe = _encode("SET", "service-pkg:test:replication-probe", time.monotonic())
                sock.sendall(probe + _encode("WAIT", count, within_ms))
                _read(stream)
                confirmed = _read(stream)
            finally:
                stream.close()
        return isinstance(confirmed, int) and confirmed >= count

    def wait_replicas_streaming(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` replicas confirm every write within 100 ms, for 1.2 s running.

        ``state=online`` in ``INFO replication`` is not enough: for about a second after a full
        sync (Redis 7.0.15 here, about half of the fresh pairs) a replica answers ``WAIT`` only
        with its once-a-second ``REPLCONF ACK``, so a ``WAIT`` with a short timeout returns 0
        although the replica is up and in sync; one prompt answer does not end that window
        either, hence the streak.
        """
        deadline = time.monotonic() + timeout
        streak = time.monotonic()
        while True:
            now = time.monotonic()
            if not self._write_confirmed(count, 100):
                streak = time.monotonic()
            elif now - streak >= 1.2:  # longer than one ACK period
                return
            if now > deadline:
                raise AssertionError(f"{count} replica(s) of :{self.port} did not confirm")
            time.sleep(0.02)

    def commandstats(self) -> dict[str, int]:
        """Calls per command from ``INFO commandstats`` (``{"evalsha": 12, ...}``).

        Commands run inside Lua scripts are counted under their own names too; count only
        the commands a client can send (``evalsha``, ``eval``, ``script|load``...) to get round
        trips.
        """
        stats = self.info("commandstats")
        calls: dict[str, int] = {}
        for key, value in stats.items():
            if key.startswith("cmdstat_"):
                found = re.search(r"calls=(\d+)", value)
                calls[key.removeprefix("cmdstat_")] = int(found.group(1)) if found else 0
        return calls

    @contextlib.contextmanager
    def sentinel(self, master_name: str, *, password: str | None = None) -> Iterator[int]:
        """Run a Redis Sentinel monitoring this server as ``master_name``; yield its port.

        ``password`` is the sentinel's own ``requirepass``; the master's password (this
        object's ``password``) is given to it as ``auth-pass``. The sentinel process is
        stopped (by its PID) at exit.
        """
        port = free_port()
        conf = self._dir / f"sentinel-{port}.conf"
        lines = [
            f"port {port}",
            f"bind {self.host}",
            f"dir {self._dir}",
            f"sentinel monitor {master_name} {self.host} {self.port} 1",
        ]
        if self.password is not None:
            lines.append(f"sentinel auth-pass {master_name} {self.password}")
        if password is not None:
            lines.append(f"requirepass {password}")
        conf.write_text("\n".join(lines) + "\n")
        proc = subprocess.Popen(
            [self.binary, str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection((self.host, port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("redis sentinel did not start") from None
                    time.sleep(0.01)
            yield port
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            proc.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(name="redis_server")
def redis_server_fixture() -> Iterator[RedisServer]:
    """A started private :class:`RedisServer`, always stopped and removed after the test.

    Without ``redis-server`` installed the test is skipped, or fails when ``CI`` is set.
    Import it into a test module or a conftest to use it
    (``from tests.integration.redis_server import redis_server_fixture  # noqa: F401``).
    """
    if BINARY is None:
        reason = "redis-server is not installed; `make servers` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} [CI is set: a missing server is a failure]", pytrace=False)
        pytest.skip(reason)
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
