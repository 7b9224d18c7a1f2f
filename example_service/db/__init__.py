"""The URL shortener's tables: what ``alembic/`` migrates and the example queries.

SQLAlchemy Core tables on one :data:`metadata` (alembic's ``target_metadata``). They work on
PostgreSQL and on the embedded SQLite of the zero-setup mode: ``click_events.id`` is a
``BIGINT`` on PostgreSQL and an ``INTEGER PRIMARY KEY`` (SQLite's autoincrementing rowid)
on SQLite.

``rollup_state`` fences the leader-gated rollup job: it writes the counters and
``UPDATE rollup_state SET last_event_id=:id, epoch=:e WHERE name=:n AND epoch <= :e`` in one
transaction, so a former leader with an older epoch updates no row and rolls back.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)

__all__ = ("click_events", "link_counters", "links", "metadata", "rollup_state")

# Named constraints, so that migrations can drop them by name on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

links = Table(
    "links",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("url", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

click_events = Table(
    "click_events",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("code", String(16), ForeignKey("links.code"), nullable=False, index=True),
    Column("clicked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

link_counters = Table(
    "link_counters",
    metadata,
    Column("code", String(16), ForeignKey("links.code"), primary_key=True),
    Column("clicks", BigInteger, nullable=False, server_default="0"),
)

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False),
    Column("epoch", BigInteger, nullable=False),
)
