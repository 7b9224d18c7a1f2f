"""A private Redis Sentinel topology for failover tests: a master, replicas, three sentinels.

Every process runs on a free loopback port, is tracked by the PID this module started, and is
stopped by :meth:`SentinelTopology.close` (the fixture always calls it). The sentinels detect
a dead master after ``down_after`` ms (default 1000) with a quorum of 2 and fail over to the
replica; the data servers run without persistence, as :class:`RedisServer` does::

    with SentinelTopology() as topo:
        topo.master.kill()              # F2: SIGKILL, the replica is promoted
        topo.wait_for_new_master(old)   # the sentinels name the replica now
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.integration.redis_server import (
    BINARY,
    HOST,
    RedisReplyError,
    RedisServer,
    free_port,
    wait_until,
)

__all__ = (
    "FAST_SYNC",
    "MASTER_NAME",
    "SentinelTopology",
    "sentinel_topology_fixture",
    "two_replica_topology_fixture",
)

MASTER_NAME = "ha"
FAST_SYNC = ("--repl-diskless-sync-delay", "0")
"""A master sends a full sync at once (Redis 7 waits 5 s by default for more replicas)."""


class _Sentinel:
    """One ``redis-server --sentinel`` process (its config file must be writable)."""

    def __init__(self, directory: Path, master: RedisServer, down_after_ms: int) -> None:
        assert BINARY is not None
        self.port = free_port()
        self._conf = directory / f"sentinel-{self.port}.conf"
        self._conf.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    f"bind {HOST}",
                    f"dir {directory}",
                    f"logfile {directory / f'sentinel-{self.port}.log'}",
                    f"sentinel monitor {MASTER_NAME} {HOST} {master.port} 2",
                    f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}",
                    f"sentinel failover-timeout {MASTER_NAME} 4000",
                    f"sentinel parallel-syncs {MASTER_NAME} 1",
                ]
            )
            + "\n"
        )
        self._proc = subprocess.Popen(
            [BINARY, str(self._conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
            except OSError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis sentinel did not start") from None
                time.sleep(0.01)
            else:
                return

    def command(self, *args: str) -> object:
        probe = RedisServer.__new__(RedisServer)  # only its RESP helper, on our port
        probe.host, probe.port, probe.password = HOST, self.port, None
        return probe.command(*args)

    def stop(self) -> None:
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGTERM)  # only the PID we started
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)


class SentinelTopology:
    """A master, ``replicas`` replicas of it and three sentinels, all on loopback.

    ``servers`` keeps the data servers in start order; which one is master changes with
    failovers: :meth:`master_server` asks the sentinels.
    """

    def __init__(self, *, replicas: int = 1, down_after_ms: int = 1000) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="service-pkg-sentinel-"))
        self.servers: list[RedisServer] = []
        self.sentinels: list[_Sentinel] = []
        self._replicas = replicas
        self._down_after_ms = down_after_ms

    def start(self) -> None:
        master = RedisServer(args=FAST_SYNC)
        self.servers.append(master)
        master.start()
        for _ in range(self._replicas):
            replica = RedisServer(args=(*FAST_SYNC, "--replicaof", HOST, str(master.port)))
            self.servers.append(replica)
            replica.start()
        self.wait_replicas(master, self._replicas)
        self.sentinels = [_Sentinel(self._dir, master, self._down_after_ms) for _ in range(3)]
        wait_until(lambda: all(self._known(s) for s in self.sentinels), 20, "sentinels to agree")

    def _known(self, sentinel: _Sentinel) -> bool:
        try:
            info = sentinel.command("SENTINEL", "MASTER", MASTER_NAME)
        except OSError:
            return False
        assert isinstance(info, list)
        fields = {bytes(k).decode(): v for k, v in zip(info[::2], info[1::2], strict=True)}
        slaves = int(fields.get("num-slaves", b"0"))
        others = int(fields.get("num-other-sentinels", b"0"))
        return slaves >= self._replicas and others >= len(self.sentinels) - 1

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(HOST, s.port) for s in self.sentinels]

    @property
    def url(self) -> str:
        """A Go-style failover URL the kit's ``RedisConfig`` reads."""
        first, *rest = self.sentinels
        extra = "".join(f"&addr={HOST}:{s.port}" for s in rest)
        return f"redis://{HOST}:{first.port}/0?master_name={MASTER_NAME}{extra}"

    def master_port(self) -> int | None:
        """The master's port as a majority of the sentinels name it (``None``: no majority)."""
        votes: dict[int, int] = {}
        for sentinel in self.sentinels:
            with contextlib.suppress(OSError):
                reply = sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                if isinstance(reply, list) and len(reply) == 2:
                    port = int(bytes(reply[1]))
                    votes[port] = votes.get(port, 0) + 1
        best = max(votes.items(), key=lambda item: item[1], default=None)
        return best[0] if best is not None and best[1] >= 2 else None

    def master_server(self) -> RedisServer:
        port = self.master_port()
        found = [s for s in self.servers if s.port == port]
        assert found, f"no server on the master port {port}"
        return found[0]

    def replica_servers(self) -> list[RedisServer]:
        master = self.master_server()
        return [s for s in self.servers if s is not master]

    def failover(self, timeout: float = 60.0) -> None:
        """``SENTINEL FAILOVER`` (F1), sent again until a replica is promoted.

        A sentinel refuses (``-NOGOODSLAVE``, ``-INPROG``) while its view of the replica is
        stale, and gives up a promotion that a loaded machine makes slower than
        ``failover-timeout``; neither is what the tests are about.
        """
        old = self.master_port()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RedisReplyError, OSError):
                self.sentinels[0].command("SENTINEL", "FAILOVER", MASTER_NAME)
            until = time.monotonic() + 8
            while time.monotonic() < until:
                port = self.master_port()
                if port is not None and port != old:
                    return
                time.sleep(0.05)
        raise AssertionError(f"SENTINEL FAILOVER did not promote a replica in {timeout} s")

    def wait_for_new_master(self, old_port: int, timeout: float = 30.0) -> RedisServer:
        """Wait until the sentinels name another master and it answers as one."""

        def promoted() -> bool:
            port = self.master_port()
            if port is None or port == old_port:
                return False
            server = next(s for s in self.servers if s.port == port)
            with contextlib.suppress(OSError):
                return server.info("replication").get("role") == "master"
            return False

        wait_until(promoted, timeout, "a promoted replica")
        return self.master_server()

    def wait_replicas(self, master: RedisServer, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` replicas of ``master`` acknowledged a write (a ``WAIT`` works)."""
        master.wait_replicas_streaming(count, timeout)

    def wait_settled(self, timeout: float = 30.0, repair_after: float = 5.0) -> RedisServer:
        """Wait until the sentinels' master is a master with every replica online; return it.

        The master is read again on every poll (the sentinels' view can lag a revived
        server), and found again when it is demoted while its replicas are probed. After
        ``repair_after`` seconds a server that does not replicate that master is told to
        (``REPLICAOF``): a loaded machine can leave the sentinels' own reconfiguration late,
        which is not what the tests are about.
        """
        began = time.monotonic()
        found: list[RedisServer] = []

        def settled() -> bool:
            with contextlib.suppress(OSError, AssertionError, RedisReplyError):
                master = self.master_server()
                info = master.info("replication")
                online = [v for k, v in info.items() if k.startswith("slave") and "online" in v]
                if info.get("role") == "master" and len(online) >= self._replicas:
                    found[:] = [master]
                    return True
                if time.monotonic() - began > repair_after:
                    for server in self.servers:
                        if server is not master:
                            with contextlib.suppress(OSError, RedisReplyError):
                                server.command("REPLICAOF", HOST, str(master.port))
            return False

        deadline = began + timeout
        while True:
            left = max(1.0, deadline - time.monotonic())
            wait_until(settled, left, f"a master with {self._replicas} online replica(s)")
            try:
                found[0].wait_replicas_streaming(
                    self._replicas, max(1.0, deadline - time.monotonic())
                )
            except (RedisReplyError, OSError):
                # READONLY, or the connection closed under a blocked WAIT: the master was
                # demoted meanwhile. Under load a sentinel has been seen to fail the new master
                # over again a second after a failover (down-after is 1 s here).
                if time.monotonic() > deadline:
                    raise
                continue
            return found[0]

    def close(self) -> None:
        """Stop every process this topology started (sentinels first), remove its files."""
        try:
            for sentinel in self.sentinels:
                sentinel.stop()
            for server in self.servers:
                server.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture(name="sentinel_topology")
def sentinel_topology_fixture() -> Iterator[SentinelTopology]:
    """A started :class:`SentinelTopology` (one master, one replica), always stopped after.

    One per test (about 2 s to start: the sentinels must find each other), so a fault left
    half-handled by the sentinels never leaks into the next test.
    """
    if BINARY is None:
        reason = "redis-server is not installed; `make servers` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} [CI is set: a missing server is a failure]", pytrace=False)
        pytest.skip(reason)
    with SentinelTopology() as topology:
        yield topology


@pytest.fixture(name="two_replica_topology")
def two_replica_topology_fixture() -> Iterator[SentinelTopology]:
    """A started :class:`SentinelTopology` with two replicas (either may be promoted)."""
    if BINARY is None:
        reason = "redis-server is not installed; `make servers` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} [CI is set: a missing server is a failure]", pytrace=False)
        pytest.skip(reason)
    with SentinelTopology(replicas=2) as topology:
        yield topology
