"""End to end: the kit's wheel carries the template, and the generated project's `make test`
passes with the kit installed from that locally built wheel (the kit is on no package index)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ["bash", str(ROOT / "scripts" / "uv.sh")]


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=240
    )
    output = f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit's wheel, built from this checkout with uv (the build hook packs the template)."""
    out = tmp_path_factory.mktemp("wheels")
    run([*UV, "build", "--wheel", "--out-dir", str(out)], cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def installed_kit(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the kit's wheel: its `service-pkg` command, not the checkout's."""
    venv = tmp_path_factory.mktemp("kit") / "venv"
    # The uv.sh project environment would be the checkout's .venv; this venv is separate.
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    run([*UV, "venv", str(venv)], cwd=ROOT)
    wheel = next(wheels.glob("service_pkg-*.whl"))
    run([*UV, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)], ROOT, env)
    return venv


@pytest.mark.integration
def test_the_wheel_carries_the_template(wheels: Path) -> None:
    """The example, its tests, uv.sh and the kit's pyproject are inside the wheel."""
    names = zipfile.ZipFile(next(wheels.glob("*.whl"))).namelist()
    template = "service_pkg/_scaffold/template/"
    for rel in ("example_service/__main__.py", "tests/example_service/", "scripts/uv.sh"):
        assert any(n.startswith(template + rel) for n in names), rel
    assert template + "kit-pyproject.toml" in names


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_generated_project_passes_its_own_make_test(
    installed_kit: Path, wheels: Path, tmp_path: Path
) -> None:
    """`service-pkg new demo` from the installed wheel, then `make test` in the new project."""
    run([str(installed_kit / "bin" / "service-pkg"), "new", "demo"], cwd=tmp_path)
    project = tmp_path / "demo"
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env["UV_FIND_LINKS"] = str(wheels)
    output = run(["make", "test"], cwd=project, env=env)
    assert "make test: lint, typing and pytest passed" in output
    assert (project / "uv.lock").is_file()
