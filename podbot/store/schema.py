"""The tables, as SQLAlchemy Core metadata (what the queries use).

The migrations in ``podbot/store/migrations/versions`` create the same schema; a test compares
the two with Alembic's autogenerate so they cannot drift apart. Change the schema by adding a
migration *and* updating this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from podbot.core.records import utc


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time type: values are stored as naive UTC text
    of fixed width, so text comparison in SQL (``expires_at > :now``) is time comparison.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# PostgreSQL gets jsonb; elsewhere JSON is text.
Json: Any = JSON().with_variant(JSONB(), "postgresql")
# A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the autoincrementing rowid.
BigId: Any = BigInteger().with_variant(Integer(), "sqlite")

SLACK_ID = 32  # Slack team/channel/user IDs and message timestamps are short
NAME = 253  # Kubernetes object names and contexts (DNS subdomain)
NAMESPACE = 63

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

APPROVAL_STATES = ("pending", "approved", "denied", "expired", "executing", "done", "failed")

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("team_id", String(SLACK_ID), nullable=False),
    Column("channel_id", String(SLACK_ID), nullable=False),
    Column("user_id", String(SLACK_ID), nullable=False),
    Column("context", String(NAME), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("namespace", String(NAMESPACE), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("uid", String(64), nullable=False),
    Column("resource_version", String(64), nullable=False, server_default=""),
    Column("owner_kind", String(64), nullable=False, server_default=""),
    Column("owner_name", String(NAME), nullable=False, server_default=""),
    Column("node", String(NAME), nullable=False, server_default=""),
    Column("grace_period", Integer, nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("message_channel", String(SLACK_ID), nullable=True),
    Column("message_ts", String(SLACK_ID), nullable=True),
    Column("decided_by", String(SLACK_ID), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("outcome", String(32), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    Column("action", String(16), nullable=False, server_default="delete"),  # revision 0002
    Column("manifest", Text, nullable=True),
    Column("violations", Json, nullable=True),  # [[rule, detail], ...]; NULL for deletes
    # Revision 0003: the message's last chat.update failed, so the sweeper renders it again.
    Column("message_stale", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(
        "state IN ('pending', 'approved', 'denied', 'expired', 'executing', 'done', 'failed')", name="state"
    ),
    # /pod approvals: pending requests of one channel.
    Index(None, "channel_id", "state"),
    # The expiry sweep: pending requests whose time is up.
    Index(None, "state", "expires_at"),
    # Every sweep looks for messages to repair (revision 0003).
    Index(None, "message_stale"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("team_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("channel_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("user_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("kube_user", String(NAME), nullable=False, server_default=""),
    Column("kube_groups", Json, nullable=False),
    Column("context", String(NAME), nullable=False, server_default=""),
    Column("namespace", String(NAMESPACE), nullable=False, server_default=""),
    Column("kind", String(64), nullable=False, server_default=""),
    Column("name", String(NAME), nullable=False, server_default=""),
    Column("uid", String(64), nullable=False, server_default=""),
    Column("request_text", Text, nullable=False, server_default=""),
    Column("outcome", String(32), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    # No foreign key: the audit log outlives anything it mentions.
    Column("approval_id", Integer, nullable=True),
    Index(None, "at"),
    Index(None, "user_id", "at"),
    Index(None, "channel_id", "at"),
    Index(None, "namespace", "at"),
)

# Revision 0003: a change is written here before its API call and settled (in the transaction that
# writes its audit record) after; see ``podbot.store.audit``. Unlike the audit log, rows are updated.
intents = Table(
    "intents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("owner", String(NAME), nullable=False, server_default=""),
    Column("team_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("channel_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("user_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("kube_user", String(NAME), nullable=False, server_default=""),
    Column("context", String(NAME), nullable=False, server_default=""),
    Column("namespace", String(NAMESPACE), nullable=False, server_default=""),
    Column("kind", String(64), nullable=False, server_default=""),
    Column("name", String(NAME), nullable=False, server_default=""),
    Column("uid", String(64), nullable=False, server_default=""),
    Column("request_text", Text, nullable=False, server_default=""),
    Column("approval_id", Integer, nullable=True),
    Column("settled_at", UtcDateTime, nullable=True),
    Column("outcome", String(32), nullable=False, server_default=""),
    # Recovery looks for old unsettled intents; an approval's recovery for its own.
    Index(None, "settled_at", "started_at"),
    Index(None, "approval_id"),
)

channel_settings = Table(
    "channel_settings",
    metadata,
    Column("channel_id", String(SLACK_ID), primary_key=True),
    Column("team_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("default_context", String(NAME), nullable=True),
    Column("default_namespace", String(NAMESPACE), nullable=True),
    Column("allowed_namespaces", Json, nullable=False),
    Column("locale", String(16), nullable=True),
    Column("alerts_enabled", Boolean, nullable=False, server_default=text("false")),
    Column("alert_namespaces", Json, nullable=False),
    Column("alert_context", String(NAME), nullable=True),
    Column("updated_by", String(SLACK_ID), nullable=False, server_default=""),
    Column("updated_at", UtcDateTime, nullable=False),
    # The alert fan-out reads the channels that have alerts on.
    Index(None, "alerts_enabled"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(SLACK_ID), nullable=False),
    Column("channel_id", String(SLACK_ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("every_seconds", Integer, nullable=True),
    Column("cron", String(120), nullable=True),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("namespaces", Json, nullable=False),
    Column("context", String(NAME), nullable=True),
    Column("created_by", String(SLACK_ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("ended_by", String(SLACK_ID), nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("last_digest_at", UtcDateTime, nullable=True),
    Column("last_fingerprints", Json, nullable=False),
    CheckConstraint("kind IN ('health', 'image-pulls')", name="kind"),
    CheckConstraint(
        "(every_seconds IS NULL AND cron IS NOT NULL) OR (every_seconds > 0 AND cron IS NULL)",
        name="one_schedule",
    ),
    Index(None, "channel_id", "active"),
)

post_claims = Table(
    "post_claims",
    metadata,
    Column("subscription_id", Integer, ForeignKey("subscriptions.id"), nullable=False),
    Column("scheduled_time", UtcDateTime, nullable=False),
    Column("owner", String(NAME), nullable=False),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("released", Boolean, nullable=False, server_default=text("false")),
    Column("posted_at", UtcDateTime, nullable=True),
    Column("message_ts", String(SLACK_ID), nullable=True),
    # Revision 0004: Slack did not confirm the post (5xx, timeout); settled from post_ledger.
    Column("uncertain_at", UtcDateTime, nullable=True),
    # The uniqueness that makes posting at most once per scheduled time.
    PrimaryKeyConstraint("subscription_id", "scheduled_time"),
    # The recovery sweep looks for unposted claims.
    Index(None, "posted_at", "claimed_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(SLACK_ID), nullable=False),
    Column("group_key", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("message_ts", String(SLACK_ID), nullable=True),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("last_update_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("count", Integer, nullable=False, server_default="0"),
    Column("peak_count", Integer, nullable=False, server_default="0"),
    Column("thread_updates", Integer, nullable=False, server_default="0"),
    Column("episodes", Integer, nullable=False, server_default="1"),
    CheckConstraint("state IN ('open', 'resolved')", name="state"),
    # One alert per finding group per channel: posting it is claimed through this constraint.
    UniqueConstraint("channel_id", "group_key"),
    Index(None, "channel_id", "state"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(NAME), nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("renewed_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# Revision 0004. Non-idempotent Slack posts by stable key ("digest:S:T", ...): "sending" is written
# before chat.postMessage, "posted" (with the ts) when the answer or the message_metadata_posted
# event says Slack has it. An uncertain post is settled from here, not from conversations.history.
post_ledger = Table(
    "post_ledger",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("channel_id", String(SLACK_ID), nullable=False, server_default=""),
    Column("state", String(16), nullable=False),
    Column("message_ts", String(SLACK_ID), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("state IN ('sending', 'posted')", name="state"),
)
