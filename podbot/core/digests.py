"""Digests and alert groups, pure: cached pod summaries + findings -> what a message should say.

The watch cache holds every pod; most are healthy. ``is_quiet`` recognizes a pod that
``diagnose`` cannot find anything wrong with (running or completed, nothing waiting, never
restarted, not being deleted), so a digest over 50,000 pods diagnoses only the few hundred others.

A digest remembers what it reported as *marks* (stored on the subscription, see
``store.claims.mark_posted``): ``fingerprint|kind|namespace|subject``. The next digest compares
fingerprints to say what is new and what got resolved, and names the resolved ones from the rest of
the mark (the pod is gone or healthy by then, so nothing else knows what it was).

Health digests mark each finding (``Finding.fingerprint``); image-pull digests mark each failing
image group (namespace, cause, image): "resolved" then means that image pulls again.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.findings import Finding, FindingKind, Severity
from podbot.core.diagnosis.rules import DEFAULT_SETTINGS, DiagnosisSettings, diagnose
from podbot.core.pods.summary import EventNote, PodSummary, StateKind

PodKey = tuple[str, str]


# --- which pods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which namespaces a digest or alert covers: shell-style patterns; () = every namespace."""

    context: str
    namespaces: tuple[str, ...] = ()

    def includes(self, namespace: str) -> bool:
        return not self.namespaces or any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces)


def is_quiet(pod: PodSummary) -> bool:
    """True when ``diagnose`` has nothing to say about ``pod``, whatever the time.

    Conservative: Running or Succeeded, not being deleted, not evicted, and every container
    running or finished with exit code 0, never restarted and with no remembered pull failure.
    (Each finding of podbot.core.diagnosis.rules needs one of those to be otherwise.)"""
    if pod.deleted_at is not None or pod.reason or pod.pull_failures:
        return False
    if pod.phase not in ("Running", "Succeeded"):
        return False
    for c in pod.containers:
        if c.restart_count or c.restart_times or c.last_reason or c.last_exit_code:
            return False
        if c.state is StateKind.RUNNING:
            continue
        if c.state is StateKind.TERMINATED and not c.exit_code and c.reason != "OOMKilled":
            continue
        return False
    return True


