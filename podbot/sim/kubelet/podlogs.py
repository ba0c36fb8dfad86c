"""``GET /api/v1/namespaces/{ns}/pods/{name}/log``: which container, which instance, which lines.

Errors carry the API server's and kubelet's real messages (pkg/registry/core/pod LogLocation and
the kubelet's validateContainerLogStatus), all as 400 BadRequest except a missing pod (404).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from podbot.sim.behaviours.catalog import BEHAVIOURS, RunContext, default_env, plan
from podbot.sim.clock import SimClock, parse_rfc3339
from podbot.sim.images.reference import InvalidReference, parse_reference
from podbot.sim.images.registry import RegistryTable
from podbot.sim.kubelet.containers import ContainerInstance, format_log
from podbot.sim.kubelet.podworker import PodHost
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.store import NotFoundError, ObjectStore

JSON = dict[str, Any]
FOLLOW_POLL = 0.2  # real seconds between looks at a followed container


class NodeDirectory(Protocol):
    """The kubelets by node name, with what they share (``pool.KubeletPool`` is one)."""

    store: ObjectStore
    clock: SimClock
    registry: RegistryTable
    lock: threading.RLock

    @property
    def kubelets(self) -> Mapping[str, PodHost]: ...


def _bad_request(message: str) -> SimApiError:
    return SimApiError(400, "BadRequest", message)


def choose_container(pod: JSON, container: str | None) -> str:
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = spec.get("containers") or []
    if not container:
        if len(containers) == 1:
            return str(containers[0]["name"])
        if not containers:
            raise _bad_request(f"a container name must be specified for pod {name}")
        names = [c["name"] for c in spec.get("initContainers") or []] + [c["name"] for c in containers]
        names += [c["name"] for c in spec.get("ephemeralContainers") or []]
        raise _bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
    every = [
        c.get("name")
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]
    if container not in every:
        raise _bad_request(f"container {container} is not valid for pod {name}")
    return container


def _container_id(pod: JSON, container: str, previous: bool) -> str:
    """validateContainerLogStatus: the runtime container whose log is wanted, or the kubelet's error."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    found = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        found = next((s for s in status.get(key) or [] if s.get("name") == container), None)
        if found is not None:
            break
    if found is None:
        raise _bad_request(f'container "{container}" in pod "{name}" is not available')
    state = found.get("state") or {}
    last = (found.get("lastState") or {}).get("terminated")
    if previous:
        if not last or not last.get("containerID"):
            raise _bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return str(last["containerID"])
    if "running" in state:
        return str(found.get("containerID", ""))
    if "terminated" in state:
        if state["terminated"].get("containerID"):
            return str(state["terminated"]["containerID"])
        if last and last.get("containerID"):
            return str(last["containerID"])
        raise _bad_request(f'container "{container}" in pod "{name}" is terminated')
    if last:
        if not last.get("containerID"):
            raise _bad_request(f'container "{container}" in pod "{name}" is terminated')
        return str(last["containerID"])
    if "waiting" in state:
        reason = state["waiting"].get("reason", "")
        if reason == "ErrImagePull":
            raise _bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled'
            )
        if reason == "ImagePullBackOff":
            message = "trying and failing to pull image"
            raise _bad_request(f'container "{container}" in pod "{name}" is waiting to start: {message}')
        raise _bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise _bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


