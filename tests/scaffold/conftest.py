"""A project generated once per module from the real template (the checkout's example)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_pkg._scaffold import generate


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``service-pkg new demo`` into a fresh folder; tests must not modify it."""
    target = tmp_path_factory.mktemp("scaffold") / "demo"
    generate("demo", target)
    return target
