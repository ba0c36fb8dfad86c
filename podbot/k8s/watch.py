"""A list+watch cache of one cluster: compact pod summaries, their event notes, registry secrets.

One ``WatchCache`` per cluster (kubeconfig context). For each resource — pods, events, secrets —
and each watched scope (all namespaces, or each configured namespace) one thread runs the
Kubernetes informer loop:

1. **list** page by page (``KubeClient.list_pages``): each page is summarized and dropped before
   the next is fetched, so 50,000 pods never sit in memory as raw JSON; objects that were not in
   the list any more are removed afterwards (deleted while we were not watching);
2. **watch** from the list's resourceVersion with ``allowWatchBookmarks``; every event and every
   BOOKMARK moves the remembered resourceVersion forward;
3. when the stream ends (server timeout, dropped connection) **resume** from the remembered
   resourceVersion — no relist;
4. on **410 Gone** (the version was compacted away) **relist**;
5. on any other error (API down, 5xx, 429, a reset) **reconnect with backoff**: exponential from
   ``Backoff.initial`` to ``Backoff.maximum`` real seconds with jitter, reset by a successful
   list or watch event; a 403 backs off too (secrets may be forbidden: then diagnosis says the
   credentials are unknown rather than missing).

What is kept (see podbot.core.pods.summary): per pod a ``PodSummary`` (carried forward with
``summarize(pod, previous=...)``, so pull failures learned from expired events stay), per pod a few
``EventNote``s (``keep_note``) — and pull-failure events are also folded into the summary with
``remember`` — and per namespace the registry hosts of each registry secret
(``RegistryCredentialIndex``), never a password.

Readers get consistent snapshots (``pods()``, ``notes_for``, ``credentials()``); the alert fan-out
drains the keys of pods that changed (``drain_changed``) after each change notification.
Timestamps come from the injected ``now`` (the bot's clock); backoff and bookmarks are real time.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from podbot.core.diagnosis.credentials import (
    REGISTRY_SECRET_TYPES,
    RegistryCredentialIndex,
    hosts_from_secret,
)
from podbot.core.diagnosis.findings import Finding
from podbot.core.diagnosis.rules import DEFAULT_SETTINGS, DiagnosisSettings, diagnose_until
from podbot.core.digests import is_quiet, rank, status_label
from podbot.core.errors import ApiError, PodbotError
from podbot.core.pods.summary import EventNote, PodSummary, keep_note, note_from_event, remember, summarize
from podbot.k8s import wire
from podbot.k8s.api import path_for
from podbot.k8s.client import Clusters, Gone, KubeClient, WatchCancel

log = logging.getLogger(__name__)

JSON = Any  # a decoded object: a wire struct (podbot.k8s.wire) that reads like a dict
_T = TypeVar("_T")
PodKey = tuple[str, str]  # (namespace, name)


class Resource(Enum):
    PODS = "pods"
    EVENTS = "events"
    SECRETS = "secrets"


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays in real seconds: initial * 2^n, capped, with +-20% jitter."""

    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        base = min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))
        return float(base * random.uniform(0.8, 1.2))


@dataclass
class StreamStats:
    """What one list+watch loop has done, for tests, logs and /readyz."""

    lists: int = 0  # full lists (the first one and every relist)
    relists_after_gone: int = 0
    resumes: int = 0  # watches resumed from a remembered resourceVersion
    errors: int = 0
    bookmarks: int = 0
    events: int = 0
    last_error: str = ""
    resource_version: str = ""
    synced: bool = False


@dataclass(frozen=True, slots=True)
class _Diagnosis:
    """A problem pod's findings, and the inputs and time span they hold for."""

    pod: PodSummary
    notes: tuple[EventNote, ...]
    credentials: RegistryCredentialIndex
    settings: DiagnosisSettings
    since: float  # epoch seconds: computed at
    until: float  # exclusive
    findings: tuple[Finding, ...]


