"""Event recording the way Kubernetes components do it, written straight into the store.

``EventRecorder`` is client-go's legacy core/v1 recorder (tools/record) as the kubelet uses it:
an identical event (same source, object, field path, type, reason and message) bumps ``count``
and ``lastTimestamp`` of the existing Event instead of creating a new one (``kubectl describe``
then shows ``(x4 over 15m)``); more than 10 different messages for the same reason within 10
minutes are folded into one "(combined from similar events): ..." event; and a token bucket per
source+object (burst 25, one more every 5 minutes) drops events beyond that, while counts keep
accumulating and reach the API with the next event that gets through.

``SeriesRecorder`` is the events.k8s.io/v1 recorder the scheduler uses: the first occurrence is
an Event with ``eventTime``, ``action`` and ``reportingController``; a repeat turns it into a
series (``series.count: 2``); later repeats are counted in memory and written every 30 minutes.

``EventExpiry`` deletes events an hour after their last update, as the API server's --event-ttl.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.store import AlreadyExistsError, ConflictError, NotFoundError, ObjectStore, WatchEvent

JSON = dict[str, Any]

LRU_SIZE = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
EVENT_TTL = 3600.0
SERIES_HEARTBEAT = 30 * 60.0
SERIES_FINISH = 6 * 60.0


def object_ref(obj: JSON, field_path: str | None = None) -> JSON:
    """An ObjectReference to ``obj`` (as GetReference builds it)."""
    meta = obj.get("metadata") or {}
    ref: JSON = {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": obj.get("kind", "Pod"),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
    }
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    if meta.get("resourceVersion"):
        ref["resourceVersion"] = meta["resourceVersion"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def micro_time(epoch: float) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Lru(OrderedDict[str, Any]):
    def get_touch(self, key: str) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > LRU_SIZE:
            self.popitem(last=False)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class _Aggregate:
    local_keys: set[str]
    last: float


@dataclass
class _Observation:
    count: int
    first: str
    name: str


class _Names:
    """Event names are ``<object>.<hex unix nanos>``; simulated time can stand still, so keep them unique."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def make(self, object_name: str, now: float) -> str:
        with self._lock:
            nanos = max(int(now * 1e9), self._last + 1)
            self._last = nanos
        return f"{object_name}.{nanos:x}"


# One generator for every recorder in the process: two components reporting on the same object in
# the same (frozen) simulated instant must not pick the same event name.
_NAMES = _Names()


class EventRecorder:
    """client-go's record.EventRecorder + EventCorrelator for one source (e.g. kubelet on node01)."""

    def __init__(self, store: ObjectStore, clock: SimClock, component: str, host: str = "") -> None:
        self.store = store
        self.clock = clock
        self.component = component
        self.host = host
        self._aggregates = _Lru()
        self._observed = _Lru()
        self._buckets = _Lru()
        self._names = _NAMES

    def event(self, involved: JSON, event_type: str, reason: str, message: str) -> None:
        """Record an event about ``involved`` (an ObjectReference; see ``object_ref``)."""
        now = self.clock.time()
        source_key = "\x00".join(
            [self.component, self.host]
            + [involved.get(k, "") for k in ("kind", "namespace", "name", "uid", "apiVersion")]
        )
        event_key = "\x00".join([source_key, involved.get("fieldPath", ""), event_type, reason, message])
        # Aggregation: many different messages for one reason become a combined event.
        aggregate_key = "\x00".join([source_key, event_type, reason])
        record = self._aggregates.get_touch(aggregate_key)
        if record is None or now - record.last > AGGREGATE_INTERVAL:
            record = _Aggregate(set(), now)
        record.local_keys.add(message)
        record.last = now
        self._aggregates.put(aggregate_key, record)
        key = event_key
        if len(record.local_keys) >= AGGREGATE_MAX_EVENTS:
            record.local_keys.pop()
            message = "(combined from similar events): " + message
            key = aggregate_key
        # Counting identical events.
        observed = self._observed.get_touch(key)
        stamp = rfc3339(now)
        if observed is None:
            observed = _Observation(1, stamp, self._names.make(involved.get("name", ""), now))
        else:
            observed = _Observation(observed.count + 1, observed.first, observed.name)
        self._observed.put(key, observed)
        # Spam filter: per source+object token bucket.
        bucket = self._buckets.get_touch(source_key)
        if bucket is None:
            bucket = _Bucket(float(SPAM_BURST), now)
        bucket.tokens = min(float(SPAM_BURST), bucket.tokens + (now - bucket.stamp) * SPAM_QPS)
        bucket.stamp = now
        self._buckets.put(source_key, bucket)
        if bucket.tokens < 1:
            return
        bucket.tokens -= 1
        self._write(involved, event_type, reason, message, observed, stamp)

    def _write(
        self, involved: JSON, event_type: str, reason: str, message: str, observed: _Observation, stamp: str
    ) -> None:
        namespace = involved.get("namespace") or "default"
        if observed.count > 1:

            def bump(event: JSON) -> JSON:
                event["count"] = observed.count
                event["lastTimestamp"] = stamp
                event["message"] = message
                return event

            try:
                self.store.mutate("events", namespace, observed.name, bump)
                return
            except NotFoundError:
                pass  # expired or deleted: create it again, keeping the count (as the recorder does)
        event: JSON = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": observed.name, "namespace": namespace},
            "involvedObject": dict(involved),
            "reason": reason,
            "message": message,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": observed.first,
            "lastTimestamp": stamp,
            "count": observed.count,
            "type": event_type,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        stamp_new(event, self.clock)
        with contextlib.suppress(AlreadyExistsError):
            self.store.create("events", event)


