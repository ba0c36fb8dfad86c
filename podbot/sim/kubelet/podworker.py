"""One pod on one simulated node: the kubelet's pod worker, SyncPod and status manager in one.

Everything happens in clock timers: a sync computes what to do next (start the next init
container, pull an image, restart a crashed container, or wait out a back-off), schedules the
moment something will change (a pull finishing, a process exiting, a probe passing, the next
resync), and writes the pod status only when it changed. No work is done for a pod between those
moments, so tens of thousands of quiet pods cost nothing per tick.
"""

from __future__ import annotations

import json
import math
import random
import threading
from typing import Any, Protocol

from podbot.sim.behaviours.catalog import BEHAVIOURS, RunContext, plan
from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.images.model import PullResult, ResolvedImage
from podbot.sim.images.reference import ImageReference, InvalidReference, parse_reference
from podbot.sim.kubelet import probes
from podbot.sim.kubelet.backoff import Backoff, go_duration
from podbot.sim.kubelet.containers import ContainerInstance, ContainerTrack, new_container_id
from podbot.sim.kubelet.environment import (
    PodFacts,
    container_environment,
    missing_volume_sources,
    pull_credentials,
)
from podbot.sim.kubelet.events import EventRecorder
from podbot.sim.kubelet.podstatus import pod_status, write_status
from podbot.sim.objects.podspec import is_restartable_init, qos_class
from podbot.sim.objects.quantity import Quantity
from podbot.sim.objects.store import NotFoundError, ObjectStore

JSON = dict[str, Any]

PLEG_DELAY = 1.0  # the kubelet notices container exits on its next relist
RESYNC_ON_ERROR = 10.0  # pod worker back-off period after a failed sync (jittered up to +50%)
START_DELAY = 0.5  # creating and starting a container takes a moment


class PodHost(Protocol):
    """The kubelet as its pod workers see it (``pool.Kubelet`` is one).

    A Protocol, so that the pod worker, static pods and pod logs need no import of the kubelet
    that creates them."""

    name: str
    node_uid: str
    host_ip: str
    gateway: str
    clock: SimClock
    store: ObjectStore
    lock: threading.RLock
    rng: random.Random
    recorder: EventRecorder
    pull_backoff: Backoff
    crash_backoff: Backoff
    workers: dict[str, PodWorker]

    def image_present(self, ref: ImageReference) -> ResolvedImage | None: ...
    def add_image(self, image: ResolvedImage | None) -> None: ...
    def pull(self, ref: ImageReference, credentials: list[Any], now: float) -> tuple[PullResult, float]: ...
    def allocate_ip(self) -> str: ...
    def release_ip(self, ip: str) -> None: ...
    def worker_finished(self, worker: PodWorker, *, delete: bool) -> None: ...
    def static_status(self, worker: PodWorker, status: JSON) -> bool: ...


