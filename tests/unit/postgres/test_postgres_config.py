"""PostgresConfig: validation at construction, URL building and masking."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from service_pkg.exceptions import ConfigError
from service_pkg.postgres import PostgresConfig, mask_url

SECRET = "p@ss:w/rd?#%"  # noqa: S105 - the characters Go bug #25 broke on


def test_separate_fields_build_a_url_that_round_trips_any_password() -> None:
    config = PostgresConfig(host="db", port=6543, user="svc", password=SECRET, database="app")
    parsed = make_url(config.sqlalchemy_url.render_as_string(hide_password=False))
    assert (parsed.drivername, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "postgresql+asyncpg",
        SECRET,
        "db",
        6543,
        "app",
    )


def test_repr_and_address_never_show_the_password() -> None:
    config = PostgresConfig(host="db", user="svc", password=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in config.address
    assert "***" in config.address


def test_a_plain_postgresql_url_gets_the_asyncpg_driver() -> None:
    config = PostgresConfig(url="postgresql://svc:pw@db/app")
    assert config.sqlalchemy_url.drivername == "postgresql+asyncpg"


def test_url_and_separate_fields_are_exclusive() -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresConfig(url="postgresql://svc:pw@db/app", host="other")
    assert caught.value.field == "url"
    assert "pw" not in str(caught.value)


def test_an_unencoded_at_sign_in_the_password_is_refused_masked() -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresConfig(url="postgresql://svc:se@cret@db/app")
    assert "cret" not in str(caught.value)
    assert "percent-encoded" in str(caught.value)
    assert caught.value.__cause__ is None


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="must start with postgresql://"):
        PostgresConfig(url="mysql://svc:pw@db/app")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pool_size", 0),
        ("max_overflow", -1),
        ("pool_timeout", 0),
        ("connect_timeout", 0),
        ("command_timeout", 0),
        ("statement_timeout", 0),
        ("max_idle", 0),
        ("max_lifetime", 0),
        ("start_attempts", 0),
    ],
)
def test_zero_sizes_and_zero_timeouts_are_refused(field: str, value: int) -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresConfig(host="db", **{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_none_switches_an_optional_limit_off() -> None:
    config = PostgresConfig(host="db", command_timeout=None, max_idle=None, max_lifetime=None)
    assert config.connect_args()["command_timeout"] is None


def test_an_unknown_sslmode_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresConfig(host="db", sslmode="sometimes")
    assert caught.value.field == "sslmode"


def test_sslmode_from_the_url_becomes_the_ssl_connect_argument() -> None:
    config = PostgresConfig(url="postgresql://svc@db/app?sslmode=require")
    assert config.connect_args()["ssl"] == "require"
    assert "sslmode" not in config.sqlalchemy_url.query


def test_application_name_and_statement_timeout_are_server_settings() -> None:
    config = PostgresConfig(host="db", application_name="svc", statement_timeout=2.5)
    assert config.connect_args()["server_settings"] == {
        "application_name": "svc",
        "statement_timeout": "2500",
    }


def test_a_sqlite_url_is_embedded_and_gets_no_asyncpg_arguments() -> None:
    config = PostgresConfig(url="sqlite+aiosqlite:///:memory:")
    assert (config.is_sqlite, config.connect_args()) == (True, {})


def test_mask_url_hides_the_password_of_an_unparsable_url() -> None:
    assert mask_url("postgresql://svc:se@cret@db:5432/app") == "postgresql://***@db:5432/app"
