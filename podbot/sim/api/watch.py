"""Watch streams: newline-delimited JSON events over a chunked HTTP response.

Semantics follow the real API server:
- no resourceVersion (or "0"): synthetic ADDED events for the current objects, then changes;
- resourceVersion N: every change after N from the store's history, or, when N has been compacted
  away, an in-stream ``ERROR`` event carrying a 410 ``Expired`` Status (HTTP status stays 200);
- ``sendInitialEvents=true``: the initial ADDED events end with a BOOKMARK annotated
  ``k8s.io/initial-events-end: "true"``;
- with selectors, an object that stops matching is sent as DELETED and one that starts matching as
  ADDED (judged on the event's previous version, like the real watch cache), so caches stay exact;
- ``allowWatchBookmarks``: BOOKMARK events while idle and before the server ends the stream;
- ``timeoutSeconds`` ends the stream (default: a random 30-60 minutes, like minRequestTimeout).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from podbot.sim.api.listing import Output, Selection
from podbot.sim.objects.apierrors import status_body
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.resources import ResourceType
from podbot.sim.objects.store import GoneError, ObjectStore, Stored, Watcher, WatchEvent
from podbot.sim.objects.table import build_table

JSON = dict[str, Any]


def too_old(rv: int, oldest: int) -> SimApiError:
    return SimApiError(410, "Expired", f"too old resource version: {rv} ({oldest})")


def error_event(error: SimApiError) -> bytes:
    return json.dumps({"type": "ERROR", "object": status_body(error)}, separators=(",", ":")).encode() + b"\n"


@dataclass
class WatchRequest:
    rt: ResourceType
    namespace: str | None
    selection: Selection
    resource_version: str
    timeout: float
    bookmarks: bool
    send_initial_events: bool
    output: Output
    include_object: str


class WatchStream:
    """One watch: an iterator of encoded events plus ``close()``."""

    def __init__(
        self,
        store: ObjectStore,
        request: WatchRequest,
        now: Callable[[], datetime],
        bookmark_interval: float,
    ) -> None:
        self.store = store
        self.req = request
        self.now = now
        self.bookmark_interval = bookmark_interval
        self.watcher: Watcher | None = None
        self._first_table = True
        self._initial: list[Stored] = []
        self._error: SimApiError | None = None
        self._start()

    def _start(self) -> None:
        req = self.req
        storage = req.rt.storage
        rv_text = req.resource_version
        try:
            if rv_text in ("", "0") or req.send_initial_events:
                items, rv, _ = self.store.list(storage, req.namespace, req.selection.predicate())
                self._initial = items
                self.watcher = self.store.watch(storage, req.namespace, None, since_rv=rv)
                self._last_rv = rv
            else:
                since = int(rv_text)
                self.watcher = self.store.watch(storage, req.namespace, None, since_rv=since)
                self._last_rv = since
        except GoneError:
            self._error = too_old(int(rv_text), self.store.compacted_resource_version)
        except ValueError:
            self._error = SimApiError(
                400, "BadRequest", f'resourceVersion: Invalid value: "{rv_text}": must be a number'
            )

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    # --- encoding ------------------------------------------------------------------------------
    def _encode(self, event_type: str, raw: bytes) -> bytes:
        if self.req.output.form == "table":
            obj = json.loads(raw)
            table = build_table(
                self.req.rt.table,
                [obj],
                self.now(),
                version=self.req.output.version,
                include_object=self.req.include_object,
                list_meta={"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")},
                headers=self._first_table,
            )
            self._first_table = False
            raw = json.dumps(table, separators=(",", ":")).encode()
        elif self.req.output.form == "metadata":
            obj = json.loads(raw)
            api_version = f"meta.k8s.io/{self.req.output.version}"
            raw = json.dumps(
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": api_version,
                    "metadata": obj.get("metadata", {}),
                },
                separators=(",", ":"),
            ).encode()
        return b'{"type":"' + event_type.encode() + b'","object":' + raw + b"}\n"

    def _bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: JSON = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.req.rt.kind, "apiVersion": self.req.rt.api_version, "metadata": meta}
        return b'{"type":"BOOKMARK","object":' + json.dumps(obj, separators=(",", ":")).encode() + b"}\n"

    def _translate(self, event: WatchEvent) -> str | None:
        """With selectors, objects entering the selection are ADDED and leaving it DELETED."""
        selection = self.req.selection
        if selection.empty:
            return event.type
        was = event.prev is not None and selection.matches(event.prev)
        if event.type == "DELETED":
            return "DELETED" if was else None
        now = selection.matches(event.obj)
        if event.type == "ADDED":
            return "ADDED" if now else None
        if now:
            return "MODIFIED" if was else "ADDED"
        return "DELETED" if was else None

    # --- the stream ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[bytes]:
        if self._error is not None:
            yield error_event(self._error)
            return
        assert self.watcher is not None
        for stored in self._initial:
            yield self._encode("ADDED", stored.raw)
        if self.req.send_initial_events:
            yield self._bookmark(self._last_rv, initial_end=True)
        self._initial = []
        deadline = time.monotonic() + self.req.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if self.req.bookmarks:
                    yield self._bookmark(self._last_rv)
                return
            progress = self.store.resource_version  # safe bookmark rv: see the module docstring
            event = self.watcher.next(timeout=min(remaining, self.bookmark_interval))
            if event is None:
                if self.watcher.closed:
                    return
                if self.req.bookmarks:
                    self._last_rv = max(self._last_rv, progress)
                    yield self._bookmark(self._last_rv)
                continue
            self._last_rv = event.rv
            event_type = self._translate(event)
            if event_type is not None:
                yield self._encode(event_type, event.obj.raw)


def default_timeout() -> float:
    """minRequestTimeout (1800 s) times a random factor in [1, 2), as the real server does."""
    return 1800.0 * (1 + random.random())
