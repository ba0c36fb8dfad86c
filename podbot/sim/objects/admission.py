"""Per-kind defaulting and validation: what the API server's registry strategies do on write.

Pod defaulting is owned by the kubelet half (``podbot.sim.objects.podspec.default_pod``); everything else
here follows the real defaults (SetDefaults_*) and validators of the kinds the simulator serves.
The checks are the commonly met subset, with the real field paths and messages.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from podbot.sim.objects import podspec, validation
from podbot.sim.objects.apierrors import FieldError, forbidden, invalid, not_supported, required, too_long
from podbot.sim.objects.validation import (
    dns1035_label_errors,
    dns_label_errors,
    dns_subdomain_errors,
    path_segment_errors,
)

JSON = dict[str, Any]

__all__ = [
    "dns1035_label_errors",
    "dns_label_errors",
    "dns_subdomain_errors",
    "path_segment_errors",
]

MAX_DATA_SIZE = 1024 * 1024  # ConfigMap / Secret total size


# --- pods --------------------------------------------------------------------------------------
def default_pod(pod: JSON, *, service_account: JSON | None = None) -> None:
    """The kubelet half owns pod defaulting (and the token volume of the SA admission plugin)."""
    podspec.default_pod(pod, service_account=service_account)


def validate_pod(pod: JSON) -> list[FieldError]:
    return validation.pod_spec_errors(pod.get("spec") or {})


def validate_pod_update(new: JSON, old: JSON) -> list[FieldError]:
    return validation.pod_update_errors(new.get("spec") or {}, old.get("spec") or {})


def default_pod_template_spec(spec: JSON) -> None:
    """SetDefaults_PodSpec + SetDefaults_Container for a template (no admission plugins run)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            image = str(container.get("image") or "")
            tag = image.rsplit("/", 1)[-1]
            latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
            container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or ():
                port.setdefault("protocol", "TCP")


