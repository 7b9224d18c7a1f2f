"""The probe texts and the access line, without a server."""

from __future__ import annotations

import io
import json
import logging
import re

from service_pkg.app import RunState
from service_pkg.http._access import AccessLog
from service_pkg.http._probes import Probes
from service_pkg.testing import FakeRuntime


class TestProbes:
    async def test_readyz_without_a_runtime_reports_whether_the_server_serves(self) -> None:
        serving = True
        probes = Probes(None, lambda: serving)
        assert await probes.readyz(verbose=False) == (200, "ok\n")
        serving = False
        status, body = await probes.readyz(verbose=False)
        assert status == 503
        assert "stopping" in body

    async def test_readyz_is_503_once_the_server_stops_even_if_the_runtime_is_ready(self) -> None:
        probes = Probes(FakeRuntime(), lambda: False)
        assert (await probes.readyz(verbose=False))[0] == 503

    async def test_a_stopped_entry_is_shown_as_such(self) -> None:
        runtime = FakeRuntime()
        runtime.set_health("jobs", "stopped")
        _, body = await Probes(runtime, lambda: True).readyz(verbose=True)
        assert "[~]jobs stopped" in body.splitlines()

    async def test_a_starting_application_is_not_ready(self) -> None:
        runtime = FakeRuntime(state=RunState.STARTING, ready=False)
        status, body = await Probes(runtime, lambda: True).readyz(verbose=True)
        assert status == 503
        assert "[-]lifecycle failed: state starting" in body

    def test_livez_verbose_is_kubernetes_style(self) -> None:
        status, body = Probes(FakeRuntime(), lambda: True).livez(verbose=True)
        assert (status, body) == (200, "[+]ping ok\nlivez check passed\n")


class TestAccessLog:
    def test_a_line_is_one_json_object_with_the_schema_keys_in_order(self) -> None:
        stream = io.StringIO()
        AccessLog(stream, service="orders").write(
            "GET", "/items/{id}", "/items/1", 200, 1.23456, "curl/8", "c-1"
        )
        record = json.loads(stream.getvalue())
        assert list(record) == [
            "timestamp",
            "level",
            "logger",
            "message",
            "correlation_id",
            "service",
            "method",
            "route",
            "path",
            "status",
            "duration_ms",
            "user_agent",
        ]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
        assert record["duration_ms"] == 1.235
        assert stream.getvalue().endswith("}\n")

    def test_strings_are_json_escaped(self) -> None:
        stream = io.StringIO()
        AccessLog(stream).write("GET", None, '/a"b\n', 404, 0.1, 'x"\\y', "c")
        record = json.loads(stream.getvalue())
        assert (record["path"], record["user_agent"], record["route"]) == ('/a"b\n', 'x"\\y', None)

    def test_a_closed_stream_loses_the_line_without_raising(self) -> None:
        stream = io.StringIO()
        stream.close()
        AccessLog(stream).write("GET", None, "/", 200, 0.1, None, "c")

    def test_enabled_follows_the_access_logger_level(self) -> None:
        logger = logging.getLogger("service_pkg.http.access")
        logger.setLevel(logging.ERROR)
        try:
            assert not AccessLog(io.StringIO()).enabled()
        finally:
            logger.setLevel(logging.NOTSET)
