"""postgres_engine and the migrations helper: argument rules and the default health check."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.health import factory_health
from service_pkg.migrations import head_revision, schema_migrations
from service_pkg.postgres import PostgresConfig, create_engine, pool_stats, postgres_engine
from service_pkg.postgres._engine import _failure

ALEMBIC = Path(__file__).resolve().parents[3] / "alembic"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"config": PostgresConfig(host="db"), "url": "postgresql://db/app"}],
    ids=["none", "two"],
)
async def test_exactly_one_source_is_required(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="give exactly one of config, url or engine"):
        await anext(postgres_engine(**kwargs))  # type: ignore[arg-type]


def test_the_factory_carries_a_readiness_affecting_health_check() -> None:
    spec = factory_health(postgres_engine)
    assert spec is not None
    assert spec.affects_readiness is True


async def test_a_new_engine_has_an_empty_sized_pool() -> None:
    engine = create_engine(PostgresConfig(host="db", pool_size=3))
    try:
        stats = pool_stats(engine)
    finally:
        await engine.dispose()
    assert (stats.size, stats.checked_out, stats.checked_in) == (3, 0, 0)


def test_the_repository_scripts_have_one_head() -> None:
    assert head_revision(ALEMBIC) == "0002"


async def test_a_folder_without_env_py_is_a_config_error(tmp_path: Path) -> None:
    engine = create_engine(PostgresConfig(url="sqlite+aiosqlite:///:memory:"))
    try:
        with pytest.raises(ConfigError) as caught:
            await anext(schema_migrations(engine, script_location=tmp_path, apply=True))
    finally:
        await engine.dispose()
    assert caught.value.field == "script_location"


class FakePostgresError(Exception):
    """Stands for an asyncpg error: asyncpg's errors carry ``sqlstate``."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "words", "retried"),
    [
        (FakePostgresError("28P01", "password authentication failed"), "wrong password", False),
        (FakePostgresError("28000", 'role "x" does not exist'), "login refused", False),
        (FakePostgresError("3D000", 'database "x" does not exist'), "does not exist", False),
        (FakePostgresError("57P03", "the database system is starting up"), "failed", True),
        (ConnectionRefusedError(111, "Connect call failed"), "cannot connect", True),
        (TimeoutError(), "no answer from", True),
    ],
    ids=["password", "login", "database", "starting", "refused", "timeout"],
)
def test_start_failures_get_their_own_words_and_retry_policy(
    error: BaseException, words: str, retried: bool
) -> None:
    message, transient = _failure(error, "postgresql+asyncpg://u:***@db:5432/app", 3.0)
    assert (words in message, transient) == (True, retried)
