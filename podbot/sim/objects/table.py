"""Server-side printing: ``meta.k8s.io`` Tables, with the columns of kubectl's printers.go.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints whatever
columns come back (priority 1 columns only with ``-o wide``), so the columns and cells here are
what users see. The server always fills the wide cells, as the real one does. Pod rows come from
the simulator's own printPod port (``printpod``), never from podbot's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from podbot.sim.objects.printpod import pod_cells, pod_conditions, pod_line, since
from podbot.sim.objects.store import Stored

JSON = dict[str, Any]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources "
    "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
    "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
    "value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
    "lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> JSON:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


Cells = Callable[[JSON, datetime], list[Any]]


@dataclass(frozen=True)
class Converter:
    columns: tuple[Column, ...]
    cells: Cells
    conditions: Callable[[JSON], list[JSON]] | None = None
    # Optional split of ``cells`` into a time-independent part, computed once per stored version,
    # and the time-dependent rest (AGE): a 5,000-pod Table then costs no JSON parsing at all.
    prepare: Callable[[JSON], Any] | None = None
    render: Callable[[Any, datetime], list[Any]] | None = None


NAME = Column("Name", format="name", description=NAME_DOC)
AGE = Column("Age", description=AGE_DOC)


def _name(obj: JSON) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _age(obj: JSON, now: datetime) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _none(value: Any) -> Any:
    return "<none>" if value in (None, "", [], {}) else value


# --- pods --------------------------------------------------------------------------------------
_POD_DOCS = {
    "Ready": "The aggregate readiness state of this pod for accepting traffic.",
    "Status": "The aggregate status of the containers in this pod.",
    "Restarts": (
        "The number of times the containers in this pod have been restarted and when the last container "
        "in this pod has restarted."
    ),
    "IP": (
        "podIP address allocated to the pod. Routable at least within the cluster. "
        "Empty if not yet allocated."
    ),
    "Node": "NodeName indicates in which node this pod is scheduled.",
    "Nominated Node": "nominatedNodeName is set when this pod preempts other pods on the node.",
    "Readiness Gates": "If specified, all readiness gates will be evaluated for pod readiness.",
}


def _pod_column(name: str, priority: int) -> Column:
    return Column(name, priority=priority, description=_POD_DOCS[name])


pod_table = Converter(
    (
        NAME,
        _pod_column("Ready", 0),
        _pod_column("Status", 0),
        _pod_column("Restarts", 0),
        AGE,
        _pod_column("IP", 1),
        _pod_column("Node", 1),
        _pod_column("Nominated Node", 1),
        _pod_column("Readiness Gates", 1),
    ),
    pod_cells,
    pod_conditions,
    prepare=pod_line,
    render=lambda line, now: line.cells(now),
)


# --- events ------------------------------------------------------------------------------------
def _event_cells(event: JSON, now: datetime) -> list[Any]:
    first = (
        since(event.get("firstTimestamp"), now)
        if event.get("firstTimestamp")
        else since(event.get("eventTime"), now)
    )
    last = since(event.get("lastTimestamp"), now) if event.get("lastTimestamp") else first
    count = int(event.get("count") or 0)
    series = event.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    source_text = f"{component}, {instance}" if instance else component
    return [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        source_text,
        str(event.get("message", "")).strip(),
        first,
        count,
        _name(event),
    ]


event_table = Converter(
    (
        Column("Last Seen", description="Time when last event occurred"),
        Column("Type", description="Type of this event."),
        Column("Reason", description="Reason why this event was generated."),
        Column("Object", description="Object this event is about."),
        Column("Subobject", priority=1, description="Specific subobject this event is about."),
        Column("Source", priority=1, description="Component from which the event was generated."),
        Column("Message", description="A human-readable description of the status of this operation."),
        Column("First Seen", priority=1, description="Time when first event occurred"),
        Column("Count", "integer", 1, description="Number of times this event occurred."),
        Column("Name", priority=1, format="name", description=NAME_DOC),
    ),
    _event_cells,
)


# --- the smaller kinds -------------------------------------------------------------------------
namespace_table = Converter(
    (NAME, Column("Status", description="The status of the namespace"), AGE),
    lambda ns, now: [_name(ns), (ns.get("status") or {}).get("phase", ""), _age(ns, now)],
)


def _node_cells(node: JSON, now: datetime) -> list[Any]:
    status = node.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or ()}
    ready = conditions.get("Ready")
    state = "Ready" if ready == "True" else ("NotReady" if ready == "False" else "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(
        k.removeprefix("node-role.kubernetes.io/") for k in labels if k.startswith("node-role.kubernetes.io/")
    )
    if "kubernetes.io/role" in labels:
        roles.append(labels["kubernetes.io/role"])
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or ()}
    return [
        _name(node),
        state,
        ",".join(r for r in roles if r) or "<none>",
        _age(node, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP") or "<none>",
        addresses.get("ExternalIP") or "<none>",
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


node_table = Converter(
    (
        NAME,
        Column("Status", description="The status of the node"),
        Column("Roles", description="The roles of the node"),
        AGE,
        Column("Version", description="Kubelet Version reported by the node."),
        Column("Internal-IP", priority=1, description="List of addresses reachable to the node."),
        Column("External-IP", priority=1, description="List of addresses reachable to the node."),
        Column("OS-Image", priority=1, description="OS Image reported by the node from /etc/os-release."),
        Column("Kernel-Version", priority=1, description="Kernel Version reported by the node."),
        Column(
            "Container-Runtime", priority=1, description="Container Runtime Version reported by the node."
        ),
    ),
    _node_cells,
)

secret_table = Converter(
    (NAME, Column("Type", description="The type of the secret"), Column("Data", "integer"), AGE),
    lambda s, now: [_name(s), s.get("type", ""), len(s.get("data") or {}), _age(s, now)],
)

serviceaccount_table = Converter(
    (NAME, Column("Secrets", "integer", description="The number of secrets"), AGE),
    lambda sa, now: [_name(sa), len(sa.get("secrets") or ()), _age(sa, now)],
)

configmap_table = Converter(
    (NAME, Column("Data", "integer"), AGE),
    lambda cm, now: [_name(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _age(cm, now)],
)


def _selector_text(selector: JSON | None) -> str:
    if not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _service_cells(svc: JSON, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external: str
    if kind == "ExternalName":
        external = spec.get("externalName") or "<none>"
    elif kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress] + list(spec.get("externalIPs") or [])
        external = ",".join(ip for ip in ips if ip) or "<pending>"
    else:
        external = ",".join(spec.get("externalIPs") or []) or "<none>"
    ports = []
    for port in spec.get("ports") or ():
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    return [
        _name(svc),
        kind,
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        _age(svc, now),
        _selector_text(spec.get("selector")),
    ]


service_table = Converter(
    (
        NAME,
        Column("Type", description="The type of the service"),
        Column("Cluster-IP", description="The cluster IP of the service"),
        Column("External-IP", description="The external IP of the service"),
        Column("Port(s)", description="The ports of the service"),
        AGE,
        Column("Selector", priority=1, description="The selector of the service"),
    ),
    _service_cells,
)

_ACCESS = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_cells(pvc: JSON, now: datetime) -> list[Any]:
    spec = pvc.get("spec") or {}
    status = pvc.get("status") or {}
    bound = bool(spec.get("volumeName"))
    modes = status.get("accessModes") if bound else []
    capacity = ((status.get("capacity") or {}).get("storage") or "") if bound else ""
    phase = status.get("phase", "")
    if (pvc.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    return [
        _name(pvc),
        phase,
        spec.get("volumeName", ""),
        capacity,
        ",".join(_ACCESS.get(m, m) for m in modes or ()),
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or "<unset>",
        _age(pvc, now),
        spec.get("volumeMode") or "<unset>",
    ]


pvc_table = Converter(
    (
        NAME,
        Column("Status"),
        Column("Volume"),
        Column("Capacity"),
        Column("Access Modes"),
        Column("StorageClass"),
        Column("VolumeAttributesClass"),
        AGE,
        Column("VolumeMode", priority=1),
    ),
    _pvc_cells,
)


def _deployment_cells(deploy: JSON, now: datetime) -> list[Any]:
    spec = deploy.get("spec") or {}
    status = deploy.get("status") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    containers = pod_spec.get("containers") or ()
    selector = spec.get("selector") or {}
    return [
        _name(deploy),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas') or 0)}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        _age(deploy, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        _selector_text(selector.get("matchLabels")) if selector else "<none>",
    ]


deployment_table = Converter(
    (
        NAME,
        Column("Ready", description="Number of the pod with ready state"),
        Column(
            "Up-to-date",
            "integer",
            description=(
                "Total number of non-terminated pods targeted by this deployment that have the desired "
                "template spec."
            ),
        ),
        Column(
            "Available",
            "integer",
            description=(
                "Total number of available pods (ready for at least minReadySeconds) "
                "targeted by this deployment."
            ),
        ),
        AGE,
        Column("Containers", priority=1, description="Names of each container in the template."),
        Column("Images", priority=1, description="Images referenced by each container in the template."),
        Column(
            "Selector",
            priority=1,
            description=(
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the "
                "ones affected by this deployment."
            ),
        ),
    ),
    _deployment_cells,
)

lease_table = Converter(
    (NAME, Column("Holder", description="The holder of the lease"), AGE),
    lambda lease, now: [
        _name(lease),
        (lease.get("spec") or {}).get("holderIdentity") or "",
        _age(lease, now),
    ],
)

role_table = Converter(
    (NAME, Column("Created At", "date", description=AGE_DOC)),
    lambda role, now: [_name(role), (role.get("metadata") or {}).get("creationTimestamp", "")],
)


def _rolebinding_cells(binding: JSON, now: datetime) -> list[Any]:
    ref = binding.get("roleRef") or {}
    users, groups, sas = [], [], []
    for subject in binding.get("subjects") or ():
        kind = subject.get("kind")
        if kind == "User":
            users.append(subject.get("name", ""))
        elif kind == "Group":
            groups.append(subject.get("name", ""))
        elif kind == "ServiceAccount":
            sas.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
    return [
        _name(binding),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _age(binding, now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(sas),
    ]


rolebinding_table = Converter(
    (
        NAME,
        Column("Role", description="Role references the role being granted."),
        AGE,
        Column("Users", priority=1),
        Column("Groups", priority=1),
        Column("ServiceAccounts", priority=1),
    ),
    _rolebinding_cells,
)

generic_table = Converter((NAME, AGE), lambda obj, now: [_name(obj), _age(obj, now)])


# --- assembling a Table ------------------------------------------------------------------------
def partial_metadata(obj: JSON, api_version: str) -> JSON:
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj.get("metadata") or {}}


def build_table(
    converter: Converter | None,
    objects: Iterable[JSON],
    now: datetime,
    *,
    version: str = "v1",
    include_object: str = "Metadata",
    list_meta: JSON | None = None,
    headers: bool = True,
) -> JSON:
    """A ``meta.k8s.io`` Table of ``objects`` (includeObject: None | Metadata | Object)."""
    conv = converter or generic_table
    api_version = f"meta.k8s.io/{version}"
    rows: list[JSON] = []
    for obj in objects:
        row: JSON = {"cells": conv.cells(obj, now)}
        if conv.conditions is not None:
            conditions = conv.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj, api_version)
        rows.append(row)
    columns: Sequence[JSON] = [c.definition() for c in conv.columns] if headers else []
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": list_meta or {},
        "columnDefinitions": list(columns),
        "rows": rows,
    }


def build_table_stored(
    converter: Converter | None,
    items: Sequence[Stored],
    now: datetime,
    *,
    version: str = "v1",
    include_object: str = "Metadata",
    list_meta: JSON | None = None,
) -> JSON:
    """``build_table`` over stored objects, reusing each version's prepared row when it can."""
    conv = converter or generic_table
    if conv.prepare is None or conv.render is None or include_object == "Object":
        return build_table(
            conv,
            [s.load() for s in items],
            now,
            version=version,
            include_object=include_object,
            list_meta=list_meta,
        )
    api_version = f"meta.k8s.io/{version}"
    rows: list[JSON] = []
    for stored in items:
        memo = stored.memo
        if memo is None:  # racing threads may both compute it: same value, harmless
            obj = stored.load()
            conditions = conv.conditions(obj) if conv.conditions is not None else []
            memo = stored.memo = (conv.prepare(obj), conditions, obj.get("metadata") or {})
        prepared, conditions, metadata = memo
        row: JSON = {"cells": conv.render(prepared, now)}
        if conditions:
            row["conditions"] = conditions
        if include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": metadata}
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": list_meta or {},
        "columnDefinitions": [c.definition() for c in conv.columns],
        "rows": rows,
    }