# --- namespaces, secrets, configmaps -----------------------------------------------------------
def default_namespace(ns: JSON) -> None:
    ns.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    ns["status"] = {"phase": "Active"}
    labels = ns["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = ns["metadata"]["name"]


def default_secret(secret: JSON) -> None:
    secret.setdefault("type", "Opaque")
    # stringData is write-only: merged into data (base64) and never stored.
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _data_errors(obj: JSON, fields: tuple[str, ...]) -> list[FieldError]:
    errors: list[FieldError] = []
    total = 0
    seen: set[str] = set()
    for field in fields:
        for key, value in (obj.get(field) or {}).items():
            for msg in validation.config_key_errors(key):
                errors.append(invalid(f"{field}[{key}]", key, msg))
            if key in seen:
                errors.append(invalid(f"{field}[{key}]", key, "duplicate of key present in data"))
            seen.add(key)
            total += len(str(value))
    if total > MAX_DATA_SIZE:
        errors.append(too_long("", MAX_DATA_SIZE))
    return errors


def validate_configmap(cm: JSON) -> list[FieldError]:
    return _data_errors(cm, ("data", "binaryData"))


def validate_configmap_update(new: JSON, old: JSON) -> list[FieldError]:
    errors = validate_configmap(new)
    if old.get("immutable"):
        if new.get("immutable") is not True:
            errors.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        for field in ("data", "binaryData"):
            if (new.get(field) or {}) != (old.get(field) or {}):
                errors.append(forbidden(field, "field is immutable when `immutable` is set"))
    return errors


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def validate_secret(secret: JSON) -> list[FieldError]:
    errors = _data_errors(secret, ("data",))
    kind = secret.get("type") or "Opaque"
    data = secret.get("data") or {}
    for key in _SECRET_REQUIRED_KEYS.get(kind, ()):
        if key not in data:
            errors.append(required(f"data[{key}]"))
    if kind in ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"):
        key = ".dockerconfigjson" if kind.endswith("json") else ".dockercfg"
        if key in data:
            try:
                json.loads(base64.b64decode(data[key]))
            except (ValueError, binascii.Error) as e:
                # Never echo the contents: they are registry credentials.
                errors.append(invalid(f"data[{key}]", "<secret contents redacted>", str(e)))
    if kind == "kubernetes.io/basic-auth" and not ({"username", "password"} & set(data)):
        errors.append(required("data[username]", "either username or password is required"))
    if kind == "kubernetes.io/service-account-token":
        annotations = secret["metadata"].get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            errors.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    return errors


def validate_secret_update(new: JSON, old: JSON) -> list[FieldError]:
    errors = validate_secret(new)
    if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
        errors.append(invalid("type", new.get("type"), "field is immutable"))
    if old.get("immutable"):
        if new.get("immutable") is not True:
            errors.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        if (new.get("data") or {}) != (old.get("data") or {}):
            errors.append(forbidden("data", "field is immutable when `immutable` is set"))
    return errors


# --- services ----------------------------------------------------------------------------------
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def default_service(svc: JSON) -> None:
    spec = svc.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or ():
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    svc["status"] = {"loadBalancer": {}}


def validate_service(svc: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        errors.append(not_supported("spec.type", kind, SERVICE_TYPES))
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        number = port.get("port")
        if number is None:
            errors.append(required(f"spec.ports[{i}].port"))
        elif not 1 <= int(number) <= 65535:
            errors.append(invalid(f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive"))
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errors.append(required(f"spec.ports[{i}].name"))
        if name:
            for msg in dns_label_errors(name):
                errors.append(invalid(f"spec.ports[{i}].name", name, msg))
            if name in names:
                errors.append(invalid(f"spec.ports[{i}].name", name, "duplicate"))
            names.add(name)
    if kind == "ExternalName" and not spec.get("externalName"):
        errors.append(required("spec.externalName"))
    errors += validation.labels_errors(spec.get("selector"), "spec.selector")
    return errors


def validate_service_update(new: JSON, old: JSON) -> list[FieldError]:
    errors = validate_service(new)
    old_ip = (old.get("spec") or {}).get("clusterIP")
    new_ip = (new.get("spec") or {}).get("clusterIP")
    if old_ip and new_ip != old_ip and (new.get("spec") or {}).get("type") != "ExternalName":
        errors.append(invalid("spec.clusterIPs[0]", new_ip or "", "may not change once set"))
    return errors


# --- apps/v1 deployments -----------------------------------------------------------------------
def default_deployment(deploy: JSON) -> None:
    spec = deploy.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    template = spec.setdefault("template", {})
    default_pod_template_spec(template.setdefault("spec", {}))
    deploy.pop("status", None)
    deploy["metadata"]["generation"] = 1


def _selector_matches(selector: JSON, labels: JSON) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not ok:
            return False
    return True


def validate_deployment(deploy: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = deploy.get("spec") or {}
    replicas = spec.get("replicas")
    if replicas is not None and int(replicas) < 0:
        errors.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(required("spec.selector"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.append(invalid("spec.selector", selector, "empty selector is invalid for deployment"))
    elif not _selector_matches(selector, labels):
        errors.append(
            invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    errors += validation.labels_errors(labels, "spec.template.metadata.labels")
    errors += validation.pod_spec_errors(template.get("spec") or {}, "spec.template.spec")
    restart = (template.get("spec") or {}).get("restartPolicy")
    if restart and restart != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", restart, ("Always",)))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") not in (None, "RollingUpdate", "Recreate"):
        errors.append(
            not_supported("spec.strategy.type", strategy.get("type"), ("Recreate", "RollingUpdate"))
        )
    return errors


def validate_deployment_update(new: JSON, old: JSON) -> list[FieldError]:
    errors = validate_deployment(new)
    if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        errors.append(invalid("spec.selector", (new.get("spec") or {}).get("selector"), "field is immutable"))
    return errors


# --- persistentvolumeclaims --------------------------------------------------------------------
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def default_pvc(pvc: JSON) -> None:
    pvc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    pvc["status"] = {"phase": "Pending"}


def validate_pvc(pvc: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = pvc.get("spec") or {}
    modes = spec.get("accessModes") or []
    if not modes:
        errors.append(required("spec.accessModes"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            errors.append(not_supported("spec.accessModes", mode, ACCESS_MODES))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        errors.append(required("spec.resources[storage]"))
    return errors


# --- small kinds -------------------------------------------------------------------------------
def validate_lease(lease: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = lease.get("spec") or {}
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and int(duration) <= 0:
        errors.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and int(transitions) < 0:
        errors.append(invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    return errors


def validate_event(event: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    involved = event.get("involvedObject") or {}
    ns = event["metadata"].get("namespace") or ""
    if involved.get("namespace") and involved["namespace"] != ns:
        errors.append(
            invalid("involvedObject.namespace", involved["namespace"], "does not match event.namespace")
        )
    return errors


def validate_role(role: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, rule in enumerate(role.get("rules") or ()):
        if not (rule or {}).get("verbs"):
            errors.append(required(f"rules[{i}].verbs", "verbs must contain at least one value"))
        if not rule.get("nonResourceURLs") and not rule.get("resources") and role.get("kind") == "Role":
            errors.append(
                required(f"rules[{i}].resources", "resource rules must supply at least one resource")
            )
    return errors


def validate_rolebinding(binding: JSON) -> list[FieldError]:
    errors: list[FieldError] = []
    ref = binding.get("roleRef") or {}
    if ref.get("apiGroup") != "rbac.authorization.k8s.io":
        errors.append(
            not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), ("rbac.authorization.k8s.io",))
        )
    allowed = ("ClusterRole",) if binding.get("kind") == "ClusterRoleBinding" else ("ClusterRole", "Role")
    if ref.get("kind") not in allowed:
        errors.append(not_supported("roleRef.kind", ref.get("kind", ""), allowed))
    if not ref.get("name"):
        errors.append(required("roleRef.name"))
    for i, subject in enumerate(binding.get("subjects") or ()):
        kind = (subject or {}).get("kind")
        if kind not in ("Group", "ServiceAccount", "User"):
            errors.append(
                not_supported(f"subjects[{i}].kind", kind or "", ("Group", "ServiceAccount", "User"))
            )
        if not (subject or {}).get("name"):
            errors.append(required(f"subjects[{i}].name"))
    return errors


def validate_rolebinding_update(new: JSON, old: JSON) -> list[FieldError]:
    errors = validate_rolebinding(new)
    if new.get("roleRef") != old.get("roleRef"):
        errors.append(invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))
    return errors
