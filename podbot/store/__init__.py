"""podbot's durable storage: approvals, audit log, channel settings, subscriptions, post claims,
alert state and leases, on SQLite (one replica) or PostgreSQL (several), migrated with Alembic.

Import ``Store`` and the record types from here. The record types (``podbot.core.records``) and
``podbot.core.redaction`` are pure: importing them (or this package) does not load SQLAlchemy,
so the pure layers (e.g. ``slack/blocks``) can render an ``Approval``. ``Store`` and the errors
that need the database layer are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from podbot.core.records import (
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

if TYPE_CHECKING:
    from podbot.store.database import StoreUnavailable
    from podbot.store.migrations import SchemaTooNew
    from podbot.store.store import Store

_LAZY = {
    "Store": "podbot.store.store",
    "StoreUnavailable": "podbot.store.database",
    "SchemaTooNew": "podbot.store.migrations",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podbot.store' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
