"""Typed results of the action layer: what happened, ready for rendering (Block Kit or text).

Pure data: frozen dataclasses built by ``podbot.k8s.actions`` and consumed by ``podbot.render.blocks``.
Raw Kubernetes JSON appears only where the renderer genuinely needs the object (describe, -o yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podbot.core.model import OutputFormat


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


Result = (
    Changed | PodTable | RawOutput | PodDescription | Logs | DeleteTarget | StaticPods | HelpText | Notice
)
