"""Which files of the kit's checkout make the ``service-pkg new`` template.

Pure standard library on purpose: the wheel build hook (``scripts/hatch_build.py``) loads this
file by path, before the kit or its dependencies are installed, and copies exactly these files
into the wheel under ``service_pkg/_scaffold/template/``. An editable install reads them from
the checkout instead. So the template is always the example as it is in the repository: when
``example_service/`` (or its tests, ``alembic/``, ``protos/``) changes, the next wheel and
the next ``service-pkg new`` follow, with no copy to keep in step.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("KIT_PYPROJECT", "PACKAGED", "TEMPLATE_EXCLUDES", "TEMPLATE_PATHS", "template_files")

TEMPLATE_PATHS = (
    "example_service",
    "tests/__init__.py",
    "tests/example_service",
    "alembic",
    "alembic.ini",
    "protos",
    "scripts/uv.sh",
)
"""Paths relative to the checkout; the missing ones are skipped (they arrive with their issue)."""

TEMPLATE_EXCLUDES = ("protos/servicepkg",)
"""Parts of those paths that belong to the kit's own tests, not to the example."""

PACKAGED = "template"
"""Folder of the template inside the installed ``service_pkg/_scaffold/`` package."""

KIT_PYPROJECT = "kit-pyproject.toml"
"""The kit's pyproject.toml, packaged next to the template: the generated project takes its
tool settings (ruff, mypy, pytest, uv) and the kit's version and ``example`` extra from it."""

_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_SKIP_SUFFIXES = frozenset({".pyc", ".pyo"})


def template_files(root: Path) -> list[str]:
    """The template's files under ``root`` (a checkout), as sorted POSIX relative paths."""
    found: list[str] = []
    for entry in TEMPLATE_PATHS:
        path = root / entry
        if path.is_file():
            found.append(entry)
        elif path.is_dir():
            for file in path.rglob("*"):
                rel = file.relative_to(root)
                if not file.is_file() or _SKIP_DIRS.intersection(rel.parts):
                    continue
                if file.suffix in _SKIP_SUFFIXES or _excluded(rel.as_posix()):
                    continue
                found.append(rel.as_posix())
    return sorted(found)


def _excluded(rel: str) -> bool:
    return any(rel == e or rel.startswith(f"{e}/") for e in TEMPLATE_EXCLUDES)
