"""The new project's own files: pyproject.toml from the kit's, Makefile, Docker files."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ("KitSettings", "project_files")

FILES = Path(__file__).parent / "files"
# Template file in files/ → path in the new project.
_OUTPUTS = {
    "Makefile.tmpl": "Makefile",
    "Dockerfile.tmpl": "Dockerfile",
    "docker-compose.yml.tmpl": "docker-compose.yml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
    "wheels-README.md.tmpl": "wheels/README.md",
}
_KIT = "service-pkg"
_SELF_REFERENCE = re.compile(r"service[-_.]pkg\s*(?:\[([^\]]*)\])?\s*(;.*)?", re.IGNORECASE)


class KitSettings:
    """What the new project takes from the kit's pyproject.toml.

    The kit's version and ``example`` extra become the dependencies; its test, lint and typing
    groups and its ruff, mypy, pytest and uv settings become the project's, so a generated
    project is checked exactly as the example is checked here.
    """

    def __init__(self, pyproject: Mapping[str, Any]) -> None:
        self._data = pyproject

    @classmethod
    def read(cls, path: Path) -> KitSettings:
        """Parse the kit's pyproject.toml at ``path``."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8")))

    @property
    def version(self) -> str:
        """The kit's version, which the new project pins."""
        return str(self._data["project"]["version"])

    def dependencies(self) -> list[str]:
        """``service-pkg[<extras>]==<version>`` plus the example's other requirements."""
        extras: list[str] = []
        others: list[str] = []
        for requirement in (
            self._data["project"].get("optional-dependencies", {}).get("example", [])
        ):
            match = _SELF_REFERENCE.fullmatch(requirement.strip())
            if match:
                extras += [e.strip() for e in (match.group(1) or "").split(",") if e.strip()]
            else:
                others.append(requirement)
        kit = f"{_KIT}[{','.join(sorted(set(extras)))}]" if extras else _KIT
        return [f"{kit}=={self.version}", *others]

    def group(self, name: str) -> list[Any]:
        """A dependency group of the kit, as written there."""
        return list(self._data.get("dependency-groups", {}).get(name, []))

    def tool(self, *path: str) -> dict[str, Any]:
        """A ``[tool.…]`` table of the kit (empty when it has none)."""
        table: Any = self._data.get("tool", {})
        for key in path:
            table = table.get(key, {})
        return dict(table)


def project_files(kit: KitSettings, package: str, dist: str) -> dict[str, bytes]:
    """Render the new project ``package``'s own files (distribution ``dist``).

    ``pyproject.toml`` is built as data from the kit's and written by ``tomli_w``; the other
    files of ``files/`` are ``{{name}}`` templates (``$`` belongs to make and the shell).
    """
    values = {"package": package, "dist": dist, "kit_version": kit.version}
    rendered = {"pyproject.toml": _pyproject(kit, package, dist)}
    for source, target in _OUTPUTS.items():
        text = (FILES / source).read_text(encoding="utf-8")
        rendered[target] = _Template(text).substitute(values).encode("utf-8")
    return rendered


class _Template(string.Template):
    delimiter = "{{"
    # A string, as string.Template compiles it itself (typeshed types the compiled result).
    pattern = r"""\{\{(?:
        (?P<escaped>(?!x)x) |
        (?P<named>[a-z_]+)\}\} |
        (?P<braced>(?!x)x) |
        (?P<invalid>)
    )"""  # type: ignore[assignment]


def _pyproject(kit: KitSettings, package: str, dist: str) -> bytes:
    ruff_lint = kit.tool("ruff", "lint")
    per_file = ruff_lint.pop("per-file-ignores", {})
    ruff_lint["per-file-ignores"] = {
        "tests/**": per_file.get("tests/**", []),
        f"{package}/**": per_file.get("example_service/**", []),
    }
    mypy = kit.tool("mypy")
    mypy.pop("mypy_path", None)
    mypy["packages"] = [package, "tests"]
    pytest_options = kit.tool("pytest", "ini_options")
    pytest_options["testpaths"] = ["tests"]
    ruff = {k: v for k, v in kit.tool("ruff").items() if not isinstance(v, dict)}
    ruff["src"] = ["."]
    ruff["lint"] = ruff_lint
    data = {
        "build-system": {"requires": ["hatchling>=1.25"], "build-backend": "hatchling.build"},
        "project": {
            "name": dist,
            "version": "0.1.0",
            "description": "A service built on service-pkg",
            "readme": "README.md",
            "requires-python": ">=3.11",
            "dependencies": kit.dependencies(),
        },
        "dependency-groups": {
            "tests": kit.group("tests"),
            "lint": kit.group("lint"),
            "typing": kit.group("typing"),
            "dev": [{"include-group": g} for g in ("tests", "lint", "typing")],
        },
        "tool": {
            "hatch": {"build": {"targets": {"wheel": {"packages": [package]}}}},
            "pytest": {"ini_options": pytest_options},
            "mypy": mypy,
            "ruff": ruff,
            "uv": kit.tool("uv"),
        },
    }
    header = f"# Made by `service-pkg new {package}` from service-pkg {kit.version}'s example.\n"
    # The kit's tool settings name the example's paths (the generated proto code that ruff
    # and mypy skip): in the new project they are the new package's.
    text = tomli_w.dumps(data).replace("example_service", package)
    return (header + text).encode("utf-8")
