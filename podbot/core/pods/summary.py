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
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol, TypeVar, cast, overload

from podbot.core.kube import Pod
from podbot.core.pods import status as kstatus

MESSAGE_LIMIT = 600  # container/pod/condition messages: enough for a scheduler or eviction message
PULL_MESSAGE_LIMIT = 1000  # pull errors put the cause at the *end*; clip() keeps head and tail
RESTART_HISTORY = 10  # restart times remembered per container (frequent-restart detection)
NOTES_PER_POD = 8  # recent event notes the watch cache keeps per pod (see keep_note)

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
HASH_ANNOTATION = "kubernetes.io/config.hash"

_T = TypeVar("_T")


class Doc(Protocol):
    """A read-only JSON object: a dict from ``json.loads``, or a wire struct (podbot.k8s.wire)
    that reads like one; the summary code uses nothing else."""

    @overload
    def get(self, key: str, /) -> Any: ...
    @overload
    def get(self, key: str, default: Any, /) -> Any: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def __contains__(self, key: object, /) -> bool: ...


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


_EPOCHS: dict[str, float | None] = {}  # timestamp text -> epoch; a pod repeats its times a lot
SHARED_LIMIT = 50_000  # per table; when full it starts again (already shared objects stay shared)


def epoch(value: str | datetime | None) -> float | None:
    """An RFC 3339 timestamp as epoch seconds (None when missing or unparseable)."""
    if not isinstance(value, str):
        when = kstatus.parse_time(value)
        return when.timestamp() if when is not None else None
    found = _EPOCHS.get(value, _EPOCHS)
    if found is _EPOCHS:
        parsed = kstatus.parse_time(value)
        found = parsed.timestamp() if parsed is not None else None
        if len(_EPOCHS) >= 4096:
            _EPOCHS.clear()
        _EPOCHS[value] = found
    return found  # type: ignore[return-value]


def pack_uid(uid: str) -> bytes | str:
    """A canonical (lower-case, dashed) UUID as 16 bytes; any other uid as it is."""
    if len(uid) == 36 and uid[8] == "-" and uid == uid.lower():
        try:
            packed = bytes.fromhex(uid.replace("-", ""))
        except ValueError:
            return uid
        if len(packed) == 16 and unpack_uid(packed) == uid:
            return packed
    return uid


def unpack_uid(key: bytes | str) -> str:
    if isinstance(key, str):
        return key
    h = key.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def shared(table: dict[_T, _T], value: _T) -> _T:
    """The one object equal to ``value``: 50,000 pods of a few hundred workloads on a few
    hundred nodes hold a few thousand places, origins and container tuples between them."""
    found = table.get(value)
    if found is None:
        if len(table) >= SHARED_LIMIT:
            table.clear()
        found = table.setdefault(value, value)
    return found


class ContainerSummary(NamedTuple):
    """One container (app, init or sidecar) as far as diagnosis needs it; equal ones are shared
    (a tuple, so that it is its own key in the table of shared values)."""

    name: str
    image: str  # the spec's image: what the kubelet tries to pull
    is_init: bool = False
    is_sidecar: bool = False  # an init container with restartPolicy Always
    state: StateKind = StateKind.NONE
    reason: str = ""  # waiting/terminated reason (ErrImagePull, CrashLoopBackOff, OOMKilled, ...)
    message: str = ""  # clipped
    exit_code: int | None = None  # current state terminated
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


class PodPlace(NamedTuple):
    """Where a pod is and kubectl's columns for it: few distinct values, so shared by many pods."""

    namespace: str
    node: str = ""
    phase: str = ""
    status: str = ""  # kubectl's STATUS column (podbot.core.pods.status)
    ready: str = "0/0"  # kubectl's READY column
    restarts: int = 0  # kubectl's RESTARTS count


