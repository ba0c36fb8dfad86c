"""The API server's pod defaulting (podbot.sim.objects.podspec), quantities and QoS classes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.podspec import default_pod, pod_requests, qos_class
from podbot.sim.objects.quantity import QuantityError, canonical

JSON = dict[str, Any]


def _pod(**spec: Any) -> JSON:
    base: JSON = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "default"}}
    base["spec"] = {"containers": [{"name": "nginx", "image": "nginx:1.16"}], **spec}
    return base


def test_kubectl_run_pod_gets_the_defaults_a_real_api_server_adds() -> None:
    pod = _pod()
    default_pod(pod)
    spec = pod["spec"]
    container = spec["containers"][0]
    token_volume = spec["volumes"][0]["name"]
    assert token_volume.startswith("kube-api-access-") and len(token_volume) == len("kube-api-access-") + 5
    assert container == {
        "name": "nginx",
        "image": "nginx:1.16",
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": token_volume,
                "readOnly": True,
            }
        ],
    }
    assert {k: v for k, v in spec.items() if k not in ("containers", "volumes")} == {
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
    }
    assert spec["volumes"][0]["projected"] == {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
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
    }
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("10.0.0.130:5000/nginx:latest", "Always"),
        ("10.0.0.130:5000/nginx", "Always"),
        ("nginx:1.16", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("Not A Valid Image", "IfNotPresent"),  # ParseImageName fails: no tag, so not "latest"
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    pod = _pod(containers=[{"name": "c", "image": image}])
    default_pod(pod)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_kept_and_ports_get_tcp() -> None:
    pod = _pod(
        restartPolicy="Never",
        terminationGracePeriodSeconds=5,
        containers=[
            {
                "name": "c",
                "image": "nginx",
                "imagePullPolicy": "Never",
                "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
            }
        ],
    )
    default_pod(pod)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["terminationGracePeriodSeconds"] == 5
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"},
        {"containerPort": 53, "protocol": "UDP"},
    ]


def test_init_containers_are_defaulted_and_mounted_too() -> None:
    pod = _pod(initContainers=[{"name": "init", "image": "busybox"}])
    default_pod(pod)
    init = pod["spec"]["initContainers"][0]
    assert init["imagePullPolicy"] == "Always"
    assert init["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"


def test_automount_false_on_the_pod_or_its_service_account_skips_the_token_volume() -> None:
    pod = _pod(automountServiceAccountToken=False)
    default_pod(pod)
    assert "volumes" not in pod["spec"]
    assert "volumeMounts" not in pod["spec"]["containers"][0]
    pod = _pod()
    default_pod(pod, service_account={"automountServiceAccountToken": False})
    assert "volumes" not in pod["spec"]


def test_service_account_image_pull_secrets_are_copied_only_when_the_pod_has_none() -> None:
    account = {"imagePullSecrets": [{"name": "regcred"}]}
    pod = _pod()
    default_pod(pod, service_account=account)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    pod = _pod(imagePullSecrets=[{"name": "myregistrykey"}])
    default_pod(pod, service_account=account)
    assert pod["spec"]["imagePullSecrets"] == [{"name": "myregistrykey"}]


def test_tolerations_already_covering_not_ready_are_not_duplicated() -> None:
    pod = _pod(tolerations=[{"operator": "Exists"}])  # tolerates everything
    default_pod(pod)
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]
    pod = _pod(
        tolerations=[
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            }
        ]
    )
    default_pod(pod)
    keys = [t["key"] for t in pod["spec"]["tolerations"]]
    assert keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert pod["spec"]["tolerations"][0]["tolerationSeconds"] == 60


def test_mirror_pods_skip_the_service_account_plugin_and_get_system_priority() -> None:
    pod = _pod(
        priorityClassName="system-node-critical",
        priority=2000001000,
        hostNetwork=True,
        tolerations=[{"effect": "NoExecute", "operator": "Exists"}],
        containers=[
            {"name": "etcd", "image": "registry.k8s.io/etcd:3.5.16-0", "ports": [{"containerPort": 2379}]}
        ],
    )
    pod["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    default_pod(pod)
    spec = pod["spec"]
    assert "serviceAccountName" not in spec and "volumes" not in spec
    assert spec["priority"] == 2000001000
    assert spec["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
    assert spec["containers"][0]["ports"] == [{"containerPort": 2379, "hostPort": 2379, "protocol": "TCP"}]


def test_priority_admission_errors_are_forbidden() -> None:
    with pytest.raises(SimApiError) as err:
        default_pod(_pod(priorityClassName="gold"))
    assert err.value.code == 403
    assert err.value.message == 'pods "nginx" is forbidden: no PriorityClass with name gold was found'
    with pytest.raises(SimApiError) as err:
        default_pod(_pod(priority=7))
    assert "the integer value of priority (7) must not be provided in pod spec" in err.value.message


def test_bad_quantity_is_a_decode_error() -> None:
    pod = _pod(containers=[{"name": "c", "image": "nginx", "resources": {"limits": {"cpu": "lots"}}}])
    before = copy.deepcopy(pod)
    with pytest.raises(SimApiError) as err:
        default_pod(pod)
    assert err.value.code == 400
    assert err.value.message.startswith(
        'Pod in version "v1" cannot be handled as a Pod: quantities must match'
    )
    assert before["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "lots"}}


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("1000m", "1"),
        ("2000", "2k"),
        ("1500", "1500"),
        ("1e3", "1e3"),
        ("128Mi", "128Mi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("1000Mi", "1000Mi"),
        ("0.1Gi", "107374182400m"),
        ("1G", "1G"),
        ("100M", "100M"),
        ("0.0001", "1m"),
        (2, "2"),
        (0.25, "250m"),
        ("512", "512"),
    ],
)
def test_quantities_are_stored_in_canonical_form(given: str | int | float, stored: str) -> None:
    assert canonical(given) == stored


@pytest.mark.parametrize("bad", ["", "1.2.3", "10 Mi", "Mi", "abc", "1KB"])
def test_invalid_quantities_are_rejected(bad: str) -> None:
    with pytest.raises(QuantityError):
        canonical(bad)


def _resources(requests: JSON | None = None, limits: JSON | None = None) -> JSON:
    resources: JSON = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "nginx", "resources": resources}


@pytest.mark.parametrize(
    ("containers", "init", "expected"),
    [
        ([_resources()], [], "BestEffort"),
        ([_resources(requests={"cpu": "100m"})], [], "Burstable"),
        ([_resources(limits={"cpu": "1", "memory": "1Gi"})], [], "Guaranteed"),  # requests default to limits
        (
            [_resources(requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "1", "memory": "1Gi"})],
            [],
            "Burstable",
        ),
        ([_resources(limits={"cpu": "1"})], [], "Burstable"),
        ([_resources(limits={"cpu": "1", "memory": "1Gi"}), _resources()], [], "Burstable"),
        (
            [_resources(limits={"cpu": "1", "memory": "1Gi"})],
            [_resources(limits={"cpu": "1", "memory": "1Gi"})],
            "Guaranteed",
        ),
        ([_resources(limits={"cpu": "1", "memory": "1Gi"})], [_resources()], "Burstable"),
        ([_resources(requests={"ephemeral-storage": "1Gi"})], [], "BestEffort"),
        ([_resources(requests={"cpu": "0"})], [], "BestEffort"),
    ],
)
def test_qos_class(containers: list[JSON], init: list[JSON], expected: str) -> None:
    pod = _pod(containers=copy.deepcopy(containers), initContainers=copy.deepcopy(init))
    default_pod(pod)
    assert pod["status"]["qosClass"] == expected
    assert qos_class(pod["spec"]) == expected


def test_limits_become_requests_and_are_canonicalised() -> None:
    pod = _pod(containers=[_resources(requests={"cpu": "0.25"}, limits={"cpu": 1, "memory": "1024Mi"})])
    default_pod(pod)
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1", "memory": "1Gi"},
        "requests": {"cpu": "250m", "memory": "1Gi"},
    }


def test_scheduler_requests_count_init_containers_and_sidecars() -> None:
    spec = {
        "initContainers": [
            {"name": "big-init", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
            {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
        ],
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}],
    }
    assert pod_requests(spec) == (2000, 1024 * 1024 * 1024)
    spec["initContainers"] = spec["initContainers"][1:]
    assert pod_requests(spec) == (600, 256 * 1024 * 1024)
