"""kubectl's printPod algorithm, case by case (expectations follow printers.go and its tests)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podbot.core.pods.status import human_duration, pod_ready, pod_restarts, pod_row, pod_status

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def running(ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"state": {"running": {"startedAt": ts(60)}}, "ready": ready, "restartCount": restarts, **extra}


def waiting(reason: str, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"state": {"waiting": {"reason": reason}}, "ready": False, "restartCount": restarts, **extra}


def terminated(exit_code: int, reason: str = "", signal: int = 0, **extra: Any) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"state": {"terminated": term}, "ready": False, "restartCount": 0, **extra}


def pod(
    containers: list[dict[str, Any]],
    inits: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    init_specs: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    names = [f"c{i}" for i in range(len(containers))]
    for name, cs in zip(names, containers, strict=True):
        cs.setdefault("name", name)
    inits = inits or []
    init_specs = init_specs or [{"name": f"i{i}"} for i in range(len(inits))]
    for spec, cs in zip(init_specs, inits, strict=False):
        cs.setdefault("name", spec["name"])
    return {
        "metadata": {"name": "p", "creationTimestamp": ts(300)},
        "spec": {"containers": [{"name": n} for n in names], "initContainers": init_specs},
        "status": {
            "phase": phase,
            "containerStatuses": containers,
            "initContainerStatuses": inits,
            "conditions": conditions or [],
            **status,
        },
    }


STATUS_CASES = [
    ("running", pod([running()]), "1/1", "Running"),
    ("pending without statuses", pod([], phase="Pending"), "0/0", "Pending"),
    ("image pull backoff", pod([waiting("ImagePullBackOff")], phase="Pending"), "0/1", "ImagePullBackOff"),
    ("err image pull", pod([waiting("ErrImagePull")], phase="Pending"), "0/1", "ErrImagePull"),
    ("crash loop", pod([waiting("CrashLoopBackOff", restarts=4)]), "0/1", "CrashLoopBackOff"),
    ("oom killed", pod([terminated(137, "OOMKilled")]), "0/1", "OOMKilled"),
    ("completed", pod([terminated(0, "Completed")], phase="Succeeded"), "0/1", "Completed"),
    ("exit code without reason", pod([terminated(3)], phase="Failed"), "0/1", "ExitCode:3"),
    ("signal without reason", pod([terminated(0, signal=9)], phase="Failed"), "0/1", "Signal:9"),
    # containers are scanned in reverse, so the FIRST container's state wins
    ("first container wins", pod([waiting("CrashLoopBackOff"), running()]), "1/2", "CrashLoopBackOff"),
    (
        "waiting beats terminated in one container",
        pod(
            [
                {
                    "state": {
                        "waiting": {"reason": "CrashLoopBackOff"},
                        "terminated": {"exitCode": 1, "reason": "Error"},
                    },
                    "ready": False,
                    "restartCount": 1,
                }
            ]
        ),
        "0/1",
        "CrashLoopBackOff",
    ),
    ("not ready running", pod([running(ready=False)]), "0/1", "Running"),
    ("evicted", pod([], phase="Failed", reason="Evicted"), "0/0", "Evicted"),
    (
        "completed with a running container and Ready",
        pod([terminated(0, "Completed"), running()], conditions=[{"type": "Ready", "status": "True"}]),
        "1/2",
        "Running",
    ),
    (
        "completed with a running container, not Ready",
        pod([terminated(0, "Completed"), running()], conditions=[{"type": "Ready", "status": "False"}]),
        "1/2",
        "NotReady",
    ),
    # counts follow the spec lists, not a by-name map (upstream iterates them; issue 13 item 6)
    (
        "two init containers with one name",
        pod(
            [waiting("PodInitializing")],
            inits=[waiting("PodInitializing"), waiting("PodInitializing")],
            init_specs=[{"name": "setup"}, {"name": "setup"}],
            phase="Pending",
        ),
        "0/1",
        "Init:0/2",
    ),
    (
        "two sidecars with one name",
        pod(
            [running()],
            inits=[running(started=True), running(started=True)],
            init_specs=[
                {"name": "proxy", "restartPolicy": "Always"},
                {"name": "proxy", "restartPolicy": "Always"},
            ],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
        "3/3",
        "Running",
    ),
    (
        "two containers with empty names",
        pod([running(name=""), running(name="")]),
        "2/2",
        "Running",
    ),
    # init containers
    (
        "init waiting to start",
        pod([waiting("PodInitializing")], inits=[waiting("PodInitializing")], phase="Pending"),
        "0/1",
        "Init:0/1",
    ),
    (
        "init running",
        pod([waiting("PodInitializing")], inits=[running(ready=False)], phase="Pending"),
        "0/1",
        "Init:0/1",
    ),
    (
        "second of two inits",
        pod(
            [waiting("PodInitializing")], inits=[terminated(0, "Completed"), running(False)], phase="Pending"
        ),
        "0/1",
        "Init:1/2",
    ),
    (
        "init crash loop",
        pod([waiting("PodInitializing")], inits=[waiting("CrashLoopBackOff", restarts=2)], phase="Pending"),
        "0/1",
        "Init:CrashLoopBackOff",
    ),
    (
        "init image pull",
        pod([waiting("PodInitializing")], inits=[waiting("ImagePullBackOff")], phase="Pending"),
        "0/1",
        "Init:ImagePullBackOff",
    ),
    (
        "init failed with reason",
        pod([waiting("PodInitializing")], inits=[terminated(1, "Error")], phase="Pending"),
        "0/1",
        "Init:Error",
    ),
    (
        "init exit code",
        pod([waiting("PodInitializing")], inits=[terminated(2)], phase="Pending"),
        "0/1",
        "Init:ExitCode:2",
    ),
    (
        "init signal",
        pod(
            [waiting("PodInitializing")],
            inits=[{"state": {"terminated": {"exitCode": 143, "signal": 15}}, "restartCount": 0}],
            phase="Pending",
        ),
        "0/1",
        "Init:Signal:15",
    ),
    ("all inits done", pod([running()], inits=[terminated(0, "Completed")]), "1/1", "Running"),
    # sidecars: restartable init containers count as containers and don't block
    (
        "sidecar started and ready",
        pod(
            [running()],
            inits=[running(started=True)],
            init_specs=[{"name": "side", "restartPolicy": "Always"}],
            conditions=[{"type": "Initialized", "status": "True"}],
        ),
        "2/2",
        "Running",
    ),
    (
        "sidecar not started yet",
        pod(
            [waiting("PodInitializing")],
            inits=[running(ready=False, started=False)],
            init_specs=[{"name": "side", "restartPolicy": "Always"}],
            phase="Pending",
        ),
        "0/2",
        "Init:0/1",
    ),
]


@pytest.mark.parametrize(("case", "raw", "ready", "status"), STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_ready_and_status(case: str, raw: dict[str, Any], ready: str, status: str) -> None:
    assert pod_ready(raw) == ready
    assert pod_status(raw) == status


def test_terminating_and_unknown() -> None:
    raw = pod([running()])
    raw["metadata"]["deletionTimestamp"] = ts(0)
    assert pod_status(raw) == "Terminating"
    raw["status"]["reason"] = "NodeLost"
    assert pod_status(raw) == "Unknown"
    done = pod([terminated(0, "Completed")], phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ts(0)
    assert pod_status(done) == "Completed"  # terminal phases are not shown as Terminating


def test_scheduling_gated() -> None:
    raw = pod(
        [],
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
    )
    assert pod_status(raw) == "SchedulingGated"


def test_restarts_show_when_the_last_one_happened() -> None:
    last = {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(300)}}}
    raw = pod([waiting("CrashLoopBackOff", restarts=3, **last), running(restarts=1)])
    assert pod_restarts(raw, NOW) == "4 (5m ago)"
    assert pod_restarts(pod([running(restarts=2)]), NOW) == "2"  # no lastState time known
    assert pod_restarts(pod([running()]), NOW) == "0"


def test_restarts_while_initializing_count_init_containers_only() -> None:
    raw = pod(
        [waiting("PodInitializing", restarts=7)],
        inits=[waiting("CrashLoopBackOff", restarts=5)],
        phase="Pending",
    )
    assert pod_restarts(raw, NOW) == "5"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (192, "3m12s"),
        (600, "10m"),
        (15 * 60, "15m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (5 * 3600 + 3 * 60, "5h3m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (2 * 365 * 86400 + 30 * 86400, "2y30d"),
        (3 * 365 * 86400, "3y"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_rows_narrow_and_wide() -> None:
    raw = pod([running()])
    raw["metadata"]["name"] = "nginx"
    raw["spec"]["nodeName"] = "node01"
    raw["status"]["podIP"] = "10.244.1.5"
    raw["status"]["podIPs"] = [{"ip": "10.244.1.5"}]
    assert pod_row(raw, NOW) == ["nginx", "1/1", "Running", "0", "5m"]
    assert pod_row(raw, NOW, wide=True)[5:] == ["10.244.1.5", "node01", "<none>", "<none>"]
    pending = pod([], phase="Pending")
    pending["spec"]["readinessGates"] = [{"conditionType": "example.com/ready"}]
    pending["status"]["conditions"] = [{"type": "example.com/ready", "status": "True"}]
    assert pod_row(pending, NOW, wide=True)[5:] == ["<none>", "<none>", "<none>", "1/1"]
    pending["metadata"].pop("creationTimestamp")
    assert pod_row(pending, NOW)[4] == "<unknown>"
