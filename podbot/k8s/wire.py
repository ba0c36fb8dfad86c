"""The watch cache's JSON decoding: list pages and watch events straight into small wire structs.

``msgspec`` decodes a page of 500 pods (~1.5 MB) into structs that hold only the fields podbot
reads (podbot.core.pods.summary, podbot.core.diagnosis.credentials); every other field is
skipped while parsing, never built. So there are no throw-away dicts and far less to collect:
the structs are not tracked by the cyclic GC (``gc=False``: they hold no cycles) and their lists
are tuples. A struct answers ``get(key)``, ``[key]`` and ``key in`` by JSON key, like the dict
``json.loads`` would give, so the same pure summary code reads either.

Why msgspec and not orjson: orjson is the fastest way to *dicts*, but the cache wants a few dozen
fields of each ~3 KB pod; msgspec builds only those (bench/digest.py prints both decode floors).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field

# JSON keys that are not Python names, and the attribute each one is decoded into (see Renamed).
_ALIASES = {
    "kubernetes.io/config.mirror": "config_mirror",
    "kubernetes.io/config.source": "config_source",
    "kubernetes.io/config.hash": "config_hash",
    ".dockerconfigjson": "dockerconfigjson",
    ".dockercfg": "dockercfg",
    "continue": "continue_",
}

Str = str | None | UnsetType
Int = int | None | UnsetType
Bool = bool | None | UnsetType


class Wire(msgspec.Struct, frozen=True, gc=False):
    """A decoded JSON object that reads like a dict: a field absent from the JSON is no key."""

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, UNSET)
        return default if value is UNSET else value

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, UNSET)
        if value is UNSET:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and getattr(self, key, UNSET) is not UNSET


class Renamed(Wire, frozen=True, gc=False):
    """A struct with JSON keys that are not Python names (looked up in ``_ALIASES`` first)."""

    def get(self, key: str, default: Any = None) -> Any:
        return Wire.get(self, _ALIASES.get(key, key), default)

    def __getitem__(self, key: str) -> Any:
        return Wire.__getitem__(self, _ALIASES.get(key, key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and Wire.__contains__(self, _ALIASES.get(key, key))


# --- pods ------------------------------------------------------------------------------------------


class OwnerReference(Wire, frozen=True, gc=False):
    kind: Str = UNSET
    name: Str = UNSET
    controller: Bool = UNSET


class PodAnnotations(Renamed, frozen=True, gc=False):
    config_mirror: Str = field(default=UNSET, name="kubernetes.io/config.mirror")
    config_source: Str = field(default=UNSET, name="kubernetes.io/config.source")
    config_hash: Str = field(default=UNSET, name="kubernetes.io/config.hash")


class ObjectMeta(Wire, frozen=True, gc=False):
    name: Str = UNSET
    namespace: Str = UNSET
    uid: Str = UNSET
    resourceVersion: Str = UNSET
    creationTimestamp: Str = UNSET
    deletionTimestamp: Str = UNSET
    deletionGracePeriodSeconds: Int = UNSET
    finalizers: tuple[str, ...] | UnsetType | None = UNSET
    ownerReferences: tuple[OwnerReference, ...] | UnsetType | None = UNSET
    annotations: PodAnnotations | UnsetType | None = UNSET


class Limits(Wire, frozen=True, gc=False):
    memory: Str = UNSET


class Resources(Wire, frozen=True, gc=False):
    limits: Limits | UnsetType | None = UNSET


class Container(Wire, frozen=True, gc=False):
    name: Str = UNSET
    image: Str = UNSET
    restartPolicy: Str = UNSET
    resources: Resources | UnsetType | None = UNSET


class LocalObjectReference(Wire, frozen=True, gc=False):
    name: Str = UNSET


class PodSpec(Wire, frozen=True, gc=False):
    nodeName: Str = UNSET
    initContainers: tuple[Container, ...] | UnsetType | None = UNSET
    containers: tuple[Container, ...] | UnsetType | None = UNSET
    imagePullSecrets: tuple[LocalObjectReference, ...] | UnsetType | None = UNSET
    serviceAccountName: Str = UNSET
    serviceAccount: Str = UNSET
    restartPolicy: Str = UNSET


class PodCondition(Wire, frozen=True, gc=False):
    type: Str = UNSET
    status: Str = UNSET
    reason: Str = UNSET
    message: Str = UNSET


class ContainerStateDetail(Wire, frozen=True, gc=False):
    """waiting, running or terminated: the union of their fields."""

    reason: Str = UNSET
    message: Str = UNSET
    exitCode: Int = UNSET
    signal: Int = UNSET
    startedAt: Str = UNSET
    finishedAt: Str = UNSET


class ContainerState(Wire, frozen=True, gc=False):
    waiting: ContainerStateDetail | UnsetType | None = UNSET
    running: ContainerStateDetail | UnsetType | None = UNSET
    terminated: ContainerStateDetail | UnsetType | None = UNSET


class ContainerStatus(Wire, frozen=True, gc=False):
    name: Str = UNSET
    restartCount: Int = UNSET
    ready: Bool = UNSET
    started: Bool = UNSET
    state: ContainerState | UnsetType | None = UNSET
    lastState: ContainerState | UnsetType | None = UNSET


class PodStatus(Wire, frozen=True, gc=False):
    phase: Str = UNSET
    reason: Str = UNSET
    message: Str = UNSET
    startTime: Str = UNSET
    conditions: tuple[PodCondition, ...] | UnsetType | None = UNSET
    initContainerStatuses: tuple[ContainerStatus, ...] | UnsetType | None = UNSET
    containerStatuses: tuple[ContainerStatus, ...] | UnsetType | None = UNSET


class Pod(Wire, frozen=True, gc=False):
    metadata: ObjectMeta | UnsetType | None = UNSET
    spec: PodSpec | UnsetType | None = UNSET
    status: PodStatus | UnsetType | None = UNSET


# --- events ----------------------------------------------------------------------------------------


class EventMeta(Wire, frozen=True, gc=False):
    name: Str = UNSET
    namespace: Str = UNSET
    resourceVersion: Str = UNSET
    creationTimestamp: Str = UNSET


class InvolvedObject(Wire, frozen=True, gc=False):
    kind: Str = UNSET
    namespace: Str = UNSET
    name: Str = UNSET
    uid: Str = UNSET
    fieldPath: Str = UNSET


class EventSeries(Wire, frozen=True, gc=False):
    count: Int = UNSET
    lastObservedTime: Str = UNSET


class EventSource(Wire, frozen=True, gc=False):
    component: Str = UNSET


class Event(Wire, frozen=True, gc=False):
    metadata: EventMeta | UnsetType | None = UNSET
    involvedObject: InvolvedObject | UnsetType | None = UNSET
    reason: Str = UNSET
    message: Str = UNSET
    type: Str = UNSET
    count: Int = UNSET
    firstTimestamp: Str = UNSET
    lastTimestamp: Str = UNSET
    eventTime: Str = UNSET
    series: EventSeries | UnsetType | None = UNSET
    source: EventSource | UnsetType | None = UNSET
    reportingComponent: Str = UNSET


# --- secrets: only the registry configs; other keys' values are never even decoded -----------------


class SecretData(Renamed, frozen=True, gc=False):
    dockerconfigjson: Str = field(default=UNSET, name=".dockerconfigjson")
    dockercfg: Str = field(default=UNSET, name=".dockercfg")


class Secret(Wire, frozen=True, gc=False):
    metadata: EventMeta | UnsetType | None = UNSET
    type: Str = UNSET
    data: SecretData | UnsetType | None = UNSET


# --- lists and watch events ------------------------------------------------------------------------


class ListMeta(Renamed, frozen=True, gc=False):
    resourceVersion: Str = UNSET
    continue_: Str = field(default=UNSET, name="continue")


class ListHead(Wire, frozen=True, gc=False):
    metadata: ListMeta | UnsetType | None = UNSET


class PodList(Wire, frozen=True, gc=False):
    metadata: ListMeta | UnsetType | None = UNSET
    items: tuple[Pod, ...] | UnsetType | None = UNSET


class EventList(Wire, frozen=True, gc=False):
    metadata: ListMeta | UnsetType | None = UNSET
    items: tuple[Event, ...] | UnsetType | None = UNSET


class SecretList(Wire, frozen=True, gc=False):
    metadata: ListMeta | UnsetType | None = UNSET
    items: tuple[Secret, ...] | UnsetType | None = UNSET


class WatchEvent(Wire, frozen=True, gc=False):
    """One watch line; its object is decoded once its type is known (an ERROR carries a Status)."""

    type: Str = UNSET
    object: msgspec.Raw | UnsetType = UNSET


class ObjectHead(Wire, frozen=True, gc=False):
    metadata: EventMeta | UnsetType | None = UNSET


ListType = type[PodList] | type[EventList] | type[SecretList]
_LIST_HEAD = msgspec.json.Decoder(ListHead)
_WATCH_EVENT = msgspec.json.Decoder(WatchEvent)
_OBJECT_HEAD = msgspec.json.Decoder(ObjectHead)
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {
    t: msgspec.json.Decoder(t) for t in (PodList, EventList, SecretList, Pod, Event, Secret)
}
ITEM_TYPES: dict[str, tuple[type, type]] = {
    "pods": (PodList, Pod),
    "events": (EventList, Event),
    "secrets": (SecretList, Secret),
}

DecodeError = msgspec.DecodeError


def continue_token(page: bytes) -> str:
    """A list page's ``metadata.continue`` without decoding its items.

    The API server writes ``metadata`` before ``items``, so only the bytes before the items are
    decoded; for any other layout the whole page is scanned (still building nothing)."""
    cut = page.find(b',"items":')
    head = None
    if cut > 0:
        try:
            head = _LIST_HEAD.decode(page[:cut] + b"}")
        except msgspec.DecodeError:
            head = None
    if head is None:
        head = _LIST_HEAD.decode(page)
    meta = head.metadata
    return (meta.continue_ or "") if isinstance(meta, ListMeta) and isinstance(meta.continue_, str) else ""


def decode_list(resource: str, page: bytes) -> tuple[tuple[Any, ...], str]:
    """A list page of ``resource`` (pods, events, secrets): its items and its resourceVersion."""
    decoded = _DECODERS[ITEM_TYPES[resource][0]].decode(page)
    meta = decoded.metadata
    version = meta.resourceVersion if isinstance(meta, ListMeta) else ""
    return decoded.items or (), version if isinstance(version, str) else ""


def decode_object(resource: str, raw: bytes | msgspec.Raw) -> Any:
    """One object of ``resource`` (a watch event's)."""
    return _DECODERS[ITEM_TYPES[resource][1]].decode(raw)


def watch_event(line: bytes) -> tuple[str, msgspec.Raw]:
    """A watch line's type and its still undecoded object."""
    event = _WATCH_EVENT.decode(line)
    kind = event.type if isinstance(event.type, str) else ""
    raw = event.object if isinstance(event.object, msgspec.Raw) else msgspec.Raw(b"{}")
    return kind, raw


def object_version(raw: bytes | msgspec.Raw) -> str:
    """``metadata.resourceVersion`` of an object (a BOOKMARK's, say)."""
    meta = _OBJECT_HEAD.decode(raw).metadata
    version = meta.resourceVersion if isinstance(meta, EventMeta) else ""
    return version if isinstance(version, str) else ""
