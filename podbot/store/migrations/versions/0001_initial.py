"""Initial schema: approvals, audit events (append-only), channel settings, subscriptions,
post claims, alerts, leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations are snapshots: they spell out types instead of importing today's schema module.
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FALSE = sa.text("false")
TRUE = sa.text("true")

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION podbot_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("context", sa.String(253), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("resource_version", sa.String(64), server_default="", nullable=False),
        sa.Column("owner_kind", sa.String(64), server_default="", nullable=False),
        sa.Column("owner_name", sa.String(253), server_default="", nullable=False),
        sa.Column("node", sa.String(253), server_default="", nullable=False),
        sa.Column("grace_period", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("message_channel", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("outcome", sa.String(32), server_default="", nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'denied', 'expired', 'executing', 'done', 'failed')",
            name=op.f("ck_approvals_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index(op.f("ix_approvals_channel_id_state"), "approvals", ["channel_id", "state"])
    op.create_index(op.f("ix_approvals_state_expires_at"), "approvals", ["state", "expires_at"])

    op.create_table(
        "audit_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), server_default="", nullable=False),
        sa.Column("channel_id", sa.String(32), server_default="", nullable=False),
        sa.Column("user_id", sa.String(32), server_default="", nullable=False),
        sa.Column("kube_user", sa.String(253), server_default="", nullable=False),
        sa.Column("kube_groups", JSON, nullable=False),
        sa.Column("context", sa.String(253), server_default="", nullable=False),
        sa.Column("namespace", sa.String(63), server_default="", nullable=False),
        sa.Column("kind", sa.String(64), server_default="", nullable=False),
        sa.Column("name", sa.String(253), server_default="", nullable=False),
        sa.Column("uid", sa.String(64), server_default="", nullable=False),
        sa.Column("request_text", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(32), server_default="", nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_user_id_at"), "audit_events", ["user_id", "at"])
    op.create_index(op.f("ix_audit_events_channel_id_at"), "audit_events", ["channel_id", "at"])
    op.create_index(op.f("ix_audit_events_namespace_at"), "audit_events", ["namespace", "at"])
    # Append-only, enforced by the database itself and not only by podbot's code.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION podbot_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION podbot_audit_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END"
            )

    op.create_table(
        "channel_settings",
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), server_default="", nullable=False),
        sa.Column("default_context", sa.String(253), nullable=True),
        sa.Column("default_namespace", sa.String(63), nullable=True),
        sa.Column("allowed_namespaces", JSON, nullable=False),
        sa.Column("locale", sa.String(16), nullable=True),
        sa.Column("alerts_enabled", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("alert_namespaces", JSON, nullable=False),
        sa.Column("alert_context", sa.String(253), nullable=True),
        sa.Column("updated_by", sa.String(32), server_default="", nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_settings")),
    )
    op.create_index(op.f("ix_channel_settings_alerts_enabled"), "channel_settings", ["alerts_enabled"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("namespaces", JSON, nullable=False),
        sa.Column("context", sa.String(253), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=TRUE, nullable=False),
        sa.Column("ended_by", sa.String(32), nullable=True),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("last_digest_at", TIME, nullable=True),
        sa.Column("last_fingerprints", JSON, nullable=False),
        sa.CheckConstraint("kind IN ('health', 'image-pulls')", name=op.f("ck_subscriptions_kind")),
        sa.CheckConstraint(
            "(every_seconds IS NULL AND cron IS NOT NULL) OR (every_seconds > 0 AND cron IS NULL)",
            name=op.f("ck_subscriptions_one_schedule"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_channel_id_active"), "subscriptions", ["channel_id", "active"])

    op.create_table(
        "post_claims",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_time", TIME, nullable=False),
        sa.Column("owner", sa.String(253), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.Column("released", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("posted_at", TIME, nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_post_claims_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", "scheduled_time", name=op.f("pk_post_claims")),
    )
    op.create_index(op.f("ix_post_claims_posted_at_claimed_at"), "post_claims", ["posted_at", "claimed_at"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("group_key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("first_seen", TIME, nullable=False),
        sa.Column("last_seen", TIME, nullable=False),
        sa.Column("last_update_at", TIME, nullable=False),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("peak_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("thread_updates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("episodes", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("state IN ('open', 'resolved')", name=op.f("ck_alerts_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("channel_id", "group_key", name=op.f("uq_alerts_channel_id_group_key")),
    )
    op.create_index(op.f("ix_alerts_channel_id_state"), "alerts", ["channel_id", "state"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(253), nullable=False),
        sa.Column("acquired_at", TIME, nullable=False),
        sa.Column("renewed_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("alerts")
    op.drop_table("post_claims")
    op.drop_table("subscriptions")
    op.drop_table("channel_settings")
    op.drop_table("audit_events")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS podbot_audit_append_only()")
    op.drop_table("approvals")
