"""What ``service-pkg new`` accepts as a name and as a target folder."""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path

from service_pkg.exceptions import ConfigError

__all__ = ("check_name", "check_target")

_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Names a new service must not take: they would shadow the kit, its template, or the layout.
_TAKEN = frozenset({"service_pkg", "example_service", "tests", "test", "alembic", "protos"})


def check_name(name: str) -> str:
    """Return ``name`` if it can be the new service's Python package, else raise ConfigError."""
    what = "NAME"
    if not _NAME.fullmatch(name):
        hint = f" (try {_suggest(name)!r})" if _suggest(name) else ""
        raise ConfigError(
            what,
            name,
            "must be a Python package name: lowercase letters, digits and underscores, "
            f"starting with a letter{hint}",
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ConfigError(what, name, "is a Python keyword; choose another name")
    if name in sys.stdlib_module_names:
        raise ConfigError(what, name, "is a standard library module; choose another name")
    if name in _TAKEN:
        raise ConfigError(what, name, "is taken by the kit or the project layout")
    return name


def check_target(target: Path) -> Path:
    """Return ``target`` if the project can be written there: missing or an empty folder."""
    if target.exists() and not target.is_dir():
        raise ConfigError("--path", str(target), "is a file; give a new or empty folder")
    if target.is_dir() and any(target.iterdir()):
        raise ConfigError(
            "--path",
            str(target),
            "is not empty; nothing was written. Give a new or empty folder",
        )
    return target


def _suggest(name: str) -> str:
    candidate = re.sub(r"[^a-z0-9_]", "_", name.strip().lower()).strip("_")
    candidate = candidate.lstrip("0123456789_")
    return candidate if candidate and _NAME.fullmatch(candidate) else ""