class PodOrigin(NamedTuple):
    """What a pod was made from: the same for every replica of a workload, so shared by them."""

    owner_kind: str = ""  # the controller owner reference
    owner_name: str = ""
    mirror: bool = False  # a static pod's mirror in the API
    config_source: str = ""  # kubernetes.io/config.source: file | http | api
    config_hash: str = ""
    pull_secrets: tuple[str, ...] = ()  # spec.imagePullSecrets names
    service_account: str = ""
    restart_policy: str = ""


@dataclass(frozen=True, slots=True)
class PodTrouble:
    """What only a pod in trouble has (being deleted, unschedulable, evicted, failed pulls)."""

    deleted_at: float | None = None  # metadata.deletionTimestamp (already includes the grace period)
    grace_seconds: int | None = None  # metadata.deletionGracePeriodSeconds
    finalizers: tuple[str, ...] = ()
    scheduled_reason: str = ""  # PodScheduled condition when False (Unschedulable, SchedulingGated)
    scheduled_message: str = ""
    reason: str = ""  # status.reason (Evicted, NodeLost, ...)
    message: str = ""  # status.message
    pull_failures: tuple[PullFailure, ...] = ()


NO_TROUBLE = PodTrouble()
# The tables of shared values (see ``shared``).
_PLACES: dict[PodPlace, PodPlace] = {}
_ORIGINS: dict[PodOrigin, PodOrigin] = {}
_CONTAINERS: dict[ContainerSummary, ContainerSummary] = {}
_CONTAINER_TUPLES: dict[tuple[ContainerSummary, ...], tuple[ContainerSummary, ...]] = {}


@dataclass(frozen=True, slots=True)
class PodSummary:
    """A pod as the watch cache keeps it; build it with ``summarize``.

    Only the name, uid and times are the pod's own; ``place``, ``origin``, the containers and
    (for most pods) ``trouble`` are shared with other pods that have the same values, which
    keeps a cached pod near 250 bytes. The properties read through to them."""

    name: str
    uid_key: bytes | str  # the uid; a canonical UUID as its 16 bytes (49 bytes instead of 85)
    created: float | None
    started: float | None  # status.startTime
    place: PodPlace
    origin: PodOrigin
    containers: tuple[ContainerSummary, ...] = ()  # init containers (spec order) then app containers
    trouble: PodTrouble = NO_TROUBLE

    @property
    def uid(self) -> str:
        return unpack_uid(self.uid_key)

    @property
    def namespace(self) -> str:
        return self.place.namespace

    @property
    def node(self) -> str:
        return self.place.node

    @property
    def phase(self) -> str:
        return self.place.phase

    @property
    def status(self) -> str:
        return self.place.status

    @property
    def ready(self) -> str:
        return self.place.ready

    @property
    def restarts(self) -> int:
        return self.place.restarts

    @property
    def owner_kind(self) -> str:
        return self.origin.owner_kind

    @property
    def owner_name(self) -> str:
        return self.origin.owner_name

    @property
    def mirror(self) -> bool:
        return self.origin.mirror

    @property
    def config_source(self) -> str:
        return self.origin.config_source

    @property
    def config_hash(self) -> str:
        return self.origin.config_hash

    @property
    def pull_secrets(self) -> tuple[str, ...]:
        return self.origin.pull_secrets

    @property
    def service_account(self) -> str:
        return self.origin.service_account

    @property
    def restart_policy(self) -> str:
        return self.origin.restart_policy

    @property
    def deleted_at(self) -> float | None:
        return self.trouble.deleted_at

    @property
    def grace_seconds(self) -> int | None:
        return self.trouble.grace_seconds

    @property
    def finalizers(self) -> tuple[str, ...]:
        return self.trouble.finalizers

    @property
    def scheduled_reason(self) -> str:
        return self.trouble.scheduled_reason

    @property
    def scheduled_message(self) -> str:
        return self.trouble.scheduled_message

    @property
    def reason(self) -> str:
        return self.trouble.reason

    @property
    def message(self) -> str:
        return self.trouble.message

    @property
    def pull_failures(self) -> tuple[PullFailure, ...]:
        return self.trouble.pull_failures

    def container(self, name: str) -> ContainerSummary | None:
        """The container (app or init) called ``name``."""
        for c in self.containers:
            if c.name == name:
                return c
        return None

    def pull_failure(self, container: str) -> PullFailure | None:
        """The remembered pull failure of ``container``, if any."""
        for failure in self.trouble.pull_failures:
            if failure.container == container:
                return failure
        return None

    @property
    def key(self) -> tuple[str, str]:
        return (self.place.namespace, self.name)


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


