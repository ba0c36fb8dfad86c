"""kubectl's pod columns, computed from raw pod JSON: READY, STATUS, RESTARTS, AGE (and -o wide).

A faithful port of ``printPod`` in kubernetes/pkg/printers/internalversion/printers.go (1.29+:
restartable init containers as sidecars, ``Completed`` with a running container becomes
``Running``/``NotReady``, ``N (Xm ago)`` restarts, ``Terminating`` only for non-terminal phases) and
of apimachinery's ``duration.HumanDuration``. The simulator serves these as its Table rows and
podbot uses them for digests and alerts computed from its watch cache, so both agree with kubectl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from podbot.core.i18n import t
from podbot.core.kube import Container, Pod, StateTerminated

NODE_LOST = "NodeLost"  # node.NodeUnreachablePodReason
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})

# The Table columnDefinitions kubectl receives for pods (priority 1 = shown only with -o wide).
POD_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("Name", "string", 0),
    ("Ready", "string", 0),
    ("Status", "string", 0),
    ("Restarts", "string", 0),
    ("Age", "string", 0),
    ("IP", "string", 1),
    ("Node", "string", 1),
    ("Nominated Node", "string", 1),
    ("Readiness Gates", "string", 1),
)


def parse_time(value: str | datetime | None) -> datetime | None:
    """An RFC 3339 timestamp as Kubernetes writes it (``Z`` or offset, optional fraction); a
    ``datetime`` (what typed clients deliver) is taken as it is."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """apimachinery's HumanDuration: ~2-3 significant figures (``45s``, ``3m12s``, ``5h3m``, ``2y30d``)."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: datetime) -> str:
    """kubectl's translateTimestampSince: ``<unknown>`` for a missing time."""
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration((now - when).total_seconds())


