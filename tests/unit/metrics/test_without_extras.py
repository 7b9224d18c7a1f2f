"""With prometheus-client and OpenTelemetry absent, nothing breaks and nothing is imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"

# Runs in a fresh interpreter where importing either package fails, as on an install
# without the extras.
SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib.abc, io, json, logging, sys

    BLOCKED = ("prometheus_client", "opentelemetry")

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())

    from dependency_injector import containers
    from service_pkg import Application, Component
    from service_pkg import logs

    async def resource():
        yield "ok"

    class C(containers.DeclarativeContainer):
        db = Component(resource)

    out = io.StringIO()
    logs.configure(stream=out)

    async def main():
        async with Application(C(), install_signals=False):
            logging.getLogger("app").info("running")

    asyncio.run(main())
    line = [json.loads(x) for x in out.getvalue().splitlines() if '"running"' in x][0]
    assert "trace_id" not in line, line
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert loaded == [], loaded
    for module, extra in (("service_pkg.metrics", "metrics"), ("service_pkg.tracing", "tracing")):
        try:
            __import__(module)
        except ImportError as exc:
            assert f"pip install 'service-pkg[{extra}]'" in str(exc), exc
            assert type(exc).__name__ == "MissingDependencyError", type(exc)
        else:
            raise AssertionError(f"{module} imported without its extra")
    print("ok")
    """
)


def test_the_kit_runs_and_logs_without_the_observability_extras() -> None:
    """An application starts, stops and logs JSON; both integrations name the pip install."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=45,
        env={"PYTHONPATH": str(SRC)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# The metrics and tracing packages need only their own extra: the HTTP, gRPC and database
# integrations they wrap are imported when used, not when the package is.
ONLY_OWN_EXTRAS = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = ("litestar", "grpclib", "sqlalchemy", "uvicorn", "httpx")

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())
    import service_pkg.metrics, service_pkg.tracing

    kit = service_pkg.metrics.KitMetrics()
    assert b"service_pkg_job_runs_total" in kit.exposition()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert loaded == [], loaded
    print("ok")
    """
)


def test_metrics_and_tracing_import_without_the_integrations_they_wrap() -> None:
    """No Litestar, grpclib or SQLAlchemy is needed to import either package."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", ONLY_OWN_EXTRAS],
        capture_output=True,
        text=True,
        timeout=45,
        env={"PYTHONPATH": str(SRC)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
