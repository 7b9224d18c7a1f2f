"""``service-pkg new`` refuses bad names and non-empty folders, clearly and before writing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service_pkg._scaffold import check_name, generate
from service_pkg.exceptions import ConfigError


@pytest.mark.parametrize("name", ["demo", "links2", "my_service", "a"])
def test_a_lowercase_identifier_is_accepted(name: str) -> None:
    """Lowercase letters, digits and underscores, starting with a letter."""
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("my-service", r"must be a Python package name.*try 'my_service'"),
        ("MyService", r"must be a Python package name.*try 'myservice'"),
        ("2fast", "must be a Python package name"),
        ("_private", "must be a Python package name"),
        ("", "must be a Python package name"),
        ("dé", "must be a Python package name"),
        ("class", "is a Python keyword"),
        ("match", "is a Python keyword"),
        ("json", "is a standard library module"),
        ("service_pkg", "is taken"),
        ("example_service", "is taken"),
        ("tests", "is taken"),
    ],
)
def test_a_bad_name_is_refused_with_the_reason(name: str, reason: str) -> None:
    """The ConfigError names the argument, the rule and the value."""
    with pytest.raises(ConfigError, match=rf"^NAME: {reason}") as info:
        check_name(name)
    assert repr(name) in str(info.value)


def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Nothing is written into a folder that has files, not even next to them."""
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"^--path: is not empty; nothing was written"):
        generate("demo", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_file_is_refused_as_the_target(tmp_path: Path) -> None:
    """A path that is a file is not a folder to create a project in."""
    target = tmp_path / "demo"
    target.write_text("")
    with pytest.raises(ConfigError, match=r"^--path: is a file"):
        generate("demo", target)


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    """An existing empty folder receives the project, and no staging folder is left behind."""
    target = tmp_path / "demo"
    target.mkdir()
    generate("demo", target)
    assert (target / "demo" / "__main__.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_the_command_reports_a_refusal_on_stderr_with_exit_code_2(tmp_path: Path) -> None:
    """`service-pkg new Bad-Name` prints one clear line and writes nothing."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service_pkg._cli",
            "new",
            "Bad-Name",
            "--path",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("service-pkg new: NAME: must be a Python package name")
    assert not (tmp_path / "x").exists()


def test_the_command_creates_the_project_in_dot_name_by_default(tmp_path: Path) -> None:
    """Without --path the project goes to ./NAME, and the next step is printed."""
    result = subprocess.run(
        [sys.executable, "-m", "service_pkg._cli", "new", "shop"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shop" / "shop" / "containers.py").is_file()
    assert "cd shop && make test" in result.stdout


def test_the_console_script_is_installed() -> None:
    """The `service-pkg` entry point names the CLI's main()."""
    import importlib.metadata  # noqa: PLC0415

    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["service-pkg"] == "service_pkg._cli:main"
