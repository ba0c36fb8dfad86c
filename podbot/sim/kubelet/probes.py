"""Container probes, planned once when a container starts.

The simulated application answers probes from ``ready_after`` seconds after its start (its image
behaviour says when). Given the container's probes, a ``ProbePlan`` says when it counts as
started (startupProbe) and ready (readinessProbe), which probe attempts fail on the way (each an
``Unhealthy`` event), and whether the liveness probe fails ``failureThreshold`` times in a row
first, in which case the kubelet restarts the container. Probes are assumed to pass once the
application answers; liveness is only judged during that warm-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
MAX_UNHEALTHY_EVENTS = 60  # enough to show the pattern; the event recorder dedupes the rest anyway


@dataclass(frozen=True)
class ProbePlan:
    started_at: float
    ready_at: float | None  # None: never ready (init containers)
    readiness_failures: tuple[float, ...] = ()
    liveness_failures: tuple[float, ...] = ()
    liveness_kill_at: float | None = None
    readiness_detail: str = ""
    liveness_detail: str = ""


def pass_time(probe: JSON, first_possible: float, app_ready: float) -> float:
    """The first probe attempt at or after the application is ready."""
    start = first_possible + float(probe.get("initialDelaySeconds", 0))
    period = float(probe.get("periodSeconds", 10)) or 10.0
    if app_ready <= start:
        return start
    return start + math.ceil((app_ready - start) / period - 1e-9) * period


def _attempts(probe: JSON, first: float, until: float, limit: int) -> list[float]:
    period = float(probe.get("periodSeconds", 10)) or 10.0
    at = first + float(probe.get("initialDelaySeconds", 0))
    times: list[float] = []
    while at < until - 1e-6 and len(times) < limit:
        times.append(at)
        at += period
    return times


def failure_detail(probe: JSON, container: JSON, pod_ip: str) -> str:
    """What a failing probe reports while nothing listens yet."""

    def port_of(value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            for port in container.get("ports") or []:
                if port.get("name") == value:
                    return port.get("containerPort")
        return value

    if isinstance(probe.get("httpGet"), dict):
        http = probe["httpGet"]
        host = http.get("host") or pod_ip
        port = port_of(http.get("port"))
        scheme = str(http.get("scheme", "HTTP")).lower()
        url = f"{scheme}://{host}:{port}{http.get('path', '/')}"
        return f'Get "{url}": dial tcp {host}:{port}: connect: connection refused'
    if isinstance(probe.get("tcpSocket"), dict):
        port = port_of(probe["tcpSocket"].get("port"))
        return f"dial tcp {pod_ip}:{port}: connect: connection refused"
    return ""


def plan(container: JSON, *, kind: str, start: float, ready_after: float, pod_ip: str) -> ProbePlan:
    """When a container started at ``start`` becomes started/ready, and what fails before."""
    app_ready = start + ready_after
    startup = container.get("startupProbe")
    started_at = pass_time(startup, start, app_ready) if isinstance(startup, dict) else start
    if kind == "init":
        return ProbePlan(started_at=started_at, ready_at=None)
    liveness_failures: tuple[float, ...] = ()
    kill_at = None
    liveness_detail = ""
    liveness = container.get("livenessProbe")
    if isinstance(liveness, dict) and ready_after > 0:
        threshold = int(liveness.get("failureThreshold", 3)) or 3
        failures = _attempts(liveness, started_at, app_ready, threshold)
        if len(failures) == threshold:
            liveness_failures = tuple(failures)
            kill_at = failures[-1]
            liveness_detail = failure_detail(liveness, container, pod_ip)
    readiness = container.get("readinessProbe")
    if isinstance(readiness, dict):
        ready_at = pass_time(readiness, started_at, app_ready)
        failing = _attempts(readiness, started_at, ready_at, MAX_UNHEALTHY_EVENTS)
        return ProbePlan(
            started_at=started_at,
            ready_at=ready_at,
            readiness_failures=tuple(failing),
            liveness_failures=liveness_failures,
            liveness_kill_at=kill_at,
            readiness_detail=failure_detail(readiness, container, pod_ip),
            liveness_detail=liveness_detail,
        )
    return ProbePlan(
        started_at=started_at,
        ready_at=started_at,
        liveness_failures=liveness_failures,
        liveness_kill_at=kill_at,
        liveness_detail=liveness_detail,
    )
