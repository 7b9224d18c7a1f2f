"""Per-link click counters and the rollup job's fenced state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``link_counters`` and ``rollup_state``."""
    op.create_table(
        "link_counters",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("clicks", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["code"], ["links.code"], name=op.f("fk_link_counters_code_links")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_link_counters")),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_state")),
    )


def downgrade() -> None:
    """Drop ``rollup_state`` and ``link_counters``."""
    op.drop_table("rollup_state")
    op.drop_table("link_counters")
