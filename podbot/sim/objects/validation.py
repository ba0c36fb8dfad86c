"""Validation the way the API server words it: names, labels, object metadata and pod specs.

Ports of the parts of k8s.io/apimachinery/pkg/util/validation, apimachinery's ValidateObjectMeta
and pkg/apis/core/validation that podbot's users meet: the messages match the real ones so the
simulator teaches the same errors a real cluster would show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from podbot.sim.objects.apierrors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
    too_long,
)
from podbot.sim.objects.selectors import DNS_SUBDOMAIN_MSG, label_value_errors, qualified_name_errors

JSON = dict[str, Any]

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")

DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
TOTAL_ANNOTATION_SIZE = 256 * 1024


# --- names -------------------------------------------------------------------------------------
def dns_subdomain_errors(name: str) -> list[str]:
    errors = []
    if len(name) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS_SUBDOMAIN.match(name):
        errors.append(DNS_SUBDOMAIN_MSG)
    return errors


def dns_label_errors(name: str) -> list[str]:
    errors = []
    if len(name) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS_LABEL.match(name):
        errors.append(DNS_LABEL_MSG)
    return errors


def dns1035_label_errors(name: str) -> list[str]:
    errors = []
    if len(name) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1035_LABEL.match(name):
        errors.append(DNS1035_LABEL_MSG)
    return errors


def path_segment_errors(name: str) -> list[str]:
    """path.IsValidPathSegmentName (RBAC object names)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def config_key_errors(key: str) -> list[str]:
    errors = []
    if len(key) > 253:
        errors.append("must be no more than 253 characters")
    if not _CONFIG_KEY.match(key):
        errors.append(CONFIG_KEY_MSG)
    if key in (".", ".."):
        errors.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errors.append("must not start with '..'")
    return errors


NameCheck = Callable[[str], list[str]]


