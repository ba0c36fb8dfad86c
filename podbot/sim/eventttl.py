"""Event expiry: the API server's ``--event-ttl`` (default one hour).

A real API server stores Events in etcd with a lease of ``event-ttl`` that every write renews, so
an Event disappears one hour after it was last recorded. podbot must remember what it learned
from events for longer than that; the simulator expires them the same way so tests can tell.
Events written straight into the store by the simulated kubelets expire too (a store listener).
"""

from __future__ import annotations

import contextlib
import threading

from podbot.sim.clock import SimClock
from podbot.sim.store import NotFoundError, ObjectStore, WatchEvent

DEFAULT_TTL = 3600.0


class EventTTL:
    def __init__(self, store: ObjectStore, clock: SimClock, ttl: float = DEFAULT_TTL) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self._deadlines: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def observe(self, event: WatchEvent) -> None:
        """Store listener (runs under the store lock): every write of an Event renews its lease."""
        if event.resource != "events" or self.ttl <= 0:
            return
        key = (event.obj.namespace, event.obj.name)
        with self._lock:
            if event.type == "DELETED":
                self._deadlines.pop(key, None)
                return
            deadline = self.clock.time() + self.ttl
            self._deadlines[key] = deadline
        self.clock.call_at(deadline, lambda: self._expire(key))

    def _expire(self, key: tuple[str, str]) -> None:
        with self._lock:
            deadline = self._deadlines.get(key)
            if deadline is None or deadline > self.clock.time():
                return  # renewed since this timer was set (a newer timer will handle it)
            del self._deadlines[key]
        with contextlib.suppress(NotFoundError):
            self.store.delete("events", *key)
