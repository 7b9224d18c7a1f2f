"""GrpcServerConfig and GrpcChannelConfig validate themselves at construction."""

from __future__ import annotations

from typing import Any

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.grpc import GrpcChannelConfig, GrpcServerConfig


def test_server_defaults_are_the_go_ones() -> None:
    config = GrpcServerConfig()
    assert config.graceful_timeout == 5.0
    assert config.reflection is False
    assert config.max_send_size == config.max_receive_size == 4 * 1024 * 1024
    assert config.call_timeout is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", -1),
        ("port", 70000),
        ("port", "9090"),
        ("port", True),
        ("host", ""),
        ("max_send_size", 0),
        ("max_receive_size", -5),
        ("call_timeout", 0),
        ("graceful_timeout", -1),
        ("close_timeout", 0),
        ("health_poll_interval", float("inf")),
        ("reflection", "yes"),
        ("access_log", 1),
    ],
)
def test_a_bad_server_field_is_a_config_error_naming_it(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        GrpcServerConfig(**{field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_zero_graceful_timeout_is_allowed() -> None:
    assert GrpcServerConfig(graceful_timeout=0).graceful_timeout == 0


def test_a_tls_certificate_without_its_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="give both tls_cert_file and tls_key_file"):
        GrpcServerConfig(tls_cert_file="/etc/cert.pem")


def test_the_address_brackets_an_ipv6_host() -> None:
    assert GrpcServerConfig(host="::1", port=50051).address == "[::1]:50051"
    assert GrpcServerConfig(host="127.0.0.1", port=50051).address == "127.0.0.1:50051"


@pytest.mark.parametrize(
    ("field", "value"),
    [("port", 0), ("host", " "), ("tls", "no"), ("health_service", 3), ("health_timeout", 0)],
)
def test_a_bad_channel_field_is_a_config_error_naming_it(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        GrpcChannelConfig(**{field: value})
    assert caught.value.field == field
