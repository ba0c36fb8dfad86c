"""Kubernetes protobuf request bodies -> JSON objects (decoding only).

Why: client-go's typed clientsets send built-in kinds as ``application/vnd.kubernetes.protobuf``
(kubectl ``create secret|configmap|namespace|serviceaccount|deployment|service|role...`` and
``auth can-i`` do), and client-go has no JSON fallback for request bodies. Responses are always
JSON: the clients also accept it, and they decode by the response's Content-Type.

The envelope is ``k8s\\x00`` + runtime.Unknown{typeMeta{apiVersion=1, kind=2}=1, raw=2}; ``raw``
is the object's message. Field numbers come from the ``generated.proto`` files of k8s.io/api and
k8s.io/apimachinery (as go-to-protobuf assigns them). Only the messages kubectl's generators
produce are described; an unknown field number is a clear 400 naming it, never silent loss.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from podbot.sim.objects.apierrors import status_bad_request, status_unsupported_media_type
from podbot.sim.objects.meta import SimApiError

JSON = dict[str, Any]
MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

# message -> field number -> (json name, type, repeated)
# types: string, bytes, int, bool (zero values omitted, like Go's omitempty), optint/optbool (Go
# pointers: zero is meaningful and kept), time, quantity, intorstr, skip (read-only status the
# server resets anyway), map:<value type>, or a message name.
F = tuple[str, str, bool]
MESSAGES: dict[str, dict[int, F]] = {
    # --- k8s.io/apimachinery/pkg/apis/meta/v1 ---
    "ObjectMeta": {
        1: ("name", "string", False),
        2: ("generateName", "string", False),
        3: ("namespace", "string", False),
        4: ("selfLink", "string", False),
        5: ("uid", "string", False),
        6: ("resourceVersion", "string", False),
        7: ("generation", "int", False),
        8: ("creationTimestamp", "time", False),
        9: ("deletionTimestamp", "time", False),
        10: ("deletionGracePeriodSeconds", "int", False),
        11: ("labels", "map:string", False),
        12: ("annotations", "map:string", False),
        13: ("ownerReferences", "OwnerReference", True),
        14: ("finalizers", "string", True),
        17: ("managedFields", "ManagedFieldsEntry", True),
    },
    "OwnerReference": {
        1: ("kind", "string", False),
        3: ("name", "string", False),
        4: ("uid", "string", False),
        5: ("apiVersion", "string", False),
        6: ("controller", "optbool", False),
        7: ("blockOwnerDeletion", "optbool", False),
    },
    "ManagedFieldsEntry": {
        1: ("manager", "string", False),
        2: ("operation", "string", False),
        3: ("apiVersion", "string", False),
        4: ("time", "time", False),
        6: ("fieldsType", "string", False),
        8: ("subresource", "string", False),
    },
    "LabelSelector": {
        1: ("matchLabels", "map:string", False),
        2: ("matchExpressions", "LabelSelectorRequirement", True),
    },
    "LabelSelectorRequirement": {
        1: ("key", "string", False),
        2: ("operator", "string", False),
        3: ("values", "string", True),
    },
    # --- k8s.io/api/core/v1 ---
    "Secret": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:bytes", False),
        3: ("type", "string", False),
        4: ("stringData", "map:string", False),
        5: ("immutable", "optbool", False),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:string", False),
        3: ("binaryData", "map:bytes", False),
        4: ("immutable", "optbool", False),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "NamespaceSpec", False),
        3: ("status", "NamespaceStatus", False),
    },
    "NamespaceSpec": {1: ("finalizers", "string", True)},
    "NamespaceStatus": {1: ("phase", "string", False)},
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta", False),
        2: ("secrets", "ObjectReference", True),
        3: ("imagePullSecrets", "LocalObjectReference", True),
        4: ("automountServiceAccountToken", "optbool", False),
    },
    "ObjectReference": {
        1: ("kind", "string", False),
        2: ("namespace", "string", False),
        3: ("name", "string", False),
        4: ("uid", "string", False),
        5: ("apiVersion", "string", False),
        6: ("resourceVersion", "string", False),
        7: ("fieldPath", "string", False),
    },
    "LocalObjectReference": {1: ("name", "string", False)},
    # --- k8s.io/api/authorization/v1 ---
    "SelfSubjectAccessReview": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "SelfSubjectAccessReviewSpec", False),
        3: ("status", "SubjectAccessReviewStatus", False),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes", False),
        2: ("nonResourceAttributes", "NonResourceAttributes", False),
    },
    "SubjectAccessReview": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "SubjectAccessReviewSpec", False),
        3: ("status", "SubjectAccessReviewStatus", False),
    },
    "SubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes", False),
        2: ("nonResourceAttributes", "NonResourceAttributes", False),
        3: ("user", "string", False),
        4: ("groups", "string", True),
        6: ("uid", "string", False),
    },
    "SubjectAccessReviewStatus": {
        1: ("allowed", "bool", False),
        2: ("reason", "string", False),
        3: ("evaluationError", "string", False),
        4: ("denied", "bool", False),
    },
    "ResourceAttributes": {
        1: ("namespace", "string", False),
        2: ("verb", "string", False),
        3: ("group", "string", False),
        4: ("version", "string", False),
        5: ("resource", "string", False),
        6: ("subresource", "string", False),
        7: ("name", "string", False),
    },
    "NonResourceAttributes": {
        1: ("path", "string", False),
        2: ("verb", "string", False),
    },
    "SelfSubjectRulesReview": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "SelfSubjectRulesReviewSpec", False),
        3: ("status", "skip", False),
    },
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string", False)},
    # --- k8s.io/api/authentication/v1 ---
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta", False), 2: ("status", "skip", False)},
    # --- k8s.io/api/rbac/v1 ---
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "ClusterRole": {
        1: ("metadata", "ObjectMeta", False),
        2: ("rules", "PolicyRule", True),
        3: ("aggregationRule", "AggregationRule", False),
    },
    "AggregationRule": {1: ("clusterRoleSelectors", "LabelSelector", True)},
    "PolicyRule": {
        1: ("verbs", "string", True),
        2: ("apiGroups", "string", True),
        3: ("resources", "string", True),
        4: ("resourceNames", "string", True),
        5: ("nonResourceURLs", "string", True),
    },
    "RoleBinding": {
        1: ("metadata", "ObjectMeta", False),
        2: ("subjects", "Subject", True),
        3: ("roleRef", "RoleRef", False),
    },
    "ClusterRoleBinding": {
        1: ("metadata", "ObjectMeta", False),
        2: ("subjects", "Subject", True),
        3: ("roleRef", "RoleRef", False),
    },
    "Subject": {
        1: ("kind", "string", False),
        2: ("apiGroup", "string", False),
        3: ("name", "string", False),
        4: ("namespace", "string", False),
    },
    "RoleRef": {1: ("apiGroup", "string", False), 2: ("kind", "string", False), 3: ("name", "string", False)},
    # --- core/v1 Service (kubectl create service) ---
    "Service": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "ServiceSpec", False),
        3: ("status", "skip", False),
    },
    "ServiceSpec": {
        1: ("ports", "ServicePort", True),
        2: ("selector", "map:string", False),
        3: ("clusterIP", "string", False),
        4: ("type", "string", False),
        5: ("externalIPs", "string", True),
        7: ("sessionAffinity", "string", False),
        8: ("loadBalancerIP", "string", False),
        9: ("loadBalancerSourceRanges", "string", True),
        10: ("externalName", "string", False),
        11: ("externalTrafficPolicy", "string", False),
        12: ("healthCheckNodePort", "int", False),
        13: ("publishNotReadyAddresses", "bool", False),
        18: ("clusterIPs", "string", True),
        19: ("ipFamilies", "string", True),
        20: ("ipFamilyPolicy", "string", False),
        21: ("allocateLoadBalancerNodePorts", "optbool", False),
        22: ("loadBalancerClass", "string", False),
        23: ("internalTrafficPolicy", "string", False),
    },
    "ServicePort": {
        1: ("name", "string", False),
        2: ("protocol", "string", False),
        3: ("port", "int", False),
        4: ("targetPort", "intorstr", False),
        5: ("nodePort", "int", False),
        6: ("appProtocol", "string", False),
    },
    # --- apps/v1 Deployment (kubectl create deployment) and the pod template it carries ---
    "Deployment": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "DeploymentSpec", False),
        3: ("status", "skip", False),
    },
    "DeploymentSpec": {
        1: ("replicas", "optint", False),
        2: ("selector", "LabelSelector", False),
        3: ("template", "PodTemplateSpec", False),
        4: ("strategy", "DeploymentStrategy", False),
        5: ("minReadySeconds", "int", False),
        6: ("revisionHistoryLimit", "optint", False),
        7: ("paused", "bool", False),
        9: ("progressDeadlineSeconds", "optint", False),
    },
    "DeploymentStrategy": {
        1: ("type", "string", False),
        2: ("rollingUpdate", "RollingUpdateDeployment", False),
    },
    "RollingUpdateDeployment": {1: ("maxUnavailable", "intorstr", False), 2: ("maxSurge", "intorstr", False)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodSpec": {
        1: ("volumes", "Volume", True),
        2: ("containers", "Container", True),
        3: ("restartPolicy", "string", False),
        4: ("terminationGracePeriodSeconds", "optint", False),
        5: ("activeDeadlineSeconds", "optint", False),
        6: ("dnsPolicy", "string", False),
        7: ("nodeSelector", "map:string", False),
        8: ("serviceAccountName", "string", False),
        9: ("serviceAccount", "string", False),
        10: ("nodeName", "string", False),
        11: ("hostNetwork", "bool", False),
        12: ("hostPID", "bool", False),
        13: ("hostIPC", "bool", False),
        15: ("imagePullSecrets", "LocalObjectReference", True),
        16: ("hostname", "string", False),
        17: ("subdomain", "string", False),
        19: ("schedulerName", "string", False),
        20: ("initContainers", "Container", True),
        21: ("automountServiceAccountToken", "optbool", False),
        24: ("priorityClassName", "string", False),
        25: ("priority", "optint", False),
        30: ("enableServiceLinks", "optbool", False),
        31: ("preemptionPolicy", "string", False),
    },
    "Volume": {1: ("name", "string", False), 2: ("volumeSource", "skip", False)},
    "Container": {
        1: ("name", "string", False),
        2: ("image", "string", False),
        3: ("command", "string", True),
        4: ("args", "string", True),
        5: ("workingDir", "string", False),
        6: ("ports", "ContainerPort", True),
        7: ("env", "EnvVar", True),
        8: ("resources", "ResourceRequirements", False),
        9: ("volumeMounts", "VolumeMount", True),
        13: ("terminationMessagePath", "string", False),
        14: ("imagePullPolicy", "string", False),
        16: ("stdin", "bool", False),
        17: ("stdinOnce", "bool", False),
        18: ("tty", "bool", False),
        20: ("terminationMessagePolicy", "string", False),
        24: ("restartPolicy", "string", False),
    },
    "ContainerPort": {
        1: ("name", "string", False),
        2: ("hostPort", "int", False),
        3: ("containerPort", "int", False),
        4: ("protocol", "string", False),
        5: ("hostIP", "string", False),
    },
    "EnvVar": {1: ("name", "string", False), 2: ("value", "string", False)},
    "ResourceRequirements": {1: ("limits", "map:quantity", False), 2: ("requests", "map:quantity", False)},
    "VolumeMount": {
        1: ("name", "string", False),
        2: ("readOnly", "bool", False),
        3: ("mountPath", "string", False),
        4: ("subPath", "string", False),
    },
}

# Kinds whose top-level message is described above.
KINDS = frozenset(
    {
        "Secret", "ConfigMap", "Namespace", "ServiceAccount", "Service", "Deployment",
        "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
        "SelfSubjectAccessReview", "SubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview",
    }
)  # fmt: skip


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise ValueError("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def fields(self) -> list[tuple[int, int, Any]]:
        out: list[tuple[int, int, Any]] = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                out.append((number, wire, self.varint()))
            elif wire == 2:
                size = self.varint()
                if self.pos + size > len(self.data):
                    raise ValueError("truncated length-delimited field")
                out.append((number, wire, self.data[self.pos : self.pos + size]))
                self.pos += size
            elif wire == 1:
                out.append((number, wire, self.data[self.pos : self.pos + 8]))
                self.pos += 8
            elif wire == 5:
                out.append((number, wire, self.data[self.pos : self.pos + 4]))
                self.pos += 4
            else:
                raise ValueError(f"unsupported wire type {wire}")
        return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: Any, path: str) -> Any:
    if kind == "string":
        return bytes(value).decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind in ("int", "optint"):
        return _signed(int(value))
    if kind in ("bool", "optbool"):
        return bool(value)
    if kind == "time":
        seconds = 0
        for number, _, v in _Reader(bytes(value)).fields():
            if number == 1:
                seconds = _signed(int(v))
        if seconds == 0:
            return None  # a zero metav1.Time is null in JSON
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "quantity":
        for number, _, v in _Reader(bytes(value)).fields():
            if number == 1:
                return bytes(v).decode()
        return "0"
    if kind == "intorstr":
        parsed = {n: v for n, _, v in _Reader(bytes(value)).fields()}
        if int(parsed.get(1, 0)) == 1:
            return bytes(parsed.get(3, b"")).decode()
        return _signed(int(parsed.get(2, 0)))
    return decode_message(bytes(value), kind, path)


def decode_message(data: bytes, message: str, path: str = "") -> JSON:
    schema = MESSAGES[message]
    obj: JSON = {}
    for number, _wire, value in _Reader(data).fields():
        field = schema.get(number)
        if field is None:
            where = f"{path}." if path else ""
            raise ValueError(
                f"{message} field number {number} (at {where or 'top level'}) is not known to podbot.sim"
            )
        name, kind, repeated = field
        child = f"{path}.{name}" if path else name
        if kind == "skip":
            continue
        if kind.startswith("map:"):
            entry = {n: v for n, _, v in _Reader(bytes(value)).fields()}
            key = bytes(entry.get(1, b"")).decode()
            obj.setdefault(name, {})[key] = _scalar(
                kind[4:], entry.get(2, b"" if kind[4:] != "int" else 0), child
            )
        elif repeated:
            obj.setdefault(name, []).append(_scalar(kind, value, child))
        else:
            decoded = _scalar(kind, value, child)
            # Go marshals non-pointer zero values; in JSON they are omitted (omitempty).
            if decoded is None or decoded == "" or (kind in ("int", "bool") and not decoded):
                continue
            obj[name] = decoded
    return obj


def decode(body: bytes, expected_kind: str) -> JSON:
    """A protobuf request body -> the JSON object; 400/415 with a clear message if impossible."""
    if not body.startswith(MAGIC):
        raise status_bad_request("the protobuf body does not start with the Kubernetes magic prefix")
    try:
        envelope = {n: v for n, _, v in _Reader(body[len(MAGIC) :]).fields()}
        type_meta = {n: bytes(v).decode() for n, _, v in _Reader(bytes(envelope.get(1, b""))).fields()}
        kind = type_meta.get(2) or expected_kind
        api_version = type_meta.get(1, "")
        if kind not in KINDS:
            raise status_unsupported_media_type(PROTOBUF, ("application/json", "application/yaml"))
        obj = decode_message(bytes(envelope.get(2, b"")), kind)
    except SimApiError:
        raise
    except (ValueError, UnicodeDecodeError) as e:
        raise status_bad_request(f"unable to decode the protobuf body: {e}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
