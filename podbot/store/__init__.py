"""podbot's durable storage: approvals, audit log, channel settings, subscriptions, post claims,
alert state and leases, on SQLite (one replica) or PostgreSQL (several), migrated with Alembic.

Only ``Store`` and the record types are meant to be imported from here.
"""

from podbot.store.database import StoreUnavailable
from podbot.store.migrations import SchemaTooNew
from podbot.store.records import (
    Alert,
    AlertObservation,
    AlertState,
    Approval,
    ApprovalState,
    AuditAction,
    AuditEvent,
    AuditQuery,
    ChannelSettings,
    Claim,
    Lease,
    Requester,
    Schedule,
    Subscription,
)
from podbot.store.store import Store

__all__ = [
    "Alert",
    "AlertObservation",
    "AlertState",
    "Approval",
    "ApprovalState",
    "AuditAction",
    "AuditEvent",
    "AuditQuery",
    "ChannelSettings",
    "Claim",
    "Lease",
    "Requester",
    "Schedule",
    "SchemaTooNew",
    "Store",
    "StoreUnavailable",
    "Subscription",
]
