"""Typed results of the action layer: what happened, ready for rendering (Block Kit or text).

Pure data: frozen dataclasses built by ``podbot.k8s.actions`` and consumed by ``podbot.render.blocks``.
Raw Kubernetes JSON appears only where the renderer genuinely needs the object (describe, -o yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podbot.core.model import CreateFromManifest, CreateRegistrySecret, OutputFormat, ReplaceRegistryLogin
from podbot.core.podsecurity import PodSecurityLevel, Violation
from podbot.core.policy import Approvers
from podbot.core.records import Approval, AuditEvent, Subscription


@dataclass(frozen=True)
class ObjectRef:
    """One Kubernetes object a command touched."""

    kind: str
    namespace: str
    name: str
    uid: str = ""


@dataclass(frozen=True)
class Changed:
    """Objects created (or, with dry_run, validated and not created)."""

    verb: str  # "created" | "deleted"
    context: str
    objects: tuple[ObjectRef, ...]
    dry_run: bool = False
    notes: tuple[str, ...] = ()  # message keys (e.g. flags accepted without effect)
    preview: dict[str, Any] | None = None  # the object as built (client dry-run) or as the server returned it
    pod_security: PodSecurityLevel | None = None  # a preview: the level a real create must meet...
    violations: tuple[Violation, ...] = ()  # ...and what in it does not
    printed: RawOutput | None = None  # ``-o yaml|json|name``: the object as kubectl prints it


@dataclass(frozen=True)
class PodTable:
    """``get pods`` as kubectl prints it; ``namespace`` None means all namespaces (adds NAMESPACE)."""

    context: str
    namespace: str | None
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    missing: tuple[str, ...] = ()  # names asked for that do not exist


@dataclass(frozen=True)
class RawOutput:
    """``get -o yaml|json|name``: text exactly as kubectl would print it."""

    context: str
    format: OutputFormat
    text: str


@dataclass(frozen=True)
class EventRow:
    type: str
    reason: str
    age: str
    source: str
    message: str
    count: int = 1


@dataclass(frozen=True)
class PodDescription:
    """``describe pod``: the pod, its recent events and podbot's diagnosis (findings)."""

    context: str
    pod: dict[str, Any]
    events: tuple[EventRow, ...]
    findings: tuple[Any, ...] = ()  # diagnosis.Finding; typed loosely to keep layers apart


@dataclass(frozen=True)
class Logs:
    context: str
    namespace: str
    pod: str
    container: str
    previous: bool
    text: str
    containers: tuple[str, ...] = ()  # every container of the pod (init ones included), for hints


@dataclass(frozen=True)
class StaticPod:
    namespace: str
    name: str
    node: str
    source: str  # "file" | "http" | ""
    status: str
    manifest_hint: str  # where the manifest lives (staticPodPath file name or the manifest URL)


@dataclass(frozen=True)
class StaticPods:
    context: str
    pods: tuple[StaticPod, ...]


@dataclass(frozen=True)
class HelpText:
    text: str


@dataclass(frozen=True)
class Notice:
    """A plain message from the catalog (key + params), e.g. "subscription 3 removed"."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalPosted:
    """A delete waits for an approver: the request message is in the channel."""

    approval: Approval
    approvers: Approvers | None


@dataclass(frozen=True)
class ApprovalDuplicate:
    """The object already has an open request: point at that one."""

    approval: Approval
    link: str | None


@dataclass(frozen=True)
class PendingApprovals:
    approvals: tuple[Approval, ...]


@dataclass(frozen=True)
class AuditListing:
    """``/pod audit``: the visible records, newest first, and the filters asked for."""

    events: tuple[AuditEvent, ...]
    user: str | None
    since: datetime | None
    namespace: str | None
    truncated: bool


@dataclass(frozen=True)
class SubscriptionChanged:
    """A digest subscription was made (``stopped`` False) or stopped."""

    subscription: Subscription
    next_run: datetime | None
    stopped: bool = False


@dataclass(frozen=True)
class SubscriptionList:
    subscriptions: tuple[tuple[Subscription, datetime | None], ...]  # each with its next run
    default_context: str


@dataclass(frozen=True)
class AlertsChanged:
    enabled: bool
    context: str
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class DialogNeeded:
    """The request needs a modal (a manifest to paste, a password to type): open it, prefilled."""

    request: CreateFromManifest | CreateRegistrySecret | ReplaceRegistryLogin


@dataclass(frozen=True)
class Posted:
    """Background work that posted (or settled) a message itself: nothing more to say."""

    ts: str | None = None


Result = (
    Changed
    | PodTable
    | RawOutput
    | PodDescription
    | Logs
    | StaticPods
    | HelpText
    | Notice
    | ApprovalPosted
    | ApprovalDuplicate
    | PendingApprovals
    | AuditListing
    | SubscriptionChanged
    | SubscriptionList
    | AlertsChanged
    | DialogNeeded
    | Posted
)
