"""Typed views of the raw Kubernetes JSON the core reads: pods, their containers, events, secrets.

The wire stays raw JSON (a user's manifest must reach the server unchanged, and lists decode fast
as plain dicts); these ``TypedDict``s only say which fields the core reads and what they hold,
so mypy checks every ``pod["spec"]["containers"]`` walk. ``total=False`` everywhere: the API
server omits empty fields. ``as_pod`` and friends are the one place a decoded dict becomes a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast


class OwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    managedFields: list[dict[str, Any]]


class ContainerPort(TypedDict, total=False):
    name: str
    containerPort: int
    hostPort: int
    protocol: str


class Container(TypedDict, total=False):
    name: str
    image: str
    imagePullPolicy: str
    command: list[str]
    args: list[str]
    ports: list[ContainerPort]
    env: list[dict[str, Any]]
    resources: dict[str, Any]
    volumeMounts: list[dict[str, Any]]
    securityContext: dict[str, Any]
    restartPolicy: str  # "Always" on an init container makes it a sidecar


class StateWaiting(TypedDict, total=False):
    reason: str
    message: str


class StateRunning(TypedDict, total=False):
    startedAt: str


class StateTerminated(TypedDict, total=False):
    exitCode: int
    signal: int
    reason: str
    message: str
    startedAt: str
    finishedAt: str


class ContainerState(TypedDict, total=False):
    waiting: StateWaiting
    running: StateRunning
    terminated: StateTerminated


class ContainerStatus(TypedDict, total=False):
    name: str
    image: str
    imageID: str
    ready: bool
    started: bool
    restartCount: int
    state: ContainerState
    lastState: ContainerState


class PodCondition(TypedDict, total=False):
    type: str
    status: str
    reason: str
    message: str
    lastTransitionTime: str


class PodSpec(TypedDict, total=False):
    nodeName: str
    restartPolicy: str
    serviceAccountName: str
    initContainers: list[Container]
    containers: list[Container]
    ephemeralContainers: list[Container]
    imagePullSecrets: list[dict[str, str]]
    volumes: list[dict[str, Any]]
    tolerations: list[dict[str, Any]]
    readinessGates: list[dict[str, str]]
    hostNetwork: bool
    hostPID: bool
    hostIPC: bool
    securityContext: dict[str, Any]


class PodStatus(TypedDict, total=False):
    phase: str
    reason: str
    message: str
    podIP: str
    podIPs: list[dict[str, str]]
    hostIP: str
    nominatedNodeName: str
    startTime: str
    qosClass: str
    conditions: list[PodCondition]
    initContainerStatuses: list[ContainerStatus]
    containerStatuses: list[ContainerStatus]


class Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus


class EventSource(TypedDict, total=False):
    component: str
    host: str


class EventSeries(TypedDict, total=False):
    count: int
    lastObservedTime: str


class Event(TypedDict, total=False):
    metadata: ObjectMeta
    involvedObject: dict[str, str]
    type: str
    reason: str
    message: str
    count: int
    firstTimestamp: str
    lastTimestamp: str
    eventTime: str
    source: EventSource
    reportingComponent: str
    series: EventSeries


class Secret(TypedDict, total=False):
    metadata: ObjectMeta
    type: str
    data: dict[str, str]  # base64 values: podbot reads only .dockerconfigjson's registry hosts


def as_pod(obj: Mapping[str, Any]) -> Pod:
    """A decoded pod object, viewed through ``Pod`` (no copy, no check: the API server validated it)."""
    return cast(Pod, obj)


def as_event(obj: Mapping[str, Any]) -> Event:
    return cast(Event, obj)


def as_secret(obj: Mapping[str, Any]) -> Secret:
    return cast(Secret, obj)