class PodWorker:
    def __init__(self, kubelet: PodHost, pod: JSON, *, static_uid: str | None = None) -> None:
        self.kubelet = kubelet
        meta = pod["metadata"]
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        self.api_uid: str = meta.get("uid", "")
        self.uid: str = (
            static_uid or self.api_uid
        )  # the pod's identity on the node (static pods: config hash)
        self.static = static_uid is not None
        self.meta: JSON = meta
        self.spec: JSON = pod.get("spec") or {}
        self.tracks: dict[str, ContainerTrack] = {}
        for container in self.spec.get("initContainers") or []:
            kind = "sidecar" if is_restartable_init(container) else "init"
            self.tracks[container["name"]] = ContainerTrack(container["name"], kind, container)
        for container in self.spec.get("containers") or []:
            self.tracks[container["name"]] = ContainerTrack(container["name"], "app", container)
        self.sandbox_ready = False
        self.pod_ip: str | None = None
        self.start_time: float | None = None
        self.initialized = not any(t.kind == "init" for t in self.tracks.values())
        self.terminal = False
        self.terminating = False
        self.removed = False
        self.last_written_rv = 0
        self._signature = ""
        self._sync_timer: Any = None
        self._sync_due = math.inf
        self._prev_pull_error: dict[str, str] = {}
        self._pull_timers: list[Any] = []
        self._probe_timers: list[Any] = []
        self._delete_after_stop = False
        self.failure: tuple[str, str] | None = None  # pod-level (reason, message) that fails the pod
        self.qos = qos_class(self.spec)

    # --- identity -----------------------------------------------------------------------------
    @property
    def clock(self) -> Any:
        return self.kubelet.clock

    def pod_ref(self, track: ContainerTrack | None = None) -> JSON:
        ref: JSON = {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
        }
        if self.meta.get("resourceVersion") and not self.static:
            ref["resourceVersion"] = self.meta["resourceVersion"]
        if track is not None:
            ref["fieldPath"] = track.field_path
        return ref

    def _event(self, track: ContainerTrack | None, event_type: str, reason: str, message: str) -> None:
        self.kubelet.recorder.event(self.pod_ref(track), event_type, reason, message)

    @property
    def full_name(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"

    # --- scheduling of work ---------------------------------------------------------------------
    def want_sync(self, delay: float) -> None:
        if self.removed:
            return
        due = self.clock.time() + max(0.0, delay)
        if self._sync_timer is not None and self._sync_due <= due:
            return
        if self._sync_timer is not None:
            self._sync_timer.cancel()
        self._sync_due = due
        self._sync_timer = self.clock.call_at(due, self._timer_sync)

    def _timer_sync(self) -> None:
        self._sync_timer = None
        self._sync_due = math.inf
        with self.kubelet.lock:
            self.sync()

    def _retry_later(self) -> None:
        self.want_sync(RESYNC_ON_ERROR + self.kubelet.rng.uniform(0, RESYNC_ON_ERROR / 2))

    # --- updates from the API ------------------------------------------------------------------
    def update(self, pod: JSON) -> None:
        """A newer version of the pod object (not our own status write)."""
        meta = pod["metadata"]
        self.meta = meta
        if meta.get("uid") and not self.static:
            self.api_uid = meta["uid"]
        if meta.get("deletionTimestamp") and not self.static:
            grace = meta.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = self.spec.get("terminationGracePeriodSeconds", 30)
            if not self.terminating:
                self.terminate(float(grace), delete=True)
            else:
                self._shorten_grace(float(grace))
            return
        self._spec_changes(pod.get("spec") or {})

    def _spec_changes(self, spec: JSON) -> None:
        """Container images are the mutable part of a pod spec: a new image restarts the container."""
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or []:
                track = self.tracks.get(container.get("name", ""))
                if track is None or container.get("image") == track.spec.get("image"):
                    continue
                track.spec = container
                for spec_list in (self.spec.get("initContainers") or [], self.spec.get("containers") or []):
                    for i, old in enumerate(spec_list):
                        if old.get("name") == track.name:
                            spec_list[i] = container
                if track.running and not self.terminal:
                    grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
                    self._stop_instance(
                        track, grace, f"Container {track.name} definition changed, will be restarted"
                    )
                    self._publish()
                elif not self.terminal:
                    track.waiting = None
                    self.want_sync(0)

    def _shorten_grace(self, grace: float) -> None:
        """A second delete with a shorter grace period brings the SIGKILL forward."""
        deadline = self.clock.time() + grace
        for track in self.tracks.values():
            instance = track.current
            if instance is None or not instance.running or instance.stop_requested is None:
                continue
            if instance.kill_at is not None and instance.kill_at <= deadline:
                continue
            instance.cancel_timers()
            instance.kill_at = deadline
            instance.timers.append(
                self.clock.call_at(deadline, lambda t=track, i=instance: self._exited(t, i, 137, "Error"))
            )

    # --- the sync loop --------------------------------------------------------------------------
    def sync(self) -> None:
        if self.removed or self.terminating:
            return
        now = self.clock.time()
        if not self.sandbox_ready and not self.terminal:
            self._create_sandbox(now)
        if not self.terminal and self._volumes_ready():
            self._sync_containers(now)
        self._publish()

    def _create_sandbox(self, now: float) -> None:
        self.start_time = self.start_time or now
        self.pod_ip = self.kubelet.host_ip if self.spec.get("hostNetwork") else self.kubelet.allocate_ip()
        self.sandbox_ready = True
        deadline = self.spec.get("activeDeadlineSeconds")
        if isinstance(deadline, int) and deadline > 0 and not self._probe_timers:
            self._probe_timers.append(self.clock.call_at(self.start_time + deadline, self._deadline_exceeded))

    def _deadline_exceeded(self) -> None:
        """activeDeadlineSeconds passed: the kubelet kills the pod and fails it."""
        with self.kubelet.lock:
            if self.removed or self.terminating or self.terminal:
                return
            self.failure = (
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )
            self._event(None, "Warning", "DeadlineExceeded", self.failure[1])
            grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
            for track in self.tracks.values():
                track.busy = False
                self._stop_instance(track, grace)
            self._publish()

    def _volumes_ready(self) -> bool:
        """Secret and ConfigMap volumes must exist before any container starts (FailedMount otherwise)."""
        missing = missing_volume_sources(self.kubelet.store, self.namespace, self.spec)
        for volume, kind, name in missing:
            self._event(
                None,
                "Warning",
                "FailedMount",
                f'MountVolume.SetUp failed for volume "{volume}" : {kind} "{name}" not found',
            )
        if missing:
            self._retry_later()
        return not missing

    def _sync_containers(self, now: float) -> None:
        if self.failure is not None:
            return
        restart = self.spec.get("restartPolicy", "Always")
        tracks = list(self.tracks.values())
        if not self.initialized:
            for track in (t for t in tracks if t.kind != "app"):
                if track.kind == "sidecar":
                    if not track.running:
                        self._start(track, now)
                    if not (track.running and track.started):
                        return
                    continue
                if track.running or track.busy:
                    return
                if track.succeeded and track.waiting is None:
                    continue
                cur = track.current
                if cur is not None and cur.exit_code != 0 and restart == "Never":
                    return  # the pod has failed; phase says so
                self._start(track, now)
                return
            self.initialized = True
        for track in tracks:
            sidecar_down = track.kind == "sidecar" and not track.running and not track.busy
            if sidecar_down and not self._all_apps_done(restart):
                self._start(track, now)
        for track in (t for t in tracks if t.kind == "app"):
            if track.busy or track.running:
                continue
            cur = track.current
            if cur is None or restart == "Always" or (restart == "OnFailure" and cur.exit_code != 0):
                self._start(track, now)
        if restart != "Always" and self._all_apps_done(restart):
            for track in tracks:
                if track.kind == "sidecar" and track.running:
                    self._stop_instance(
                        track, grace=float(self.spec.get("terminationGracePeriodSeconds", 30))
                    )

    def _all_apps_done(self, restart: str) -> bool:
        if restart == "Always":
            return False
        for track in self.tracks.values():
            if track.kind != "app":
                continue
            cur = track.current
            if cur is None or cur.running or track.busy:
                return False
            if restart == "OnFailure" and cur.exit_code != 0:
                return False
        return True

    # --- starting a container -----------------------------------------------------------------
    def _start(self, track: ContainerTrack, now: float) -> None:
        if track.busy:
            return
        cur = track.current
        kubelet = self.kubelet
        if cur is not None and not cur.running:
            key = f"{self.uid}_{track.name}"
            assert cur.finished_at is not None
            if kubelet.crash_backoff.in_backoff_since(key, cur.finished_at, now):
                delay = kubelet.crash_backoff.get(key)
                track.waiting = (
                    "CrashLoopBackOff",
                    f"back-off {go_duration(delay)} restarting failed container={track.name} "
                    f"pod={self.full_name}",
                )
                track.ready = track.started = False
                self._event(
                    track,
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {track.name} in pod {self.full_name}",
                )
                expiry = cur.finished_at + delay
                self.want_sync(min(expiry - now + 0.01, RESYNC_ON_ERROR + kubelet.rng.uniform(0, 5)))
                return
            kubelet.crash_backoff.next(key, now)
        env, config_error = container_environment(self.kubelet.store, track.spec, self._facts())
        if config_error is not None:
            track.waiting = ("CreateContainerConfigError", config_error)
            self._event(track, "Warning", "Failed", f"Error: {config_error}")
            self._retry_later()
            return
        image = track.spec.get("image", "")
        try:
            ref = parse_reference(image)
        except InvalidReference as err:
            message = (
                f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {err}'
            )
            track.waiting = ("InvalidImageName", message)
            self._event(track, "Warning", "InspectFailed", message)
            self._event(track, "Warning", "Failed", "Error: InvalidImageName")
            self._retry_later()
            return
        policy = track.spec.get("imagePullPolicy", "IfNotPresent")
        present = kubelet.image_present(ref)
        if policy == "Never" and present is None:
            message = f'Container image "{image}" is not present with pull policy of Never'
            track.waiting = ("ErrImageNeverPull", message)
            self._event(track, "Warning", "ErrImageNeverPull", message)
            self._event(track, "Warning", "Failed", "Error: ErrImageNeverPull")
            self._retry_later()
            return
        if present is not None and policy != "Always":
            self._event(track, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            self._create(track, present, env)
            return
        pull_key = f"{self.uid}_{image}"
        if kubelet.pull_backoff.in_backoff_since_update(pull_key, now):
            message = f'Back-off pulling image "{image}"'
            self._event(track, "Normal", "BackOff", message)
            previous = self._prev_pull_error.get(image)
            track.waiting = ("ImagePullBackOff", f"{message}: {previous}" if previous else message)
            self._event(track, "Warning", "Failed", "Error: ImagePullBackOff")
            self._retry_later()
            return
        self._prev_pull_error.pop(image, None)
        credentials, missing = pull_credentials(self.kubelet.store, self.namespace, self.spec)
        if missing:
            self._event(
                None,
                "Warning",
                "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({', '.join(missing)}); "
                "attempting to pull the image may not succeed.",
            )
        self._event(track, "Normal", "Pulling", f'Pulling image "{image}"')
        track.busy = True
        result, finish = kubelet.pull(ref, credentials, now)

        def done() -> None:
            with kubelet.lock:
                self._pull_done(track, image, env, result, now)

        self._pull_timers.append(self.clock.call_at(finish, done))

    def _pull_done(
        self, track: ContainerTrack, image: str, env: dict[str, str], result: Any, requested: float
    ) -> None:
        track.busy = False
        if self.removed or self.terminating or self.terminal:
            return
        now = self.clock.time()
        if result.error is not None:
            self._event(track, "Warning", "Failed", f'Failed to pull image "{image}": {result.error}')
            self.kubelet.pull_backoff.next(f"{self.uid}_{image}", now)
            self._prev_pull_error[image] = f"ErrImagePull: {result.error}"
            self._event(track, "Warning", "Failed", "Error: ErrImagePull")
            track.waiting = ("ErrImagePull", result.error)
            self._publish()
            self._retry_later()
            return
        self.kubelet.add_image(result.image)
        pulled = round(result.duration, 3)
        waited = max(round(now - requested, 3), pulled)
        self._event(
            track,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {go_duration(pulled)} '
            f"({go_duration(waited)} including waiting). Image size: {result.image.size} bytes.",
        )
        self._create(track, result.image, env)
        self._publish()

    def _create(self, track: ContainerTrack, image: ResolvedImage, env: dict[str, str]) -> None:
        """Create and start the container; the process starts a moment later."""
        track.busy = True
        kubelet = self.kubelet

        def go() -> None:
            with kubelet.lock:
                track.busy = False
                if self.removed or self.terminating or self.terminal:
                    return
                self._run(track, image, env)
                self._publish()
                self.want_sync(0)

        self._pull_timers.append(self.clock.call_later(START_DELAY, go))

    def _run(self, track: ContainerTrack, image: ResolvedImage, env: dict[str, str]) -> None:
        now = self.clock.time()
        spec = track.spec
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
        ctx = RunContext(
            pod_name=self.name,
            namespace=self.namespace,
            container_name=track.name,
            pod_ip=self.pod_ip or "",
            host_ip=self.kubelet.host_ip,
            gateway=self.kubelet.gateway,
            node_name=self.kubelet.name,
            env=env,
            command=spec.get("command"),
            args=spec.get("args"),
            restart_count=track.next_attempt,
            memory_limit=int(Quantity.parse(limit).value) if limit else None,
            params=image.params,
            tag=image.tag,
            probed=any(
                isinstance((spec.get(p) or {}).get("httpGet"), dict)
                for p in ("readinessProbe", "livenessProbe")
            ),
        )
        run = plan(BEHAVIOURS[image.behaviour], ctx)
        instance = ContainerInstance(
            container_id=new_container_id(self.kubelet.rng),
            attempt=track.next_attempt,
            image=image.full_ref,
            image_id=image.image_id,
            created_at=now,
            run=run,
            started_at=None if run.start_error else now,
        )
        track.adopt(instance)
        self._event(track, "Normal", "Created", f"Created container {track.name}")
        if run.start_error:
            instance.finished_at = now
            instance.exit_code = 128
            instance.reason = "StartError"
            instance.message = run.start_error
            track.waiting = ("RunContainerError", run.start_error)
            self._event(track, "Warning", "Failed", f"Error: {run.start_error}")
            self.want_sync(PLEG_DELAY)
            return
        self._event(track, "Normal", "Started", f"Started container {track.name}")
        if run.exit_after is not None:
            instance.timers.append(
                self.clock.call_at(
                    now + run.exit_after, lambda: self._exited(track, instance, run.exit_code, run.reason)
                )
            )
        self._plan_probes(
            track,
            instance,
            probes.plan(
                track.spec, kind=track.kind, start=now, ready_after=run.ready_after, pod_ip=self.pod_ip or ""
            ),
        )

    def _plan_probes(
        self, track: ContainerTrack, instance: ContainerInstance, plan: probes.ProbePlan
    ) -> None:
        now = self.clock.time()
        track.started = plan.started_at <= now
        track.ready = plan.ready_at is not None and plan.ready_at <= now
        if not track.started:
            instance.timers.append(
                self.clock.call_at(plan.started_at, lambda: self._probe(track, instance, started=True))
            )
        if plan.ready_at is not None and not track.ready:
            instance.timers.append(
                self.clock.call_at(plan.ready_at, lambda: self._probe(track, instance, ready=True))
            )
        for when in plan.readiness_failures:
            instance.timers.append(
                self.clock.call_at(when, lambda: self._unhealthy(track, instance, plan.readiness_detail))
            )
        for when in plan.liveness_failures:
            instance.timers.append(
                self.clock.call_at(
                    when, lambda: self._unhealthy(track, instance, plan.liveness_detail, "Liveness")
                )
            )
        if plan.liveness_kill_at is not None:
            grace = float(self.spec.get("terminationGracePeriodSeconds", 30))
            why = f"Container {track.name} failed liveness probe, will be restarted"

            def kill() -> None:
                with self.kubelet.lock:
                    if instance.running and track.current is instance and not self.terminating:
                        self._stop_instance(track, grace, why)
                        self._publish()

            # Scheduled after the last failure's event, so it runs after it at the same instant.
            instance.timers.append(self.clock.call_at(plan.liveness_kill_at, kill))

    def _facts(self) -> PodFacts:
        return PodFacts(
            name=self.name,
            namespace=self.namespace,
            uid=self.uid,
            node=self.kubelet.name,
            service_account=str(self.spec.get("serviceAccountName", "")),
            pod_ip=self.pod_ip or "",
            host_ip=self.kubelet.host_ip,
            labels=self.meta.get("labels") or {},
            annotations=self.meta.get("annotations") or {},
        )

    def _unhealthy(
        self, track: ContainerTrack, instance: ContainerInstance, detail: str, kind: str = "Readiness"
    ) -> None:
        with self.kubelet.lock:
            if instance.running and instance.stop_requested is None and not self.terminating:
                self._event(track, "Warning", "Unhealthy", f"{kind} probe failed: {detail}")

    def _probe(
        self,
        track: ContainerTrack,
        instance: ContainerInstance,
        *,
        started: bool = False,
        ready: bool = False,
    ) -> None:
        with self.kubelet.lock:
            if not instance.running or track.current is not instance or self.terminating:
                return
            if started:
                track.started = True
            if ready:
                track.ready = track.started
            self._publish()
            if started and not self.initialized:
                self.want_sync(0)

    def _exited(
        self,
        track: ContainerTrack,
        instance: ContainerInstance,
        code: int,
        reason: str,
        message: str | None = None,
    ) -> None:
        with self.kubelet.lock:
            if not instance.running:
                return
            instance.cancel_timers()
            instance.finished_at = self.clock.time()
            instance.exit_code = code
            instance.reason = reason
            instance.message = message or self._termination_message(track, instance, code)
            track.ready = track.started = False
            if self.terminating:
                self._check_stopped()
                return
            self._publish()
            self.want_sync(PLEG_DELAY)

    def _termination_message(
        self, track: ContainerTrack, instance: ContainerInstance, code: int
    ) -> str | None:
        """FallbackToLogsOnError: a failed container's last log lines (80 lines, 2 KiB) become its message."""
        if code == 0 or track.spec.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            return None
        lines = [text for _, text in instance.log_entries(self.clock.time())][-80:]
        text = "".join(line + "\n" for line in lines)
        return text[-2048:] or None

    # --- environment and credentials ----------------------------------------------------------
    # --- stopping -------------------------------------------------------------------------------
    def _stop_instance(self, track: ContainerTrack, grace: float, why: str | None = None) -> None:
        instance = track.current
        if instance is None or not instance.running or instance.stop_requested is not None:
            return
        now = self.clock.time()
        self._event(track, "Normal", "Killing", why or f"Stopping container {track.name}")
        instance.stop_requested = now
        instance.cancel_timers()
        run = instance.run
        if run.handles_sigterm and run.stop_after <= grace:
            at, code = now + run.stop_after, run.stop_exit_code
        else:
            at, code = now + max(grace, 0.0), 137
        instance.kill_at = at
        reason = "Completed" if code == 0 else "Error"
        instance.timers.append(self.clock.call_at(at, lambda: self._exited(track, instance, code, reason)))

    def terminate(self, grace: float, *, delete: bool) -> None:
        """Stop every container (graceful deletion, or a static pod whose manifest went away)."""
        if self.terminating or self.removed:
            return
        self.terminating = True
        self._delete_after_stop = delete
        for timer in self._pull_timers + self._probe_timers:
            timer.cancel()
        self._pull_timers.clear()
        if self._sync_timer is not None:
            self._sync_timer.cancel()
            self._sync_timer = None
        for track in self.tracks.values():
            track.busy = False
            self._stop_instance(track, grace)
        self._check_stopped()

    def _check_stopped(self) -> None:
        if any(t.running for t in self.tracks.values()):
            self._publish()
            return
        if not self.terminal:
            self._on_terminal()
        self._publish(terminal=True)
        self.kubelet.worker_finished(self, delete=self._delete_after_stop)

    def discard(self) -> None:
        """The pod is gone from the API (or replaced): drop all timers and state."""
        self.removed = True
        if self._sync_timer is not None:
            self._sync_timer.cancel()
            self._sync_timer = None
        for timer in self._pull_timers + self._probe_timers:
            timer.cancel()
        for track in self.tracks.values():
            if track.current is not None:
                track.current.cancel_timers()
        if self.pod_ip and not self.spec.get("hostNetwork") and not self.terminal:
            self.kubelet.release_ip(self.pod_ip)

    # --- status -------------------------------------------------------------------------------
    def build_status(self, *, terminal: bool = False) -> JSON:
        return pod_status(
            self.spec,
            list(self.tracks.values()),
            host_ip=self.kubelet.host_ip,
            pod_ip=self.pod_ip,
            start_time=self.start_time,
            qos=self.qos,
            sandbox_ready=self.sandbox_ready,
            static=self.static,
            terminal=terminal,
            failure=self.failure,
        )

    def _on_terminal(self) -> None:
        """All containers are done for good: tear the sandbox down and free the pod IP."""
        self.terminal = True
        self.sandbox_ready = False
        if self._sync_timer is not None:
            self._sync_timer.cancel()
            self._sync_timer = None
        if self.pod_ip and not self.spec.get("hostNetwork"):
            self.kubelet.release_ip(self.pod_ip)

    def _publish(self, *, terminal: bool = False) -> None:
        status = self.build_status(terminal=terminal)
        if status["phase"] in ("Succeeded", "Failed") and not self.terminal:
            self._on_terminal()
            status = self.build_status(terminal=terminal)
        signature = json.dumps(status, sort_keys=True)
        if signature == self._signature:
            return
        if self.static:
            if self.kubelet.static_status(self, status):
                self._signature = signature
            return
        if self._write_status(status):
            self._signature = signature

    def _write_status(self, status: JSON) -> bool:
        now = rfc3339(self.clock.time())
        try:
            stored = write_status(self.kubelet.store, self.namespace, self.name, self.api_uid, status, now)
        except NotFoundError:
            return False
        if stored is None:
            return False
        self.last_written_rv = int(stored["metadata"]["resourceVersion"])
        self.meta = stored["metadata"]
        return True

    def refresh_status(self) -> None:
        """Write the status again even if unchanged (a new mirror pod needs it)."""
        self._signature = ""
        self._publish(terminal=self.terminal and self.terminating)
