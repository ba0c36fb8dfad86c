"""Approvals for creates: a create that breaks a channel's Pod Security level can wait for an
approver like a delete. Existing rows are deletes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("action", sa.String(16), nullable=False, server_default="delete"))
        batch.add_column(sa.Column("manifest", sa.Text(), nullable=True))
        batch.add_column(sa.Column("violations", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("violations")
        batch.drop_column("manifest")
        batch.drop_column("action")