class WatchCache:
    """Pods, event notes and registry secrets of one cluster, kept current by list+watch."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        now: Callable[[], datetime],
        namespaces: Iterable[str] = (),
        page_size: int = 500,
        watch_timeout: int = 300,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.kube = kube
        self.context = kube.context
        self._now = now
        self.namespaces = tuple(sorted(set(namespaces)))
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pods: dict[PodKey, PodSummary] = {}
        # Kept current on every change, so that a digest costs O(problems), not O(pods):
        self._problems: dict[PodKey, PodSummary] = {}  # the pods that are not quiet (is_quiet)
        self._totals: dict[str, Counter[str]] = {}  # namespace -> STATUS -> pods
        self._diagnoses: dict[PodKey, _Diagnosis] = {}  # of problem pods, reused while they hold
        self._notes: dict[PodKey, tuple[EventNote, ...]] = {}
        self._secrets: dict[str, dict[str, frozenset[str]]] = {}  # namespace -> name -> hosts
        self._credentials: RegistryCredentialIndex | None = None  # rebuilt lazily after a change
        self._dirty: set[PodKey] = set()
        self._dirty_namespaces: set[str] = set()  # a registry secret changed there
        self._generation = 0
        self._listeners: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cancels: list[WatchCancel] = []
        self.stats: dict[tuple[Resource, str], StreamStats] = {}

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> WatchCache:
        if self._threads:
            return self
        self._stop.clear()
        scopes: tuple[str | None, ...] = self.namespaces or (None,)
        for resource in Resource:
            for namespace in scopes:
                stats = StreamStats()
                self.stats[(resource, namespace or "")] = stats
                cancel = WatchCancel()
                self._cancels.append(cancel)
                thread = threading.Thread(
                    target=self._run,
                    args=(resource, namespace, stats, cancel),
                    name=f"watch-{self.context}-{resource.value}-{namespace or 'all'}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for cancel in self._cancels:
            cancel.cancel()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._cancels.clear()
        with self._changed:
            self._changed.notify_all()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stop.is_set()

    def synced(self, resource: Resource | None = None) -> bool:
        """Has every stream (of ``resource``) finished its first list?"""
        return bool(self.stats) and all(
            s.synced for (r, _), s in self.stats.items() if resource is None or r is resource
        )

    def wait_synced(self, timeout: float = 30.0) -> bool:
        """Block until every stream has listed once (or ``timeout`` real seconds)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.synced() or self._stop.is_set(), timeout)

    # --- reading -------------------------------------------------------------------------------
    def pods(self) -> list[PodSummary]:
        """A snapshot of every cached pod (summaries are immutable)."""
        with self._lock:
            return list(self._pods.values())

    def pod(self, namespace: str, name: str) -> PodSummary | None:
        with self._lock:
            return self._pods.get((namespace, name))

    def pods_by_key(self, keys: Iterable[PodKey]) -> dict[PodKey, PodSummary | None]:
        with self._lock:
            return {key: self._pods.get(key) for key in keys}

    def problems(self) -> list[PodSummary]:
        """A snapshot of the pods diagnosis may find something wrong with (the rest are quiet)."""
        with self._lock:
            return list(self._problems.values())

    def status_totals(self, include: Callable[[str], bool] = lambda namespace: True) -> Counter[str]:
        """How many cached pods have each STATUS, over the namespaces ``include`` accepts."""
        found: Counter[str] = Counter()
        with self._lock:
            for namespace, totals in self._totals.items():
                if include(namespace):
                    found.update(totals)
        return +found  # drops statuses no pod has any more

    def findings(
        self,
        now: datetime,
        include: Callable[[str], bool] = lambda namespace: True,
        settings: DiagnosisSettings = DEFAULT_SETTINGS,
    ) -> list[Finding]:
        """Every finding at ``now`` about the pods of the namespaces ``include`` accepts, worst
        first: the problem pods' diagnoses (``diagnosis``), not a walk over every pod."""
        with self._lock:
            pods = [(p, self._notes.get(p.key, ())) for p in self._problems.values() if include(p.namespace)]
        credentials = self.credentials()
        found: list[Finding] = []
        for pod, notes in pods:
            found.extend(self._diagnosis(pod, notes, credentials, now, settings))
        found.sort(key=rank)
        return found

    def diagnosis(
        self, pod: PodSummary, now: datetime, settings: DiagnosisSettings = DEFAULT_SETTINGS
    ) -> list[Finding]:
        """``diagnose(pod, its notes, credentials(), now)``, reused for as long as the pod, its
        notes and the registry secrets are unchanged and time has not changed the answer."""
        return self._diagnosis(pod, self.notes_for(*pod.key), self.credentials(), now, settings)

    def _diagnosis(
        self,
        pod: PodSummary,
        notes: tuple[EventNote, ...],
        credentials: RegistryCredentialIndex,
        now: datetime,
        settings: DiagnosisSettings,
    ) -> list[Finding]:
        key, at = pod.key, now.timestamp()
        known = self._diagnoses.get(key)
        if (
            known is not None
            and known.pod is pod
            and known.notes is notes
            and known.credentials is credentials
            and known.settings is settings
            and known.since <= at < known.until
        ):
            return list(known.findings)
        found, until = diagnose_until(pod, notes, credentials, now, settings=settings)
        with self._lock:
            if self._problems.get(key) is pod:  # not if the pod changed or left meanwhile
                self._diagnoses[key] = _Diagnosis(pod, notes, credentials, settings, at, until, tuple(found))
        return found

    def notes_for(self, namespace: str, name: str) -> tuple[EventNote, ...]:
        with self._lock:
            return self._notes.get((namespace, name), ())

    def __len__(self) -> int:
        return len(self._pods)

    def credentials(self) -> RegistryCredentialIndex:
        """What podbot knows of registry secrets: every watched namespace counts as known once the
        secrets were listed (a namespace without secrets is then known to have none)."""
        with self._lock:
            if self._credentials is None:
                known: set[str] = set()
                if self.synced(Resource.SECRETS):
                    known = set(self.namespaces) or {key[0] for key in self._pods} | set(self._secrets)
                entries = [
                    (namespace, name, hosts)
                    for namespace, names in self._secrets.items()
                    for name, hosts in names.items()
                ]
                self._credentials = RegistryCredentialIndex.build(entries, namespaces=known)
            return self._credentials

    # --- change feed (the alert fan-out) ---------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        """``listener()`` is called (on a watch thread, without the lock) after every change."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("watch cache listener failed")

    @property
    def generation(self) -> int:
        return self._generation

    def drain_changed(self) -> set[PodKey]:
        """Keys of problem pods (not quiet) added, changed or removed since the last drain, and of
        those that stopped being problems: what can change an alert."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            if self._dirty_namespaces:
                namespaces, self._dirty_namespaces = self._dirty_namespaces, set()
                dirty.update(key for key in self._problems if key[0] in namespaces)
            return dirty

    # --- the informer loop ---------------------------------------------------------------------
    def _path(self, resource: Resource, namespace: str | None) -> str:
        return path_for("v1", resource.value, namespace)

    def _run(
        self, resource: Resource, namespace: str | None, stats: StreamStats, cancel: WatchCancel
    ) -> None:
        path = self._path(resource, namespace)
        version = ""
        failures = 0
        while not self._stop.is_set():
            try:
                if not version:
                    version = self._list(resource, namespace, path, stats)
                    failures = 0
                else:
                    stats.resumes += 1
                for line in self.kube.watch_lines(
                    path,
                    query=[("resourceVersion", version), ("allowWatchBookmarks", "true")],
                    timeout_seconds=self._watch_timeout,
                    cancel=cancel,
                ):
                    version = self._apply(resource, line, stats) or version
                    stats.resource_version = version
                    failures = 0
            except Gone:
                log.info("watch of %s on %s expired (410): listing again", resource.value, self.context)
                stats.relists_after_gone += 1
                version = ""
            except PodbotError as exc:
                failures += 1
                stats.errors += 1
                stats.last_error = exc.message
                delay = self._backoff.delay(failures)
                log.warning(
                    "watch of %s on %s failed (%s); retrying in %.1fs",
                    resource.value,
                    self.context,
                    exc.message,
                    delay,
                )
                self._stop.wait(delay)
            except Exception:
                failures += 1
                stats.errors += 1
                stats.last_error = "internal error"
                log.exception("watch of %s on %s crashed; restarting it", resource.value, self.context)
                version = ""
                self._stop.wait(self._backoff.delay(failures))

    def _list(self, resource: Resource, namespace: str | None, path: str, stats: StreamStats) -> str:
        seen: set[Any] = set()
        version = ""
        for page in self.kube.list_page_bytes(path, page_size=self._page_size):
            items, version = self._decode(wire.decode_list, resource.value, page)
            now = self._now()
            with self._changed:
                for item in items:
                    seen.add(self._upsert(resource, item, now))
                self._generation += 1
                self._changed.notify_all()
        with self._changed:
            self._forget_unseen(resource, namespace, seen)
            stats.lists += 1
            stats.synced = True
            stats.resource_version = version
            self._generation += 1
            self._changed.notify_all()
        self._notify()
        return version

    def _decode(self, decode: Callable[..., _T], *args: Any) -> _T:
        """``decode(*args)``; JSON that does not fit the wire structs is a clear API error."""
        try:
            return decode(*args)
        except (wire.DecodeError, ValueError) as exc:
            raise ApiError(f"cluster {self.context!r} sent JSON podbot cannot read ({exc})", 200) from exc

    def _apply(self, resource: Resource, line: bytes, stats: StreamStats) -> str:
        kind, raw = self._decode(wire.watch_event, line)
        if kind == "ERROR":
            raise self.kube.watch_error(bytes(raw))
        if kind == "BOOKMARK":
            stats.bookmarks += 1
            return self._decode(wire.object_version, raw)
        obj = self._decode(wire.decode_object, resource.value, raw)
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        stats.events += 1
        with self._changed:
            if kind == "DELETED":
                self._delete(resource, obj)
            else:
                self._upsert(resource, obj, self._now())
            self._generation += 1
            self._changed.notify_all()
        self._notify()
        return version

    # --- state changes (the caller holds the lock) -------------------------------------------------
    def _upsert(self, resource: Resource, obj: JSON, now: datetime) -> Any:
        meta = obj.get("metadata") or {}
        # The namespace interned: 50,000 keys share a few dozen namespace strings.
        namespace, name = sys.intern(str(meta.get("namespace") or "")), str(meta.get("name") or "")
        if resource is Resource.PODS:
            key = (namespace, name)
            previous = self._pods.get(key)
            summary = summarize(obj, previous, now=now)
            if previous is None or previous.uid_key != summary.uid_key:
                # Events seen before the pod (or about its predecessor's uid) teach it now.
                for known in self._notes.get(key, ()):
                    summary = remember(summary, known)
            if summary != previous:
                self._set_pod(key, summary)
            return key
        if resource is Resource.EVENTS:
            note = note_from_event(obj)
            if note is None:
                return (namespace, name)
            key = (note.namespace, note.pod_name)
            notes = self._notes.get(key, ())
            kept = keep_note(notes, note)
            if kept is not notes:
                self._notes[key] = kept
            pod = self._pods.get(key)
            if pod is not None:
                learned = remember(pod, note)
                if learned is not pod or kept is not notes:
                    self._set_pod(key, learned)
            return (namespace, name)
        # Secrets: registry secrets only, and only their hosts.
        if obj.get("type") in REGISTRY_SECRET_TYPES:
            self._secrets.setdefault(namespace, {})[name] = hosts_from_secret(obj)
            self._credentials = None
            self._mark_namespace(namespace)
        return (namespace, name)

    def _delete(self, resource: Resource, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if resource is Resource.PODS:
            self._drop_pod(key)
            self._notes.pop(key, None)
        elif resource is Resource.SECRETS and self._secrets.get(key[0], {}).pop(key[1], None) is not None:
            self._credentials = None
            self._mark_namespace(key[0])
        # Deleted events (they expire after an hour) change nothing: what they taught is kept.

    def _set_pod(self, key: PodKey, summary: PodSummary) -> None:
        """Cache ``summary`` and keep the per-namespace STATUS totals, the problem set and the
        change feed current. Only a pod that is or was a problem enters the feed: a quiet pod has
        no findings whatever its notes or the registry secrets say, so a change from quiet to quiet
        cannot change an alert (and the initial sync of 50,000 healthy pods feeds nothing)."""
        previous = self._pods.get(key)
        self._pods[key] = summary
        totals = self._totals.get(key[0])
        if totals is None:
            totals = self._totals[key[0]] = Counter()
            if not self.namespaces:
                self._credentials = None  # a namespace podbot knows the secrets of from now on
        if previous is not None:
            totals[status_label(previous)] -= 1
        totals[status_label(summary)] += 1
        was_problem = key in self._problems
        if is_quiet(summary):
            self._problems.pop(key, None)
            self._diagnoses.pop(key, None)
        else:
            self._problems[key] = summary
        if was_problem or key in self._problems:
            self._dirty.add(key)

    def _drop_pod(self, key: PodKey) -> None:
        previous = self._pods.pop(key, None)
        if previous is None:
            return
        self._totals[key[0]][status_label(previous)] -= 1
        if self._problems.pop(key, None) is not None:
            self._dirty.add(key)  # its alerts must learn that it is gone
        self._diagnoses.pop(key, None)

    def _mark_namespace(self, namespace: str) -> None:
        """A registry secret changed: every pod of the namespace may be diagnosed differently
        (expanded to pod keys when the change feed is drained)."""
        self._dirty_namespaces.add(namespace)

    def _forget_unseen(self, resource: Resource, namespace: str | None, seen: set[Any]) -> None:
        def in_scope(ns: str) -> bool:
            return namespace is None or ns == namespace

        if resource is Resource.PODS:
            gone = [key for key in self._pods if in_scope(key[0]) and key not in seen]
            for key in gone:
                self._drop_pod(key)
                self._notes.pop(key, None)
            # Notes about pods that no longer exist (their events outlived them).
            for key in [k for k in self._notes if in_scope(k[0]) and k not in self._pods]:
                del self._notes[key]
        elif resource is Resource.SECRETS:
            for ns, names in self._secrets.items():
                if in_scope(ns):
                    for name in [n for n in names if (ns, n) not in seen]:
                        del names[name]
                        self._mark_namespace(ns)
            self._credentials = None


class ClusterCaches:
    """One ``WatchCache`` per cluster context, started on first use (the leader only)."""

    def __init__(
        self,
        clusters: Clusters,
        *,
        now: Callable[[], datetime],
        namespaces: Iterable[str] = (),
        backoff: Backoff = Backoff(),
    ) -> None:
        self._clusters = clusters
        self._now = now
        self._namespaces = tuple(namespaces)
        self._backoff = backoff
        self._lock = threading.Lock()
        self._caches: dict[str, WatchCache] = {}
        self._listeners: list[Callable[[], None]] = []
        self._stopped = True

    @property
    def default_context(self) -> str:
        return self._clusters.default_context

    def start(self) -> None:
        with self._lock:
            self._stopped = False
        self.get(None)

    def get(self, context: str | None) -> WatchCache:
        """The running cache of ``context`` (None = the default); unknown contexts raise NotFound."""
        kube = self._clusters.get(context)
        with self._lock:
            cache = self._caches.get(kube.context)
            if cache is None:
                cache = WatchCache(kube, now=self._now, namespaces=self._namespaces, backoff=self._backoff)
                for listener in self._listeners:
                    cache.add_listener(listener)
                self._caches[kube.context] = cache
            if not self._stopped:
                cache.start()
            return cache

    def running(self) -> list[WatchCache]:
        with self._lock:
            return [c for c in self._caches.values() if c.running]

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)
            for cache in self._caches.values():
                cache.add_listener(listener)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            caches = list(self._caches.values())
            self._caches.clear()
        for cache in caches:
            cache.stop()
