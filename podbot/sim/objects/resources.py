"""The API server's resource table: what it serves, under which names, with which rules.

One ``ResourceType`` per REST resource (group, version, kind, plural, singular, short names,
scope, verbs, selectable fields and their indexer, Table converter, admission hooks). Discovery,
OpenAPI, routing, RBAC and the store all read this table, so adding a kind is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from podbot.sim.objects import admission, table
from podbot.sim.objects.apierrors import FieldError

JSON = dict[str, Any]
FieldIndexer = Callable[[JSON], dict[str, str]]

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class Hooks:
    """Per-kind admission: defaulting on create, validation on create and on update."""

    default: Callable[[JSON], None] | None = None
    validate: Callable[[JSON], list[FieldError]] | None = None
    validate_update: Callable[[JSON, JSON], list[FieldError]] | None = None
    name_check: Callable[[str], list[str]] = admission.dns_subdomain_errors


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    model: str  # kubernetes.client.models class: the schema for field validation and OpenAPI
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD
    field_labels: tuple[str, ...] = ()  # selectable beyond metadata.name / metadata.namespace
    generic_field_error: bool = True  # no conversion func: the generic "not a known field selector"
    indexer: FieldIndexer | None = None
    table: table.Converter | None = None
    subresources: tuple[str, ...] = ()
    hooks: Hooks = field(default_factory=Hooks)
    virtual: bool = False  # create-only reviews (SubjectAccessReview): never stored
    return_deleted: bool = False  # DELETE answers with the object, not a Status (pods, SAs, services)

    @property
    def storage(self) -> str:
        """The ObjectStore resource name: ``pods``, ``leases.coordination.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def names(self) -> Iterable[str]:
        yield self.plural
        yield self.singular
        yield from self.short_names


# --- field indexers (the keys kubectl's field selectors use) -----------------------------------
def _s(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def pod_fields(pod: JSON) -> dict[str, str]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    return {
        "spec.nodeName": _s(spec.get("nodeName")),
        "spec.restartPolicy": _s(spec.get("restartPolicy")),
        "spec.schedulerName": _s(spec.get("schedulerName")),
        "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
        "spec.hostNetwork": _s(bool(spec.get("hostNetwork"))),
        "status.phase": _s(status.get("phase")),
        "status.podIP": _s(status.get("podIP")),
        "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
    }


POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)


def event_fields(event: JSON) -> dict[str, str]:
    involved = event.get("involvedObject") or {}
    source = event.get("source") or {}
    return {
        "involvedObject.kind": _s(involved.get("kind")),
        "involvedObject.namespace": _s(involved.get("namespace")),
        "involvedObject.name": _s(involved.get("name")),
        "involvedObject.uid": _s(involved.get("uid")),
        "involvedObject.apiVersion": _s(involved.get("apiVersion")),
        "involvedObject.resourceVersion": _s(involved.get("resourceVersion")),
        "involvedObject.fieldPath": _s(involved.get("fieldPath")),
        "reason": _s(event.get("reason")),
        "reportingComponent": _s(event.get("reportingComponent")),
        "source": _s(source.get("component")),
        "type": _s(event.get("type")),
    }


EVENT_FIELDS = tuple(event_fields({}))


def secret_fields(secret: JSON) -> dict[str, str]:
    return {"type": _s(secret.get("type"))}


def namespace_fields(ns: JSON) -> dict[str, str]:
    return {"status.phase": _s((ns.get("status") or {}).get("phase"))}


def node_fields(node: JSON) -> dict[str, str]:
    return {"spec.unschedulable": _s(bool((node.get("spec") or {}).get("unschedulable")))}