def find_problems(
    pods: Iterable[PodSummary],
    notes: Callable[[PodKey], Sequence[EventNote]],
    credentials: RegistryCredentialIndex,
    now: datetime,
    *,
    scope: Scope | None = None,
    settings: DiagnosisSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """Every finding about the pods in ``scope``, skipping quiet pods."""
    findings: list[Finding] = []
    for pod in pods:
        if scope is not None and not scope.includes(pod.namespace):
            continue
        if is_quiet(pod):
            continue
        findings.extend(diagnose(pod, notes(pod.key), credentials, now, settings=settings))
    findings.sort(key=rank)
    return findings


def rank(finding: Finding) -> tuple[int, float, str, str, str]:
    """Worst first: critical before warning, then the oldest problem, then by name."""
    return finding.order


# --- marks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One thing a digest reported, as remembered on the subscription."""

    key: str  # a finding's fingerprint, or an image group's hash
    kind: str  # FindingKind value
    namespace: str
    subject: str  # pod[/container], or the image

    def encode(self) -> str:
        return "|".join((self.key, self.kind, self.namespace, self.subject))

    @classmethod
    def decode(cls, text: str) -> Mark:
        """A stored mark; a bare fingerprint (no label) decodes with empty fields."""
        key, _, rest = text.partition("|")
        kind, _, rest = rest.partition("|")
        namespace, _, subject = rest.partition("|")
        return cls(key, kind, namespace, subject)


def finding_mark(finding: Finding) -> Mark:
    """What a digest remembers of ``finding``; made once per (immutable) finding."""
    mark: Mark | None = finding.__dict__.get("_mark")
    if mark is None:
        subject = finding.pod + (f"/{finding.container}" if finding.container else "")
        mark = finding.__dict__["_mark"] = Mark(
            finding.fingerprint, finding.kind.value, finding.namespace, subject
        )
    return mark


def group_id(key: Iterable[str]) -> str:
    """A short stable id of a group key (alert rows and marks have bounded width)."""
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Changes:
    new: tuple[Mark, ...]
    resolved: tuple[Mark, ...]
    first: bool  # no previous digest: everything would be "new", so nothing is called new


def compare(current: Sequence[Mark], previous: Iterable[str], *, first: bool) -> Changes:
    before = {m.key: m for m in (Mark.decode(text) for text in previous)}
    now_keys = {m.key for m in current}
    new = () if first else tuple(m for m in current if m.key not in before)
    resolved = tuple(m for key, m in sorted(before.items()) if key not in now_keys)
    return Changes(new=new, resolved=resolved, first=first)


# --- health digest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemGroup:
    """Findings of one kind and cause: "230 pods — image pull, credentials missing"."""

    kind: FindingKind
    cause: str
    severity: Severity
    pods: int
    namespaces: tuple[str, ...]
    example: Finding


@dataclass(frozen=True)
class HealthDigest:
    scope: Scope
    at: datetime
    total_pods: int
    by_status: tuple[tuple[str, int], ...]  # most common first
    groups: tuple[ProblemGroup, ...]  # most pods first
    findings: tuple[Finding, ...]  # worst first
    changes: Changes
    previous_at: datetime | None
    reported: tuple[Mark, ...] = ()  # one per finding, what the next digest compares with

    @property
    def marks(self) -> list[str]:
        return [m.encode() for m in self.reported]


def status_label(pod: PodSummary) -> str:
    """What a digest counts a pod as: kubectl's STATUS column."""
    return pod.status or pod.phase or "Unknown"


def status_totals(pods: Iterable[PodSummary], scope: Scope) -> Counter[str]:
    """How many pods in ``scope`` have each STATUS (the watch cache keeps these as it goes)."""
    return Counter(status_label(pod) for pod in pods if scope.includes(pod.namespace))


def health_digest(
    totals: Mapping[str, int],
    findings: Sequence[Finding],
    *,
    scope: Scope,
    now: datetime,
    previous: Iterable[str] = (),
    previous_at: datetime | None = None,
) -> HealthDigest:
    """Totals by STATUS (``status_totals`` of the pods in ``scope``), problems grouped by cause,
    new and resolved."""
    statuses = {status: count for status, count in totals.items() if count}
    total = sum(statuses.values())
    mine = [f for f in findings if scope.includes(f.namespace)]
    grouped: dict[tuple[FindingKind, str], list[Finding]] = {}
    for finding in mine:
        grouped.setdefault((finding.kind, finding.cause_value), []).append(finding)
    groups = [
        ProblemGroup(
            kind=kind,
            cause=cause,
            severity=min((f.severity for f in items), key=lambda s: s.rank),
            pods=len({(f.namespace, f.pod) for f in items}),
            namespaces=tuple(sorted({f.namespace for f in items})),
            example=items[0],
        )
        for (kind, cause), items in grouped.items()
    ]
    groups.sort(key=lambda g: (g.severity.rank, -g.pods, g.kind.value, g.cause))
    marks = tuple(finding_mark(f) for f in mine)
    return HealthDigest(
        scope=scope,
        at=now,
        total_pods=total,
        by_status=tuple(sorted(statuses.items(), key=lambda item: (-item[1], item[0]))),
        groups=tuple(groups),
        findings=tuple(mine),
        changes=compare(marks, previous, first=previous_at is None),
        previous_at=previous_at,
        reported=marks,
    )


# --- image-pull digest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AffectedPod:
    pod: str
    container: str
    is_init: bool


@dataclass(frozen=True)
class ImageFailure:
    """One image that cannot be pulled in one namespace, for one root cause."""

    namespace: str
    image: str
    example: Finding  # its cause, fix and fix button stand for the group
    pods: tuple[AffectedPod, ...]
    since: datetime | None

    @property
    def mark(self) -> Mark:
        key = group_id((self.namespace, self.example.kind.value, self.example.cause_value, self.image))
        return Mark(key, FindingKind.IMAGE_PULL.value, self.namespace, self.image)


@dataclass(frozen=True)
class PullDigest:
    scope: Scope
    at: datetime
    failures: tuple[ImageFailure, ...]  # most pods first
    changes: Changes
    previous_at: datetime | None

    @property
    def marks(self) -> list[str]:
        return [f.mark.encode() for f in self.failures]


def pull_digest(
    findings: Sequence[Finding],
    *,
    scope: Scope,
    now: datetime,
    previous: Iterable[str] = (),
    previous_at: datetime | None = None,
) -> PullDigest:
    """Every failing image (app and init containers) with its root cause and affected pods."""
    grouped: dict[tuple[str, str, str, str], list[Finding]] = {}
    for finding in findings:
        if finding.kind is FindingKind.IMAGE_PULL and scope.includes(finding.namespace):
            grouped.setdefault(finding.group_key, []).append(finding)
    failures = []
    for items in grouped.values():
        times = [f.since for f in items if f.since is not None]
        failures.append(
            ImageFailure(
                namespace=items[0].namespace,
                image=items[0].image,
                example=items[0],
                pods=tuple(
                    AffectedPod(f.pod, f.container, f.is_init)
                    for f in sorted(items, key=lambda f: (f.pod, f.container))
                ),
                since=min(times) if times else None,
            )
        )
    failures.sort(key=lambda f: (-len(f.pods), f.namespace, f.image))
    return PullDigest(
        scope=scope,
        at=now,
        failures=tuple(failures),
        changes=compare([f.mark for f in failures], previous, first=previous_at is None),
        previous_at=previous_at,
    )


# --- alert groups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertGroup:
    """The same failure on one or many pods: one alert."""

    context: str
    key: tuple[str, str, str, str]  # Finding.group_key
    findings: tuple[Finding, ...]

    @property
    def id(self) -> str:
        return group_id((self.context, *self.key))

    @property
    def example(self) -> Finding:
        return self.findings[0]

    @property
    def pods(self) -> int:
        return len({(f.namespace, f.pod) for f in self.findings})


def alert_groups(context: str, findings: Iterable[Finding], scope: Scope) -> dict[str, AlertGroup]:
    """Findings in ``scope`` grouped by ``Finding.group_key``, by group id."""
    grouped: dict[tuple[str, str, str, str], list[Finding]] = {}
    for finding in findings:
        if scope.includes(finding.namespace):
            grouped.setdefault(finding.group_key, []).append(finding)
    groups = {}
    for key, items in grouped.items():
        items.sort(key=rank)
        group = AlertGroup(context, key, tuple(items))
        groups[group.id] = group
    return groups