@dataclass
class _Series:
    name: str
    namespace: str
    count: int
    last_observed: float
    written: int


class SeriesRecorder:
    """The events.k8s.io/v1 recorder (k8s.io/client-go/tools/events) for one controller."""

    def __init__(self, store: ObjectStore, clock: SimClock, controller: str, instance: str) -> None:
        self.store = store
        self.clock = clock
        self.controller = controller
        self.instance = instance
        self._series: dict[str, _Series] = {}
        self._names = _NAMES
        self._heartbeat: Any = None

    def event(self, regarding: JSON, event_type: str, reason: str, action: str, note: str) -> None:
        now = self.clock.time()
        key = "\x00".join(
            [action, reason, self.controller, regarding.get("kind", ""), regarding.get("namespace", ""),
             regarding.get("name", ""), regarding.get("uid", "")]
        )  # fmt: skip
        self._finish_old(now)
        series = self._series.get(key)
        if series is not None:
            series.count += 1
            series.last_observed = now
            if series.written < 2:
                self._write_series(series)
            return
        namespace = regarding.get("namespace") or "default"
        name = self._names.make(regarding.get("name", ""), now)
        event: JSON = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": dict(regarding),
            "reason": reason,
            "message": note,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "type": event_type,
            "eventTime": micro_time(now),
            "action": action,
            "reportingComponent": self.controller,
            "reportingInstance": self.instance,
        }
        stamp_new(event, self.clock)
        try:
            self.store.create("events", event)
        except AlreadyExistsError:
            return
        self._series[key] = _Series(name, namespace, 1, now, 1)
        if self._heartbeat is None:
            self._heartbeat = self.clock.call_later(SERIES_HEARTBEAT, self._refresh)

    def _write_series(self, series: _Series) -> None:
        def update(event: JSON) -> JSON:
            event["series"] = {"count": series.count, "lastObservedTime": micro_time(series.last_observed)}
            return event

        try:
            self.store.mutate("events", series.namespace, series.name, update)
            series.written = series.count
        except NotFoundError:
            series.written = series.count

    def _finish_old(self, now: float) -> None:
        for key in [k for k, s in self._series.items() if now - s.last_observed > SERIES_FINISH]:
            series = self._series.pop(key)
            if series.count > series.written:
                self._write_series(series)

    def _refresh(self) -> None:
        self._heartbeat = None
        for series in self._series.values():
            if series.count > series.written:
                self._write_series(series)
        self._finish_old(self.clock.time())
        if self._series:
            self._heartbeat = self.clock.call_later(SERIES_HEARTBEAT, self._refresh)

    def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None


class EventExpiry:
    """Deletes each Event ``ttl`` seconds after its last write, like kube-apiserver --event-ttl=1h.

    One timer per event at most: a write only records its time; when the timer fires early (the
    event was written again since) it is set again for the new deadline.
    """

    def __init__(self, store: ObjectStore, clock: SimClock, ttl: float = EVENT_TTL) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self._stopped = False
        self._last_write: dict[tuple[str, str], tuple[float, int]] = {}
        self._armed: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        self.store.add_listener(self._on_event)

    def stop(self) -> None:
        self._stopped = True

    def _on_event(self, event: WatchEvent) -> None:
        # Runs under the store lock: only bookkeeping and scheduling.
        if self._stopped or event.resource != "events":
            return
        key = (event.obj.namespace, event.obj.name)
        with self._lock:
            if event.type == "DELETED":
                self._last_write.pop(key, None)
                return
            self._last_write[key] = (self.clock.time(), event.rv)
            if key in self._armed:
                return
            self._armed.add(key)
        self.clock.call_later(self.ttl, lambda: self._expire(key))

    def _expire(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._armed.discard(key)
            written = self._last_write.get(key)
            if self._stopped or written is None:
                return
            at, rv = written
            due = at + self.ttl
            if self.clock.time() < due:
                self._armed.add(key)
                rearm = True
            else:
                rearm = False
        if rearm:
            self.clock.call_at(due, lambda: self._expire(key))
            return
        with contextlib.suppress(NotFoundError, ConflictError):
            # Written again in the meantime: that write set a new deadline.
            self.store.delete("events", key[0], key[1], expected_rv=str(rv))
