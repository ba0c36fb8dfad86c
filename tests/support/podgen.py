"""Hypothesis strategies for raw pod, event and secret JSON in the shapes the API server writes.

Wide rather than realistic: fields present, absent or null, every container state, init containers
and sidecars, deletions, mirror pods, scheduler conditions, pull errors, fields podbot never reads.
Used to check that two ways of reading the same JSON give the same result.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from tests.support.builders import NOW, ts

WORDS = st.sampled_from(["app", "web", "db", "sidecar", "migrate", "istio-proxy", "x"])
IMAGES = st.sampled_from(
    ["nginx:1.25", "10.0.0.130:5000/nginx:latest", "registry.corp.example/team/api:2.0", "busybox", ""]
)
REASONS = st.sampled_from(
    [
        "ErrImagePull",
        "ImagePullBackOff",
        "CrashLoopBackOff",
        "ContainerCreating",
        "PodInitializing",
        "CreateContainerConfigError",
        "OOMKilled",
        "Error",
        "Completed",
        "",
    ]
)
MESSAGES = st.sampled_from(
    [
        "",
        'Back-off pulling image "nginx:1.25"',
        'Back-off pulling image "x": ErrImagePull: rpc error: code = Unknown desc = no basic auth',
        "rpc error: code = NotFound desc = failed to pull and unpack image: not found",
        "back-off 5m0s restarting failed container",
        "x" * 1500,  # clipped
    ]
)


def _times() -> st.SearchStrategy[str]:
    return st.integers(min_value=-3 * 3600, max_value=600).map(lambda s: ts(NOW + timedelta(seconds=s)))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or None (JSON null), or left out (the ``_ABSENT`` marker, dropped by ``_clean``)."""
    return st.one_of(strategy, st.none(), st.just(_ABSENT))


_ABSENT = object()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not _ABSENT}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _detail() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "reason": _maybe(REASONS),
            "message": _maybe(MESSAGES),
            "exitCode": _maybe(st.sampled_from([0, 1, 2, 137, 143])),
            "signal": _maybe(st.sampled_from([9, 15])),
            "startedAt": _maybe(_times()),
            "finishedAt": _maybe(_times()),
            "containerID": st.just("containerd://abc"),  # never read
        },
    )


def _state() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "waiting": _maybe(_detail()),
            "running": _maybe(_detail()),
            "terminated": _maybe(_detail()),
        },
    )


def _status(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={
            "image": IMAGES,
            "imageID": st.just(""),
            "restartCount": _maybe(st.integers(0, 40)),
            "ready": _maybe(st.booleans()),
            "started": _maybe(st.booleans()),
            "state": _maybe(_state()),
            "lastState": _maybe(_state()),
        },
    )