def _controller(meta: Doc) -> tuple[str, str]:
    owners = meta.get("ownerReferences") or ()
    for ref in owners:
        if ref.get("controller"):
            return _s(ref.get("kind")), _s(ref.get("name"))
    if owners:  # mirror pods' Node owner is not always marked controller
        return _s(owners[0].get("kind")), _s(owners[0].get("name"))
    return "", ""


def _scheduled_condition(status: Doc) -> tuple[str, str]:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            return _s(condition.get("reason")), clip(condition.get("message"))
    return "", ""


_NO_STATE: dict[str, Any] = {}
_STATE_KEYS = tuple(
    (kind, kind.value) for kind in (StateKind.WAITING, StateKind.RUNNING, StateKind.TERMINATED)
)


def _container(
    spec: Doc,
    cs: Doc | None,
    *,
    is_init: bool,
    previous: ContainerSummary | None,
) -> ContainerSummary:
    cs = cs or _NO_STATE
    state = cs.get("state") or _NO_STATE
    kind: StateKind = StateKind.NONE
    detail: Doc = _NO_STATE
    for candidate, key in _STATE_KEYS:
        found = state.get(key)
        if found is not None:
            kind, detail = candidate, found or _NO_STATE
            break
    last = (cs.get("lastState") or _NO_STATE).get("terminated") or _NO_STATE
    last_finished = epoch(last.get("finishedAt"))
    exit_code = detail.get("exitCode") if kind is StateKind.TERMINATED else None
    history = previous.restart_times if previous is not None else ()
    if last_finished is not None and (not history or last_finished > history[-1]):
        history = (*history, last_finished)[-RESTART_HISTORY:]
    limits = (spec.get("resources") or _NO_STATE).get("limits") or _NO_STATE
    last_exit = last.get("exitCode")
    container = ContainerSummary(
        _s(spec.get("name")),
        _s(spec.get("image")),
        is_init,
        is_init and spec.get("restartPolicy") == "Always",
        kind,
        _s(detail.get("reason")),
        clip(detail.get("message"), PULL_MESSAGE_LIMIT if kind is StateKind.WAITING else MESSAGE_LIMIT),
        int(exit_code) if exit_code is not None else None,
        _s(last.get("reason")),
        int(last_exit) if last_exit is not None else None,
        last_finished,
        int(cs.get("restartCount") or 0),
        bool(cs.get("ready")),
        _s(limits.get("memory")),
        history,
    )
    return shared(_CONTAINERS, container)


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
    pod: Doc,
    previous: PodSummary | None = None,
    *,
    now: datetime | float | None = None,
) -> PodSummary:
    """The compact summary of raw pod JSON; ``previous`` (same uid) carries learned memory forward.

    ``pod`` is a dict of decoded JSON, or the watch cache's wire struct (podbot.k8s.wire) of it.
    ``now`` is when the watch cache saw this version; it dates failures learned from waiting
    messages (which carry no timestamp). Without it the pod's creation time is used.
    """
    meta = pod.get("metadata") or _NO_STATE
    spec = pod.get("spec") or _NO_STATE
    status = pod.get("status") or _NO_STATE
    annotations = meta.get("annotations") or _NO_STATE
    uid = pack_uid(str(meta.get("uid") or ""))
    if previous is not None and previous.uid_key != uid:
        previous = None  # a new pod that reuses the name remembers nothing of the old one

    containers: list[ContainerSummary] = []
    for statuses, specs, is_init in (
        (status.get("initContainerStatuses"), spec.get("initContainers"), True),
        (status.get("containerStatuses"), spec.get("containers"), False),
    ):
        by_name = {str(cs.get("name")): cs for cs in statuses or ()}
        for c in specs or ():
            name = str(c.get("name"))
            before = previous.container(name) if previous is not None else None
            containers.append(_container(c, by_name.get(name), is_init=is_init, previous=before))

    columns = kstatus.pod_columns(cast(Pod, pod))  # printPod reads it through get/[] only
    created = epoch(meta.get("creationTimestamp"))
    seen_at = now.timestamp() if isinstance(now, datetime) else now
    if seen_at is None:
        seen_at = created if created is not None else 0.0

    failures: tuple[PullFailure, ...] = ()
    if previous is not None and previous.pull_failures:
        by_name = {c.name: c for c in containers}
        failures = tuple(f for f in previous.pull_failures if _still_relevant(f, by_name.get(f.container)))
    for c in containers:
        if _pull_failed_message(c):
            failures = _learn(failures, PullFailure(c.name, c.image, c.message, seen_at, seen_at))

    place = PodPlace(
        _s(meta.get("namespace")),
        _s(spec.get("nodeName")),
        _s(status.get("phase")),
        _s(columns.status),
        _s(columns.ready),
        columns.restarts,
    )
    owner_kind, owner_name = _controller(meta)
    origin = PodOrigin(
        owner_kind,
        owner_name,
        MIRROR_ANNOTATION in annotations,
        _s(annotations.get(SOURCE_ANNOTATION)),
        _s(annotations.get(HASH_ANNOTATION)),
        tuple(_s(s.get("name")) for s in spec.get("imagePullSecrets") or () if s.get("name")),
        _s(spec.get("serviceAccountName") or spec.get("serviceAccount")),
        _s(spec.get("restartPolicy")),
    )
    trouble = NO_TROUBLE
    scheduled_reason, scheduled_message = _scheduled_condition(status)
    grace = meta.get("deletionGracePeriodSeconds")
    deleted_at = epoch(meta.get("deletionTimestamp"))
    finalizers = tuple(_s(f) for f in meta.get("finalizers") or ())
    reason, message = _s(status.get("reason")), clip(status.get("message"))
    if (
        deleted_at is not None
        or grace is not None
        or finalizers
        or scheduled_reason
        or reason
        or message
        or failures
    ):
        trouble = PodTrouble(
            deleted_at=deleted_at,
            grace_seconds=int(grace) if grace is not None else None,
            finalizers=finalizers,
            scheduled_reason=scheduled_reason,
            scheduled_message=scheduled_message,
            reason=reason,
            message=message,
            pull_failures=failures,
        )
    started = epoch(status.get("startTime"))
    return PodSummary(
        name=str(meta.get("name") or ""),
        uid_key=uid,
        created=created,
        started=created if started == created else started,  # one float for both when equal
        place=shared(_PLACES, place),
        origin=shared(_ORIGINS, origin),
        containers=shared(_CONTAINER_TUPLES, tuple(containers)),
        trouble=trouble,
    )


# --- events --------------------------------------------------------------------------------------


def note_from_event(event: Doc) -> EventNote | None:
    """An ``EventNote`` from raw core/v1 Event JSON, or None when it is not about a pod."""
    involved = event.get("involvedObject") or _NO_STATE
    if involved.get("kind") != "Pod":
        return None
    container, is_init = "", False
    match = _FIELD_PATH.match(str(involved.get("fieldPath") or ""))
    if match:
        container, is_init = _s(match.group(2)), match.group(1) == "initContainers"
    series = event.get("series") or _NO_STATE
    meta = event.get("metadata") or _NO_STATE
    first = (
        epoch(event.get("firstTimestamp"))
        or epoch(event.get("eventTime"))
        or epoch(meta.get("creationTimestamp"))
    )
    last = epoch(series.get("lastObservedTime")) or epoch(event.get("lastTimestamp")) or first
    source = (event.get("source") or _NO_STATE).get("component") or event.get("reportingComponent") or ""
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
    return replace(summary, trouble=replace(summary.trouble, pull_failures=learned))


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
