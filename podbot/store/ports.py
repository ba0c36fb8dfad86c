"""The stores as the application sees them: Protocols that the SQLAlchemy repositories implement.

Components take these, not the concrete classes, so a unit test can hand them an in-memory fake
and the application layer does not depend on how the state is kept. Every method is one short
transaction; the records are the frozen dataclasses of ``podbot.core.records``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from podbot.core.model import DigestKind
from podbot.core.records import (
    Alert,
    AlertObservation,
    Approval,
    ApprovalAction,
    ApprovalState,
    AuditEvent,
    AuditQuery,
    ChannelSettings,
    Claim,
    DeleteTarget,
    Intent,
    PostRecord,
    Requester,
    Schedule,
    Subscription,
)


class ApprovalStore(Protocol):
    def create(
        self,
        target: DeleteTarget,
        requester: Requester,
        *,
        now: datetime,
        expires_at: datetime,
        action: ApprovalAction = ...,
        manifest: str | None = None,
        violations: Sequence[tuple[str, str]] = (),
    ) -> Approval: ...
    def get(self, approval_id: int) -> Approval | None: ...
    def set_message(self, approval_id: int, channel: str, ts: str) -> None: ...
    def decide(self, approval_id: int, new_state: ApprovalState, by: str, now: datetime) -> bool: ...
    def expire_due(self, now: datetime) -> list[Approval]: ...
    def start(self, approval_id: int) -> bool: ...
    def finish(
        self, approval_id: int, state: ApprovalState, *, outcome: str, detail: str = "", now: datetime
    ) -> bool: ...
    def pending(self, channel_id: str, now: datetime) -> list[Approval]: ...
    def pending_for(self, target: DeleteTarget, now: datetime) -> Approval | None: ...
    def in_state(self, state: ApprovalState, limit: int = 100) -> list[Approval]: ...
    def mark_stale(self, approval_id: int, stale: bool) -> None: ...
    def stale_messages(self, limit: int = 100) -> list[Approval]: ...


class AuditStore(Protocol):
    def record(self, event: AuditEvent) -> AuditEvent: ...
    def query(self, query: AuditQuery | None = None) -> list[AuditEvent]: ...


class IntentStore(Protocol):
    """Intents before effects (``store.audit``): written before an API call, settled with its outcome."""

    def intend(self, intent: Intent) -> Intent: ...
    def pin(self, intent_id: int, uid: str) -> None: ...
    def settle(self, intent_id: int, event: AuditEvent) -> AuditEvent | None: ...
    def close(self, intent_id: int, outcome: str, now: datetime) -> bool: ...
    def unsettled(self, started_before: datetime, limit: int = 100) -> list[Intent]: ...
    def intent_of(self, approval_id: int) -> Intent | None: ...


class SubscriptionStore(Protocol):
    def create(
        self,
        *,
        team_id: str,
        channel_id: str,
        kind: DigestKind,
        schedule: Schedule,
        namespaces: Sequence[str] = (),
        context: str | None = None,
        created_by: str,
        now: datetime,
    ) -> Subscription: ...
    def get(self, subscription_id: int) -> Subscription | None: ...
    def for_channel(self, channel_id: str, *, include_ended: bool = False) -> list[Subscription]: ...
    def active(self) -> list[Subscription]: ...
    def end(
        self, subscription_id: int, *, channel_id: str, by: str, now: datetime
    ) -> Subscription | None: ...


class ChannelStore(Protocol):
    def get(self, channel_id: str) -> ChannelSettings | None: ...
    def save(self, settings: ChannelSettings, *, by: str, now: datetime) -> ChannelSettings: ...
    def with_alerts(self) -> list[ChannelSettings]: ...


class ClaimStore(Protocol):
    def claim_post(
        self,
        subscription_id: int,
        scheduled_time: datetime,
        owner: str,
        now: datetime,
        stale_after: timedelta = ...,
        settle_after: timedelta = ...,
    ) -> Claim | None: ...
    def mark_posted(
        self, claim: Claim, message_ts: str, *, now: datetime, fingerprints: Collection[str] | None = None
    ) -> bool: ...
    def release(self, claim: Claim) -> bool: ...
    def mark_uncertain(self, claim: Claim, now: datetime) -> bool: ...
    def reclaimable(
        self, now: datetime, stale_after: timedelta = ..., settle_after: timedelta = ...
    ) -> list[Claim]: ...


class PostLedgerStore(Protocol):
    def intend(self, key: str, channel_id: str, now: datetime) -> None: ...
    def forget(self, key: str) -> None: ...
    def posted(self, key: str, message_ts: str, *, channel_id: str = "", now: datetime) -> None: ...
    def get(self, key: str) -> PostRecord | None: ...


class AlertStore(Protocol):
    def observe(
        self,
        channel_id: str,
        group_key: str,
        now: datetime,
        *,
        count: int = 1,
        title: str = "",
        post_lease: timedelta = ...,
    ) -> AlertObservation: ...
    def set_message(self, alert_id: int, message_ts: str) -> None: ...
    def claim_thread_update(self, alert_id: int, now: datetime, min_interval: timedelta) -> bool: ...
    def resolve(self, channel_id: str, group_key: str, now: datetime) -> Alert | None: ...
    def open_alerts(self, channel_id: str | None = None) -> list[Alert]: ...
