from __future__ import annotations

import pytest

from .spans import Spans


@pytest.fixture(name="spans")
def _spans() -> Spans:
    return Spans()
