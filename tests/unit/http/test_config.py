"""HttpServerConfig and HttpClientConfig validate at construction and hide secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.http import HttpClientConfig, HttpServerConfig


class TestHttpServerConfig:
    def test_the_defaults_are_the_go_contract(self) -> None:
        config = HttpServerConfig()
        assert (config.host, config.port) == ("0.0.0.0", 8080)  # noqa: S104 - the Go default
        assert config.graceful_timeout == 5.0
        assert (config.livez_path, config.readyz_path, config.healthz_path) == (
            "/livez",
            "/readyz",
            "/healthz",
        )

    @pytest.mark.parametrize("port", [-1, 65536, "80", True, 1.5])
    def test_a_bad_port_names_the_field(self, port: object) -> None:
        with pytest.raises(ConfigError, match=r"^port: ") as caught:
            HttpServerConfig(port=port)  # type: ignore[arg-type]
        assert caught.value.field == "port"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("graceful_timeout", -1),
            ("request_timeout", 0),
            ("keep_alive_timeout", 0),
            ("max_body_size", 0),
            ("backlog", 0),
            ("limit_concurrency", -5),
        ],
    )
    def test_bad_numbers_are_refused(self, field: str, value: object) -> None:
        with pytest.raises(ConfigError) as caught:
            HttpServerConfig(**{field: value})  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_probe_paths_must_be_paths(self) -> None:
        with pytest.raises(ConfigError, match=r"^livez_path: must be a path"):
            HttpServerConfig(livez_path="livez")

    def test_probe_paths_must_differ(self) -> None:
        with pytest.raises(ConfigError, match=r"probe paths must differ"):
            HttpServerConfig(livez_path="/probe", readyz_path="/probe")

    def test_a_certificate_without_its_key_is_refused(self, tmp_path: Path) -> None:
        cert = tmp_path / "cert.pem"
        cert.write_text("x")
        with pytest.raises(ConfigError, match=r"go together"):
            HttpServerConfig(ssl_certfile=cert)

    def test_a_missing_tls_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"^ssl_certfile: must name an existing PEM file"):
            HttpServerConfig(ssl_certfile=tmp_path / "no.pem", ssl_keyfile=tmp_path / "no.key")

    def test_the_key_password_is_never_shown(self) -> None:
        with pytest.raises(ConfigError) as caught:
            HttpServerConfig(ssl_keyfile_password="hunter2")  # noqa: S106 - a test secret
        assert "hunter2" not in str(caught.value)
        assert "hunter2" not in repr(caught.value.value)

    def test_the_key_password_is_not_in_the_repr(self, tmp_path: Path) -> None:
        for name in ("c.pem", "k.pem"):
            (tmp_path / name).write_text("x")
        config = HttpServerConfig(
            ssl_certfile=tmp_path / "c.pem",
            ssl_keyfile=tmp_path / "k.pem",
            ssl_keyfile_password="hunter2",  # noqa: S106 - a test secret
        )
        assert "hunter2" not in repr(config)
        assert config.tls

    def test_stop_timeout_covers_the_graceful_timeout(self) -> None:
        assert HttpServerConfig(graceful_timeout=20).stop_timeout > 20

    def test_retry_after_is_whole_seconds_of_the_graceful_timeout(self) -> None:
        assert HttpServerConfig(graceful_timeout=2.2).retry_after == 3
        assert HttpServerConfig(graceful_timeout=0).retry_after == 1

    def test_access_log_exclusions_must_be_a_tuple_of_paths(self) -> None:
        with pytest.raises(ConfigError, match=r"^access_log_exclude: "):
            HttpServerConfig(access_log_exclude=["/metrics"])  # type: ignore[arg-type]


class TestHttpClientConfig:
    def test_the_repr_and_errors_hide_user_info(self) -> None:
        config = HttpClientConfig(base_url="http://user:hunter2@orders:8080/api?token=t0k")
        assert "hunter2" not in repr(config)
        assert "t0k" not in repr(config)
        assert "orders:8080" in repr(config)

    def test_a_non_http_url_is_refused_without_its_password(self) -> None:
        with pytest.raises(ConfigError, match=r"^base_url: ") as caught:
            HttpClientConfig(base_url="ftp://user:hunter2@host/")
        assert "hunter2" not in str(caught.value)

    def test_health_path_needs_a_base_url(self) -> None:
        with pytest.raises(ConfigError, match=r"^health_path: needs base_url"):
            HttpClientConfig(health_path="/livez")

    @pytest.mark.parametrize("field", ["max_connections", "max_keepalive_connections"])
    def test_pool_sizes_must_be_positive(self, field: str) -> None:
        with pytest.raises(ConfigError) as caught:
            HttpClientConfig(**{field: 0})  # type: ignore[arg-type]
        assert caught.value.field == field
