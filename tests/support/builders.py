"""Small builders for realistic raw pod / event JSON, as the API server returns it or a client sends it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta: float) -> str:
    return ts(NOW - timedelta(**delta))


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"reason": reason}
    if message:
        body["message"] = message
    return {"waiting": body}


def running(started: str | None = None) -> dict[str, Any]:
    return {"running": {"startedAt": started or ago(minutes=30)}}


def terminated(
    exit_code: int, reason: str = "", *, finished: str | None = None, started: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exitCode": exit_code,
        "startedAt": started or ago(minutes=3),
        "finishedAt": finished or ago(minutes=2),
    }
    body["reason"] = reason or ("Completed" if exit_code == 0 else "Error")
    return {"terminated": body}


def cstatus(
    name: str,
    image: str,
    state: dict[str, Any],
    *,
    ready: bool | None = None,
    restarts: int = 0,
    last: dict[str, Any] | None = None,
    started: bool | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imageID": "",
        "state": state,
        "lastState": last or {},
        "ready": bool(ready) if ready is not None else ("running" in state),
        "restartCount": restarts,
        "started": started if started is not None else ("running" in state),
    }


def pod(
    name: str = "web-7d4b9c-abcde",
    namespace: str = "default",
    *,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    node: str | None = "node-1",
    created: str | None = None,
    owner: tuple[str, str] | None = ("ReplicaSet", "web-7d4b9c"),
    pull_secrets: list[str] | None = None,
    annotations: dict[str, str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    message: str | None = None,
    deletion: str | None = None,
    finalizers: list[str] | None = None,
    uid: str | None = None,
    restart_policy: str = "Always",
) -> dict[str, Any]:
    """A pod with one nginx container by default, Running on node-1, owned by a ReplicaSet."""
    containers = containers or [{"name": "web", "image": "nginx:1.25"}]
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid4()),
        "resourceVersion": "1234",
        "creationTimestamp": created or ago(hours=2),
        "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
    }
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": "owner-uid",
                "controller": True,
            }
        ]
    if annotations:
        meta["annotations"] = annotations
    if deletion:
        meta["deletionTimestamp"] = deletion
        meta["deletionGracePeriodSeconds"] = 30
    if finalizers:
        meta["finalizers"] = finalizers
    spec: dict[str, Any] = {
        "containers": [dict({"imagePullPolicy": "IfNotPresent", "resources": {}}, **c) for c in containers],
        "restartPolicy": restart_policy,
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if node:
        spec["nodeName"] = node
    if pull_secrets is not None:
        spec["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    if statuses is None:
        statuses = (
            [cstatus(c["name"], c["image"], running()) for c in containers] if phase == "Running" else []
        )
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": conditions
        if conditions is not None
        else [
            {"type": "PodScheduled", "status": "True" if node else "False"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True" if phase == "Running" else "False"},
        ],
        "containerStatuses": statuses,
        "hostIP": "10.0.0.11",
        "podIP": "10.244.1.7",
        "startTime": created or ago(hours=2),
        "qosClass": "BestEffort",
    }
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def event(
    target: dict[str, Any],
    reason: str,
    message: str,
    *,
    container: str = "",
    init: bool = False,
    type_: str = "Warning",
    count: int = 1,
    first: str | None = None,
    last: str | None = None,
    component: str = "kubelet",
) -> dict[str, Any]:
    meta = target["metadata"]
    involved: dict[str, Any] = {
        "kind": "Pod",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "v1",
    }
    if container:
        involved["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": "node-1"},
        "firstTimestamp": first or ago(minutes=15),
        "lastTimestamp": last or ago(minutes=1),
        "count": count,
        "type": type_,
    }


def unscheduled_pod(
    name: str, namespace: str | None = None, *, uid: str | None = None, **labels: str
) -> dict[str, Any]:
    """A pod as a client sends it, for a scheduler that does not exist ("manual", as on a real cluster
    without one): it stays Pending and unchanged, so API-server tests see only their own writes."""
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    if uid is not None:
        metadata["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"schedulerName": "manual", "containers": [{"name": "app", "image": "nginx:1.16"}]},
    }


def active_namespace(name: str) -> dict[str, Any]:
    """An Active namespace, as the API server stores it (before ``stamp_new``)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name},
        "status": {"phase": "Active"},
    }