# --- the table ---------------------------------------------------------------------------------
def builtin_resources() -> list[ResourceType]:
    """Every resource the simulated API server serves, in discovery order."""
    core: list[ResourceType] = [
        ResourceType(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            "configmap",
            True,
            "V1ConfigMap",
            short_names=("cm",),
            table=table.configmap_table,
            hooks=Hooks(
                validate=admission.validate_configmap, validate_update=admission.validate_configmap_update
            ),
        ),
        ResourceType(
            "",
            "v1",
            "Event",
            "events",
            "event",
            True,
            "CoreV1Event",
            short_names=("ev",),
            field_labels=EVENT_FIELDS,
            generic_field_error=False,
            indexer=event_fields,
            table=table.event_table,
            hooks=Hooks(validate=admission.validate_event),
        ),
        ResourceType(
            "",
            "v1",
            "Namespace",
            "namespaces",
            "namespace",
            False,
            "V1Namespace",
            short_names=("ns",),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
            field_labels=("status.phase",),
            generic_field_error=False,
            indexer=namespace_fields,
            table=table.namespace_table,
            subresources=("status", "finalize"),
            hooks=Hooks(default=admission.default_namespace, name_check=admission.dns_label_errors),
        ),
        ResourceType(
            "",
            "v1",
            "Node",
            "nodes",
            "node",
            False,
            "V1Node",
            short_names=("no",),
            field_labels=("spec.unschedulable",),
            generic_field_error=False,
            indexer=node_fields,
            table=table.node_table,
            subresources=("status",),
        ),
        ResourceType(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            True,
            "V1PersistentVolumeClaim",
            short_names=("pvc",),
            table=table.pvc_table,
            subresources=("status",),
            hooks=Hooks(default=admission.default_pvc, validate=admission.validate_pvc),
        ),
        ResourceType(
            "",
            "v1",
            "Pod",
            "pods",
            "pod",
            True,
            "V1Pod",
            short_names=("po",),
            categories=("all",),
            field_labels=POD_FIELDS,
            generic_field_error=False,
            indexer=pod_fields,
            table=table.pod_table,
            # exec/attach/portforward/ephemeralcontainers are listed, as upstream lists them, and
            # answered with an error that names them unsupported (api.server.STREAMING).
            subresources=("status", "log", "exec", "attach", "portforward", "ephemeralcontainers"),
            return_deleted=True,
            hooks=Hooks(
                validate=admission.validate_pod,
                validate_update=admission.validate_pod_update,
            ),
        ),
        ResourceType(
            "",
            "v1",
            "Secret",
            "secrets",
            "secret",
            True,
            "V1Secret",
            field_labels=("type",),
            generic_field_error=False,
            indexer=secret_fields,
            table=table.secret_table,
            hooks=Hooks(
                default=admission.default_secret,
                validate=admission.validate_secret,
                validate_update=admission.validate_secret_update,
            ),
        ),
        ResourceType(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            True,
            "V1ServiceAccount",
            short_names=("sa",),
            table=table.serviceaccount_table,
            return_deleted=True,
        ),
        ResourceType(
            "",
            "v1",
            "Service",
            "services",
            "service",
            True,
            "V1Service",
            short_names=("svc",),
            categories=("all",),
            table=table.service_table,
            return_deleted=True,
            subresources=("status",),
            hooks=Hooks(
                default=admission.default_service,
                validate=admission.validate_service,
                validate_update=admission.validate_service_update,
                name_check=admission.dns1035_label_errors,
            ),
        ),
    ]
    others: list[ResourceType] = [
        ResourceType(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            "deployment",
            True,
            "V1Deployment",
            short_names=("deploy",),
            categories=("all",),
            table=table.deployment_table,
            subresources=("status", "scale"),
            hooks=Hooks(
                default=admission.default_deployment,
                validate=admission.validate_deployment,
                validate_update=admission.validate_deployment_update,
            ),
        ),
        ResourceType(
            "authentication.k8s.io",
            "v1",
            "SelfSubjectReview",
            "selfsubjectreviews",
            "selfsubjectreview",
            False,
            "V1SelfSubjectReview",
            verbs=CREATE_ONLY,
            virtual=True,
        ),
        ResourceType(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            False,
            "V1SelfSubjectAccessReview",
            verbs=CREATE_ONLY,
            virtual=True,
        ),
        ResourceType(
            "authorization.k8s.io",
            "v1",
            "SubjectAccessReview",
            "subjectaccessreviews",
            "subjectaccessreview",
            False,
            "V1SubjectAccessReview",
            verbs=CREATE_ONLY,
            virtual=True,
        ),
        ResourceType(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            False,
            "V1SelfSubjectRulesReview",
            verbs=CREATE_ONLY,
            virtual=True,
        ),
        ResourceType(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            "lease",
            True,
            "V1Lease",
            table=table.lease_table,
            hooks=Hooks(validate=admission.validate_lease),
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            "clusterrolebinding",
            False,
            "V1ClusterRoleBinding",
            table=table.rolebinding_table,
            hooks=Hooks(
                validate=admission.validate_rolebinding,
                validate_update=admission.validate_rolebinding_update,
                name_check=admission.path_segment_errors,
            ),
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            "clusterrole",
            False,
            "V1ClusterRole",
            table=table.role_table,
            hooks=Hooks(validate=admission.validate_role, name_check=admission.path_segment_errors),
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            "rolebinding",
            True,
            "V1RoleBinding",
            table=table.rolebinding_table,
            hooks=Hooks(
                validate=admission.validate_rolebinding,
                validate_update=admission.validate_rolebinding_update,
                name_check=admission.path_segment_errors,
            ),
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            "role",
            True,
            "V1Role",
            table=table.role_table,
            hooks=Hooks(validate=admission.validate_role, name_check=admission.path_segment_errors),
        ),
    ]
    return core + others


class ResourceRegistry:
    """Lookup of the served resources by REST coordinates, storage name and kind."""

    def __init__(self, resources: Iterable[ResourceType]) -> None:
        self.all: list[ResourceType] = list(resources)
        self._by_path = {(r.group, r.version, r.plural): r for r in self.all}
        self._by_storage = {r.storage: r for r in self.all}
        self._by_kind = {(r.group, r.kind): r for r in self.all}

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_storage(self, storage: str) -> ResourceType:
        return self._by_storage[storage]

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, kind))

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, [versions]) for every named group, in order of first appearance."""
        seen: dict[str, list[str]] = {}
        for r in self.all:
            if r.group and r.version not in seen.setdefault(r.group, []):
                seen[r.group].append(r.version)
        return list(seen.items())

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.all if r.group == group and r.version == version]
