"""Simulated kubelets (one per node), the scheduler and static pods, sharing the API server's store.

``KubeletPool`` is the whole node side of the simulator. It registers the Node objects, runs
default-scheduler, a kubelet per node (pod workers, image pulls, container runtime, events),
static pods with their mirror pods, and event expiry. It learns about changes through a store
listener that only queues them; a clock timer then works through the queue. All behaviour is
driven by the SimClock, so tests jump through back-offs with ``clock.advance``.

Pods created directly in the store with their status already filled in (``status.phase`` Running,
Succeeded or Failed, or any ``containerStatuses``; benchmarks load 50,000 that way) are adopted
as they are: nothing is written for them, they cost no timers, and their logs are made up from
their image's behaviour. Pods without a node and with ``schedulerName: default-scheduler`` are
scheduled, so loading many Pending pods means real scheduling work (and FailedScheduling once the
nodes are full); give them another schedulerName to keep them untouched.

Cluster layout: node *i* (0-based, in the order given) has InternalIP 10.0.0.(130+i) -- the seed
notes' master, which also hosts their private registry, is 10.0.0.130 -- and pod CIDR
10.244.i.0/24; 2 CPUs, ~3.8 GiB and 110 pods allocatable; kubelet v1.32.4 on containerd 1.7.
The first node carries the control-plane role label, kubeadm's static pods (unless disabled) and
kubeadm's ``node-role.kubernetes.io/control-plane:NoSchedule`` taint, so ordinary pods land on the
other nodes (and a one-node cluster leaves them Pending, FailedScheduling, as kubeadm's would).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.images.model import PullResult, ResolvedImage
from podbot.sim.images.reference import ImageReference
from podbot.sim.images.registry import RateLimitLedger, RegistryTable
from podbot.sim.kubelet.backoff import Backoff
from podbot.sim.kubelet.events import EventExpiry, EventRecorder
from podbot.sim.kubelet.nodes import (
    host_ip,
    register_node,
    renew_lease,
    report_node_conditions,
    set_node_images,
)
from podbot.sim.kubelet.podlogs import PodLogs
from podbot.sim.kubelet.podworker import PodWorker
from podbot.sim.kubelet.scheduler import Scheduler
from podbot.sim.kubelet.staticpods import StaticPods
from podbot.sim.objects.podspec import MIRROR_ANNOTATION
from podbot.sim.objects.store import ConflictError, NotFoundError, ObjectStore, Stored, WatchEvent

JSON = dict[str, Any]
log = logging.getLogger(__name__)

LEASE_RENEW = 10.0
CACHED_PULL = 0.3  # seconds a pull takes when the image's layers are already on the node
ADOPTED_STOP = 0.5  # seconds the containers of an adopted pod take to stop when it is deleted
NODE_STATUS_REPORT = 300.0


class Kubelet:
    """One node's kubelet."""

    def __init__(self, pool: KubeletPool, name: str, index: int) -> None:
        self.pool = pool
        self.name = name
        self.index = index
        self.clock = pool.clock
        self.store = pool.store
        self.registry = pool.registry
        self.lock = pool.lock
        self.rng = pool.rng
        self.host_ip = host_ip(index)
        self.gateway = f"10.244.{index}.1"
        self.recorder = EventRecorder(pool.store, pool.clock, "kubelet", name)
        self.pull_backoff = Backoff()
        self.crash_backoff = Backoff()
        self.workers: dict[str, PodWorker] = {}
        self.adopted: dict[tuple[str, str], str] = {}
        self._deleting: set[tuple[str, str]] = set()
        self.node_uid = ""
        self._images: dict[str, ResolvedImage] = {}
        self._ips_in_use: set[int] = set()
        self._next_ip = 2
        self._pull_free_at = 0.0
        self._landing: dict[str, float] = {}  # image ID -> when a queued pull will have it on disk
        self._registered_at = 0.0

    # --- images ---------------------------------------------------------------------------------
    def image_present(self, ref: ImageReference) -> ResolvedImage | None:
        resolved = self.registry.resolve(ref)
        if resolved is None:
            return None
        return self._images.get(resolved.image_id)

    def add_image(self, image: ResolvedImage | None) -> None:
        if image is not None and image.image_id not in self._images:
            self._images[image.image_id] = image
            self.pool.images_changed(self)

    def images_json(self) -> list[JSON]:
        seen: dict[str, JSON] = {}
        for image in self._images.values():
            entry = seen.setdefault(image.image_id, {"names": [image.image_id], "sizeBytes": image.size})
            if image.full_ref not in entry["names"]:
                entry["names"].append(image.full_ref)
        return sorted(seen.values(), key=lambda e: -int(e["sizeBytes"]))

    def pull(self, ref: ImageReference, credentials: list[Any], now: float) -> tuple[PullResult, float]:
        """Decide a pull now; pulls are serialized per node, like serializeImagePulls: true."""
        result = self.registry.pull(ref, credentials, ledger=self.pool.ledger, node=self.name, now=now)
        begin = max(now, self._pull_free_at)
        image = result.image
        if image is not None:
            landed = self._landing.get(image.image_id)
            if image.image_id in self._images or (landed is not None and landed <= begin):
                # The layers are already there (an earlier pull in the queue fetched them): only the
                # manifest round trip is left, as with containerd.
                result = replace(result, duration=CACHED_PULL)
            else:
                self._landing[image.image_id] = begin + result.duration
        finish = begin + result.duration
        self._pull_free_at = finish
        return result, finish

    # --- pod network ----------------------------------------------------------------------------
    def allocate_ip(self) -> str:
        for _ in range(253):
            candidate = self._next_ip
            self._next_ip = 2 if self._next_ip >= 254 else self._next_ip + 1
            if candidate not in self._ips_in_use:
                self._ips_in_use.add(candidate)
                return f"10.244.{self.index}.{candidate}"
        # The /24 is exhausted (only possible beyond maxPods): hand out an address twice.
        return f"10.244.{self.index}.{self._next_ip}"

    def release_ip(self, ip: str) -> None:
        with contextlib.suppress(ValueError, IndexError):
            self._ips_in_use.discard(int(ip.rsplit(".", 1)[1]))

    # --- pods -----------------------------------------------------------------------------------
    def on_pod(self, pod: JSON, stored: Stored, rv: int) -> None:
        meta = pod["metadata"]
        uid = meta.get("uid", "")
        key = (meta.get("namespace", ""), meta["name"])
        worker = self.workers.get(uid)
        if worker is not None:
            if rv != worker.last_written_rv:
                worker.update(pod)
            return
        if meta.get("deletionTimestamp"):
            # Nothing this kubelet started: its containers (if any) stop quickly, then the pod goes.
            grace = meta.get("deletionGracePeriodSeconds", 30)
            self._delete_later(key, uid, min(float(grace), ADOPTED_STOP))
            return
        if key in self.adopted:
            return
        status = pod.get("status") or {}
        if status.get("containerStatuses") or status.get("phase") in ("Running", "Succeeded", "Failed"):
            self.adopted[key] = uid
            return
        rejection = self.pool.scheduler.admit(pod, self.name)
        if rejection is not None:
            self._reject(pod, *rejection)
            return
        worker = PodWorker(self, pod)
        self.workers[uid] = worker
        worker.sync()

    def _reject(self, pod: JSON, reason: str, message: str) -> None:
        """Kubelet admission refused the pod (it was bound here without fitting): it fails at once."""
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        self.adopted[key] = meta.get("uid", "")
        ref = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": meta["name"],
            "namespace": key[0],
            "uid": meta.get("uid", ""),
        }
        self.recorder.event(ref, "Warning", reason, message)
        status = {
            "phase": "Failed",
            "reason": reason,
            "message": f"Pod was rejected: {message}",
            "startTime": rfc3339(self.clock.time()),
            "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
        }

        def fail(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != meta.get("uid"):
                return None
            current["status"] = {**status, "conditions": (current.get("status") or {}).get("conditions", [])}
            return current

        with contextlib.suppress(NotFoundError):
            self.store.mutate("pods", key[0], key[1], fail)

    def _delete_later(self, key: tuple[str, str], uid: str, delay: float) -> None:
        if key in self._deleting:
            return
        self._deleting.add(key)

        def delete() -> None:
            with self.lock:
                self._deleting.discard(key)
                self.adopted.pop(key, None)
                with contextlib.suppress(NotFoundError, ConflictError):
                    self.store.delete("pods", key[0], key[1], expected_uid=uid)

        self.clock.call_later(delay, delete)

    def on_pod_deleted(self, namespace: str, name: str, uid: str) -> None:
        self.adopted.pop((namespace, name), None)
        worker = self.workers.get(uid)
        if worker is not None and not worker.static:
            worker.discard()
            del self.workers[uid]

    def worker_finished(self, worker: PodWorker, *, delete: bool) -> None:
        """A terminating pod's containers have all stopped."""
        if worker.static:
            self.pool.static.stopped_worker(worker)
            return
        if delete:
            with contextlib.suppress(NotFoundError, ConflictError):
                self.store.delete("pods", worker.namespace, worker.name, expected_uid=worker.api_uid)
            worker.discard()
            self.workers.pop(worker.uid, None)

    def static_status(self, worker: PodWorker, status: JSON) -> bool:
        return self.pool.static.write_status(worker, status)


class KubeletPool:
    """The node side of podbot.sim: nodes, scheduler, kubelets, static pods (see module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        clock: SimClock,
        nodes: Sequence[str],
        registry: RegistryTable,
        state_dir: Path,
        control_plane_static_pods: bool = True,
        *,
        seed: int = 0,
    ) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        if len(set(nodes)) != len(nodes):
            raise ValueError("node names must be unique")
        self.store = store
        self.clock = clock
        self.registry = registry
        self.state_dir = Path(state_dir)
        self.control_plane_static_pods = control_plane_static_pods
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.ledger = RateLimitLedger()
        self.kubelets: dict[str, Kubelet] = {name: Kubelet(self, name, i) for i, name in enumerate(nodes)}
        self.static = StaticPods(store, clock, self.state_dir)
        self.scheduler = Scheduler(store, clock, self.lock, lambda: self._stopped, host=nodes[0])
        self.expiry = EventExpiry(store, clock)
        self._logs = PodLogs(self)
        self._inbox: deque[WatchEvent] = deque()
        self._inbox_lock = threading.Lock()
        self._drain_scheduled = False
        self._timers: list[Any] = []
        self._started = False
        self._stopped = False
        self._node_recorder = EventRecorder(store, clock, "node-controller")

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Register the nodes and start the scheduler, kubelets, static pods and event expiry."""
        if self._started:
            return
        self._started = True
        with self.lock:
            preloaded = self.registry.preloaded_images()
            for index, kubelet in enumerate(self.kubelets.values()):
                for image in preloaded:
                    kubelet._images[image.image_id] = image
                self._register_node(kubelet, control_plane=index == 0)
                self.static.add_node(kubelet, control_plane=index == 0 and self.control_plane_static_pods)
            self.expiry.start()
            self.store.add_listener(self._on_store_event)
            for resource in ("nodes", "pods"):
                items, _, _ = self.store.list(resource)
                for stored in items:
                    self._inbox.append(WatchEvent("ADDED", resource, stored.rv, stored))
            self._schedule_drain()
            self.static.start()
            self._timers.append(self.clock.call_later(LEASE_RENEW, self._renew_leases))
            self._timers.append(self.clock.call_later(NODE_STATUS_REPORT, self._report_nodes))

    def stop(self) -> None:
        with self.lock:
            self._stopped = True
            self.static.stop()
            self.scheduler.stop()
            self.expiry.stop()
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            for kubelet in self.kubelets.values():
                for worker in list(kubelet.workers.values()):
                    worker.discard()
                kubelet.workers.clear()

    # --- public API -----------------------------------------------------------------------------
    def static_pod_dir(self, node: str) -> Path:
        if node not in self.kubelets:
            raise ValueError(f"unknown node {node!r}")
        return self.static.manifest_dir(node)

    def set_manifest_url(self, node: str, url: str | None) -> None:
        """Point ``node``'s kubelet at a manifest URL (loopback only), or None to stop using one."""
        self.static.set_manifest_url(node, url)

    def sync_static_pods(self, node: str | None = None) -> None:
        """Rescan manifest folders now instead of waiting for the next 20s check."""
        with self.lock:
            for name in [node] if node else list(self.kubelets):
                self.static.sync_node(name)

    def logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> list[str]:
        """Lines of a container's log (GET pods/NAME/log); SimApiError with the API server's message."""
        return self._logs.logs(
            namespace,
            pod,
            container,
            previous=previous,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps,
        )

    def follow_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
        stop: threading.Event,
    ) -> Iterator[str]:
        """Validate now (SimApiError raises here, before any streaming), then yield lines as they appear
        until the container exits or ``stop`` is set (GET pods/NAME/log?follow=true)."""
        return self._logs.follow(
            namespace,
            pod,
            container,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps,
            stop=stop,
        )

    # --- nodes ----------------------------------------------------------------------------------
    def _register_node(self, kubelet: Kubelet, *, control_plane: bool) -> None:
        kubelet._registered_at = self.clock.time()
        kubelet.node_uid = register_node(
            self.store,
            self.clock,
            kubelet.name,
            kubelet.index,
            control_plane=control_plane,
            images=kubelet.images_json(),
            kubelet_events=kubelet.recorder,
            controller_events=self._node_recorder,
        )
        renew_lease(self.store, self.clock, kubelet.name, kubelet.node_uid)

    def images_changed(self, kubelet: Kubelet) -> None:
        set_node_images(self.store, kubelet.name, kubelet.images_json())

    def _report_nodes(self) -> None:
        with self.lock:
            if self._stopped:
                return
            for kubelet in self.kubelets.values():
                report_node_conditions(self.store, kubelet.name, self.clock.time(), kubelet._registered_at)
            self._timers = [t for t in self._timers if not t.cancelled]
            self._timers.append(self.clock.call_later(NODE_STATUS_REPORT, self._report_nodes))

    def _renew_leases(self) -> None:
        with self.lock:
            if self._stopped:
                return
            for kubelet in self.kubelets.values():
                renew_lease(self.store, self.clock, kubelet.name, kubelet.node_uid)
            self._timers = [t for t in self._timers if not t.cancelled]
            self._timers.append(self.clock.call_later(LEASE_RENEW, self._renew_leases))

    # --- store changes --------------------------------------------------------------------------
    def _on_store_event(self, event: WatchEvent) -> None:
        # Called under the store lock: queue only.
        if self._stopped or event.resource not in ("pods", "nodes"):
            return
        self._inbox.append(event)
        self._schedule_drain()

    def _schedule_drain(self) -> None:
        with self._inbox_lock:
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        self.clock.call_later(0, self._drain)

    def _drain(self) -> None:
        with self._inbox_lock:
            self._drain_scheduled = False
        with self.lock:
            while self._inbox and not self._stopped:
                event = self._inbox.popleft()
                try:
                    if event.resource == "pods":
                        self._pod_event(event)
                    else:
                        self._node_event(event)
                except Exception:
                    log.exception(
                        "podbot.sim: failed to handle %s %s/%s",
                        event.type,
                        event.obj.namespace,
                        event.obj.name,
                    )

    def _node_event(self, event: WatchEvent) -> None:
        name = event.obj.name
        self.scheduler.node_changed(None if event.type == "DELETED" else event.obj.load(), name)

    def _pod_deleted(self, stored: Stored) -> None:
        pod = stored.load()
        meta = pod["metadata"]
        uid = meta.get("uid", "")
        node = (pod.get("spec") or {}).get("nodeName", "")
        self.scheduler.pod_deleted(stored.namespace, stored.name, uid)
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            self.static.mirror_event("DELETED", pod)
            return
        kubelet = self.kubelets.get(node)
        if kubelet is not None:
            kubelet.on_pod_deleted(stored.namespace, stored.name, uid)

    def _pod_event(self, event: WatchEvent) -> None:
        stored = event.obj
        if event.type == "DELETED":
            self._pod_deleted(stored)
            return
        node = stored.fields.get("spec.nodeName")
        raw = stored.raw
        pod: JSON | None = None
        if node is None:
            pod = stored.load()
            node = (pod.get("spec") or {}).get("nodeName") or ""
        if not node:
            self.scheduler.consider(pod or stored.load(), event.rv)
            return
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            return
        key = (stored.namespace, stored.name)
        if (
            key in kubelet.adopted
            and b'"deletionTimestamp"' not in raw
            and b"Succeeded" not in raw
            and b"Failed" not in raw
        ):
            return  # a quiet adopted pod: nothing to do, and no need to parse it
        pod = pod or stored.load()
        phase = (pod.get("status") or {}).get("phase", "")
        self.scheduler.pod_assigned(pod, node, phase)
        if MIRROR_ANNOTATION in ((pod["metadata"].get("annotations")) or {}):
            self.static.mirror_event(event.type, pod)
            return
        kubelet.on_pod(pod, stored, event.rv)


__all__ = ["Kubelet", "KubeletPool"]
