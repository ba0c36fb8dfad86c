"""The post ledger: every non-idempotent Slack post (digest, alert, approval card) by its stable
key, recorded before the post and marked posted with its ts (from the answer or from Slack's
``message_metadata_posted`` event); and ``post_claims.uncertain_at``, a digest post whose outcome
Slack did not confirm, settled from the ledger after a grace period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post_ledger",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("state IN ('sending', 'posted')", name=op.f("ck_post_ledger_state")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_post_ledger")),
    )
    with op.batch_alter_table("post_claims") as batch:
        batch.add_column(sa.Column("uncertain_at", TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post_claims") as batch:
        batch.drop_column("uncertain_at")
    op.drop_table("post_ledger")
