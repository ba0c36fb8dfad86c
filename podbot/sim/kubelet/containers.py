"""Containers as the runtime knows them, and their ``containerStatuses`` entries.

A ``ContainerTrack`` follows one container of a pod spec across restarts: the current runtime
instance (running or exited), the one before it (``lastState`` and ``kubectl logs --previous``),
and the waiting reason the kubelet reports while it cannot run it (ErrImagePull,
CrashLoopBackOff, ...). Status rendering follows convertToAPIContainerStatuses: a waiting reason
turns the current instance into ``lastState``; a container never started waits as
``ContainerCreating`` (``PodInitializing`` in pods with init containers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podbot.sim.behaviours.run import LogEntry, Run, render, rfc3339_nano
from podbot.sim.clock import rfc3339

JSON = dict[str, Any]
ZERO_TIME = "1970-01-01T00:00:00Z"  # what the runtime reports as startedAt of a container that never started


@dataclass
class ContainerInstance:
    """One runtime container (one containerID, one restart attempt)."""

    container_id: str
    attempt: int
    image: str  # full reference as the runtime reports it
    image_id: str
    created_at: float
    run: Run
    started_at: float | None  # None: the process never started (StartError)
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None
    stop_requested: float | None = None  # when SIGTERM was sent
    kill_at: float | None = None  # when the process will be gone (exit or SIGKILL)
    timers: list[Any] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def terminated_json(self) -> JSON:
        assert self.finished_at is not None
        state: JSON = {
            "containerID": self.container_id,
            "exitCode": self.exit_code,
            "finishedAt": rfc3339(self.finished_at),
            "reason": self.reason,
            "startedAt": rfc3339(self.started_at) if self.started_at is not None else ZERO_TIME,
        }
        if self.message:
            state["message"] = self.message
        return state

    def log_entries(self, now: float) -> list[tuple[float, str]]:
        """(time, text) of every line this instance wrote up to ``now``."""
        if self.started_at is None:
            return []
        start = self.started_at
        end = self.finished_at if self.finished_at is not None else now
        limit = end - start
        if self.stop_requested is not None:
            limit = min(limit, self.stop_requested - start)
        entries: list[LogEntry] = self.run.lines(limit)
        result = [(start + e.offset, render(e.text, start + e.offset)) for e in entries]
        if self.stop_requested is not None and self.run.handles_sigterm:
            at = self.stop_requested
            result += [(at, render(text, at)) for text in self.run.stop_lines if at <= end]
        return result


@dataclass
class ContainerTrack:
    name: str
    kind: str  # init | sidecar | app
    spec: JSON
    current: ContainerInstance | None = None
    previous: ContainerInstance | None = None
    waiting: tuple[str, str] | None = None  # (reason, message)
    busy: bool = False  # a pull or start is under way
    started: bool = False
    ready: bool = False
    next_attempt: int = 0

    @property
    def field_path(self) -> str:
        return (
            f"spec.initContainers{{{self.name}}}" if self.kind != "app" else f"spec.containers{{{self.name}}}"
        )

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.running

    @property
    def succeeded(self) -> bool:
        cur = self.current
        return cur is not None and not cur.running and cur.exit_code == 0

    def adopt(self, instance: ContainerInstance) -> None:
        if self.current is not None:
            self.previous = self.current
        self.current = instance
        self.next_attempt = instance.attempt + 1
        self.waiting = None

    def status_json(self, default_waiting: str) -> JSON:
        image = self.spec.get("image", "")
        status: JSON = {"name": self.name, "image": image, "imageID": "", "ready": self.ready}
        cur = self.current
        last: JSON = {}
        if self.waiting is not None:
            reason, message = self.waiting
            state: JSON = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
            if cur is not None and not cur.running:
                last = {"terminated": cur.terminated_json()}
        elif cur is None:
            state = {"waiting": {"reason": default_waiting}}
        elif cur.running:
            assert cur.started_at is not None
            state = {"running": {"startedAt": rfc3339(cur.started_at)}}
            if self.previous is not None and not self.previous.running:
                last = {"terminated": self.previous.terminated_json()}
        else:
            state = {"terminated": cur.terminated_json()}
            if self.previous is not None and not self.previous.running:
                last = {"terminated": self.previous.terminated_json()}
        status["state"] = state
        status["lastState"] = last
        status["restartCount"] = cur.attempt if cur is not None else 0
        status["started"] = bool(cur is not None and cur.running and self.started)
        if cur is not None:
            status["image"] = cur.image
            status["imageID"] = cur.image_id
            status["containerID"] = cur.container_id
        mounts = [
            {
                "mountPath": m.get("mountPath"),
                "name": m.get("name"),
                **({"readOnly": True, "recursiveReadOnly": "Disabled"} if m.get("readOnly") else {}),
            }
            for m in self.spec.get("volumeMounts") or []
        ]
        if mounts:
            status["volumeMounts"] = mounts
        return status

    def instance_for_logs(self, previous: bool) -> ContainerInstance | None:
        if previous:
            if self.waiting is not None and self.current is not None and not self.current.running:
                return self.current
            return self.previous
        return self.current


def format_log(entries: list[tuple[float, str]], *, timestamps: bool) -> list[str]:
    if timestamps:
        return [f"{rfc3339_nano(at)} {text}" for at, text in entries]
    return [text for _, text in entries]


def new_container_id(rng: Any) -> str:
    return "containerd://" + "".join(rng.choice("0123456789abcdef") for _ in range(64))
