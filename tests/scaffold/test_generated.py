"""The project made from the real template: named throughout, pinned, checked like the kit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from service_pkg._scaffold._sources import TEMPLATE_PATHS

ROOT = Path(__file__).resolve().parents[2]
KIT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The versions the kit's integration tests run against (scripts/servers.sh, the Debian
# packages): Redis 7.0, PostgreSQL 15, ClickHouse 18.16.
IMAGES = {
    "redis": ("redis:7.0", [6379]),
    "postgres": ("postgres:15", [5432]),
    "clickhouse": ("yandex/clickhouse-server:18.16", [8123, 9000]),
}


def text_files(root: Path) -> dict[str, str]:
    """Every file as text; binary ones (descriptors.binpb) decoded leniently."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file()
    }


def test_the_example_name_is_gone_everywhere(demo: Path) -> None:
    """No path or text of the new project still says example_service / example-service."""
    for rel, text in text_files(demo).items():
        assert "example" not in rel, rel
        assert not re.search(r"example[_-]service", text, re.IGNORECASE), rel


def test_every_template_path_present_in_the_checkout_is_carried_over(demo: Path) -> None:
    """example_service, its tests and (once they exist) alembic/ and protos/ are in the project."""
    for entry in TEMPLATE_PATHS:
        if (ROOT / entry).exists():
            renamed = entry.replace("example_service", "demo")
            assert (demo / renamed).exists(), entry


def test_the_project_depends_on_this_kit_version_with_the_example_extras(demo: Path) -> None:
    """service-pkg is pinned to the kit's version, with the extras the example needs."""
    project = tomllib.loads((demo / "pyproject.toml").read_text())["project"]
    version = KIT["project"]["version"]
    kit_requirement = project["dependencies"][0]
    assert re.fullmatch(rf"service-pkg(\[[a-z,]+\])?=={re.escape(version)}", kit_requirement)
    assert project["name"] == "demo"


def test_the_tool_settings_are_the_kits(demo: Path) -> None:
    """ruff's rules, pytest's options and the test/lint/typing pins are taken from the kit."""
    generated = tomllib.loads((demo / "pyproject.toml").read_text())
    assert generated["tool"]["ruff"]["lint"]["ignore"] == KIT["tool"]["ruff"]["lint"]["ignore"]
    pytest_options = generated["tool"]["pytest"]["ini_options"]
    assert pytest_options["filterwarnings"] == ["error"]
    assert pytest_options["markers"] == KIT["tool"]["pytest"]["ini_options"]["markers"]
    for group in ("tests", "lint", "typing"):
        assert generated["dependency-groups"][group] == KIT["dependency-groups"][group]
    assert generated["tool"]["mypy"]["packages"] == ["demo", "tests"]


def settings_env_names(project: Path, package: str) -> set[str]:
    """The environment variables the project's Settings reads (dataclass or pydantic-settings)."""
    probe = f"""
import dataclasses, json
from {package}.settings import Settings
if hasattr(Settings, "model_fields"):
    prefix = Settings.model_config.get("env_prefix", "")
    names = [(f.alias or prefix + n).upper() for n, f in Settings.model_fields.items()]
else:
    names = [f.name.upper() for f in dataclasses.fields(Settings)]
print(json.dumps(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def compose(demo: Path) -> dict[str, Any]:
    data = yaml.safe_load((demo / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_the_tested_server_versions_on_their_ports(demo: Path) -> None:
    """Redis, PostgreSQL and ClickHouse at the tested versions, published on loopback."""
    services = compose(demo)["services"]
    for name, (image, ports) in IMAGES.items():
        assert services[name]["image"] == image
        assert services[name]["ports"] == [f"127.0.0.1:{p}:{p}" for p in ports]


def test_compose_gives_the_app_only_settings_it_reads(demo: Path) -> None:
    """Every environment name of the app service is a field of the project's Settings."""
    app = compose(demo)["services"]["app"]
    names = set(app["environment"])
    assert names
    assert names <= settings_env_names(demo, "demo")
    assert app["build"] == "."
    assert set(app["depends_on"]) == set(IMAGES)


def test_compose_urls_point_at_services_and_ports_it_declares(demo: Path) -> None:
    """A URL the app gets (host:port) names a compose service and a port that service has."""
    services = compose(demo)["services"]
    for value in compose(demo)["services"]["app"]["environment"].values():
        match = re.search(r"://(?:[^@/]*@)?([\w-]+):(\d+)", str(value))
        if match:
            host, port = match.group(1), int(match.group(2))
            assert host in services, value
            published = [int(p.rsplit(":", 1)[1]) for p in services[host].get("ports", [])]
            assert port in published, value


def test_the_dockerfile_copies_what_exists_and_runs_the_package(demo: Path) -> None:
    """FROM a Python the project supports; every COPY source exists; CMD runs the package."""
    lines = [
        line.strip()
        for line in (demo / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [line.split(maxsplit=1) for line in lines]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    for keyword, rest in instructions:
        assert keyword in {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "CMD"}, keyword
        if keyword == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (demo / source).exists(), source
    assert json.loads(dict(instructions)["CMD"]) == ["python", "-m", "demo"]
    assert (demo / "demo" / "__main__.py").is_file()


def dry_run(project: Path, *targets: str) -> str:
    make = shutil.which("make")
    assert make is not None
    result = subprocess.run(
        [make, "-n", "--no-print-directory", *targets],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_run_installs_without_dev_tools_and_runs_the_package(demo: Path) -> None:
    """`make -n run`: a sync without the dev group, then `python -m demo` from .venv."""
    run = dry_run(demo, "run")
    assert "bash scripts/uv.sh sync --inexact --no-default-groups\n" in run
    assert run.endswith(".venv/bin/python -m demo\n")


def test_make_test_installs_the_dev_tools_and_runs_lint_typing_pytest(demo: Path) -> None:
    """The test target's parts (dry-run: the target itself runs sub-makes) and its recipe."""
    checks = dry_run(demo, "venv", "lint", "typing")
    assert "bash scripts/uv.sh sync --inexact --group dev" in checks
    assert ".venv/bin/ruff check demo tests" in checks
    assert ".venv/bin/mypy" in checks
    recipe = (demo / "Makefile").read_text().split("\ntest: venv\n", 1)[1]
    for step in ("lint || failed", "typing || failed", "$(VENV)/bin/pytest $(PYTEST_ARGS)"):
        assert step in recipe
