"""The API server's pod defaulting, applied on pod CREATE (and by the kubelet to static pods).

What a v1.32 kube-apiserver adds to a pod before storing it, in the order it does it:
the scheme defaults of k8s.io/kubernetes/pkg/apis/core/v1/defaults.go (SetDefaults_Pod,
SetDefaults_PodSpec, SetDefaults_Container, volume and probe defaults, requests defaulted from
limits, quantities canonicalised), then the admission plugins that mutate pods:
ServiceAccount (``serviceAccountName: default`` and the ``kube-api-access-xxxxx`` projected
token volume, mounted in every container), DefaultTolerationSeconds (not-ready / unreachable
NoExecute for 300s), Priority (``priority`` and ``preemptionPolicy`` from the priority class),
and finally the status the pod strategy resets on create: ``{phase: Pending, qosClass: ...}``.

Mirror pods (annotation ``kubernetes.io/config.mirror``) skip the ServiceAccount plugin, exactly
as the real plugin does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from podbot.sim.images.reference import InvalidReference, parse_reference
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.quantity import Quantity, QuantityError, canonical, milli_of, units_of

JSON = dict[str, Any]

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - a path
TOKEN_VOLUME_PREFIX = "kube-api-access-"  # noqa: S105 - a volume name
# Bound service account tokens are issued for one hour plus seven seconds (the "warn only" TTL).
TOKEN_EXPIRATION_SECONDS = 3607
DEFAULT_TOLERATION_SECONDS = 300

# The built-in priority classes every cluster has (pkg/apis/scheduling).
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}

# names.SimpleNameGenerator: 5 characters without vowels or look-alikes.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_rng = random.Random()

_DECODE_ERROR_PREFIX = 'Pod in version "v1" cannot be handled as a Pod: '


def generate_suffix(rng: random.Random | None = None) -> str:
    chooser = rng or _rng
    return "".join(chooser.choice(_NAME_ALPHABET) for _ in range(5))


def is_mirror_pod(pod: JSON) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def all_containers(spec: JSON) -> Iterator[JSON]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def is_restartable_init(container: JSON) -> bool:
    """A sidecar: an init container with ``restartPolicy: Always``."""
    return container.get("restartPolicy") == "Always"


def default_pod(pod: JSON, *, service_account: JSON | None = None) -> None:
    """Apply the API server's create-time defaults to ``pod`` in place.

    ``service_account`` is the pod's ServiceAccount object when the caller can look it up: its
    ``imagePullSecrets`` are copied to a pod that names none and its
    ``automountServiceAccountToken: false`` is honoured, as the admission plugin does.
    """
    spec = pod.setdefault("spec", {})
    name = (pod.get("metadata") or {}).get("name") or (pod.get("metadata") or {}).get("generateName", "")
    try:
        _scheme_defaults(spec)
    except QuantityError as err:
        raise SimApiError(400, "BadRequest", _DECODE_ERROR_PREFIX + str(err)) from None
    if not is_mirror_pod(pod):
        _service_account_admission(spec, service_account)
    _default_toleration_seconds(spec)
    _priority_admission(spec, name)
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


# --- scheme defaults (pkg/apis/core/v1/defaults.go) -------------------------------------------
def _scheme_defaults(spec: JSON) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for container in all_containers(spec):
        _container_defaults(container)
    if spec.get("hostNetwork"):
        for container in all_containers(spec):
            for port in container.get("ports") or []:
                if not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")
    for volume in spec.get("volumes") or []:
        _volume_defaults(volume)


def _container_defaults(container: JSON) -> None:
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = (
            "Always" if image_tag_for_policy(container.get("image", "")) == "latest" else "IfNotPresent"
        )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = container["resources"] = {}
    limits = resources.get("limits")
    if limits:
        requests = resources.setdefault("requests", {})
        for key, val in limits.items():
            requests.setdefault(key, val)
    for key in ("limits", "requests"):
        if resources.get(key):
            resources[key] = {name: canonical(val) for name, val in resources[key].items()}
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_key)
        if isinstance(probe, dict):
            _probe_defaults(probe)
    lifecycle = container.get("lifecycle") or {}
    for hook in lifecycle.values():
        if isinstance(hook, dict) and isinstance(hook.get("httpGet"), dict):
            hook["httpGet"].setdefault("path", "/")
            hook["httpGet"].setdefault("scheme", "HTTP")


def _probe_defaults(probe: JSON) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
    "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
    "image",
)  # fmt: skip


def _volume_defaults(volume: JSON) -> None:
    if not any(key in volume for key in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        source = volume.get(key)
        if isinstance(source, dict):
            source.setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    for projection in (volume.get("projected") or {}).get("sources") or []:
        token = projection.get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
    for item in (volume.get("downwardAPI") or {}).get("items") or []:
        if isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")


def image_tag_for_policy(image: str) -> str:
    """The tag ParseImageName reports: ``latest`` for no tag and no digest, "" on parse errors."""
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return ""
    if ref.tag is None and ref.digest is None:
        return "latest"
    return ref.tag or ""


# --- admission plugins -----------------------------------------------------------------------
def _service_account_admission(spec: JSON, service_account: JSON | None) -> None:
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    # The deprecated alias is kept equal to the real field (the conversion does this).
    spec["serviceAccount"] = spec["serviceAccountName"]
    automount = spec.get("automountServiceAccountToken")
    if automount is None and service_account is not None:
        automount = service_account.get("automountServiceAccountToken")
    if automount is not False:
        _mount_token(spec)
    if not spec.get("imagePullSecrets") and service_account is not None:
        secrets = [
            {"name": ref["name"]} for ref in service_account.get("imagePullSecrets") or [] if ref.get("name")
        ]
        if secrets:
            spec["imagePullSecrets"] = secrets


def _mount_token(spec: JSON) -> None:
    volumes = spec.setdefault("volumes", [])
    existing = next(
        (v["name"] for v in volumes if str(v.get("name", "")).startswith(TOKEN_VOLUME_PREFIX)), None
    )
    volume_name = existing or TOKEN_VOLUME_PREFIX + generate_suffix()
    mount = {"mountPath": TOKEN_MOUNT_PATH, "name": volume_name, "readOnly": True}
    needs_volume = False
    for container in all_containers(spec):
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
            mounts.append(dict(mount))
            needs_volume = True
    if needs_volume and existing is None:
        volumes.append(
            {
                "name": volume_name,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                "path": "token",
                            }
                        },
                        {
                            "configMap": {
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                "name": "kube-root-ca.crt",
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace",
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        )
    if not volumes:
        del spec["volumes"]


def _default_toleration_seconds(spec: JSON) -> None:
    tolerations = spec.get("tolerations") or []
    tolerates = {"node.kubernetes.io/not-ready": False, "node.kubernetes.io/unreachable": False}
    for toleration in tolerations:
        key, effect = toleration.get("key", ""), toleration.get("effect", "")
        for taint in tolerates:
            if key in (taint, "") and effect in ("NoExecute", ""):
                tolerates[taint] = True
    for taint, tolerated in tolerates.items():
        if not tolerated:
            tolerations.append(
                {
                    "effect": "NoExecute",
                    "key": taint,
                    "operator": "Exists",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    if tolerations:
        spec["tolerations"] = tolerations


def _priority_admission(spec: JSON, pod_name: str) -> None:
    class_name = spec.get("priorityClassName")
    if class_name:
        if class_name not in SYSTEM_PRIORITY_CLASSES:
            raise SimApiError(
                403,
                "Forbidden",
                f'pods "{pod_name}" is forbidden: no PriorityClass with name {class_name} was found',
                {"name": pod_name, "kind": "pods"},
            )
        priority = SYSTEM_PRIORITY_CLASSES[class_name]
    else:
        priority = 0
    given = spec.get("priority")
    if given is not None and given != priority:
        raise SimApiError(
            403,
            "Forbidden",
            f'pods "{pod_name}" is forbidden: the integer value of priority ({given}) must not be '
            f"provided in pod spec; priority admission controller computed {priority} from the given "
            "PriorityClass name",
            {"name": pod_name, "kind": "pods"},
        )
    spec["priority"] = priority
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


# --- QoS class (pkg/apis/core/helper/qos) ----------------------------------------------------
def qos_class(spec: JSON) -> str:
    """BestEffort, Burstable or Guaranteed, computed like ComputePodQOS."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in all_containers(spec):
        resources = container.get("resources") or {}
        for name, raw in (resources.get("requests") or {}).items():
            if name not in ("cpu", "memory"):
                continue
            amount = Quantity.parse(raw).value
            if amount > 0:
                requests[name] = requests.get(name, Fraction(0)) + amount
        found: set[str] = set()
        for name, raw in (resources.get("limits") or {}).items():
            if name not in ("cpu", "memory"):
                continue
            amount = Quantity.parse(raw).value
            if amount > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + amount
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if (
        guaranteed
        and all(limits.get(name) == amount for name, amount in requests.items())
        and len(requests) == len(limits)
    ):
        return "Guaranteed"
    return "Burstable"


def pod_requests(spec: JSON) -> tuple[int, int]:
    """(milli-CPU, memory bytes) the scheduler accounts for: max(sum of app, any init) + sidecars."""
    sidecar_cpu = sidecar_mem = 0
    init_cpu = init_mem = 0
    for container in spec.get("initContainers") or []:
        cpu, mem = _container_requests(container)
        if is_restartable_init(container):
            sidecar_cpu += cpu
            sidecar_mem += mem
        else:
            init_cpu = max(init_cpu, sidecar_cpu + cpu)
            init_mem = max(init_mem, sidecar_mem + mem)
    app_cpu = sidecar_cpu + sum(_container_requests(c)[0] for c in spec.get("containers") or [])
    app_mem = sidecar_mem + sum(_container_requests(c)[1] for c in spec.get("containers") or [])
    return max(app_cpu, init_cpu), max(app_mem, init_mem)


def _container_requests(container: JSON) -> tuple[int, int]:
    requests = (container.get("resources") or {}).get("requests") or {}
    cpu = milli_of(requests["cpu"]) if "cpu" in requests else 0
    mem = units_of(requests["memory"]) if "memory" in requests else 0
    return cpu, mem
