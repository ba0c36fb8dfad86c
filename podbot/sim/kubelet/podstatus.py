"""Pod phase and conditions from container statuses, as the kubelet computes them (v1.32).

``phase`` follows getPhase in pkg/kubelet/kubelet_pods.go (regular init containers gate the pod,
restartable init containers count as running, a waiting container keeps the pod Pending, and the
restart policy decides what "all stopped" means); the conditions follow pkg/kubelet/status
(PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from podbot.sim.clock import rfc3339
from podbot.sim.objects.podspec import is_restartable_init

if TYPE_CHECKING:
    from podbot.sim.kubelet.containers import ContainerTrack
    from podbot.sim.objects.store import ObjectStore

JSON = dict[str, Any]


def _by_name(statuses: list[JSON]) -> dict[str, JSON]:
    return {s["name"]: s for s in statuses}


def get_phase(
    spec: JSON, init_statuses: list[JSON], statuses: list[JSON], *, terminal: bool, static: bool
) -> str:
    init = _by_name(init_statuses)
    app = _by_name(statuses)
    pending_regular_init = failed_init = pending_sidecars = 0
    for container in spec.get("initContainers") or []:
        if is_restartable_init(container):
            continue
        status = init.get(container["name"])
        state = (status or {}).get("state") or {}
        if status is None or "running" in state:
            pending_regular_init += 1
        elif "terminated" in state:
            if state["terminated"].get("exitCode") != 0:
                failed_init += 1
        elif "waiting" in state:
            last = (status.get("lastState") or {}).get("terminated")
            if last is not None:
                if last.get("exitCode") != 0:
                    failed_init += 1
            else:
                pending_regular_init += 1
        else:
            pending_regular_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("initContainers") or []:
        if not is_restartable_init(container):
            continue
        status = init.get(container["name"])
        if status is None:
            unknown += 1
            continue
        state = status.get("state") or {}
        if "running" in state:
            if not status.get("started"):
                pending_sidecars += 1
            running += 1
        elif "waiting" in state and not (status.get("lastState") or {}).get("terminated"):
            pending_sidecars += 1
    for container in spec.get("containers") or []:
        status = app.get(container["name"])
        if status is None:
            unknown += 1
            continue
        state = status.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if (status.get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    restart = spec.get("restartPolicy", "Always")
    if failed_init > 0 and restart == "Never":
        return "Failed"
    if (
        pending_regular_init > 0
        or (pending_sidecars > 0 and not any_regular_started(statuses))
        or waiting > 0
    ):
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if terminal and not static:
            return "Succeeded" if stopped == succeeded else "Failed"
        if restart == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def any_regular_started(statuses: list[JSON]) -> bool:
    for status in statuses:
        state = status.get("state") or {}
        if "running" in state or "terminated" in state or (status.get("lastState") or {}).get("terminated"):
            return True
    return False


def _names(spec: JSON, key: str, pick: Any) -> list[str]:
    return [c["name"] for c in spec.get(key) or [] if pick(c)]


def conditions(
    spec: JSON,
    init_statuses: list[JSON],
    statuses: list[JSON],
    phase: str,
    *,
    sandbox_ready: bool,
) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) for the kubelet-managed conditions, in kubectl's order."""
    init = _by_name(init_statuses)
    app = _by_name(statuses)
    result = [("PodReadyToStartContainers", "True" if sandbox_ready else "False", "", "")]
    # Initialized
    unknown = [c["name"] for c in spec.get("initContainers") or [] if c["name"] not in init]
    incomplete = []
    for container in spec.get("initContainers") or []:
        status = init.get(container["name"])
        if status is None:
            continue
        state = status.get("state") or {}
        if is_restartable_init(container):
            if not status.get("started"):
                incomplete.append(container["name"])
        elif not ("terminated" in state and state["terminated"].get("exitCode") == 0):
            incomplete.append(container["name"])
    if phase == "Succeeded" and not unknown:
        result.append(("Initialized", "True", "PodCompleted", ""))
    elif any_regular_started(statuses) or not (unknown or incomplete):
        result.append(("Initialized", "True", "", ""))
    else:
        parts = []
        if unknown:
            parts.append(f"containers with unknown status: [{' '.join(unknown)}]")
        if incomplete:
            parts.append(f"containers with incomplete status: [{' '.join(incomplete)}]")
        result.append(("Initialized", "False", "ContainersNotInitialized", ", ".join(parts)))
    # ContainersReady / Ready
    unknown_ready: list[str] = []
    unready: list[str] = []
    for container in spec.get("initContainers") or []:
        if not is_restartable_init(container):
            continue
        status = init.get(container["name"])
        if status is None:
            unknown_ready.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    for container in spec.get("containers") or []:
        status = app.get(container["name"])
        if status is None:
            unknown_ready.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    if (phase == "Succeeded" and not unknown_ready) or phase == "Failed":
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        ready = ("False", reason, "")
    else:
        parts = []
        if unknown_ready:
            parts.append(f"containers with unknown status: [{' '.join(unknown_ready)}]")
        if unready:
            parts.append(f"containers with unready status: [{' '.join(unready)}]")
        ready = ("False", "ContainersNotReady", ", ".join(parts)) if parts else ("True", "", "")
    result.append(("Ready", *ready))
    result.append(("ContainersReady", *ready))
    result.append(("PodScheduled", "True", "", ""))
    return result


def merge_conditions(old: list[JSON], new: list[tuple[str, str, str, str]], now: str) -> list[JSON]:
    """Keep lastTransitionTime when a condition's status did not change."""
    previous = {c.get("type"): c for c in old}
    merged = []
    for ctype, status, reason, message in new:
        before = previous.get(ctype)
        transition = before.get("lastTransitionTime") if before and before.get("status") == status else now
        condition: JSON = {
            "lastProbeTime": None,
            "lastTransitionTime": transition or now,
            "status": status,
            "type": ctype,
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        merged.append(condition)
    return merged


def pod_status(
    spec: JSON,
    tracks: Sequence[ContainerTrack],
    *,
    host_ip: str,
    pod_ip: str | None,
    start_time: float | None,
    qos: str,
    sandbox_ready: bool,
    static: bool,
    terminal: bool,
    failure: tuple[str, str] | None,
) -> JSON:
    """The status the kubelet reports; conditions as (type, status, reason, message) tuples."""
    default_waiting = "PodInitializing" if spec.get("initContainers") else "ContainerCreating"
    init_statuses = [t.status_json(default_waiting) for t in tracks if t.kind != "app"]
    statuses = [t.status_json(default_waiting) for t in tracks if t.kind == "app"]
    phase = get_phase(spec, init_statuses, statuses, terminal=terminal, static=static)
    status: JSON = {"phase": phase, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
    if failure is not None and not any(t.running for t in tracks):
        status["phase"] = phase = "Failed"
        status["reason"], status["message"] = failure
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if start_time is not None:
        status["startTime"] = rfc3339(start_time)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = qos
    status["conditions"] = conditions(spec, init_statuses, statuses, phase, sandbox_ready=sandbox_ready)
    return status


def write_status(
    store: ObjectStore, namespace: str, name: str, uid: str, status: JSON, now: str
) -> JSON | None:
    """Store ``status`` on the pod if it still has ``uid``; conditions keep their transition times."""

    def change(pod: JSON) -> JSON | None:
        if pod.get("metadata", {}).get("uid") != uid:
            return None
        merged = dict(status)
        old = (pod.get("status") or {}).get("conditions") or []
        merged["conditions"] = merge_conditions(old, status["conditions"], now)
        pod["status"] = merged
        return pod

    return store.mutate("pods", namespace, name, change)
