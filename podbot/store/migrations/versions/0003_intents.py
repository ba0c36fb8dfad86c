"""Intents before effects: every change is written down before its API call (``intents``), and an
approval whose message could not be edited is marked for the sweeper to repair it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations are snapshots: they spell out types instead of importing today's schema module.
TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "intents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(253), server_default="", nullable=False),
        sa.Column("team_id", sa.String(32), server_default="", nullable=False),
        sa.Column("channel_id", sa.String(32), server_default="", nullable=False),
        sa.Column("user_id", sa.String(32), server_default="", nullable=False),
        sa.Column("kube_user", sa.String(253), server_default="", nullable=False),
        sa.Column("context", sa.String(253), server_default="", nullable=False),
        sa.Column("namespace", sa.String(63), server_default="", nullable=False),
        sa.Column("kind", sa.String(64), server_default="", nullable=False),
        sa.Column("name", sa.String(253), server_default="", nullable=False),
        sa.Column("uid", sa.String(64), server_default="", nullable=False),
        sa.Column("request_text", sa.Text(), server_default="", nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("settled_at", TIME, nullable=True),
        sa.Column("outcome", sa.String(32), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intents")),
    )
    op.create_index(op.f("ix_intents_settled_at_started_at"), "intents", ["settled_at", "started_at"])
    op.create_index(op.f("ix_intents_approval_id"), "intents", ["approval_id"])
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(
            sa.Column("message_stale", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_index(op.f("ix_approvals_message_stale"), "approvals", ["message_stale"])


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_message_stale"), table_name="approvals")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("message_stale")
    op.drop_index(op.f("ix_intents_approval_id"), table_name="intents")
    op.drop_index(op.f("ix_intents_settled_at_started_at"), table_name="intents")
    op.drop_table("intents")