def _is_restartable_init(container: Container | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _condition_true(pod: Pod, condition_type: str) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == condition_type:
            return bool(condition.get("status") == "True")
    return False


def _terminated_reason(terminated: StateTerminated, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


class PodColumns:
    """READY / STATUS / RESTARTS of one pod, computed in one pass (``pod_columns``)."""

    def __init__(self, pod: Pod) -> None:
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        phase = status.get("phase") or ""
        reason: str = status.get("reason") or phase
        for condition in status.get("conditions") or ():
            if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
                reason = "SchedulingGated"

        # Counts come from the spec lists, as upstream's: two init containers with one name are two.
        # The by-name map is only for "is this status a sidecar's" (upstream's map too: last wins).
        init_list = spec.get("initContainers") or ()
        init_specs = {c.get("name"): c for c in init_list}
        total = len(spec.get("containers") or ()) + sum(1 for c in init_list if _is_restartable_init(c))
        ready = 0
        restarts = 0
        sidecar_restarts = 0
        last_restart: datetime | None = None
        last_sidecar_restart: datetime | None = None

        initializing = False
        init_statuses = status.get("initContainerStatuses") or ()
        for index, cs in enumerate(init_statuses):
            restarts += int(cs.get("restartCount") or 0)
            finished = parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            sidecar = _is_restartable_init(init_specs.get(cs.get("name")))
            if sidecar:
                sidecar_restarts += int(cs.get("restartCount") or 0)
                if finished and (last_sidecar_restart is None or finished > last_sidecar_restart):
                    last_sidecar_restart = finished
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
                continue
            if sidecar and cs.get("started"):
                if cs.get("ready"):
                    ready += 1
                continue
            if terminated is not None:
                reason = _terminated_reason(terminated, "Init:")
            elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
                reason = "Init:" + waiting["reason"]
            else:
                reason = f"Init:{index}/{len(init_list)}"
            initializing = True
            break

        if not initializing or _condition_true(pod, "Initialized"):
            restarts = sidecar_restarts
            last_restart = last_sidecar_restart
            has_running = False
            for cs in reversed(status.get("containerStatuses") or ()):
                restarts += int(cs.get("restartCount") or 0)
                finished = parse_time(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
                if finished and (last_restart is None or finished > last_restart):
                    last_restart = finished
                state = cs.get("state") or {}
                waiting, terminated = state.get("waiting"), state.get("terminated")
                if waiting is not None and waiting.get("reason"):
                    reason = waiting["reason"]
                elif terminated is not None:
                    reason = _terminated_reason(terminated)
                elif cs.get("ready") and state.get("running") is not None:
                    has_running = True
                    ready += 1
            if reason == "Completed" and has_running:
                reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

        deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
        if deleting and status.get("reason") == NODE_LOST:
            reason = "Unknown"
        elif deleting and phase not in TERMINAL_PHASES:
            reason = "Terminating"

        self.ready = f"{ready}/{total}"
        self.status = reason
        self.restarts = restarts
        self.last_restart = last_restart


def pod_columns(pod: Pod) -> PodColumns:
    """READY, STATUS, RESTARTS (and the last restart time) in one pass over the pod."""
    return PodColumns(pod)


def pod_status(pod: Pod) -> str:
    """kubectl's STATUS column (e.g. ``Running``, ``ImagePullBackOff``, ``Init:0/1``, ``Terminating``)."""
    return PodColumns(pod).status


def pod_ready(pod: Pod) -> str:
    """kubectl's READY column, ``ready/total`` (sidecars count as containers)."""
    return PodColumns(pod).ready


def pod_restarts(pod: Pod, now: datetime) -> str:
    """kubectl's RESTARTS column: ``0``, or ``3 (5m ago)`` when the last restart time is known."""
    columns = PodColumns(pod)
    return _restarts_text(columns.restarts, columns.last_restart, now)


def _restarts_text(restarts: int, last_restart: datetime | None, now: datetime) -> str:
    if restarts and last_restart is not None:
        return f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"
    return str(restarts)


@dataclass(frozen=True, slots=True)
class PodRow:
    """A pod's ``kubectl get`` row with the time-dependent cells (AGE, "(5m ago)") left to ``cells``.

    Everything else depends only on the pod, so callers that print the same pod version many times
    (the simulator's Table endpoint, a watch cache) can compute this once per resourceVersion."""

    name: str
    ready: str
    status: str
    restarts: int
    last_restart: datetime | None
    created: str | None
    ip: str
    node: str
    nominated: str
    gates: str

    def cells(self, now: datetime, wide: bool = False) -> list[str]:
        restarts = _restarts_text(self.restarts, self.last_restart, now)
        row = [self.name, self.ready, self.status, restarts, since(self.created, now)]
        if wide:
            row += [self.ip, self.node, self.nominated, self.gates]
        return row


def pod_row_of(pod: Pod) -> PodRow:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    columns = PodColumns(pod)
    pod_ips = status.get("podIPs") or ()
    gates = spec.get("readinessGates") or ()
    gates_text = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or ()}
        true_count = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        gates_text = f"{true_count}/{len(gates)}"
    return PodRow(
        name=str(meta.get("name", "")),
        ready=columns.ready,
        status=columns.status,
        restarts=columns.restarts,
        last_restart=columns.last_restart,
        created=meta.get("creationTimestamp"),
        ip=(pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>",
        node=spec.get("nodeName") or "<none>",
        nominated=status.get("nominatedNodeName") or "<none>",
        gates=gates_text,
    )


def pod_row(pod: Pod, now: datetime, wide: bool = False) -> list[str]:
    """One ``kubectl get pods`` row: NAME READY STATUS RESTARTS AGE (+ IP NODE ... when wide)."""
    return pod_row_of(pod).cells(now, wide)


_PART = re.compile(r"(\d+)([ydhms])")
_SIZES = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration_text(seconds: float, locale: str | None, *, exact: bool = False) -> str:
    """A duration in words of the reader's language: ``9m14s`` / ``9 分钟 14 秒``. Rounded to two
    units like kubectl's ages (``human_duration``), or ``exact`` for a schedule (``1h30m``)."""
    if exact:
        left, parts = max(0, int(seconds)), []
        for unit, size in _SIZES:
            count, left = divmod(left, size)
            if count:
                parts.append((count, unit))
        parts = parts or [(0, "s")]
    else:
        parts = [(int(n), unit) for n, unit in _PART.findall(human_duration(max(0.0, seconds)))]
    return t("time.join", locale).join(t(f"time.{unit}", locale, n=n) for n, unit in parts)
