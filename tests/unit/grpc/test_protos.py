"""The committed generated code matches protos/ (what scripts/protos.sh would write)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.grpc import load_descriptor_pool
from service_pkg.grpc._reflection import with_reflection
from service_pkg.grpc._testing import ECHO_DESCRIPTORS, EchoService

ROOT = Path(__file__).resolve().parents[3]


def test_committed_protobuf_code_is_not_stale() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "protos.sh"), "--check"],  # noqa: S607 - bash from PATH
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
        env=dict(os.environ, PYTHON=sys.executable),
    )
    assert result.returncode == 0, result.stderr


def test_the_descriptor_set_describes_the_test_service() -> None:
    pool = load_descriptor_pool(ECHO_DESCRIPTORS)
    service = pool.FindServiceByName("servicepkg.testing.v1.Echo")
    assert [m.name for m in service.methods] == ["Echo", "EchoStream"]


def test_the_pool_describes_the_kits_own_health_service_too() -> None:
    pool = load_descriptor_pool()
    assert pool.FindServiceByName("grpc.health.v1.Health").name == "Health"


def test_reflection_without_a_services_descriptor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"scripts/protos\.sh") as caught:
        with_reflection([EchoService()], ["servicepkg.testing.v1.Echo"], load_descriptor_pool())
    assert caught.value.field == "descriptors"


def test_an_unreadable_descriptor_set_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot read a FileDescriptorSet"):
        load_descriptor_pool(ROOT / "no-such-file.binpb")