def _container(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={
            "image": _maybe(IMAGES),
            "restartPolicy": _maybe(st.sampled_from(["Always", "OnFailure"])),
            "resources": _maybe(
                st.fixed_dictionaries(
                    {}, optional={"limits": _maybe(st.fixed_dictionaries({}, optional={"memory": IMAGES}))}
                )
            ),
            "ports": st.just([{"containerPort": 80}]),  # never read
        },
    )


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    """Raw pod JSON; containers and their statuses mostly match by name, sometimes not."""
    names = draw(st.lists(WORDS, min_size=0, max_size=3))
    init_names = draw(st.lists(WORDS, min_size=0, max_size=2))
    status_names = names if draw(st.booleans()) else draw(st.lists(WORDS, max_size=3))
    meta = {
        "name": draw(st.sampled_from(["web-7d4b9c-abcde", "kube-apiserver-node-1", "p"])),
        "namespace": draw(_maybe(st.sampled_from(["default", "shop", "kube-system"]))),
        "uid": draw(
            st.sampled_from(
                ["0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b", "uid-1", "0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B"]
            )
        ),
        "resourceVersion": "42",
        "creationTimestamp": draw(_maybe(_times())),
        "deletionTimestamp": draw(st.one_of(st.just(_ABSENT), _times())),
        "deletionGracePeriodSeconds": draw(st.one_of(st.just(_ABSENT), st.integers(0, 60))),
        "finalizers": draw(_maybe(st.lists(st.sampled_from(["example.com/cleanup", "x/y"]), max_size=2))),
        "ownerReferences": draw(
            _maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {"kind": st.sampled_from(["ReplicaSet", "Node", "Job"]), "name": WORDS},
                        optional={"controller": _maybe(st.booleans()), "uid": st.just("u")},
                    ),
                    max_size=2,
                )
            )
        ),
        "annotations": draw(
            _maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "kubernetes.io/config.mirror": st.just("abc"),
                        "kubernetes.io/config.source": st.sampled_from(["file", "http", "api"]),
                        "kubernetes.io/config.hash": st.just("abc"),
                        "kubectl.kubernetes.io/last-applied-configuration": st.just("{" * 50),
                    },
                )
            )
        ),
        "labels": {"app": "web"},
    }
    spec = {
        "nodeName": draw(_maybe(st.sampled_from(["node-1", "node-2"]))),
        "containers": [draw(_container(n)) for n in names],
        "initContainers": draw(
            st.one_of(st.just(_ABSENT), st.just([draw(_container(n)) for n in init_names]))
        ),
        "imagePullSecrets": draw(
            _maybe(st.lists(st.fixed_dictionaries({"name": _maybe(WORDS)}), max_size=2))
        ),
        "serviceAccountName": draw(_maybe(WORDS)),
        "serviceAccount": draw(_maybe(WORDS)),
        "restartPolicy": draw(_maybe(st.sampled_from(["Always", "Never", "OnFailure"]))),
        "tolerations": [{"key": "k", "operator": "Exists"}],  # never read
    }
    status = {
        "phase": draw(_maybe(st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown"]))),
        "reason": draw(_maybe(st.sampled_from(["Evicted", "NodeLost", ""]))),
        "message": draw(_maybe(MESSAGES)),
        "startTime": draw(_maybe(_times())),
        "conditions": draw(
            _maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "type": st.sampled_from(["PodScheduled", "Ready", "Initialized"]),
                            "status": st.sampled_from(["True", "False"]),
                        },
                        optional={
                            "reason": _maybe(st.sampled_from(["Unschedulable", "SchedulingGated"])),
                            "message": _maybe(st.just("0/3 nodes are available: 3 Insufficient cpu.")),
                            "lastTransitionTime": _times(),
                        },
                    ),
                    max_size=3,
                )
            )
        ),
        "containerStatuses": draw(_maybe(st.just([draw(_status(n)) for n in status_names]))),
        "initContainerStatuses": draw(_maybe(st.just([draw(_status(n)) for n in init_names]))),
        "podIP": "10.0.0.1",  # never read
    }
    raw: dict[str, Any] = _clean(
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}
    )
    return raw


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    message = draw(
        st.sampled_from(
            [
                'Failed to pull image "nginx:1.25": rpc error: code = Unknown desc = no basic auth',
                "0/3 nodes are available: 3 Insufficient cpu.",
                "Back-off restarting failed container",
                "",
            ]
        )
    )
    raw = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e1", "namespace": "default", "creationTimestamp": draw(_maybe(_times()))},
        "involvedObject": draw(
            _maybe(
                st.fixed_dictionaries(
                    {"kind": st.sampled_from(["Pod", "Node"]), "name": st.just("web-7d4b9c-abcde")},
                    optional={
                        "namespace": _maybe(st.just("default")),
                        "uid": _maybe(st.just("0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b")),
                        "fieldPath": _maybe(
                            st.sampled_from(["spec.containers{app}", "spec.initContainers{x}"])
                        ),
                    },
                )
            )
        ),
        "reason": draw(_maybe(st.sampled_from(["Failed", "BackOff", "FailedScheduling", "Evicted"]))),
        "message": draw(_maybe(st.just(message))),
        "type": draw(_maybe(st.sampled_from(["Normal", "Warning"]))),
        "count": draw(_maybe(st.integers(1, 50))),
        "firstTimestamp": draw(_maybe(_times())),
        "lastTimestamp": draw(_maybe(_times())),
        "eventTime": draw(_maybe(st.just("2026-03-01T11:58:00.123456Z"))),
        "series": draw(
            _maybe(
                st.fixed_dictionaries({}, optional={"count": st.integers(1, 9), "lastObservedTime": _times()})
            )
        ),
        "source": draw(_maybe(st.fixed_dictionaries({}, optional={"component": st.just("kubelet")}))),
        "reportingComponent": draw(_maybe(st.just("default-scheduler"))),
    }
    cleaned: dict[str, Any] = _clean(raw)
    return cleaned


def registry_secret(hosts: list[str], *, kind: str = "kubernetes.io/dockerconfigjson") -> dict[str, Any]:
    """A registry secret whose other keys hold a password that must never be decoded."""
    auths = {h: {"username": "u", "password": "hunter2-secret", "auth": "dTpodW50ZXIy"} for h in hosts}
    config = {"auths": auths} if kind == "kubernetes.io/dockerconfigjson" else auths
    key = ".dockerconfigjson" if kind == "kubernetes.io/dockerconfigjson" else ".dockercfg"
    data = base64.b64encode(json.dumps(config).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": kind,
        "metadata": {"name": "regcred", "namespace": "default"},
        "data": {key: data, "password": base64.b64encode(b"hunter2-secret").decode()},
    }
