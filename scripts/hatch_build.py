"""Wheel build hook: packs the ``service-pkg new`` template into the wheel.

The template is the repository's own example (``src/service_pkg/_scaffold/_sources.py`` lists
the paths) plus the kit's pyproject.toml, placed under ``service_pkg/_scaffold/template/``.
Editable installs get nothing: ``service-pkg new`` reads the checkout directly there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "src" / "service_pkg" / "_scaffold" / "_sources.py"
DESTINATION = "service_pkg/_scaffold"


def _sources() -> Any:
    spec = importlib.util.spec_from_file_location("_scaffold_sources", SOURCES)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {SOURCES}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScaffoldTemplateHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the template files to the wheel's force-include map."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map each template file to its place in the wheel (not for editable builds)."""
        if self.target_name != "wheel" or version == "editable":
            return
        sources = _sources()
        packaged = f"{DESTINATION}/{sources.PACKAGED}"
        include = build_data.setdefault("force_include", {})
        for rel in sources.template_files(ROOT):
            include[str(ROOT / rel)] = f"{packaged}/{rel}"
        include[str(ROOT / "pyproject.toml")] = f"{packaged}/{sources.KIT_PYPROJECT}"
