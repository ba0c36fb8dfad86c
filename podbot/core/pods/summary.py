"""Compact, immutable summaries of pods and events: what the watch cache keeps instead of raw JSON.

The bot must hold 50,000 pods in well under 300 MB, so a summary keeps only what status display,
digests, alerts and diagnosis read, as slotted frozen dataclasses: tuples instead of lists, no
per-pod dicts, times as float epoch seconds (24 bytes; a datetime costs 48), and repeated strings
(namespace, node, image, reason, owner, STATUS ...) interned so that 50,000 pods share one copy.
``bench/summary_size.py`` measures the result.

Events expire (one hour by default), but the root cause of an image pull failure lives only in the
event text and in the container's ``ErrImagePull`` waiting message. So a summary *remembers* the
last pull failure per container (``PodSummary.pull_failures``): the watch cache feeds it

1. ``summarize(pod, previous=old_summary, now=t)`` on every ADDED/MODIFIED pod: carries the memory
   (and the restart history) over from the previous summary, learns from an ``ErrImagePull``
   waiting message, and forgets a container's failure once that container runs or its image changed;
2. ``remember(summary, note)`` for every event about the pod (``note_from_event(raw_event)``):
   a kubelet ``Failed`` event "Failed to pull image ..." becomes the container's remembered failure.

3. ``keep_note(notes, note)`` to keep a few recent notes per pod (Warning events and
   FailedScheduling; dropped with the pod) that ``diagnose`` reads for scheduling, mounts, evictions.

Diagnosis then classifies from the memory even after the event itself is gone. Registry secrets
are watched too (metadata + ``.dockerconfigjson`` keys only, see podbot.core.diagnosis.credentials):
each change is
``RegistryCredentialIndex.with_secret(ns, name, hosts_from_secret(secret))`` / ``without_secret``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from podbot.core.kube import as_pod
from podbot.core.pods import status as kstatus

MESSAGE_LIMIT = 600  # container/pod/condition messages: enough for a scheduler or eviction message
PULL_MESSAGE_LIMIT = 1000  # pull errors put the cause at the *end*; clip() keeps head and tail
RESTART_HISTORY = 10  # restart times remembered per container (frequent-restart detection)
NOTES_PER_POD = 8  # recent event notes the watch cache keeps per pod (see keep_note)

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
HASH_ANNOTATION = "kubernetes.io/config.hash"

_FIELD_PATH = re.compile(r"^spec\.(containers|initContainers|ephemeralContainers)\{(.+)\}$")
PULL_FAILED_PREFIX = "Failed to pull image"


class StateKind(Enum):
    """Which of a container's ``state`` (or ``lastState``) members is set."""

    NONE = ""
    WAITING = "waiting"
    RUNNING = "running"
    TERMINATED = "terminated"


def _s(value: object) -> str:
    """A string field, interned: names of namespaces, nodes, images and reasons repeat a lot."""
    return sys.intern(str(value)) if value else ""


