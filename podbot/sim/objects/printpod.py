"""The simulator's own port of kubectl's pod printer (printPod in pkg/printers/internalversion).

Written from upstream's algorithm, independent of podbot's ``core.pods.status``, so that
``kubectl get pods`` against the simulator can catch a bug in podbot's copy. The steps, as upstream:

1. STATUS starts as ``status.reason`` or the phase; a ``SchedulingGated`` PodScheduled condition wins.
2. READY's total is every regular container plus every restartable init container (sidecar) of
   the spec *list* (duplicate names count twice, as upstream counts them).
3. Init container statuses, in order: a zero exit is done; a started sidecar counts as ready if
   ready; anything else sets ``Init:<reason>``, ``Init:Signal:N``, ``Init:ExitCode:N`` or
   ``Init:i/len(spec.initContainers)`` and stops the walk (the pod is initializing).
4. Unless initializing (or the Initialized condition is True), the regular container statuses,
   last to first: waiting reason, terminated reason (or Signal:/ExitCode:), or a ready running
   container counts as ready. Restarts then count only sidecars and regular containers.
   ``Completed`` with a running container becomes ``Running`` (Ready condition True) or ``NotReady``.
5. A deletion timestamp makes it ``Unknown`` (reason NodeLost) or ``Terminating`` (phase not final).
6. RESTARTS is ``N`` or ``N (<age> ago)`` from the newest ``lastState.terminated.finishedAt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

# metav1.TableRowCondition values printPod attaches to finished pods.
SUCCEEDED = {
    "type": "Completed",
    "status": "True",
    "reason": "Succeeded",
    "message": "The pod has completed successfully.",
}
FAILED = {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m, h = s // 60, s // 3600
    if m < 10:
        return _pair(m, "m", s % 60, "s")
    if m < 180:
        return f"{m}m"
    if h < 8:
        return _pair(h, "h", m % 60, "m")
    if h < 48:
        return f"{h}h"
    if h < 192:
        return _pair(h // 24, "d", h % 24, "h")
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        return _pair(h // 24 // 365, "y", (h // 24) % 365, "d")
    return f"{h // 24 // 365}y"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def since(timestamp: Any, now: datetime) -> str:
    """translateTimestampSince: ``<unknown>`` for a zero (missing) time."""
    when = parse_time(timestamp)
    return "<unknown>" if when is None else human_duration((now - when).total_seconds())


def _sidecar(container: JSON | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _condition(status: JSON, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or ())


def _finished_at(container_status: JSON) -> datetime | None:
    return parse_time(((container_status.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _exit_text(terminated: JSON) -> str:
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode') or 0}"


@dataclass(frozen=True, slots=True)
class PodLine:
    """A pod's row without the cells that depend on the time of the request (AGE, "(5m ago)")."""

    name: str
    ready: str
    status: str
    restarts: int
    last_restart: datetime | None
    created: Any
    ip: str
    node: str
    nominated: str
    gates: str

    def cells(self, now: datetime) -> list[Any]:
        restarts = str(self.restarts)
        if self.restarts and self.last_restart is not None:
            restarts += f" ({human_duration((now - self.last_restart).total_seconds())} ago)"
        return [
            self.name,
            self.ready,
            self.status,
            restarts,
            since(self.created, now),
            self.ip,
            self.node,
            self.nominated,
            self.gates,
        ]


def pod_line(pod: JSON) -> PodLine:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    init_spec_list = spec.get("initContainers") or []
    init_by_name = {c.get("name"): c for c in init_spec_list}  # upstream's map: the last name wins

    reason = status.get("reason") or status.get("phase") or ""
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    total = len(spec.get("containers") or []) + sum(1 for c in init_spec_list if _sidecar(c))
    ready = 0
    all_restarts, all_last = 0, None
    sidecar_restarts, sidecar_last = 0, None

    initializing = False
    for index, cs in enumerate(status.get("initContainerStatuses") or []):
        count = int(cs.get("restartCount") or 0)
        finished = _finished_at(cs)
        all_restarts += count
        all_last = _later(all_last, finished)
        is_sidecar = _sidecar(init_by_name.get(cs.get("name")))
        if is_sidecar:
            sidecar_restarts += count
            sidecar_last = _later(sidecar_last, finished)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        initializing = True
        if terminated is not None:
            reason = "Init:" + (terminated.get("reason") or _exit_text(terminated))
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_spec_list)}"
        break

    restarts, last_restart = all_restarts, all_last
    if not initializing or _condition(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, sidecar_last
        running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = _later(last_restart, _finished_at(cs))
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = terminated.get("reason") or _exit_text(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _condition(status, "Ready") else "NotReady"

    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"

    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        first: dict[Any, Any] = {}
        for condition in status.get("conditions") or ():
            first.setdefault(condition.get("type"), condition.get("status"))
        gates_text = f"{sum(1 for g in gates if first.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    pod_ips = status.get("podIPs") or []
    return PodLine(
        name=meta.get("name", ""),
        ready=f"{ready}/{total}",
        status=reason,
        restarts=restarts,
        last_restart=last_restart,
        created=meta.get("creationTimestamp"),
        ip=(pod_ips[0].get("ip") if pod_ips else "") or "<none>",
        node=spec.get("nodeName") or "<none>",
        nominated=status.get("nominatedNodeName") or "<none>",
        gates=gates_text,
    )


def pod_cells(pod: JSON, now: datetime) -> list[Any]:
    """The nine cells of a pod's Table row (the last four only shown by ``kubectl get -o wide``)."""
    return pod_line(pod).cells(now)


def pod_conditions(pod: JSON) -> list[JSON]:
    """The row conditions printPod sets: Completed for a Succeeded or Failed pod."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [dict(SUCCEEDED)]
    if phase == "Failed":
        return [dict(FAILED)]
    return []
