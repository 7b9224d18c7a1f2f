"""The new project's own files: pyproject.toml from the kit's, Makefile, Docker files."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ("KitSettings", "project_files")

FILES = Path(__file__).parent / "files"
# Template file in files/ → path in the new project.
_OUTPUTS = {
    "pyproject.toml.tmpl": "pyproject.toml",
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
_TOKEN = re.compile(r"\{\{(\w+)\}\}")
# Longer arrays get one item per line, as a person would write them.
_INLINE_ITEMS = 3


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
    """Render every file of ``files/`` for the new project ``package`` (distribution ``dist``)."""
    values = _values(kit, package, dist)
    rendered: dict[str, bytes] = {}
    for source, target in _OUTPUTS.items():
        text = (FILES / source).read_text(encoding="utf-8")
        text = _TOKEN.sub(lambda m: values[m.group(1)], text)
        # The kit's tool settings name the example's paths (the generated proto code that
        # ruff and mypy skip): in the new project they are the new package's.
        rendered[target] = text.replace("example_service", package).encode("utf-8")
    return rendered


def _values(kit: KitSettings, package: str, dist: str) -> dict[str, str]:
    ruff_lint = kit.tool("ruff", "lint")
    per_file = ruff_lint.pop("per-file-ignores", {})
    pydocstyle = ruff_lint.pop("pydocstyle", {})
    mypy = kit.tool("mypy")
    overrides = mypy.pop("overrides", [])
    mypy.pop("mypy_path", None)
    mypy["packages"] = [package, "tests"]
    pytest_options = kit.tool("pytest", "ini_options")
    pytest_options["testpaths"] = ["tests"]
    ruff = {k: v for k, v in kit.tool("ruff").items() if not isinstance(v, dict)}
    ruff["src"] = ["."]
    ignores = {
        "tests/**": per_file.get("tests/**", []),
        f"{package}/**": per_file.get("example_service/**", []),
    }
    return {
        "package": package,
        "dist": dist,
        "kit_version": kit.version,
        "dependencies": _array(kit.dependencies()),
        "group_tests": _array(kit.group("tests")),
        "group_lint": _array(kit.group("lint")),
        "group_typing": _array(kit.group("typing")),
        "pytest": _table(pytest_options),
        "mypy": _table(mypy),
        "mypy_overrides": "\n".join(f"[[tool.mypy.overrides]]\n{_table(o)}" for o in overrides),
        "ruff": _table(ruff),
        "ruff_lint": _table(ruff_lint),
        "ruff_per_file": _table(ignores),
        "ruff_pydocstyle": _table(pydocstyle),
        "uv": _table(kit.tool("uv")),
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _array(items: list[Any]) -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f"    {_value(i)},\n" for i in items) + "]"


def _table(table: Mapping[str, Any]) -> str:
    lines = []
    for key, value in table.items():
        rendered = (
            _array(value)
            if isinstance(value, list) and len(value) > _INLINE_ITEMS
            else _value(value)
        )
        lines.append(f"{_key(key)} = {rendered}")
    return "\n".join(lines)
