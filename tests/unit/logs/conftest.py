from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service_pkg.logs._configure import KitHandler


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """Remove the kit's handler and restore the root level after every test."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, KitHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)