# --- metadata ----------------------------------------------------------------------------------
def labels_errors(labels: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(labels, Mapping):
        return errors
    for key, value in labels.items():
        for msg in qualified_name_errors(str(key)):
            errors.append(invalid(path, key, msg))
        for msg in label_value_errors(str(value)):
            errors.append(invalid(f"{path}", value, msg))
    return errors


def annotations_errors(annotations: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(annotations, Mapping):
        return errors
    total = 0
    for key, value in annotations.items():
        total += len(str(key)) + len(str(value))
        for msg in qualified_name_errors(str(key).lower()):
            errors.append(invalid(path, key, msg))
    if total > TOTAL_ANNOTATION_SIZE:
        errors.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errors


def object_meta_errors(meta: JSON, namespaced: bool, name_check: NameCheck) -> list[FieldError]:
    """ValidateObjectMeta on create (the namespace has been set from the URL already)."""
    errors: list[FieldError] = []
    name = meta.get("name") or ""
    generate = meta.get("generateName") or ""
    if generate:
        for msg in name_check(generate.rstrip("-") or generate):
            errors.append(invalid("metadata.generateName", generate, msg))
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        for msg in name_check(name):
            errors.append(invalid("metadata.name", name, msg))
    if namespaced:
        ns = meta.get("namespace") or ""
        if not ns:
            errors.append(required("metadata.namespace"))
        else:
            for msg in dns_label_errors(ns):
                errors.append(invalid("metadata.namespace", ns, msg))
    elif meta.get("namespace"):
        errors.append(forbidden("metadata.namespace", "not allowed on this type"))
    errors += labels_errors(meta.get("labels"), "metadata.labels")
    errors += annotations_errors(meta.get("annotations"), "metadata.annotations")
    for i, ref in enumerate(meta.get("ownerReferences") or ()):
        for key in ("apiVersion", "kind", "name", "uid"):
            if not (ref or {}).get(key):
                errors.append(
                    invalid(
                        f"metadata.ownerReferences[{i}].{key}",
                        (ref or {}).get(key, ""),
                        f"{key} must not be empty",
                    )
                )
    return errors


def object_meta_update_errors(new: JSON, old: JSON) -> list[FieldError]:
    """ValidateObjectMetaUpdate: identity fields are immutable."""
    errors: list[FieldError] = []
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if (new.get(key) or "") != (old.get(key) or ""):
            errors.append(invalid(f"metadata.{key}", new.get(key) or "", "field is immutable"))
    if old.get("generateName") and new.get("generateName") != old.get("generateName"):
        errors.append(invalid("metadata.generateName", new.get("generateName") or "", "field is immutable"))
    if old.get("deletionTimestamp"):
        added = [f for f in new.get("finalizers") or () if f not in (old.get("finalizers") or ())]
        if added:
            errors.append(
                forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {go_list(added)}",
                )
            )
    errors += labels_errors(new.get("labels"), "metadata.labels")
    errors += annotations_errors(new.get("annotations"), "metadata.annotations")
    return errors


# --- pod spec ----------------------------------------------------------------------------------
RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")


def _container_errors(
    container: JSON, path: str, volumes: set[str], names: set[str], init: bool
) -> list[FieldError]:
    errors: list[FieldError] = []
    name = container.get("name") or ""
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        for msg in dns_label_errors(name):
            errors.append(invalid(f"{path}.name", name, msg))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        names.add(name)
    image = container.get("image")
    if not image or not str(image).strip():
        errors.append(required(f"{path}.image"))
    elif str(image) != str(image).strip():
        errors.append(invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    policy = container.get("imagePullPolicy")
    if policy and policy not in PULL_POLICIES:
        errors.append(not_supported(f"{path}.imagePullPolicy", policy, PULL_POLICIES))
    restart = container.get("restartPolicy")
    if restart is not None:
        if not init:
            errors.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
        elif restart != "Always":
            errors.append(not_supported(f"{path}.restartPolicy", restart, ("Always",)))
    port_names: set[str] = set()
    for i, port in enumerate(container.get("ports") or ()):
        ppath = f"{path}.ports[{i}]"
        number = port.get("containerPort")
        if number is None or number == 0:
            errors.append(required(f"{ppath}.containerPort"))
        elif not 1 <= int(number) <= 65535:
            errors.append(invalid(f"{ppath}.containerPort", number, "must be between 1 and 65535, inclusive"))
        host_port = port.get("hostPort")
        if host_port and not 1 <= int(host_port) <= 65535:
            errors.append(invalid(f"{ppath}.hostPort", host_port, "must be between 1 and 65535, inclusive"))
        protocol = port.get("protocol")
        if protocol and protocol not in PROTOCOLS:
            errors.append(not_supported(f"{ppath}.protocol", protocol, PROTOCOLS))
        port_name = port.get("name")
        if port_name:
            if len(port_name) > 15:
                errors.append(invalid(f"{ppath}.name", port_name, "must be no more than 15 characters"))
            elif not _IANA_SVC_NAME.match(port_name) or not re.search("[a-z]", port_name):
                errors.append(
                    invalid(
                        f"{ppath}.name",
                        port_name,
                        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                    )
                )
            elif port_name in port_names:
                errors.append(duplicate(f"{ppath}.name", port_name))
            port_names.add(port_name)
    for i, env in enumerate(container.get("env") or ()):
        if not (env or {}).get("name"):
            errors.append(required(f"{path}.env[{i}].name"))
    for i, mount in enumerate(container.get("volumeMounts") or ()):
        mpath = f"{path}.volumeMounts[{i}]"
        vol = (mount or {}).get("name") or ""
        if not vol:
            errors.append(required(f"{mpath}.name"))
        elif vol not in volumes:
            errors.append(not_found(f"{mpath}.name", vol))
        if not (mount or {}).get("mountPath"):
            errors.append(required(f"{mpath}.mountPath"))
    return errors


def pod_spec_errors(spec: JSON, path: str = "spec") -> list[FieldError]:
    """ValidatePodSpec, the commonly met subset."""
    errors: list[FieldError] = []
    volumes: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or ()):
        vname = (volume or {}).get("name") or ""
        vpath = f"{path}.volumes[{i}].name"
        if not vname:
            errors.append(required(vpath))
        else:
            for msg in dns_label_errors(vname):
                errors.append(invalid(vpath, vname, msg))
            if vname in volumes:
                errors.append(duplicate(vpath, vname))
            volumes.add(vname)
    names: set[str] = set()
    for i, container in enumerate(spec.get("initContainers") or ()):
        errors += _container_errors(container or {}, f"{path}.initContainers[{i}]", volumes, names, True)
    containers = spec.get("containers") or []
    if not containers:
        errors.append(required(f"{path}.containers"))
    for i, container in enumerate(containers):
        errors += _container_errors(container or {}, f"{path}.containers[{i}]", volumes, names, False)
    restart = spec.get("restartPolicy")
    if restart is not None and restart not in RESTART_POLICIES:
        errors.append(not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        errors.append(not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and int(deadline) <= 0:
        errors.append(
            invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive")
        )
    node = spec.get("nodeName")
    if node:
        for msg in dns_subdomain_errors(node):
            errors.append(invalid(f"{path}.nodeName", node, msg))
    sa = spec.get("serviceAccountName")
    if sa:
        for msg in dns_subdomain_errors(sa):
            errors.append(invalid(f"{path}.serviceAccountName", sa, msg))
    errors += labels_errors(spec.get("nodeSelector"), f"{path}.nodeSelector")
    for i, secret in enumerate(spec.get("imagePullSecrets") or ()):
        if not (secret or {}).get("name"):
            errors.append(required(f"{path}.imagePullSecrets[{i}].name"))
    return errors


POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
    "previously negative)"
)


def go_list(values: list[str]) -> str:
    """Go's %#v of a []string."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _go_field(name: str) -> str:
    return name[:1].upper() + name[1:]


def _spec_diff(old: JSON, new: JSON) -> str:
    """A short cmp.Diff-like rendering of which PodSpec fields differ (the real message has one)."""
    lines = ["  core.PodSpec{"]
    same = 0
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            same += 1
            continue
        if key in old:
            lines.append(f"- \t{_go_field(key)}: {_short(old[key])},")
        if key in new:
            lines.append(f"+ \t{_go_field(key)}: {_short(new[key])},")
    if same:
        lines.append(f"  \t... // {same} identical fields")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def pod_update_errors(new_spec: JSON, old_spec: JSON) -> list[FieldError]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, added tolerations may change."""
    mutable = dict(old_spec)
    for key in ("containers", "initContainers"):
        old_list = old_spec.get(key) or []
        new_list = new_spec.get(key) or []
        if old_list and len(old_list) == len(new_list):
            mutable[key] = [
                {**o, "image": n.get("image", o.get("image"))}
                for o, n in zip(old_list, new_list, strict=True)
            ]
    errors: list[FieldError] = []
    deadline_new, deadline_old = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if deadline_new != deadline_old:
        if deadline_new is None or (deadline_old is not None and int(deadline_new) > int(deadline_old)):
            errors.append(
                invalid(
                    "spec.activeDeadlineSeconds", deadline_new, "must be less than or equal to previous value"
                )
                if deadline_new is not None
                else invalid(
                    "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
                )
            )
        mutable["activeDeadlineSeconds"] = deadline_new
    old_tol = old_spec.get("tolerations") or []
    new_tol = new_spec.get("tolerations") or []
    if all(t in new_tol for t in old_tol):
        mutable["tolerations"] = new_spec.get("tolerations")
        if "tolerations" not in new_spec:
            mutable.pop("tolerations", None)
    grace_old = old_spec.get("terminationGracePeriodSeconds")
    if grace_old is not None and int(grace_old) < 0 and new_spec.get("terminationGracePeriodSeconds") == 1:
        mutable["terminationGracePeriodSeconds"] = 1
    if mutable != new_spec:
        errors.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + _spec_diff(mutable, new_spec)))
    return errors