class PodLogs:
    def __init__(self, pool: NodeDirectory) -> None:
        self.pool = pool

    def _locate(
        self, namespace: str, pod_name: str, container: str | None, previous: bool
    ) -> tuple[JSON, str, ContainerInstance | None]:
        try:
            pod = self.pool.store.get("pods", namespace, pod_name).load()
        except NotFoundError:
            raise SimApiError(
                404, "NotFound", f'pods "{pod_name}" not found', {"name": pod_name, "kind": "pods"}
            ) from None
        name = choose_container(pod, container)
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return pod, name, None
        kubelet = self.pool.kubelets.get(node)
        if kubelet is None:
            raise SimApiError(
                500,
                "InternalError",
                f'Get "https://{node}:10250/containerLogs/{namespace}/{pod_name}/{name}": '
                f"dial tcp: lookup {node}: no such host",
            )
        container_id = _container_id(pod, name, previous)
        return pod, name, self._instance(kubelet, pod, name, container_id)

    def _instance(
        self, kubelet: PodHost, pod: JSON, name: str, container_id: str
    ) -> ContainerInstance | None:
        meta = pod["metadata"]
        annotations = meta.get("annotations") or {}
        uid = annotations.get("kubernetes.io/config.mirror") or meta.get("uid", "")
        worker = kubelet.workers.get(uid)
        if worker is not None:
            track = worker.tracks.get(name)
            if track is not None:
                for instance in (track.current, track.previous):
                    if instance is not None and instance.container_id == container_id:
                        return instance
            return None
        return self._synthesize(kubelet, pod, name, container_id)

    def _synthesize(
        self, kubelet: PodHost, pod: JSON, name: str, container_id: str
    ) -> ContainerInstance | None:
        """Logs of a pod this kubelet adopted (created with its status already filled in)."""
        spec = pod.get("spec") or {}
        container = next(
            (c for key in ("initContainers", "containers") for c in spec.get(key) or [] if c["name"] == name),
            None,
        )
        if container is None:
            return None
        try:
            ref = parse_reference(container.get("image", ""))
        except InvalidReference:
            return None
        image = self.pool.registry.resolve(ref)
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
        status: JSON = next((s for s in statuses if s.get("name") == name), {})
        state = status.get("state") or {}
        started = (state.get("running") or state.get("terminated") or {}).get("startedAt")
        if image is None or not started:
            return None
        meta = pod["metadata"]
        ctx = RunContext(
            pod_name=meta["name"],
            namespace=meta.get("namespace", "default"),
            container_name=name,
            pod_ip=(pod.get("status") or {}).get("podIP", ""),
            host_ip=kubelet.host_ip,
            gateway=kubelet.gateway,
            node_name=kubelet.name,
            env={
                **default_env(meta["name"]),
                **{e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e},
            },
            command=container.get("command"),
            args=container.get("args"),
            params=image.params,
            tag=image.tag,
        )
        run = plan(BEHAVIOURS[image.behaviour], ctx)
        start = parse_rfc3339(started)
        finished = (state.get("terminated") or {}).get("finishedAt")
        return ContainerInstance(
            container_id=container_id,
            attempt=int(status.get("restartCount", 0)),
            image=image.full_ref,
            image_id=image.image_id,
            created_at=start,
            run=run,
            started_at=start,
            finished_at=parse_rfc3339(finished) if finished else None,
        )

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
        with self.pool.lock:
            _, _, instance = self._locate(namespace, pod, container, previous)
            if instance is None:
                return []
            now = self.pool.clock.time()
            entries = instance.log_entries(now)
        return format_log(self._select(entries, now, tail_lines, since_seconds), timestamps=timestamps)

    @staticmethod
    def _select(
        entries: list[tuple[float, str]], now: float, tail_lines: int | None, since_seconds: int | None
    ) -> list[tuple[float, str]]:
        if since_seconds is not None:
            entries = [e for e in entries if e[0] >= now - since_seconds]
        if tail_lines is not None:
            entries = entries[-tail_lines:] if tail_lines > 0 else []
        return entries

    def follow(
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
        """Validate now (errors raise here, before any streaming), then stream lines as they appear."""
        with self.pool.lock:
            _, _, instance = self._locate(namespace, pod, container, False)
            now = self.pool.clock.time()
            seen = instance.log_entries(now) if instance is not None else []
        first = format_log(self._select(seen, now, tail_lines, since_seconds), timestamps=timestamps)
        return self._stream(instance, first, seen, timestamps, stop)

    def _stream(
        self,
        instance: ContainerInstance | None,
        first: list[str],
        seen: list[tuple[float, str]],
        timestamps: bool,
        stop: threading.Event,
    ) -> Iterator[str]:
        yield from first
        if instance is None:
            return
        last_at = seen[-1][0] if seen else float("-inf")
        at_last = sum(1 for at, _ in seen if at == last_at)
        while not stop.is_set():
            with self.pool.lock:
                entries = instance.log_entries(self.pool.clock.time())
                finished = not instance.running
            fresh = [e for e in entries if e[0] > last_at]
            same = [e for e in entries if e[0] == last_at][at_last:]
            new = same + fresh
            if new:
                yield from format_log(new, timestamps=timestamps)
                last_at = new[-1][0]
                at_last = sum(1 for at, _ in entries if at == last_at)
            if finished:
                return
            stop.wait(FOLLOW_POLL)