def clip(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters keeping its head and its tail (where errors say why)."""
    value = str(text or "")
    if len(value) <= limit:
        return value
    tail = limit // 3
    head = limit - tail - 3
    return f"{value[:head]} … {value[-tail:]}"


def epoch(value: str | None) -> float | None:
    """An RFC 3339 timestamp as epoch seconds (None when missing or unparseable)."""
    when = kstatus.parse_time(value)
    return when.timestamp() if when is not None else None


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """One container (app, init or sidecar) as far as diagnosis needs it."""

    name: str
    image: str  # the spec's image: what the kubelet tries to pull
    is_init: bool = False
    is_sidecar: bool = False  # an init container with restartPolicy Always
    state: StateKind = StateKind.NONE
    reason: str = ""  # waiting/terminated reason (ErrImagePull, CrashLoopBackOff, OOMKilled, ...)
    message: str = ""  # clipped
    exit_code: int | None = None  # current state terminated
    started_at: float | None = None  # running.startedAt or terminated.startedAt
    last_reason: str = ""  # lastState.terminated.reason
    last_exit_code: int | None = None
    last_finished_at: float | None = None
    restart_count: int = 0
    ready: bool = False
    memory_limit: str = ""  # resources.limits.memory, e.g. "512Mi" (OOM advice)
    restart_times: tuple[float, ...] = ()  # lastState finish times seen across updates, oldest first


@dataclass(frozen=True, slots=True)
class PullFailure:
    """The last image pull failure learned for one container (kept after its event expired)."""

    container: str
    image: str
    message: str  # clipped error text, e.g. "... no basic auth credentials"
    first_seen: float
    last_seen: float
    count: int = 1


@dataclass(frozen=True, slots=True)
class PodSummary:
    """A pod as the watch cache keeps it; build it with ``summarize``."""

    namespace: str
    name: str
    uid: str
    node: str = ""
    phase: str = ""
    status: str = ""  # kubectl's STATUS column (podbot.core.pods.status)
    ready: str = "0/0"  # kubectl's READY column
    restarts: int = 0  # kubectl's RESTARTS count
    last_restart: float | None = None
    created: float | None = None
    started: float | None = None  # status.startTime
    deleted_at: float | None = None  # metadata.deletionTimestamp (already includes the grace period)
    grace_seconds: int | None = None  # metadata.deletionGracePeriodSeconds
    finalizers: tuple[str, ...] = ()
    owner_kind: str = ""  # the controller owner reference
    owner_name: str = ""
    mirror: bool = False  # a static pod's mirror in the API
    config_source: str = ""  # kubernetes.io/config.source: file | http | api
    config_hash: str = ""
    pull_secrets: tuple[str, ...] = ()  # spec.imagePullSecrets names
    service_account: str = ""
    restart_policy: str = ""
    containers: tuple[ContainerSummary, ...] = ()  # init containers (spec order) then app containers
    scheduled_reason: str = ""  # PodScheduled condition when False (Unschedulable, SchedulingGated)
    scheduled_message: str = ""
    reason: str = ""  # status.reason (Evicted, NodeLost, ...)
    message: str = ""  # status.message
    pull_failures: tuple[PullFailure, ...] = ()

    def container(self, name: str) -> ContainerSummary | None:
        """The container (app or init) called ``name``."""
        for c in self.containers:
            if c.name == name:
                return c
        return None

    def pull_failure(self, container: str) -> PullFailure | None:
        """The remembered pull failure of ``container``, if any."""
        for failure in self.pull_failures:
            if failure.container == container:
                return failure
        return None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class EventNote:
    """What diagnosis keeps from one core/v1 Event about a pod."""

    pod_uid: str
    namespace: str
    pod_name: str
    container: str  # from involvedObject.fieldPath spec.containers{name}; "" for the pod itself
    is_init: bool
    reason: str  # Failed, BackOff, FailedScheduling, FailedMount, Evicted, ...
    message: str  # clipped
    count: int
    first_seen: float | None
    last_seen: float | None
    type: str  # Normal | Warning
    source: str = ""  # reporting component: kubelet, default-scheduler, ...

    @property
    def is_pull_failure(self) -> bool:
        return self.reason == "Failed" and self.message.startswith(PULL_FAILED_PREFIX)


# --- building summaries ------------------------------------------------------------------------


def _controller(meta: Mapping[str, Any]) -> tuple[str, str]:
    owners = meta.get("ownerReferences") or ()
    for ref in owners:
        if ref.get("controller"):
            return _s(ref.get("kind")), _s(ref.get("name"))
    if owners:  # mirror pods' Node owner is not always marked controller
        return _s(owners[0].get("kind")), _s(owners[0].get("name"))
    return "", ""


def _scheduled_condition(status: Mapping[str, Any]) -> tuple[str, str]:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            return _s(condition.get("reason")), clip(condition.get("message"))
    return "", ""


def _container(
    spec: Mapping[str, Any],
    cs: Mapping[str, Any] | None,
    *,
    is_init: bool,
    previous: ContainerSummary | None,
) -> ContainerSummary:
    cs = cs or {}
    state = cs.get("state") or {}
    kind: StateKind = StateKind.NONE
    detail: Mapping[str, Any] = {}
    for candidate in (StateKind.WAITING, StateKind.RUNNING, StateKind.TERMINATED):
        if state.get(candidate.value) is not None:
            kind, detail = candidate, state[candidate.value] or {}
            break
    last = (cs.get("lastState") or {}).get("terminated") or {}
    last_finished = epoch(last.get("finishedAt"))
    exit_code = detail.get("exitCode") if kind is StateKind.TERMINATED else None
    history = previous.restart_times if previous is not None else ()
    if last_finished is not None and (not history or last_finished > history[-1]):
        history = (*history, last_finished)[-RESTART_HISTORY:]
    limits = (spec.get("resources") or {}).get("limits") or {}
    return ContainerSummary(
        name=_s(spec.get("name")),
        image=_s(spec.get("image")),
        is_init=is_init,
        is_sidecar=is_init and spec.get("restartPolicy") == "Always",
        state=kind,
        reason=_s(detail.get("reason")),
        message=clip(
            detail.get("message"), PULL_MESSAGE_LIMIT if kind is StateKind.WAITING else MESSAGE_LIMIT
        ),
        exit_code=int(exit_code) if exit_code is not None else None,
        started_at=epoch(detail.get("startedAt")),
        last_reason=_s(last.get("reason")),
        last_exit_code=int(last["exitCode"]) if last.get("exitCode") is not None else None,
        last_finished_at=last_finished,
        restart_count=int(cs.get("restartCount") or 0),
        ready=bool(cs.get("ready")),
        memory_limit=_s(limits.get("memory")),
        restart_times=history,
    )


def _pull_failed_message(container: ContainerSummary) -> bool:
    """Does this waiting message carry the pull error itself (not only "Back-off pulling image")?"""
    if container.state is not StateKind.WAITING or not container.message:
        return False
    if container.reason == "ErrImagePull":
        return True
    # newer kubelets append the cause: 'Back-off pulling image "x": ErrImagePull: ...'
    return container.reason == "ImagePullBackOff" and ": ErrImagePull: " in container.message


def _still_relevant(failure: PullFailure, container: ContainerSummary | None) -> bool:
    """Forget a failure once the container ran (the pull worked) or its image was changed."""
    if container is None or container.image != failure.image:
        return False
    return container.state in (StateKind.WAITING, StateKind.NONE)


def _learn(failures: tuple[PullFailure, ...], new: PullFailure) -> tuple[PullFailure, ...]:
    """Record ``new`` as its container's failure; a streak on the same image keeps its first_seen."""
    kept: list[PullFailure] = []
    merged = new
    for failure in failures:
        if failure.container != new.container:
            kept.append(failure)
            continue
        if new.last_seen < failure.last_seen:
            return failures  # an older report than what we know: nothing new
        if failure.image == new.image:
            # Event counts are cumulative (x4 over 15m); a waiting message carries none.
            merged = replace(
                new, first_seen=min(failure.first_seen, new.first_seen), count=max(new.count, failure.count)
            )
    kept.append(merged)
    return tuple(kept)


def summarize(
    pod: Mapping[str, Any],
    previous: PodSummary | None = None,
    *,
    now: datetime | float | None = None,
) -> PodSummary:
    """The compact summary of raw pod JSON; ``previous`` (same uid) carries learned memory forward.

    ``now`` is when the watch cache saw this version; it dates failures learned from waiting
    messages (which carry no timestamp). Without it the pod's creation time is used.
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    annotations = meta.get("annotations") or {}
    uid = str(meta.get("uid") or "")
    if previous is not None and previous.uid != uid:
        previous = None  # a new pod that reuses the name remembers nothing of the old one

    statuses: dict[str, Mapping[str, Any]] = {}
    for cs in status.get("initContainerStatuses") or ():
        statuses["i/" + str(cs.get("name"))] = cs
    for cs in status.get("containerStatuses") or ():
        statuses["c/" + str(cs.get("name"))] = cs
    containers: list[ContainerSummary] = []
    for prefix, specs, is_init in (
        ("i/", spec.get("initContainers"), True),
        ("c/", spec.get("containers"), False),
    ):
        for c in specs or ():
            before = previous.container(str(c.get("name"))) if previous is not None else None
            containers.append(
                _container(c, statuses.get(prefix + str(c.get("name"))), is_init=is_init, previous=before)
            )

    columns = kstatus.pod_columns(as_pod(pod))
    created = epoch(meta.get("creationTimestamp"))
    seen_at = now.timestamp() if isinstance(now, datetime) else now
    if seen_at is None:
        seen_at = created if created is not None else 0.0

    by_name = {c.name: c for c in containers}
    failures = tuple(
        f
        for f in (previous.pull_failures if previous else ())
        if _still_relevant(f, by_name.get(f.container))
    )
    for c in containers:
        if _pull_failed_message(c):
            failures = _learn(failures, PullFailure(c.name, c.image, c.message, seen_at, seen_at))

    owner_kind, owner_name = _controller(meta)
    scheduled_reason, scheduled_message = _scheduled_condition(status)
    grace = meta.get("deletionGracePeriodSeconds")
    return PodSummary(
        namespace=_s(meta.get("namespace")),
        name=str(meta.get("name") or ""),
        uid=uid,
        node=_s(spec.get("nodeName")),
        phase=_s(status.get("phase")),
        status=_s(columns.status),
        ready=_s(columns.ready),
        restarts=columns.restarts,
        last_restart=columns.last_restart.timestamp() if columns.last_restart else None,
        created=created,
        started=epoch(status.get("startTime")),
        deleted_at=epoch(meta.get("deletionTimestamp")),
        grace_seconds=int(grace) if grace is not None else None,
        finalizers=tuple(_s(f) for f in meta.get("finalizers") or ()),
        owner_kind=owner_kind,
        owner_name=owner_name,
        mirror=MIRROR_ANNOTATION in annotations,
        config_source=_s(annotations.get(SOURCE_ANNOTATION)),
        config_hash=_s(annotations.get(HASH_ANNOTATION)),
        pull_secrets=tuple(_s(s.get("name")) for s in spec.get("imagePullSecrets") or () if s.get("name")),
        service_account=_s(spec.get("serviceAccountName") or spec.get("serviceAccount")),
        restart_policy=_s(spec.get("restartPolicy")),
        containers=tuple(containers),
        scheduled_reason=scheduled_reason,
        scheduled_message=scheduled_message,
        reason=_s(status.get("reason")),
        message=clip(status.get("message")),
        pull_failures=failures,
    )


# --- events --------------------------------------------------------------------------------------


def note_from_event(event: Mapping[str, Any]) -> EventNote | None:
    """An ``EventNote`` from raw core/v1 Event JSON, or None when it is not about a pod."""
    involved = event.get("involvedObject") or {}
    if involved.get("kind") != "Pod":
        return None
    container, is_init = "", False
    match = _FIELD_PATH.match(str(involved.get("fieldPath") or ""))
    if match:
        container, is_init = _s(match.group(2)), match.group(1) == "initContainers"
    series = event.get("series") or {}
    meta = event.get("metadata") or {}
    first = (
        epoch(event.get("firstTimestamp"))
        or epoch(event.get("eventTime"))
        or epoch(meta.get("creationTimestamp"))
    )
    last = epoch(series.get("lastObservedTime")) or epoch(event.get("lastTimestamp")) or first
    source = (event.get("source") or {}).get("component") or event.get("reportingComponent") or ""
    message = str(event.get("message") or "")
    is_pull = message.startswith(PULL_FAILED_PREFIX)
    return EventNote(
        pod_uid=str(involved.get("uid") or ""),
        namespace=_s(involved.get("namespace") or meta.get("namespace")),
        pod_name=str(involved.get("name") or ""),
        container=container,
        is_init=is_init,
        reason=_s(event.get("reason")),
        message=clip(message, PULL_MESSAGE_LIMIT if is_pull else MESSAGE_LIMIT),
        count=int(series.get("count") or event.get("count") or 1),
        first_seen=first,
        last_seen=last,
        type=_s(event.get("type")),
        source=_s(source),
    )


_PULLED_IMAGE = re.compile(r'^Failed to pull image "([^"]*)"')


def remember(summary: PodSummary, note: EventNote) -> PodSummary:
    """``summary`` with what ``note`` teaches (a container's last pull failure); same object if nothing."""
    if note.pod_uid and note.pod_uid != summary.uid:
        return summary
    if not note.is_pull_failure or not note.container:
        return summary
    container = summary.container(note.container)
    if container is None or container.state is StateKind.RUNNING:
        return summary
    match = _PULLED_IMAGE.match(note.message)
    image = _s(match.group(1)) if match else container.image
    if image != container.image:
        return summary  # an event about an image the container no longer uses
    last = note.last_seen if note.last_seen is not None else (summary.created or 0.0)
    first = note.first_seen if note.first_seen is not None else last
    learned = _learn(
        summary.pull_failures, PullFailure(container.name, image, note.message, first, last, note.count)
    )
    if learned == summary.pull_failures:
        return summary
    return replace(summary, pull_failures=learned)


def keep_note(
    notes: tuple[EventNote, ...], note: EventNote, limit: int = NOTES_PER_POD
) -> tuple[EventNote, ...]:
    """The watch cache's per-pod event memory with ``note`` added: one note per (reason, container),
    the newest wins, at most ``limit`` notes (oldest dropped). Normal events other than the
    scheduler's are not worth keeping; diagnosis reads Warning events and FailedScheduling."""
    if note.type != "Warning" and note.reason != "FailedScheduling":
        return notes
    kept = [n for n in notes if (n.reason, n.container) != (note.reason, note.container)]
    old = next((n for n in notes if (n.reason, n.container) == (note.reason, note.container)), None)
    if old is not None and (old.last_seen or 0) > (note.last_seen or 0):
        return notes  # an older copy of what we already have
    kept.append(note)
    kept.sort(key=lambda n: n.last_seen or 0)
    return tuple(kept[-limit:])
