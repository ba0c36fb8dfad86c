"""What the store hands out and takes in: frozen dataclasses and enums, no SQLAlchemy.

Every time is a timezone-aware UTC ``datetime`` supplied by the caller (the bot's clock, which a
test or the simulator controls); the store never reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from podbot.core.model import DigestKind


@dataclass(frozen=True)
class DeleteTarget:
    """What an approval shows and pins: the exact object (uid) and what will happen after."""

    context: str
    kind: str  # "Pod" | "Secret"
    namespace: str
    name: str
    uid: str
    resource_version: str = ""
    owner_kind: str = ""  # e.g. ReplicaSet: the owner will recreate the pod
    owner_name: str = ""
    node: str = ""
    grace_period: int | None = None
    reason: str = ""


def utc(moment: datetime, what: str = "time") -> datetime:
    """``moment`` in UTC; a naive datetime is a bug in the caller (whose clock is it?), so refuse it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


# --- approvals ------------------------------------------------------------------------------


class ApprovalState(StrEnum):
    """The life of a delete request.

    ``pending`` -> ``approved`` | ``denied`` (a decision, first valid one wins)
    ``pending`` -> ``expired``  (no decision before ``expires_at``)
    ``approved`` -> ``executing`` (exactly one worker starts the delete)
    ``executing`` -> ``done`` | ``failed`` (the delete's outcome)

    ``denied``, ``expired``, ``done`` and ``failed`` are final. A request left in ``approved`` or
    ``executing`` by a crash is visible through ``Approvals.in_state`` for recovery.
    """

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({ApprovalState.DENIED, ApprovalState.EXPIRED, ApprovalState.DONE, ApprovalState.FAILED})


@dataclass(frozen=True)
class Requester:
    """Who asked for the delete, and where: replies and the request message go to this channel."""

    team_id: str
    channel_id: str
    user_id: str


class ApprovalAction(StrEnum):
    DELETE = "delete"  # delete exactly ``target`` (its uid is pinned)
    CREATE = "create"  # create ``manifest``, which broke the channel's Pod Security level


@dataclass(frozen=True)
class Approval:
    id: int
    state: ApprovalState
    created_at: datetime
    expires_at: datetime
    requester: Requester
    target: DeleteTarget  # target.reason is the requester's --reason
    message_channel: str | None = None
    message_ts: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str = ""  # e.g. "deleted", "not_found", "conflict", "forbidden"
    detail: str = ""
    action: ApprovalAction = ApprovalAction.DELETE
    manifest: str | None = field(default=None, repr=False)  # what a held create will send
    violations: tuple[tuple[str, str], ...] = ()  # (rule, detail): why a create was held
    message_stale: bool = False  # its last chat.update failed: the sweeper renders it again


# --- audit ----------------------------------------------------------------------------------


class AuditAction(StrEnum):
    """What an audit record is about. Stored as text, so adding a member needs no migration."""

    RUN = "run"
    CREATE = "create"
    SECRET_CREATE = "secret_create"  # noqa: S105 (an action name, not a password)
    SECRET_DELETE = "secret_delete"  # noqa: S105
    SECRET_REPLACE = "secret_replace"  # noqa: S105 - a registry login replaced in place
    PULL_SECRET_ATTACH = "pull_secret_attach"  # noqa: S105 - a secret added to a ServiceAccount
    DELETE_REQUEST = "delete_request"
    CREATE_REQUEST = "create_request"  # a create held for an approver (Pod Security)
    APPROVE = "approve"
    DENY = "deny"
    REFUSED_CLICK = "refused_click"
    EXPIRE = "expire"
    DELETE = "delete"
    REFUSED = "refused"  # policy refused a command before any API call
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    ALERTS = "alerts"
    CHANNEL_SETTINGS = "channel_settings"


