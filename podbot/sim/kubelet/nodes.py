"""Node objects as a kubeadm-installed v1.32 kubelet registers and reports them."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Any

from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.kubelet.events import EventRecorder, micro_time
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.store import AlreadyExistsError, NotFoundError, ObjectStore

JSON = dict[str, Any]

KUBELET_VERSION = "v1.32.4"
CONTAINER_RUNTIME = "containerd://1.7.24"
KERNEL = "6.8.0-51-generic"
OS_IMAGE = "Ubuntu 24.04.1 LTS"
CPU = "2"
MEMORY_CAPACITY = "3994452Ki"
MEMORY_ALLOCATABLE = "3892052Ki"
MAX_PODS = 110
LEASES = "leases.coordination.k8s.io"


def host_ip(index: int) -> str:
    # The seed notes' master is 10.0.0.130 (it also hosts the private registry); nodes follow it.
    return f"10.0.0.{130 + index}"


def pod_cidr(index: int) -> str:
    return f"10.244.{index}.0/24"


def _stable_uuid(name: str, salt: str) -> str:
    return str(uuid.UUID(hashlib.md5(f"{salt}:{name}".encode()).hexdigest()))  # noqa: S324 - an identifier, not security


def node_conditions(now: float, since: float) -> list[JSON]:
    beat, moved = rfc3339(now), rfc3339(since)
    rows = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    return [
        {
            "lastHeartbeatTime": beat,
            "lastTransitionTime": moved,
            "message": message,
            "reason": reason,
            "status": status,
            "type": ctype,
        }
        for ctype, status, reason, message in rows
    ]


# kubeadm init taints its node so that only pods tolerating it (its static pods, CoreDNS) run there.
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def build_node(name: str, index: int, now: float, *, control_plane: bool, images: list[JSON]) -> JSON:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    cidr = pod_cidr(index)
    ip = host_ip(index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": cidr,
            "podCIDRs": [cidr],
            **({"taints": [dict(CONTROL_PLANE_TAINT)]} if control_plane else {}),
        },
        "status": {
            "addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "allocatable": {
                "cpu": CPU,
                "ephemeral-storage": "37569620724",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": MEMORY_ALLOCATABLE,
                "pods": str(MAX_PODS),
            },
            "capacity": {
                "cpu": CPU,
                "ephemeral-storage": "40766052Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": MEMORY_CAPACITY,
                "pods": str(MAX_PODS),
            },
            "conditions": node_conditions(now, now),
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _stable_uuid(name, "boot"),
                "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kernelVersion": KERNEL,
                "kubeProxyVersion": "",
                "kubeletVersion": KUBELET_VERSION,
                "machineID": hashlib.md5(f"machine:{name}".encode()).hexdigest(),  # noqa: S324
                "operatingSystem": "linux",
                "osImage": OS_IMAGE,
                "systemUUID": _stable_uuid(name, "system"),
            },
            "runtimeHandlers": [
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": "runc"},
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": ""},
            ],
        },
    }


def lease(name: str, now_micro: str) -> JSON:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_micro},
    }


def register_node(
    store: ObjectStore,
    clock: SimClock,
    name: str,
    index: int,
    *,
    control_plane: bool,
    images: list[JSON],
    kubelet_events: EventRecorder,
    controller_events: EventRecorder,
) -> str:
    """Create (or refresh) the Node as a starting kubelet does, with its start-up events; returns its UID."""
    node = build_node(name, index, clock.time(), control_plane=control_plane, images=images)
    try:
        existing = store.get("nodes", "", name).load()
    except NotFoundError:
        stored = store.create("nodes", stamp_new(node, clock))
    else:
        existing["status"] = node["status"]
        stored = store.update("nodes", existing)
    uid = str(stored["metadata"]["uid"])
    # The kubelet refers to its node by name (it uses the name as UID); the node controller by UID.
    ref = {"kind": "Node", "name": name, "uid": name, "apiVersion": "v1"}
    kubelet_events.event(ref, "Normal", "Starting", "Starting kubelet.")
    for condition in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"):
        kubelet_events.event(ref, "Normal", condition, f"Node {name} status is now: {condition}")
    kubelet_events.event(
        ref, "Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods"
    )
    kubelet_events.event(ref, "Normal", "NodeReady", f"Node {name} status is now: NodeReady")
    controller_events.event(
        {"kind": "Node", "name": name, "uid": uid, "apiVersion": "v1"},
        "Normal",
        "RegisteredNode",
        f"Node {name} event: Registered Node {name} in Controller",
    )
    return uid


def set_node_images(store: ObjectStore, name: str, images: list[JSON]) -> None:
    def change(node: JSON) -> JSON:
        node.setdefault("status", {})["images"] = images
        return node

    with contextlib.suppress(NotFoundError):
        store.mutate("nodes", "", name, change)


def report_node_conditions(store: ObjectStore, name: str, now: float, since: float) -> None:
    """The periodic node status report (nodeStatusReportFrequency): fresh heartbeat times."""

    def change(node: JSON) -> JSON:
        node.setdefault("status", {})["conditions"] = node_conditions(now, since)
        return node

    with contextlib.suppress(NotFoundError):
        store.mutate("nodes", "", name, change)


def renew_lease(store: ObjectStore, clock: SimClock, name: str, node_uid: str) -> None:
    """The node's heartbeat Lease in kube-node-lease (when the API serves leases)."""
    if LEASES not in store.resources():
        return
    now = micro_time(clock.time())

    def renew(obj: JSON) -> JSON:
        obj.setdefault("spec", {})["renewTime"] = now
        return obj

    try:
        store.mutate(LEASES, "kube-node-lease", name, renew)
    except NotFoundError:
        obj = lease(name, now)
        obj["metadata"]["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}
        ]
        with contextlib.suppress(AlreadyExistsError):
            store.create(LEASES, stamp_new(obj, clock))
