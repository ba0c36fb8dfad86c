"""Static pods: manifests in a node's staticPodPath (and an optional manifest URL), and mirror pods.

Each node has a manifest folder (``<state_dir>/nodes/<node>/manifests``), scanned every 20s like
the kubelet's fileCheckFrequency, and optionally a manifest URL (loopback only) fetched every 20s
(httpCheckFrequency); the URL may serve one Pod or a PodList, in YAML or JSON. For each manifest
the kubelet runs a pod named ``<name>-<node>`` whose UID is a hash of the manifest and its source,
and keeps a read-only *mirror pod* of it in the API: annotations ``kubernetes.io/config.mirror``
and ``kubernetes.io/config.hash`` (that hash), ``kubernetes.io/config.seen``,
``kubernetes.io/config.source`` (file|http), and an owner reference to the Node. Deleting the
mirror pod through the API is undone (a new mirror, new UID, same running containers); removing
the manifest stops the pod and deletes its mirror; editing it replaces the pod.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import ipaddress
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from podbot.sim.behaviours.run import rfc3339_nano
from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.kubelet.podstatus import write_status
from podbot.sim.kubelet.podworker import PodHost, PodWorker
from podbot.sim.objects.meta import SimApiError, stamp_new
from podbot.sim.objects.podspec import MIRROR_ANNOTATION, default_pod
from podbot.sim.objects.store import AlreadyExistsError, ConflictError, NotFoundError, ObjectStore

JSON = dict[str, Any]
log = logging.getLogger(__name__)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FILE_CHECK_FREQUENCY = 20.0
HTTP_CHECK_FREQUENCY = 20.0
HASH_ANNOTATION = "kubernetes.io/config.hash"
SEEN_ANNOTATION = "kubernetes.io/config.seen"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


class ManifestError(ValueError):
    """A manifest that is not a usable Pod (the kubelet logs it and ignores the file)."""


@dataclass
class _Desired:
    uid: str
    pod: JSON
    source: str
    origin: str

    @property
    def key(self) -> tuple[str, str]:
        return self.pod["metadata"]["namespace"], self.pod["metadata"]["name"]


@dataclass
class StaticPod:
    node: str
    uid: str
    pod: JSON
    source: str
    origin: str
    worker: PodWorker
    mirror_uid: str | None = None
    stopping: bool = False
    replacement: _Desired | None = None
    timers: list[Any] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        meta = self.pod["metadata"]
        return meta["namespace"], meta["name"]


def parse_manifest(text: str, origin: str) -> list[JSON]:
    """Pods in a manifest file or URL body: one Pod, or a PodList (YAML or JSON)."""
    try:
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's when available)
    except yaml.YAMLError as err:
        raise ManifestError(f"{origin}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{origin}: expected a Pod")
    if data.get("kind") in ("PodList", "List") and isinstance(data.get("items"), list):
        items = data["items"]
    else:
        items = [data]
    pods = []
    for item in items:
        if (
            not isinstance(item, dict)
            or item.get("kind", "Pod") != "Pod"
            or item.get("apiVersion", "v1") != "v1"
        ):
            raise ManifestError(f"{origin}: only v1 Pods can be static pods")
        if not (item.get("metadata") or {}).get("name"):
            raise ManifestError(f"{origin}: metadata.name is required")
        if not (item.get("spec") or {}).get("containers"):
            raise ManifestError(f"{origin}: spec.containers is required")
        pods.append(item)
    return pods


def static_pod(manifest: JSON, node: str, source: str, origin: str, seen: str) -> _Desired:
    """applyDefaults of the kubelet's config sources: name, namespace, UID, node, annotations."""
    pod = copy.deepcopy(manifest)
    pod.pop("status", None)
    meta = pod.setdefault("metadata", {})
    meta.pop("creationTimestamp", None)
    hasher = hashlib.md5(json.dumps(pod, sort_keys=True).encode())  # noqa: S324 - an identity hash, as the kubelet's
    hasher.update((f"host:{node}file:{origin}" if source == "file" else f"url:{origin}").encode())
    uid = hasher.hexdigest()
    meta["name"] = f"{meta['name']}-{node}"
    meta["namespace"] = meta.get("namespace") or "default"
    annotations = meta.setdefault("annotations", {})
    annotations[HASH_ANNOTATION] = uid
    annotations[SEEN_ANNOTATION] = seen
    annotations[SOURCE_ANNOTATION] = source
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node
    if source == "file":
        tolerations = spec.setdefault("tolerations", [])
        if not any(
            t.get("operator") == "Exists" and not t.get("key") and t.get("effect") == "NoExecute"
            for t in tolerations
        ):
            tolerations.append({"effect": "NoExecute", "operator": "Exists"})
    return _Desired(uid, pod, source, origin)