@dataclass(frozen=True)
class AuditEvent:
    """One audit record. ``id`` is None until the store has written it."""

    at: datetime
    action: AuditAction
    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    kube_user: str = ""  # the Kubernetes identity the API call was made as ("" = the bot's own)
    kube_groups: tuple[str, ...] = ()
    context: str = ""  # cluster (kubeconfig context)
    namespace: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    request_text: str = ""  # redacted again by the store, whatever the caller did
    outcome: str = ""  # e.g. "ok", "refused", "not_found", "error"
    detail: str = ""
    approval_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Intent:
    """A change about to be sent to a cluster, written down before the API call (``store.audit``).

    ``settled_at`` is set, in the same transaction, when the change's outcome is in the audit log;
    an intent left unsettled was cut short by a crash (or a lost database) and is settled later
    from the cluster's state. ``uid`` is the object a delete is pinned to ("" when not known)."""

    started_at: datetime
    action: AuditAction
    owner: str = ""  # the replica that sent it
    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    kube_user: str = ""
    context: str = ""
    namespace: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    request_text: str = ""  # redacted, like the audit record's
    approval_id: int | None = None
    settled_at: datetime | None = None
    outcome: str = ""
    id: int | None = None


@dataclass(frozen=True)
class AuditQuery:
    """Filters of ``/pod audit``; every one optional. Results come newest first."""

    user_id: str | None = None
    since: datetime | None = None
    namespace: str | None = None
    channel_id: str | None = None
    action: AuditAction | None = None
    limit: int = 50


# --- channels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSettings:
    """Per-channel choices made in Slack (configuration file policies still bound them)."""

    channel_id: str
    team_id: str = ""
    default_context: str | None = None
    default_namespace: str | None = None
    allowed_namespaces: tuple[str, ...] = ()  # () = whatever the configured policy allows
    locale: str | None = None
    alerts_enabled: bool = False
    alert_namespaces: tuple[str, ...] = ()  # () = every namespace the channel may see
    alert_context: str | None = None
    updated_by: str = ""
    updated_at: datetime | None = None


# --- subscriptions and post claims ---------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Exactly one of ``every_seconds`` and ``cron`` (5-field crontab, evaluated in ``timezone``)."""

    every_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.cron is None):
            raise ValueError("a schedule has exactly one of every_seconds and cron")
        if self.every_seconds is not None and self.every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        if self.cron is not None and not self.cron.strip():
            raise ValueError("cron must not be empty")


@dataclass(frozen=True)
class Subscription:
    id: int
    team_id: str
    channel_id: str
    kind: DigestKind
    schedule: Schedule
    namespaces: tuple[str, ...]  # () = all the channel may see
    context: str | None
    created_by: str
    created_at: datetime
    active: bool = True
    ended_by: str | None = None
    ended_at: datetime | None = None
    # What the previous posted digest contained, so the next one can say "new" and "resolved".
    last_digest_at: datetime | None = None
    last_fingerprints: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Claim:
    """The right to post one digest (subscription, scheduled time); see ``podbot.store.claims``."""

    subscription_id: int
    scheduled_time: datetime
    owner: str
    attempt: int  # 1 for the first claim; >1 means an earlier holder crashed or gave up
    claimed_at: datetime
    posted_at: datetime | None = None
    message_ts: str | None = None


@dataclass(frozen=True)
class PostRecord:
    """One non-idempotent post in the ledger; ``message_ts`` is set once Slack is known to have it."""

    key: str
    channel_id: str
    state: str  # "sending" | "posted"
    message_ts: str | None
    created_at: datetime
    updated_at: datetime


# --- alerts ---------------------------------------------------------------------------------


class AlertState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """One real-time alert in one channel, keyed by the finding group (fingerprint)."""

    id: int
    channel_id: str
    group_key: str
    state: AlertState
    title: str
    first_seen: datetime  # start of the current episode
    last_seen: datetime
    last_update_at: datetime  # when the alert or its latest thread update was posted
    count: int  # pods affected at the latest observation
    peak_count: int  # most pods affected in this episode
    thread_updates: int
    episodes: int  # how many times it opened (1 + reopenings after resolution)
    message_ts: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class AlertObservation:
    """``must_post``: this caller (and no other) must post the alert, then call ``set_message``."""

    alert: Alert
    must_post: bool


# --- leases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
