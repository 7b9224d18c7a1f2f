"""`python -m example_service` as `make run` starts it: no settings but ports, /readyz 200,
SIGTERM → exit code 0, JSON logs with the correlation id of the request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.example_service.process import ServiceProcess

pytestmark = pytest.mark.integration


def test_starts_with_no_setup_answers_readyz_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    """Embedded defaults (SQLite file in the working directory, migrations applied)."""
    service = ServiceProcess({"LINKS_HTTP_PORT": "0", "LINKS_GRPC_PORT": "0"}, tmp_path)
    try:
        http_url, _ = service.ready()
        assert httpx.get(f"{http_url}/readyz", timeout=5).status_code == 200
        created = httpx.post(
            f"{http_url}/links",
            json={"url": "https://example.com/"},
            headers={"X-Correlation-ID": "test-corr-1"},
            timeout=5,
        )
        assert created.status_code == 201
        assert created.headers["x-correlation-id"] == "test-corr-1"
        logged = service.wait_for(lambda: service.find("link created"), 10, "link created")
        assert logged[0]["correlation_id"] == "test-corr-1"
        assert (tmp_path / "example_service.db").is_file()
        assert service.terminate() == 0
    finally:
        service.close()
    assert "start order:" in service.stderr  # str(app.plan), printed at start
    assert "gated by election" in service.stderr
    messages = service.messages()
    assert "migrations applied" in messages
    assert messages[-1] == "application stopped"
    assert {r.get("service") for r in service.records} == {"example-service"}
