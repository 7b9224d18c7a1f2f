"""Links and their click events.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``links`` and ``click_events``."""
    op.create_table(
        "links",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_links")),
    )
    op.create_table(
        "click_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column(
            "clicked_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["code"], ["links.code"], name=op.f("fk_click_events_code_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_events")),
    )
    op.create_index(op.f("ix_click_events_code"), "click_events", ["code"])


def downgrade() -> None:
    """Drop ``click_events`` and ``links``."""
    op.drop_index(op.f("ix_click_events_code"), table_name="click_events")
    op.drop_table("click_events")
    op.drop_table("links")
