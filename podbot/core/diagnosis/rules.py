"""Diagnosis, pure: a pod summary + its recent events -> findings with a cause and a concrete fix.

Inputs are explicit (no clock, no I/O): the ``PodSummary`` the watch cache keeps (with its
remembered pull failures, see podbot.core.pods.summary), the pod's recent ``EventNote``s, what podbot
knows of the namespace's registry secrets (``RegistryCredentialIndex``), ``now``, and optionally
the last log lines of crashed containers' previous runs. The data model lives in
podbot.core.diagnosis.findings.

One container yields at most one finding, the most specific: an image pull failure, else a
config error, else an init failure / OOM kill / crash loop / failed exit, else frequent restarts.
A pod that is being deleted, or was evicted, yields only that.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from podbot.core.diagnosis.credentials import (
    CredentialCheck,
    CredentialState,
    RegistryCredentialIndex,
    parse_image,
)
from podbot.core.diagnosis.findings import (
    Evidence,
    Finding,
    FindingKind,
    Fix,
    FixKind,
    SchedulingCause,
    Severity,
    StaticPod,
)
from podbot.core.diagnosis.pull_causes import PULL_WAITING_REASONS, PullCause, classify
from podbot.core.pods.summary import ContainerSummary, EventNote, PodSummary, StateKind, clip
from podbot.core.redaction import redact

__all__ = ["DiagnosisSettings", "Finding", "diagnose", "diagnose_until", "scheduling_cause"]

CONFIG_ERROR_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
RECREATING_OWNERS = frozenset({"ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"})
DEFAULT_STATIC_POD_PATH = "/etc/kubernetes/manifests"
LOG_LINE_LIMIT = 300  # characters of one crash log line in a finding


@dataclass(frozen=True)
class DiagnosisSettings:
    """Thresholds; every field has a default that suits a typical cluster."""

    pending_after: timedelta = timedelta(minutes=10)
    """A pod Pending longer than this (and not explained otherwise) is PENDING_TOO_LONG."""
    unschedulable_after: timedelta = timedelta(minutes=1)
    """The scheduler may briefly find no node while an autoscaler adds one."""
    terminating_after: timedelta = timedelta(minutes=5)
    """How long past its deletionTimestamp (which includes the grace period) a pod may linger."""
    restart_threshold: int = 5
    """This many restarts within ``restart_window`` is FREQUENT_RESTARTS."""
    restart_window: timedelta = timedelta(hours=1)
    crash_recent: timedelta = timedelta(minutes=10)
    """A failed exit this recent, with ``crash_min_restarts``, is a crash loop even while running
    (the kubelet's back-off tops out at 5 minutes, so a looping container always has one)."""
    crash_min_restarts: int = 3
    oom_window: timedelta = timedelta(hours=1)
    """An OOM kill this recent is reported even though the container runs again."""
    static_pod_path: str = DEFAULT_STATIC_POD_PATH
    """The kubelet's staticPodPath (kubeadm: /etc/kubernetes/manifests)."""
    log_lines: int = 10
    """How many crash log lines a finding keeps (the last ones of the crashed run)."""
    pull_backoff_initial: timedelta = timedelta(seconds=10)
    """The kubelet's image pull back-off starts here and doubles after every failed pull ..."""
    pull_backoff_max: timedelta = timedelta(minutes=5)
    """... up to this (kubelet: backOffPeriod 10s, MaxContainerBackOff 300s)."""


DEFAULT_SETTINGS = DiagnosisSettings()


def _dt(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else None


@dataclass
class _Context:
    pod: PodSummary
    events: Sequence[EventNote]
    credentials: RegistryCredentialIndex
    now: float
    logs: Mapping[str, Sequence[str]]
    settings: DiagnosisSettings
    static: StaticPod | None = None
    findings: list[Finding] = field(default_factory=list)
    until: float = math.inf  # the result holds for any later time before this (epoch seconds)

    def holds_until(self, moment: float) -> None:
        """A time comparison made here turns out differently from ``moment`` on."""
        self.until = min(self.until, moment)

    def changes_every_second(self) -> None:
        """A finding quotes a duration (pending for, overdue by): it is only true now."""
        self.until = min(self.until, self.now)

    def finding(
        self,
        kind: FindingKind,
        severity: Severity,
        fixes: Sequence[Fix],
        *,
        evidence: Evidence,
        since: datetime | None,
        container: ContainerSummary | None = None,
        registry: str = "",
        cause: PullCause | None = None,
        scheduling: SchedulingCause | None = None,
        ambiguous: bool = False,
        missing_secret: str = "",
    ) -> Finding:
        pod = self.pod
        all_fixes = tuple(fixes)
        if self.static is not None:
            all_fixes = (*all_fixes, _static_fix(pod, self.static))
        return Finding(
            kind=kind,
            severity=severity,
            namespace=pod.namespace,
            pod=pod.name,
            uid=pod.uid,
            node=pod.node,
            container=container.name if container else "",
            is_init=container.is_init if container else False,
            image=container.image if container else "",
            registry=registry,
            cause=cause,
            scheduling=scheduling,
            ambiguous=ambiguous,
            missing_secret=missing_secret,
            since=since,
            evidence=evidence,
            fixes=all_fixes,
            static=self.static,
            owner_kind=pod.owner_kind,
            owner_name=pod.owner_name,
        )


def diagnose(
    pod: PodSummary,
    events: Sequence[EventNote],
    credentials: RegistryCredentialIndex,
    now: datetime,
    *,
    crash_logs: Mapping[str, Sequence[str]] | None = None,
    settings: DiagnosisSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """Everything wrong with ``pod`` at ``now``; ``crash_logs`` maps container -> last lines of
    its previous run. ``events`` are the pod's recent events (others are ignored)."""
    return diagnose_until(pod, events, credentials, now, crash_logs=crash_logs, settings=settings)[0]


def diagnose_until(
    pod: PodSummary,
    events: Sequence[EventNote],
    credentials: RegistryCredentialIndex,
    now: datetime,
    *,
    crash_logs: Mapping[str, Sequence[str]] | None = None,
    settings: DiagnosisSettings = DEFAULT_SETTINGS,
) -> tuple[list[Finding], float]:
    """``diagnose``, and until when (epoch seconds, exclusive; ``math.inf``: for good) the same
    inputs give the same findings at any later time: the watch cache reuses them until then."""
    uid = pod.uid
    mine = [
        e
        for e in events
        if e.pod_uid == uid or (not e.pod_uid and (e.namespace, e.pod_name) == (pod.namespace, pod.name))
    ]
    ctx = _Context(pod, mine, credentials, now.timestamp(), crash_logs or {}, settings)
    if pod.mirror:
        ctx.static = _static_pod(pod, settings)
    if _stuck_terminating(ctx) or _evicted(ctx):
        return ctx.findings, ctx.until
    for container in pod.containers:
        _container_findings(ctx, container)
    _scheduling(ctx)
    _pending_too_long(ctx)
    ctx.findings.sort(key=lambda f: (f.severity.rank, f.kind.value, f.container))
    return ctx.findings, ctx.until


# --- static pods -----------------------------------------------------------------------------------


def _static_pod(pod: PodSummary, settings: DiagnosisSettings) -> StaticPod:
    name = pod.name
    suffix = f"-{pod.node}"
    if pod.node and name.endswith(suffix):
        name = name[: -len(suffix)]
    source = pod.config_source or "file"
    return StaticPod(
        node=pod.node,
        source=source,
        manifest_dir=settings.static_pod_path if source != "http" else "",
        manifest_name=name,
    )


def _static_fix(pod: PodSummary, static: StaticPod) -> Fix:
    return Fix(
        FixKind.EDIT_STATIC_MANIFEST,
        namespace=pod.namespace,
        pod=pod.name,
        node=static.node,
        manifest_dir=static.manifest_dir,
        manifest_name=static.manifest_name,
    )


# --- pod-level findings ----------------------------------------------------------------------------


def _stuck_terminating(ctx: _Context) -> bool:
    pod = ctx.pod
    if pod.deleted_at is None or pod.phase in ("Succeeded", "Failed"):
        return False
    overdue = ctx.now - pod.deleted_at
    if overdue < ctx.settings.terminating_after.total_seconds():
        ctx.holds_until(pod.deleted_at + ctx.settings.terminating_after.total_seconds())
        return False
    ctx.changes_every_second()
    fixes: list[Fix] = [Fix(FixKind.CHECK_NODE, namespace=pod.namespace, pod=pod.name, node=pod.node)]
    if pod.finalizers:
        fixes.insert(
            0,
            Fix(FixKind.REMOVE_FINALIZERS, namespace=pod.namespace, pod=pod.name, finalizers=pod.finalizers),
        )
    if ctx.static is None:  # never suggest deleting a mirror pod: the kubelet recreates it
        cmd = f"/pod delete pod {pod.name} -n {pod.namespace} --grace-period=0"
        fixes.append(Fix(FixKind.FORCE_DELETE, namespace=pod.namespace, pod=pod.name, commands=(cmd,)))
    ctx.findings.append(
        ctx.finding(
            FindingKind.STUCK_TERMINATING,
            Severity.WARNING,
            fixes,
            since=_dt(pod.deleted_at),
            evidence=Evidence(
                reason=pod.status,
                duration_seconds=int(overdue),
                finalizers=pod.finalizers,
                message=pod.message,
            ),
        )
    )
    return True


def _evicted(ctx: _Context) -> bool:
    pod = ctx.pod
    if pod.reason != "Evicted":
        return False
    fixes = [Fix(FixKind.RELIEVE_NODE_PRESSURE, namespace=pod.namespace, pod=pod.name, node=pod.node)]
    if ctx.static is None:
        cmd = f"/pod delete pod {pod.name} -n {pod.namespace}"
        fixes.append(
            Fix(
                FixKind.DELETE_EVICTED,
                namespace=pod.namespace,
                pod=pod.name,
                owner_kind=pod.owner_kind,
                owner_name=pod.owner_name,
                commands=(cmd,),
            )
        )
    event = _latest(ctx.events, lambda e: e.reason == "Evicted")
    ctx.findings.append(
        ctx.finding(
            FindingKind.EVICTED,
            Severity.WARNING,
            fixes,
            since=_dt(event.last_seen if event else pod.started or pod.created),
            evidence=Evidence(reason=pod.reason, message=pod.message or (event.message if event else "")),
        )
    )
    return True


_NODES_AVAILABLE = re.compile(r"nodes are available:(.*)", re.IGNORECASE | re.DOTALL)
_COUNTED = re.compile(r"(\d+)\s+([^,.]+)")
_SCHEDULING_WORDS: tuple[tuple[SchedulingCause, tuple[str, ...]], ...] = (
    (SchedulingCause.INSUFFICIENT_RESOURCES, ("insufficient", "too many pods")),
    (SchedulingCause.UNTOLERATED_TAINT, ("taint",)),
    (SchedulingCause.NODE_SELECTOR_MISMATCH, ("node affinity", "node selector", "nodeaffinity", "selector")),
    (SchedulingCause.VOLUME, ("volume", "persistentvolumeclaim", "pvc")),
    (SchedulingCause.NO_FREE_PORTS, ("free ports",)),
)


def _words_cause(text: str) -> SchedulingCause:
    lowered = text.lower()
    for cause, words in _SCHEDULING_WORDS:
        if any(w in lowered for w in words):
            return cause
    return SchedulingCause.OTHER


@lru_cache(maxsize=1024)  # pure; a cluster's pending pods share a handful of scheduler messages
def scheduling_cause(message: str) -> SchedulingCause:
    """The dominant reason in a scheduler message: the one that rules out the most nodes."""
    if "no nodes available" in message.lower() or message.lower().startswith("0/0 nodes"):
        return SchedulingCause.NO_NODES
    match = _NODES_AVAILABLE.search(message)
    if match:
        tail = match.group(1).split("preemption:")[0]
        counted = [(int(n), _words_cause(text)) for n, text in _COUNTED.findall(tail)]
        counted = [(n, c) for n, c in counted if c is not SchedulingCause.OTHER] or counted
        if counted:
            return max(counted, key=lambda item: item[0])[1]
    return _words_cause(message)


_SCHEDULING_FIXES = {
    SchedulingCause.INSUFFICIENT_RESOURCES: FixKind.ADD_CAPACITY,
    SchedulingCause.UNTOLERATED_TAINT: FixKind.ADD_TOLERATION,
    SchedulingCause.NODE_SELECTOR_MISMATCH: FixKind.FIX_NODE_SELECTOR,
    SchedulingCause.VOLUME: FixKind.FIX_VOLUME_CLAIM,
    SchedulingCause.NO_FREE_PORTS: FixKind.FREE_HOST_PORT,
    SchedulingCause.NO_NODES: FixKind.ADD_NODES,
    SchedulingCause.SCHEDULING_GATED: FixKind.REMOVE_SCHEDULING_GATE,
    SchedulingCause.OTHER: FixKind.CHECK_POD_EVENTS,
}


def _scheduling(ctx: _Context) -> None:
    pod = ctx.pod
    if pod.node or pod.phase not in ("Pending", ""):
        return
    event = _latest(ctx.events, lambda e: e.reason == "FailedScheduling")
    if pod.scheduled_reason != "Unschedulable" and event is None:
        return
    age = ctx.now - (pod.created if pod.created is not None else ctx.now)
    if age < ctx.settings.unschedulable_after.total_seconds():
        ctx.holds_until(ctx.now - age + ctx.settings.unschedulable_after.total_seconds())
        return
    ctx.changes_every_second()
    message = pod.scheduled_message or (event.message if event else "")
    cause = scheduling_cause(message)
    describe = f"/pod describe pod {pod.name} -n {pod.namespace}"
    fix = Fix(_SCHEDULING_FIXES[cause], namespace=pod.namespace, pod=pod.name, commands=(describe,))
    ctx.findings.append(
        ctx.finding(
            FindingKind.UNSCHEDULABLE,
            Severity.CRITICAL,
            [fix],
            scheduling=cause,
            since=_dt(event.first_seen if event and event.first_seen else pod.created),
            evidence=Evidence(
                reason=pod.scheduled_reason or "FailedScheduling",
                message=message,
                duration_seconds=int(age),
                event_count=event.count if event else 0,
            ),
        )
    )


def _pending_too_long(ctx: _Context) -> None:
    pod = ctx.pod
    if pod.phase != "Pending" or ctx.findings or pod.created is None:
        return
    age = ctx.now - pod.created
    if age < ctx.settings.pending_after.total_seconds():
        ctx.holds_until(pod.created + ctx.settings.pending_after.total_seconds())
        return
    ctx.changes_every_second()
    warning = _latest(ctx.events, lambda e: e.type == "Warning")
    waiting = next((c for c in pod.containers if c.state is StateKind.WAITING), None)
    gated = pod.scheduled_reason == "SchedulingGated"
    fix_kind = FixKind.REMOVE_SCHEDULING_GATE if gated else FixKind.CHECK_POD_EVENTS
    describe = f"/pod describe pod {pod.name} -n {pod.namespace}"
    ctx.findings.append(
        ctx.finding(
            FindingKind.PENDING_TOO_LONG,
            Severity.WARNING,
            [Fix(fix_kind, namespace=pod.namespace, pod=pod.name, commands=(describe,))],
            scheduling=SchedulingCause.SCHEDULING_GATED if gated else None,
            since=_dt(pod.created),
            evidence=Evidence(
                reason=(warning.reason if warning else "") or (waiting.reason if waiting else pod.status),
                message=(warning.message if warning else "") or (waiting.message if waiting else ""),
                duration_seconds=int(age),
                event_count=warning.count if warning else 0,
            ),
        )
    )


# --- container findings ----------------------------------------------------------------------------


def _container_findings(ctx: _Context, c: ContainerSummary) -> None:
    if c.state is StateKind.WAITING and c.reason in PULL_WAITING_REASONS:
        _image_pull(ctx, c)
    elif c.state is StateKind.WAITING and c.reason in CONFIG_ERROR_REASONS:
        _config_error(ctx, c)
    elif not _terminations(ctx, c):
        _frequent_restarts(ctx, c)


def _latest(events: Sequence[EventNote], predicate: Callable[[EventNote], bool]) -> EventNote | None:
    best: EventNote | None = None
    for event in events:
        if predicate(event) and (best is None or (event.last_seen or 0) >= (best.last_seen or 0)):
            best = event
    return best


def _image_pull(ctx: _Context, c: ContainerSummary) -> None:
    pod = ctx.pod
    memory = pod.pull_failure(c.name)
    if memory is not None and memory.image != c.image:
        memory = None
    event = _latest(
        ctx.events, lambda e: e.container == c.name and e.is_pull_failure and c.image in e.message
    )
    # The newest report wins for the text; the earliest one dates the problem.
    message, count = c.message, 0
    firsts = [memory.first_seen] if memory is not None else []
    if memory is not None:
        message, count = memory.message, memory.count
    if event is not None:
        firsts += [t for t in (event.first_seen,) if t is not None]
        if memory is None or (event.last_seen or 0) > memory.last_seen:
            message = event.message
        count = max(count, event.count)  # the event counts every failed attempt; a waiting message one
    first = min(firsts) if firsts else pod.created
    ref = parse_image(c.image)
    check = ctx.credentials.check(
        pod.namespace, pod.pull_secrets, ref.registry, pod.service_account or "default"
    )
    # The kubelet's own Failed event dates the last attempt; a waiting message only when it was seen.
    last_failed = (
        event.last_seen if event is not None and event.last_seen else (memory.last_seen if memory else None)
    )
    # Kubernetes times have whole seconds: a secret written in the second of the failure counts as
    # newer (the kubelet reads it at its next attempt either way; "replace it" would be wrong advice).
    newer = (
        check.written_at is not None and last_failed is not None and int(check.written_at) >= int(last_failed)
    )
    verdict = classify(message, check.state, ref.registry, waiting_reason=c.reason, credentials_newer=newer)
    retry = None
    if verdict.cause is PullCause.CREDENTIALS_UPDATED and last_failed is not None:
        retry = _retry_in(ctx, last_failed, max(count, 1))
    fixes = _pull_fixes(ctx, c, verdict.cause, check, ref.registry)
    missing = ""
    if check.state is CredentialState.SECRETS_ABSENT and verdict.cause is not PullCause.CREDENTIALS_MISSING:
        missing = check.secret  # reported first, with its fix, whatever else the registry said
        if ctx.static is None:
            fixes = [_create_secret_fix(ctx, c, missing, ref.registry), *fixes]
    updated = verdict.cause is PullCause.CREDENTIALS_UPDATED
    ctx.findings.append(
        ctx.finding(
            FindingKind.IMAGE_PULL,
            Severity.WARNING if updated else Severity.CRITICAL,
            fixes,
            container=c,
            registry=ref.registry,
            cause=verdict.cause,
            ambiguous=verdict.ambiguous,
            missing_secret=missing,
            since=_dt(first),
            evidence=Evidence(reason=c.reason, message=message, event_count=count, retry_seconds=retry),
        )
    )


def _retry_in(ctx: _Context, last_failed: float, failures: int) -> int:
    """Seconds until the kubelet's pull back-off (doubling from 10s to 5m per failure) runs out."""
    s = ctx.settings
    backoff = min(
        s.pull_backoff_initial.total_seconds() * 2 ** min(failures - 1, 30),
        s.pull_backoff_max.total_seconds(),
    )
    return max(0, int(last_failed + backoff - ctx.now))


def _secret_name_for(registry: str) -> str:
    """A DNS-1123 secret name for a registry the pod has no secret for: regcred-<host>."""
    slug = re.sub(r"[^a-z0-9]+", "-", registry.lower()).strip("-")
    return f"regcred-{slug}"[:63].rstrip("-")


def _create_secret_fix(ctx: _Context, c: ContainerSummary, name: str, registry: str) -> Fix:
    namespace = ctx.pod.namespace
    command = f"/pod secret docker-registry {name} --docker-server={registry} -n {namespace}"
    return Fix(
        FixKind.CREATE_REGISTRY_SECRET,
        namespace=namespace,
        pod=ctx.pod.name,
        container=c.name,
        image=c.image,
        node=ctx.pod.node,
        secret_name=name,
        server=registry,
        commands=(command,),
    )


def _pull_fixes(
    ctx: _Context, c: ContainerSummary, cause: PullCause, check: CredentialCheck, registry: str
) -> list[Fix]:
    """One fix for the state found: create the secret, replace its login, attach it, or wait."""
    pod = ctx.pod
    base = Fix(
        FixKind.INSPECT_PULL,
        namespace=pod.namespace,
        pod=pod.name,
        container=c.name,
        image=c.image,
        node=pod.node,
    )
    describe = f"/pod describe pod {pod.name} -n {pod.namespace}"
    if cause is PullCause.CREDENTIALS_UPDATED:
        return [
            replace(base, kind=FixKind.WAIT_FOR_PULL_RETRY, secret_name=check.secret, commands=(describe,))
        ]
    create = f"/pod secret docker-registry {{name}} --docker-server={registry} -n {pod.namespace}"
    if cause in (
        PullCause.CREDENTIALS_MISSING,
        PullCause.CREDENTIALS_REJECTED,
        PullCause.SECRET_WITHOUT_REGISTRY,
    ):
        if ctx.static is not None:  # static pods cannot reference secrets: credentials live on the node
            return [replace(base, kind=FixKind.NODE_REGISTRY_CREDENTIALS, server=registry)]
        if cause is PullCause.CREDENTIALS_MISSING and check.state is CredentialState.NO_SECRETS:
            account = pod.service_account or "default"
            owned = pod.owner_kind in RECREATING_OWNERS
            attach = replace(
                base,
                server=registry,
                service_account=account,
                owner_kind=pod.owner_kind if owned else "",
                owner_name=pod.owner_name if owned else "",
            )
            if check.unattached and check.attached:  # the account has it; this pod predates that
                command = f"/pod delete pod {pod.name} -n {pod.namespace}"
                return [
                    replace(
                        attach,
                        kind=FixKind.RECREATE_FOR_PULL_SECRET,
                        secret_name=check.unattached,
                        commands=(command,),
                    )
                ]
            if check.unattached:
                command = (
                    f"/pod secret attach {check.unattached} --service-account={account} -n {pod.namespace}"
                )
                return [
                    replace(
                        attach,
                        kind=FixKind.ATTACH_PULL_SECRET,
                        secret_name=check.unattached,
                        commands=(command,),
                    )
                ]
            name = _secret_name_for(registry)
            return [
                replace(
                    attach,
                    kind=FixKind.CREATE_SECRET_AND_ATTACH,
                    secret_name=name,
                    commands=(create.format(name=name),),
                )
            ]
        if cause is PullCause.CREDENTIALS_MISSING:  # names a secret that does not exist (the seed's case)
            return [_create_secret_fix(ctx, c, check.secret, registry)]
        # A wrong login, or none for this registry: update the secret in place (other logins stay).
        command = create.format(name=check.secret) + " --replace"
        return [
            replace(
                base,
                kind=FixKind.REPLACE_REGISTRY_LOGIN,
                secret_name=check.secret,
                server=registry,
                commands=(command,),
            )
        ]
    simple = {
        PullCause.NOT_FOUND: FixKind.CHECK_IMAGE_NAME,
        PullCause.PLATFORM_MISMATCH: FixKind.USE_MATCHING_PLATFORM,
        PullCause.UNREACHABLE_DNS: FixKind.CHECK_REGISTRY_DNS,
        PullCause.UNREACHABLE_TIMEOUT: FixKind.CHECK_REGISTRY_NETWORK,
        PullCause.UNREACHABLE_REFUSED: FixKind.CHECK_REGISTRY_RUNNING,
        PullCause.RATE_LIMITED: FixKind.AVOID_RATE_LIMIT,
        PullCause.TLS_MISMATCH: FixKind.CONFIGURE_REGISTRY_TLS,
        PullCause.INVALID_NAME: FixKind.FIX_IMAGE_NAME,
        PullCause.NEVER_PULL: FixKind.PROVIDE_IMAGE_ON_NODE,
        PullCause.UNKNOWN: FixKind.INSPECT_PULL,
    }
    commands = (describe,) if cause is PullCause.UNKNOWN else ()
    return [replace(base, kind=simple[cause], server=registry, commands=commands)]


def _config_error(ctx: _Context, c: ContainerSummary) -> None:
    pod = ctx.pod
    fix = Fix(FixKind.FIX_CONTAINER_CONFIG, namespace=pod.namespace, pod=pod.name, container=c.name)
    ctx.findings.append(
        ctx.finding(
            FindingKind.CONFIG_ERROR,
            Severity.CRITICAL,
            [fix],
            container=c,
            since=_dt(pod.created),
            evidence=Evidence(reason=c.reason, message=c.message),
        )
    )


def _terminations(ctx: _Context, c: ContainerSummary) -> bool:
    """Crash loops, OOM kills, failed init containers and failed exits; True if one was found."""
    s = ctx.settings
    crashed_now = c.state is StateKind.TERMINATED and (c.exit_code or 0) != 0
    backing_off = c.state is StateKind.WAITING and c.reason == "CrashLoopBackOff"
    recent_failure = (
        c.last_finished_at is not None
        and ctx.now - c.last_finished_at <= s.crash_recent.total_seconds()
        and ((c.last_exit_code or 0) != 0 or c.last_reason == "OOMKilled")
        and c.restart_count >= s.crash_min_restarts
    )
    oom_recent = (
        c.last_reason == "OOMKilled"
        and c.last_finished_at is not None
        and ctx.now - c.last_finished_at <= s.oom_window.total_seconds()
    )
    if recent_failure and c.last_finished_at is not None:
        ctx.holds_until(c.last_finished_at + s.crash_recent.total_seconds())
    if oom_recent and c.last_finished_at is not None:
        ctx.holds_until(c.last_finished_at + s.oom_window.total_seconds())
    looping = backing_off or recent_failure
    if not (
        looping or crashed_now or oom_recent or (c.state is StateKind.TERMINATED and c.reason == "OOMKilled")
    ):
        return False

    pod = ctx.pod
    exit_code = c.exit_code if crashed_now else c.last_exit_code
    reason = c.reason if c.state is StateKind.TERMINATED else c.last_reason
    lines = _log_tail(ctx, c)
    logs_cmd = f"/pod logs {pod.name} -c {c.name} -n {pod.namespace}" + ("" if crashed_now else " --previous")
    if reason == "OOMKilled":
        kind, severity = (
            FindingKind.OOM_KILLED,
            Severity.CRITICAL if looping or crashed_now else Severity.WARNING,
        )
        fix_kind = FixKind.RAISE_MEMORY_LIMIT
    elif c.is_init and not c.is_sidecar:
        kind, severity, fix_kind = FindingKind.INIT_FAILURE, Severity.CRITICAL, FixKind.FIX_INIT_CONTAINER
    elif looping:
        kind, severity, fix_kind = FindingKind.CRASH_LOOP, Severity.CRITICAL, FixKind.READ_CRASH_LOGS
    elif crashed_now:
        kind, severity, fix_kind = FindingKind.CONTAINER_FAILED, Severity.WARNING, FixKind.READ_CRASH_LOGS
    else:
        return False
    fix = Fix(
        fix_kind,
        namespace=pod.namespace,
        pod=pod.name,
        container=c.name,
        image=c.image,
        memory_limit=c.memory_limit,
        commands=(logs_cmd,),
    )
    finished = c.last_finished_at if not crashed_now else None
    ctx.findings.append(
        ctx.finding(
            kind,
            severity,
            [fix],
            container=c,
            since=_dt(pod.started or pod.created or finished),
            evidence=Evidence(
                reason=c.reason,
                message=c.message,
                exit_code=exit_code,
                last_reason=reason,
                restarts=c.restart_count,
                log_tail=lines,
                memory_limit=c.memory_limit,
            ),
        )
    )
    return True


def _log_tail(ctx: _Context, c: ContainerSummary) -> tuple[str, ...]:
    """The crashed run's last lines, each clipped and redacted like any text podbot shows."""
    lines = list(ctx.logs.get(c.name, ()))[-ctx.settings.log_lines :]
    return tuple(clip(redact(line), LOG_LINE_LIMIT) for line in lines)


def _frequent_restarts(ctx: _Context, c: ContainerSummary) -> None:
    s = ctx.settings
    window = s.restart_window.total_seconds()
    recent = [t for t in c.restart_times if ctx.now - t <= window]
    in_window = len(recent)
    if recent:
        ctx.holds_until(min(recent) + window)  # when the oldest one leaves the window
    start = ctx.pod.started or ctx.pod.created
    if start is not None and ctx.now - start <= window:
        ctx.holds_until(start + window)
        in_window = max(in_window, c.restart_count)  # every restart so far happened in the window
    if in_window < s.restart_threshold:
        return
    pod = ctx.pod
    cmd = f"/pod logs {pod.name} -c {c.name} -n {pod.namespace} --previous"
    fix = Fix(
        FixKind.READ_CRASH_LOGS, namespace=pod.namespace, pod=pod.name, container=c.name, commands=(cmd,)
    )
    ctx.findings.append(
        ctx.finding(
            FindingKind.FREQUENT_RESTARTS,
            Severity.WARNING,
            [fix],
            container=c,
            since=_dt(c.restart_times[0] if c.restart_times else start),
            evidence=Evidence(
                reason=c.reason,
                last_reason=c.last_reason,
                exit_code=c.last_exit_code,
                restarts=c.restart_count,
                restarts_in_window=in_window,
                window_seconds=int(window),
                log_tail=_log_tail(ctx, c),
            ),
        )
    )
