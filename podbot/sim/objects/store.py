"""The simulator's object store: what etcd is to a real API server.

Objects are kept as compact JSON bytes (a 50,000-pod cluster must fit in well under 1 GiB and a
full list must be a byte join, not 50,000 ``json.dumps``), plus a small index per object: labels
and the fields that field selectors may use. Every write bumps one global resourceVersion and is
fanned out to watchers; a bounded history lets watches resume from an older resourceVersion and
answers ``Gone`` (410) once that version has been compacted away.

Resources are named by their plural with group, e.g. ``pods``, ``leases.coordination.k8s.io``.
Cluster-scoped objects use namespace ``""``. The store does no validation or defaulting: the API
server layer does that before it writes.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
FieldIndexer = Callable[[JSON], dict[str, str]]


class StoreError(Exception):
    pass


class NotFoundError(StoreError):
    pass


class AlreadyExistsError(StoreError):
    pass


class ConflictError(StoreError):
    """The caller's expected resourceVersion (or uid) does not match the stored object."""


class GoneError(StoreError):
    """A watch asked for a resourceVersion older than the retained history."""


def _dumps(obj: JSON) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Stored:
    """One object as stored: its JSON bytes and the index the selectors need."""

    __slots__ = ("fields", "labels", "memo", "name", "namespace", "raw", "rv")

    def __init__(
        self, namespace: str, name: str, raw: bytes, rv: int, labels: dict[str, str], fields: dict[str, str]
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.raw = raw
        self.rv = rv
        self.labels = labels
        self.fields = fields
        # Derived data that only depends on this exact version (e.g. its Table row), computed lazily.
        self.memo: Any = None

    def load(self) -> JSON:
        """A fresh, mutable copy of the object."""
        result: JSON = json.loads(self.raw)
        return result


Predicate = Callable[[Stored], bool]


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    resource: str
    rv: int
    obj: Stored
    prev: Stored | None = None  # the version before this change (etcd's prevKV): selector watches need it


class Watcher:
    """A subscription to changes; the HTTP layer drains ``next()`` into a chunked response."""

    def __init__(
        self,
        store: ObjectStore,
        resource: str,
        namespace: str | None,
        predicate: Predicate | None,
        max_backlog: int,
    ) -> None:
        self.store = store
        self.resource = resource
        self.namespace = namespace
        self.predicate = predicate
        self._queue: deque[WatchEvent] = deque()
        self._cond = threading.Condition()
        self._max_backlog = max_backlog
        self.closed = False
        self.overflowed = False  # the consumer fell too far behind: the stream must end

    def matches(self, event: WatchEvent) -> bool:
        if event.resource != self.resource:
            return False
        if self.namespace is not None and event.obj.namespace != self.namespace:
            return False
        return self.predicate is None or self.predicate(event.obj)

    def push(self, event: WatchEvent) -> None:
        with self._cond:
            if self.closed:
                return
            if len(self._queue) >= self._max_backlog:
                # Like the real API server, drop a consumer that cannot keep up; it will resume.
                self.overflowed = True
                self.closed = True
            else:
                self._queue.append(event)
            self._cond.notify_all()

    def next(self, timeout: float | None) -> WatchEvent | None:
        """The next event, or None on timeout or once closed and drained."""
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait(timeout)
            if self._queue:
                return self._queue.popleft()
            return None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self.store._remove_watcher(self)


class _Kind:
    """Per-resource storage: objects by key and a lazily rebuilt sorted key list for paging."""

    def __init__(self, indexer: FieldIndexer | None) -> None:
        self.objects: dict[tuple[str, str], Stored] = {}
        self.indexer = indexer
        self._sorted: list[tuple[str, str]] | None = None

    def sorted_keys(self) -> list[tuple[str, str]]:
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def invalidate(self) -> None:
        self._sorted = None


class ObjectStore:
    """Thread-safe in-memory object store with resourceVersions, history and watches."""

    def __init__(self, history_limit: int = 20_000, watch_backlog: int = 100_000) -> None:
        self._lock = threading.RLock()
        self._rv = 0
        self._kinds: dict[str, _Kind] = {}
        self._history: deque[WatchEvent] = deque()
        self._history_limit = history_limit
        self._compacted_rv = 0  # watches from below this resourceVersion get Gone
        self._watchers: list[Watcher] = []
        self._watch_backlog = watch_backlog
        self._listeners: list[Callable[[WatchEvent], None]] = []

    # --- registry ------------------------------------------------------------------------------
    def register(self, resource: str, indexer: FieldIndexer | None = None) -> None:
        """Declare a resource and how to index its field-selector fields."""
        with self._lock:
            self._kinds.setdefault(resource, _Kind(indexer))

    def _kind(self, resource: str) -> _Kind:
        try:
            return self._kinds[resource]
        except KeyError:
            raise NotFoundError(f"unknown resource {resource}") from None

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    @property
    def compacted_resource_version(self) -> int:
        """Watches and continue tokens from below this resourceVersion get 410 Gone."""
        with self._lock:
            return self._compacted_rv

    def add_listener(self, listener: Callable[[WatchEvent], None]) -> None:
        """In-process observers (the simulated kubelet); called under the store lock, keep it short."""
        with self._lock:
            self._listeners.append(listener)

    # --- writes --------------------------------------------------------------------------------
    def _index(self, kind: _Kind, obj: JSON) -> tuple[dict[str, str], dict[str, str]]:
        meta = obj.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        fields = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}
        if kind.indexer is not None:
            fields.update(kind.indexer(obj))
        return labels, fields

    def _write(self, resource: str, kind: _Kind, obj: JSON, event_type: str) -> JSON:
        self._rv += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._rv)
        namespace, name = meta.get("namespace", ""), meta["name"]
        labels, fields = self._index(kind, obj)
        stored = Stored(namespace, name, _dumps(obj), self._rv, labels, fields)
        key = (namespace, name)
        previous = kind.objects.get(key)
        if event_type == "DELETED":
            kind.objects.pop(key, None)
            kind.invalidate()
        else:
            if key not in kind.objects:
                kind.invalidate()
            kind.objects[key] = stored
        self._record(WatchEvent(event_type, resource, self._rv, stored, previous))
        return obj

    def _record(self, event: WatchEvent) -> None:
        self._history.append(event)
        while len(self._history) > self._history_limit:
            self._compacted_rv = self._history.popleft().rv
        for watcher in list(self._watchers):
            if watcher.matches(event):
                watcher.push(event)
        for listener in self._listeners:
            listener(event)

    def create(self, resource: str, obj: JSON) -> JSON:
        """Store a new object; it must carry metadata.name (and .namespace if namespaced)."""
        with self._lock:
            kind = self._kind(resource)
            meta = obj["metadata"]
            if (meta.get("namespace", ""), meta["name"]) in kind.objects:
                raise AlreadyExistsError(meta["name"])
            return self._write(resource, kind, obj, "ADDED")

    def update(self, resource: str, obj: JSON, *, expected_rv: str | None = None) -> JSON:
        """Replace an object; ``expected_rv`` (optimistic concurrency) must match if given."""
        with self._lock:
            kind = self._kind(resource)
            meta = obj["metadata"]
            current = kind.objects.get((meta.get("namespace", ""), meta["name"]))
            if current is None:
                raise NotFoundError(meta["name"])
            if expected_rv and expected_rv != str(current.rv):
                raise ConflictError(meta["name"])
            return self._write(resource, kind, obj, "MODIFIED")

    def mutate(
        self, resource: str, namespace: str, name: str, change: Callable[[JSON], JSON | None]
    ) -> JSON | None:
        """Atomically load, change and store one object. ``change`` returns None to skip the write
        (nothing changed); it may raise to abort. Returns the stored object, or None if skipped."""
        with self._lock:
            kind = self._kind(resource)
            current = kind.objects.get((namespace, name))
            if current is None:
                raise NotFoundError(name)
            changed = change(current.load())
            if changed is None:
                return None
            return self._write(resource, kind, changed, "MODIFIED")

    def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        *,
        expected_uid: str | None = None,
        expected_rv: str | None = None,
    ) -> JSON:
        """Remove an object now (graceful deletion is the API layer's business)."""
        with self._lock:
            kind = self._kind(resource)
            current = kind.objects.get((namespace, name))
            if current is None:
                raise NotFoundError(name)
            obj = current.load()
            if expected_uid and obj.get("metadata", {}).get("uid") != expected_uid:
                raise ConflictError(name)
            if expected_rv and expected_rv != str(current.rv):
                raise ConflictError(name)
            return self._write(resource, kind, obj, "DELETED")

    # --- reads ---------------------------------------------------------------------------------
    def get(self, resource: str, namespace: str, name: str) -> Stored:
        with self._lock:
            stored = self._kind(resource).objects.get((namespace, name))
            if stored is None:
                raise NotFoundError(name)
            return stored

    def count_after(self, resource: str, namespace: str | None, last: tuple[str, str]) -> int:
        """How many objects (of ``namespace``, or all) sort after ``last``: remainingItemCount."""
        with self._lock:
            keys = self._kind(resource).sorted_keys()
            hi = len(keys) if namespace is None else bisect.bisect_left(keys, (namespace + "\x00", ""))
            return max(0, hi - bisect.bisect_right(keys, last))

    def list(
        self,
        resource: str,
        namespace: str | None = None,
        predicate: Predicate | None = None,
        *,
        start_after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[Stored], int, tuple[str, str] | None]:
        """Objects in key order (namespace, name), after ``start_after``, at most ``limit``.

        Returns (items, resourceVersion of the snapshot, key to continue from or None)."""
        with self._lock:
            kind = self._kind(resource)
            keys = kind.sorted_keys()
            if namespace is not None:
                lo = bisect.bisect_left(keys, (namespace, ""))
                hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
            else:
                lo, hi = 0, len(keys)
            if start_after is not None:
                lo = max(lo, bisect.bisect_right(keys, start_after))
            items: list[Stored] = []
            last: tuple[str, str] | None = None
            objects = kind.objects
            for i in range(lo, hi):
                stored = objects[keys[i]]
                if predicate is not None and not predicate(stored):
                    continue
                if limit is not None and len(items) >= limit:
                    return items, self._rv, last
                items.append(stored)
                last = keys[i]
            return items, self._rv, None

    def count(self, resource: str) -> int:
        with self._lock:
            return len(self._kind(resource).objects)

    def resources(self) -> Iterable[str]:
        return list(self._kinds)

    # --- watch ---------------------------------------------------------------------------------
    def watch(
        self,
        resource: str,
        namespace: str | None = None,
        predicate: Predicate | None = None,
        since_rv: int | None = None,
    ) -> Watcher:
        """Start a watch. With ``since_rv`` replay every later event still in history (or Gone)."""
        with self._lock:
            self._kind(resource)
            watcher = Watcher(self, resource, namespace, predicate, self._watch_backlog)
            if since_rv is not None and since_rv < self._rv:
                if since_rv < self._compacted_rv:
                    raise GoneError(f"too old resource version: {since_rv} ({self._compacted_rv})")
                for event in self._history:
                    if event.rv > since_rv and watcher.matches(event):
                        watcher.push(event)
            self._watchers.append(watcher)
            return watcher

    def _remove_watcher(self, watcher: Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def compact(self) -> None:
        """Forget all history (fault injection: every resuming watch now gets 410 Gone)."""
        with self._lock:
            self._history.clear()
            self._compacted_rv = self._rv

    def close_watches(self) -> None:
        """Drop every open watch stream (fault injection, and shutdown)."""
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.close()
