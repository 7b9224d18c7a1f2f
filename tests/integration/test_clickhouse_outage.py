"""ClickHouse stopped under a running client: health, classification, recovery.

These tests start a private ``clickhouse-server`` (self-contained config, free loopback ports,
a temporary directory) because they stop it; the shared server on 9000/8123 is never touched.
Only the PID started here is ever signalled.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import containers, providers

from service_pkg import Application, Component
from service_pkg.clickhouse import ClickHouseConfig, clickhouse_client, need_reconnect
from service_pkg.health import HealthStatus
from tests.integration.redis_server import free_port

pytestmark = pytest.mark.integration

BINARY = shutil.which("clickhouse-server")
CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/log/server.log</log>
    <errorlog>{root}/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{inter}</interserver_http_port>
  <max_connections>64</max_connections><keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>16</max_concurrent_queries>
  <uncompressed_cache_size>8388608</uncompressed_cache_size>
  <mark_cache_size>8388608</mark_cache_size>
  <path>{root}/data/</path><tmp_path>{root}/data/tmp/</tmp_path>
  <user_files_path>{root}/data/user_files/</user_files_path>
  <format_schema_path>{root}/data/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone><mlock_executable>false</mlock_executable>
</yandex>
"""
USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>500000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


class ClickHouseServer:
    """A throwaway ``clickhouse-server``: ``start()`` (waits for /ping), ``stop()``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="service-pkg-ch-"))
        self.tcp, self.http, inter = free_port(), free_port(), free_port()
        (self.root / "log").mkdir()
        (self.root / "data").mkdir()
        (self.root / "config.xml").write_text(
            CONFIG.format(root=self.root, http=self.http, tcp=self.tcp, inter=inter)
        )
        (self.root / "users.xml").write_text(USERS)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert BINARY is not None
        self.process = subprocess.Popen(
            [BINARY, f"--config-file={self.root / 'config.xml'}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/ping", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"clickhouse-server did not answer; see {self.root}/log")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(name="ch_server")
def _ch_server() -> Iterator[ClickHouseServer]:
    if BINARY is None:
        message = "clickhouse-server is not installed (make servers installs it)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = ClickHouseServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


async def status_becomes(app: Application, wanted: HealthStatus, within: float) -> None:
    async with asyncio.timeout(within):
        while (await app.health())["ch"].status is not wanted:  # noqa: ASYNC110 - polls a real server
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("transport", ["native", "http"])
async def test_health_fails_while_the_server_is_down_and_recovers(
    ch_server: ClickHouseServer, transport: str
) -> None:
    port = ch_server.tcp if transport == "native" else ch_server.http
    config = ClickHouseConfig(host="127.0.0.1", port=port, transport=transport, dial_timeout=1)  # type: ignore[arg-type]

    class Container(containers.DeclarativeContainer):
        ch = Component(clickhouse_client, providers.Object(config))

    container = Container()
    async with Application(container, install_signals=False, health_max_age=0) as app:
        client = container.ch()
        assert (await app.health())["ch"].status is HealthStatus.OK
        await asyncio.to_thread(ch_server.stop)
        try:
            await status_becomes(app, HealthStatus.FAILED, within=20)
            with pytest.raises(Exception) as caught:  # noqa: PT011 - each transport its own type
                await client.fetch("SELECT 1")
            assert need_reconnect(caught.value) is True
        finally:
            await asyncio.to_thread(ch_server.start)
        await status_becomes(app, HealthStatus.OK, within=20)
        await client.reconnect(caught.value)
        assert await client.fetch("SELECT 1") == [(1,)]
