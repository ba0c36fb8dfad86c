"""What the kubelet reads from the API before it starts a container: its environment and the
pod's image pull credentials.

Environment variables come from ``env`` (``$(VAR)`` expanded), ``envFrom`` and ``valueFrom``
(fieldRef, secretKeyRef, configMapKeyRef); a missing Secret/ConfigMap or key that is not
optional is the kubelet's CreateContainerConfigError with its real message. Pull credentials come
from the pod's ``imagePullSecrets`` and its service account's, read from the store on every pull
attempt, so a secret created later is used by the next attempt.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podbot.sim.behaviours.catalog import default_env
from podbot.sim.images.credentials import Credential, credentials_from_secret
from podbot.sim.objects.store import NotFoundError, ObjectStore

JSON = dict[str, Any]


@dataclass(frozen=True)
class PodFacts:
    """The pod fields downward-API references (fieldRef) can read."""

    name: str
    namespace: str
    uid: str
    node: str
    service_account: str
    pod_ip: str
    host_ip: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    def field(self, path: str) -> str:
        for prefix, section in (
            ("metadata.labels['", self.labels),
            ("metadata.annotations['", self.annotations),
        ):
            if path.startswith(prefix):
                return str(section.get(path[len(prefix) :].rstrip("']"), ""))
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "metadata.uid": self.uid,
            "spec.nodeName": self.node,
            "spec.serviceAccountName": self.service_account,
            "status.podIP": self.pod_ip,
            "status.hostIP": self.host_ip,
        }.get(path, "")


def _config_object(
    store: ObjectStore, namespace: str, kind: str, name: str, optional: bool
) -> tuple[dict[str, str] | None, str | None]:
    resource = "secrets" if kind == "Secret" else "configmaps"
    try:
        obj = store.get(resource, namespace, name).load()
    except NotFoundError:
        if optional:
            return None, None
        return None, f'{kind.lower()} "{name}" not found'
    if kind == "Secret":
        data = {}
        for key, value in (obj.get("data") or {}).items():
            try:
                data[key] = base64.b64decode(value).decode(errors="replace")
            except (binascii.Error, ValueError):
                data[key] = ""
        data.update(obj.get("stringData") or {})
        return data, None
    return {k: str(v) for k, v in (obj.get("data") or {}).items()}, None


def expand(value: str, env: Mapping[str, str]) -> str:
    """$(VAR) references to earlier variables, as the kubelet expands them ($$ escapes)."""
    out = []
    i = 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i) and ")" in value[i:]:
            end = value.index(")", i)
            out.append(env.get(value[i + 2 : end], value[i : end + 1]))
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def container_environment(
    store: ObjectStore, container: JSON, pod: PodFacts
) -> tuple[dict[str, str], str | None]:
    """(environment, None), or (partial environment, CreateContainerConfigError message)."""
    env = default_env(pod.name)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = source.get(key)
            if not isinstance(ref, dict):
                continue
            data, error = _config_object(
                store, pod.namespace, kind, ref.get("name", ""), bool(ref.get("optional"))
            )
            if error:
                return env, error
            env.update({prefix + k: v for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        name = var.get("name", "")
        source = var.get("valueFrom")
        if not source:
            env[name] = expand(str(var.get("value", "")), env)
        elif "fieldRef" in source:
            env[name] = pod.field(source["fieldRef"].get("fieldPath", ""))
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            kind = "Secret" if "secretKeyRef" in source else "ConfigMap"
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef") or {}
            optional = bool(ref.get("optional"))
            data, error = _config_object(store, pod.namespace, kind, ref.get("name", ""), optional)
            if error:
                return env, error
            key = ref.get("key", "")
            if data is not None and key in data:
                env[name] = data[key]
            elif data is not None and not optional:
                return env, f"couldn't find key {key} in {kind} {pod.namespace}/{ref.get('name', '')}"
        else:
            env[name] = ""
    return env, None


def pull_credentials(store: ObjectStore, namespace: str, spec: JSON) -> tuple[list[Credential], list[str]]:
    """Credentials from the pod's own pull secrets, and the secrets missing.

    Only the pod's list counts, as the kubelet's ``getPullSecretsForPod``: a ServiceAccount's
    ``imagePullSecrets`` reach a pod when it is created (the admission plugin copies them), so
    adding one to the account later does nothing for a pod that exists."""
    names = [ref.get("name", "") for ref in spec.get("imagePullSecrets") or []]
    credentials: list[Credential] = []
    missing = []
    for name in names:
        try:
            secret = store.get("secrets", namespace, name).load()
        except NotFoundError:
            missing.append(name)
            continue
        credentials.extend(credentials_from_secret(secret))
    return credentials, missing


def missing_volume_sources(store: ObjectStore, namespace: str, spec: JSON) -> list[tuple[str, str, str]]:
    """(volume, kind, name) of Secret/ConfigMap volumes whose object is missing (FailedMount)."""
    missing = []
    for volume in spec.get("volumes") or []:
        for key, resource, kind, name_key in (
            ("secret", "secrets", "secret", "secretName"),
            ("configMap", "configmaps", "configmap", "name"),
        ):
            source = volume.get(key)
            if not isinstance(source, dict) or source.get("optional"):
                continue
            name = source.get(name_key, "")
            try:
                store.get(resource, namespace, name)
            except NotFoundError:
                missing.append((str(volume.get("name", "")), kind, name))
    return missing