def check_loopback(url: str) -> None:
    """Manifest URLs must stay on this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"manifest URL must be http(s)://host[:port]/path, got {url!r}")
    host = parts.hostname
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"manifest URL host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}"
        ) from None
    if not address.is_loopback:
        raise ValueError(
            f"manifest URL host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}"
        )


class StaticPods:
    def __init__(self, store: ObjectStore, clock: SimClock, state_dir: Path) -> None:
        self.store = store
        self.clock = clock
        self.state_dir = state_dir
        self.kubelets: dict[str, PodHost] = {}
        self.pods: dict[str, dict[tuple[str, str], StaticPod]] = {}
        self.urls: dict[str, str | None] = {}
        self._url_pods: dict[str, list[JSON]] = {}
        self._url_desired: dict[str, tuple[list[JSON], list[_Desired]]] = {}
        self._file_cache: dict[tuple[str, Path], tuple[tuple[int, int], _Desired | None]] = {}
        self._timers: list[Any] = []
        self.stopped = False

    def manifest_dir(self, node: str) -> Path:
        return self.state_dir / "nodes" / node / "manifests"

    def add_node(self, kubelet: PodHost, *, control_plane: bool) -> None:
        node = kubelet.name
        self.kubelets[node] = kubelet
        self.pods.setdefault(node, {})
        folder = self.manifest_dir(node)
        fresh = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if fresh and control_plane:
            package = resources.files("podbot.sim.kubelet").joinpath("manifests")
            for name in CONTROL_PLANE:
                text = package.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
                text = text.replace("{ip}", kubelet.host_ip).replace("{node}", node)
                (folder / f"{name}.yaml").write_text(text, encoding="utf-8")

    def start(self) -> None:
        for node in self.kubelets:
            self._timers.append(self.clock.call_later(0, self._ticker(node)))

    def _ticker(self, node: str) -> Callable[[], None]:
        return lambda: self._file_tick(node)

    def stop(self) -> None:
        self.stopped = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    # --- sources --------------------------------------------------------------------------------
    def _file_tick(self, node: str) -> None:
        if self.stopped:
            return
        with self.kubelets[node].lock:
            self.sync_node(node)
        self._timers = [t for t in self._timers if not t.cancelled]
        self._timers.append(self.clock.call_later(FILE_CHECK_FREQUENCY, lambda: self._file_tick(node)))

    def set_manifest_url(self, node: str, url: str | None) -> None:
        if node not in self.kubelets:
            raise ValueError(f"unknown node {node!r}")
        if url is not None:
            check_loopback(url)
        previous = self.urls.get(node)
        self.urls[node] = url
        if url is None:
            self._url_pods.pop(node, None)
            with self.kubelets[node].lock:
                self.sync_node(node)
            return
        self._fetch(node)
        if previous is None:
            self._timers.append(self.clock.call_later(HTTP_CHECK_FREQUENCY, lambda: self._http_tick(node)))

    def _http_tick(self, node: str) -> None:
        if self.stopped or self.urls.get(node) is None:
            return
        self._fetch(node)
        self._timers.append(self.clock.call_later(HTTP_CHECK_FREQUENCY, lambda: self._http_tick(node)))

    def _fetch(self, node: str) -> None:
        url = self.urls.get(node)
        if url is None:
            return
        try:
            # A quick loopback GET; the timer thread waits for it (bounded by the timeout).
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - checked loopback http(s)
                body = response.read().decode()
            if not body.strip():
                raise ManifestError(f"{url}: zero-length data received")
            self._url_pods[node] = parse_manifest(body, url)
        except (OSError, urllib.error.URLError, ManifestError, UnicodeDecodeError) as err:
            # Like the kubelet: log it and keep what the URL served last time.
            log.warning("static pods on %s: failed to read manifest URL %s: %s", node, url, err)
            return
        with self.kubelets[node].lock:
            self.sync_node(node)

    def desired(self, node: str) -> dict[tuple[str, str], _Desired]:
        seen = rfc3339_nano(self.clock.time())
        wanted: dict[tuple[str, str], _Desired] = {}
        folder = self.manifest_dir(node)
        for path in sorted(folder.iterdir()) if folder.exists() else []:
            if path.name.startswith(".") or not path.is_file():
                continue
            desired = self._from_file(node, path, seen)
            if desired is not None:
                wanted.setdefault(desired.key, desired)
        url = self.urls.get(node)
        if url:
            body = self._url_pods.get(node, [])
            cached = self._url_desired.get(node)
            if cached is None or cached[0] is not body:
                cached = (body, [static_pod(manifest, node, "http", url, seen) for manifest in body])
                self._url_desired[node] = cached
            for desired in cached[1]:
                wanted.setdefault(desired.key, desired)
        return wanted

    def _from_file(self, node: str, path: Path, seen: str) -> _Desired | None:
        """The static pod a manifest file describes; parsed again only when the file changed."""
        try:
            info = path.stat()
        except OSError:
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._file_cache.get((node, path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        desired = None
        try:
            manifests = parse_manifest(path.read_text(encoding="utf-8"), str(path))
            desired = static_pod(manifests[0], node, "file", str(path), seen)  # a file holds one pod
        except (ManifestError, OSError, UnicodeDecodeError) as err:
            log.warning("static pods on %s: skipping %s: %s", node, path, err)
        self._file_cache[(node, path)] = (stamp, desired)
        return desired

    # --- reconciling ----------------------------------------------------------------------------
    def sync_node(self, node: str) -> None:
        if self.stopped:
            return
        wanted = self.desired(node)
        current = self.pods[node]
        for key, pod in list(current.items()):
            target = wanted.get(key)
            if target is None or target.uid != pod.uid:
                pod.replacement = target
                if not pod.stopping:
                    pod.stopping = True
                    grace = float(pod.worker.spec.get("terminationGracePeriodSeconds", 30))
                    pod.worker.terminate(grace, delete=False)
            elif pod.stopping and pod.replacement is not None:
                pod.replacement = None
        for key, target in wanted.items():
            if key not in current:
                self._start(node, target)

    def _start(self, node: str, target: _Desired) -> None:
        kubelet = self.kubelets[node]
        mirror = self._mirror_object(kubelet, target)
        # The kubelet runs the pod as the API server would default it (without a mirror: as written).
        running = copy.deepcopy(mirror if mirror is not None else target.pod)
        running["metadata"]["uid"] = target.uid
        worker = PodWorker(kubelet, running, static_uid=target.uid)
        static = StaticPod(node, target.uid, target.pod, target.source, target.origin, worker)
        self.pods[node][static.key] = static
        kubelet.workers[target.uid] = worker
        self.ensure_mirror(static)
        worker.sync()

    def _mirror_object(self, kubelet: PodHost, target: _Desired) -> JSON | None:
        mirror = copy.deepcopy(target.pod)
        meta = mirror["metadata"]
        meta.pop("uid", None)
        meta["annotations"][MIRROR_ANNOTATION] = target.uid
        meta["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "controller": True,
                "kind": "Node",
                "name": kubelet.name,
                "uid": kubelet.node_uid,
            }
        ]
        try:
            default_pod(mirror)
        except SimApiError as err:
            log.warning("static pod %s: the API server refuses its mirror pod: %s", meta["name"], err.message)
            return None
        return mirror

    def ensure_mirror(self, static: StaticPod) -> None:
        """Create the mirror pod if it is missing (the kubelet does so on every sync of the static pod)."""
        if static.stopping or static.mirror_uid is not None or self.stopped:
            return
        kubelet = self.kubelets[static.node]
        mirror = self._mirror_object(kubelet, _Desired(static.uid, static.pod, static.source, static.origin))
        if mirror is None:
            return
        stamp_new(mirror, self.clock)
        namespace, name = static.key
        try:
            created = self.store.create("pods", mirror)
        except AlreadyExistsError:
            existing = self.store.get("pods", namespace, name).load()
            annotations = existing["metadata"].get("annotations") or {}
            if annotations.get(MIRROR_ANNOTATION) == static.uid:
                static.mirror_uid = existing["metadata"]["uid"]
            elif MIRROR_ANNOTATION in annotations:
                # An outdated mirror (the manifest changed): replace it.
                self._delete_mirror(namespace, name, existing["metadata"]["uid"])
                self.ensure_mirror(static)
                return
            else:
                log.warning(
                    "static pod %s/%s: a regular pod with that name exists; no mirror pod", namespace, name
                )
                return
        except NotFoundError:
            return
        else:
            static.mirror_uid = created["metadata"]["uid"]
        static.worker.api_uid = static.mirror_uid or ""
        static.worker.refresh_status()

    def _delete_mirror(self, namespace: str, name: str, uid: str) -> None:
        with contextlib.suppress(NotFoundError, ConflictError):
            self.store.delete("pods", namespace, name, expected_uid=uid)

    def write_status(self, worker: PodWorker, status: JSON) -> bool:
        static = self._find(worker)
        if static is None or static.mirror_uid is None:
            return False
        namespace, name = static.key
        try:
            stored = write_status(
                self.store, namespace, name, static.mirror_uid, status, rfc3339(self.clock.time())
            )
        except NotFoundError:
            return False
        if stored is None:
            return False
        worker.last_written_rv = int(stored["metadata"]["resourceVersion"])
        return True

    def _find(self, worker: PodWorker) -> StaticPod | None:
        for static in self.pods.get(worker.kubelet.name, {}).values():
            if static.worker is worker:
                return static
        return None

    def stopped_worker(self, worker: PodWorker) -> None:
        """A static pod finished terminating: delete its mirror, start its replacement if any."""
        static = self._find(worker)
        worker.discard()
        worker.kubelet.workers.pop(worker.uid, None)
        if static is None:
            return
        namespace, name = static.key
        del self.pods[static.node][static.key]
        if static.mirror_uid is not None:
            self._delete_mirror(namespace, name, static.mirror_uid)
        if static.replacement is not None and not self.stopped:
            self._start(static.node, static.replacement)

    # --- mirror pods seen in the API ------------------------------------------------------------
    def mirror_event(self, event_type: str, pod: JSON) -> None:
        meta = pod["metadata"]
        node = (pod.get("spec") or {}).get("nodeName", "")
        if node not in self.kubelets:
            return
        key = (meta.get("namespace", ""), meta["name"])
        static = self.pods[node].get(key)
        uid = meta.get("uid", "")
        if event_type == "DELETED":
            if static is not None and static.mirror_uid == uid:
                static.mirror_uid = None
                static.worker.api_uid = ""
                self.ensure_mirror(static)
            return
        mirror_hash = (meta.get("annotations") or {}).get(MIRROR_ANNOTATION)
        if meta.get("deletionTimestamp"):
            # Mirror pods cannot be deleted for real: the kubelet removes it at once and makes a new one.
            self._delete_mirror(key[0], key[1], uid)
            return
        if static is None or static.uid != mirror_hash:
            if static is None or not static.stopping:
                self._delete_mirror(key[0], key[1], uid)  # an orphaned mirror pod
            return
        if static.mirror_uid is None:
            static.mirror_uid = uid
            static.worker.api_uid = uid
            static.worker.refresh_status()
