"""One table of upstream-style pods, printed three ways: the simulator's printPod port, podbot's
``core.pods.status``, and the real ``kubectl get pods -o wide`` reading the simulator's Table.

Each case states kubectl's output as upstream's printPod (pkg/printers/internalversion) computes
it. The two ports are written independently, so a bug in either shows up here as a disagreement
with the stated output, not as one port agreeing with itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podbot.core.pods.status import pod_row
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.meta import new_uid
from podbot.sim.objects.printpod import pod_cells, pod_conditions
from tests.support.sim import Kubectl

JSON = dict[str, Any]
NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
GONE = "node-gone"  # no kubelet runs there, so nothing acts on the pods parked on it
UNSCHEDULED = "other-scheduler"  # not default-scheduler: the simulator leaves these pods unbound


def at(now: datetime, seconds_ago: float) -> str:
    return (now - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


Build = Callable[[datetime], JSON]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    expect: tuple[str, ...]  # READY STATUS RESTARTS AGE IP NODE NOMINATED READINESS-GATES


def running(name: str, ready: bool = True, restarts: int = 0, last: str | None = None) -> JSON:
    status: JSON = {"name": name, "ready": ready, "restartCount": restarts, "started": True}
    status["state"] = {"running": {"startedAt": "2026-11-27T11:00:00Z"}}
    if last:
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last}}
    return status


def waiting(name: str, reason: str, restarts: int = 0, last: str | None = None) -> JSON:
    status: JSON = {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason}},
    }
    if last:
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last}}
    return status


def terminated(name: str, code: int, reason: str = "", signal: int = 0, restarts: int = 0) -> JSON:
    state: JSON = {"exitCode": code, "finishedAt": "2026-11-27T11:59:00Z"}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"terminated": state}}


def condition(kind: str, status: bool, reason: str = "") -> JSON:
    out: JSON = {"type": kind, "status": "True" if status else "False"}
    if reason:
        out["reason"] = reason
    return out


def pod(
    now: datetime,
    containers: list[str | JSON],
    statuses: list[JSON],
    *,
    inits: list[str | JSON] | None = None,
    init_statuses: list[JSON] | None = None,
    phase: str = "Running",
    conditions: list[JSON] | None = None,
    node: str = "node02",
    ip: str | None = "10.244.1.7",
    meta: JSON | None = None,
    spec: JSON | None = None,
    status: JSON | None = None,
) -> JSON:
    def specs(items: list[str | JSON]) -> list[JSON]:
        return [
            {"name": c, "image": "busybox"} if isinstance(c, str) else {"image": "busybox", **c}
            for c in items
        ]

    body: JSON = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "printpod", "creationTimestamp": at(now, 300), **(meta or {})},
        "spec": {"containers": specs(containers), "nodeName": node, **(spec or {})},
        "status": {
            "phase": phase,
            "containerStatuses": statuses,
            "conditions": conditions or [],
            **(status or {}),
        },
    }
    if inits is not None:
        body["spec"]["initContainers"] = specs(inits)
        body["status"]["initContainerStatuses"] = init_statuses or []
    if ip:
        body["status"]["podIP"] = ip
        body["status"]["podIPs"] = [{"ip": ip}]
    return body


SIDECAR = {"name": "proxy", "restartPolicy": "Always"}
READY_CONDITIONS = [condition("Initialized", True), condition("Ready", True)]

CASES = [
    Case(
        "running",
        lambda n: pod(n, ["app"], [running("app")]),
        ("1/1", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    # Two init containers with one name are two: upstream counts the spec list (issue 13 item 6).
    Case(
        "init-duplicate-names",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            ip=None,
            inits=["setup", "setup"],
            init_statuses=[waiting("setup", "PodInitializing"), waiting("setup", "PodInitializing")],
            conditions=[condition("Initialized", False)],
        ),
        ("0/1", "Init:0/2", "0", "5m", "<none>", "node02", "<none>", "<none>"),
    ),
    Case(
        "init-second-of-two-running",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["a", "b"],
            init_statuses=[terminated("a", 0, "Completed"), running("b", ready=False)],
            conditions=[condition("Initialized", False)],
        ),
        ("0/1", "Init:1/2", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "empty-container-names",
        lambda n: pod(n, ["", ""], [running(""), running("")]),
        ("2/2", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "duplicate-container-names",
        lambda n: pod(n, ["web", "web"], [running("web"), running("web", ready=False)]),
        ("1/2", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "sidecar-ready",
        lambda n: pod(
            n,
            ["app"],
            [running("app")],
            inits=[SIDECAR],
            init_statuses=[running("proxy")],
            conditions=READY_CONDITIONS,
        ),
        ("2/2", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "two-sidecars-one-name",
        lambda n: pod(
            n,
            ["app"],
            [running("app")],
            inits=[SIDECAR, SIDECAR],
            init_statuses=[running("proxy"), running("proxy")],
            conditions=READY_CONDITIONS,
        ),
        ("3/3", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    # Restarts after initialization: sidecars' and regular containers' only, newest finishedAt.
    Case(
        "sidecar-and-app-restarts",
        lambda n: pod(
            n,
            ["app"],
            [running("app", restarts=1, last=at(n, 600))],
            inits=["setup", SIDECAR],
            init_statuses=[
                terminated("setup", 0, "Completed", restarts=5),
                running("proxy", restarts=2, last=at(n, 120)),
            ],
            conditions=READY_CONDITIONS,
        ),
        ("2/2", "Running", "3 (2m ago)", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "init-waiting-reason",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["setup"],
            init_statuses=[waiting("setup", "ErrImagePull")],
        ),
        ("0/1", "Init:ErrImagePull", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    # While initializing, restarts count the init containers (up to the one that blocks).
    Case(
        "init-crashloop-restarts",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["setup"],
            init_statuses=[waiting("setup", "CrashLoopBackOff", restarts=3, last=at(n, 30))],
        ),
        ("0/1", "Init:CrashLoopBackOff", "3 (30s ago)", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "init-terminated-reason",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["setup"],
            init_statuses=[terminated("setup", 1, "Error")],
        ),
        ("0/1", "Init:Error", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "init-exit-code",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["setup"],
            init_statuses=[terminated("setup", 3)],
        ),
        ("0/1", "Init:ExitCode:3", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "init-signal",
        lambda n: pod(
            n,
            ["app"],
            [waiting("app", "PodInitializing")],
            phase="Pending",
            inits=["setup"],
            init_statuses=[terminated("setup", 137, signal=9)],
        ),
        ("0/1", "Init:Signal:9", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "crashloop-with-last-restart",
        lambda n: pod(n, ["app"], [waiting("app", "CrashLoopBackOff", restarts=4, last=at(n, 100))]),
        ("0/1", "CrashLoopBackOff", "4 (100s ago)", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "container-signal",
        lambda n: pod(n, ["app"], [terminated("app", 143, signal=15)], phase="Failed"),
        ("0/1", "Signal:15", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "oom-killed",
        lambda n: pod(n, ["app"], [terminated("app", 137, "OOMKilled")], phase="Failed"),
        ("0/1", "OOMKilled", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "completed-with-running-container-ready",
        lambda n: pod(
            n,
            ["job", "web"],
            [terminated("job", 0, "Completed"), running("web")],
            conditions=READY_CONDITIONS,
        ),
        ("1/2", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "completed-with-running-container-not-ready",
        lambda n: pod(
            n,
            ["job", "web"],
            [terminated("job", 0, "Completed"), running("web")],
            conditions=[condition("Ready", False)],
        ),
        ("1/2", "NotReady", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "succeeded",
        lambda n: pod(n, ["job"], [terminated("job", 0, "Completed")], phase="Succeeded"),
        ("0/1", "Completed", "0", "5m", "10.244.1.7", "node02", "<none>", "<none>"),
    ),
    Case(
        "terminating",
        lambda n: pod(
            n,
            ["app"],
            [running("app")],
            node=GONE,
            meta={"deletionTimestamp": at(n, 5), "deletionGracePeriodSeconds": 30},
        ),
        ("1/1", "Terminating", "0", "5m", "10.244.1.7", GONE, "<none>", "<none>"),
    ),
    Case(
        "deleted-after-it-succeeded",
        lambda n: pod(
            n,
            ["job"],
            [terminated("job", 0, "Completed")],
            phase="Succeeded",
            node=GONE,
            meta={"deletionTimestamp": at(n, 5), "deletionGracePeriodSeconds": 30},
        ),
        ("0/1", "Completed", "0", "5m", "10.244.1.7", GONE, "<none>", "<none>"),
    ),
    Case(
        "node-lost",
        lambda n: pod(
            n,
            ["app"],
            [running("app")],
            node=GONE,
            status={"reason": "NodeLost"},
            meta={"deletionTimestamp": at(n, 5), "deletionGracePeriodSeconds": 30},
        ),
        ("1/1", "Unknown", "0", "5m", "10.244.1.7", GONE, "<none>", "<none>"),
    ),
    Case(
        "evicted",
        lambda n: pod(n, ["app"], [], phase="Failed", ip=None, status={"reason": "Evicted"}),
        ("0/1", "Evicted", "0", "5m", "<none>", "node02", "<none>", "<none>"),
    ),
    Case(
        "scheduling-gated",
        lambda n: pod(
            n,
            ["app"],
            [],
            phase="Pending",
            ip=None,
            node="",
            spec={"schedulingGates": [{"name": "x/wait"}], "schedulerName": UNSCHEDULED},
            conditions=[condition("PodScheduled", False, "SchedulingGated")],
        ),
        ("0/1", "SchedulingGated", "0", "5m", "<none>", "<none>", "<none>", "<none>"),
    ),
    Case(
        "readiness-gates",
        lambda n: pod(
            n,
            ["app"],
            [running("app")],
            spec={"readinessGates": [{"conditionType": "x/a"}, {"conditionType": "x/b"}]},
            conditions=[condition("x/a", True), condition("x/b", False), condition("Ready", False)],
        ),
        ("1/1", "Running", "0", "5m", "10.244.1.7", "node02", "<none>", "1/2"),
    ),
    Case(
        "nominated-node",
        lambda n: pod(
            n,
            ["app"],
            [],
            phase="Pending",
            ip=None,
            node="",
            spec={"schedulerName": UNSCHEDULED},
            status={"nominatedNodeName": "node01"},
        ),
        ("0/1", "Pending", "0", "5m", "<none>", "<none>", "node01", "<none>"),
    ),
]
IDS = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_simulators_printpod_port_prints_kubectls_columns(case: Case) -> None:
    assert tuple(pod_cells(case.build(NOW), NOW)[1:]) == case.expect


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_podbots_printpod_port_prints_kubectls_columns(case: Case) -> None:
    assert tuple(pod_row(case.build(NOW), NOW, wide=True)[1:]) == case.expect


def test_finished_pods_carry_upstreams_row_conditions() -> None:
    done = {"status": {"phase": "Succeeded"}}
    failed = {"status": {"phase": "Failed"}}
    assert pod_conditions(done) == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    assert pod_conditions(failed) == [
        {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
    ]
    assert pod_conditions({"status": {"phase": "Running"}}) == []


@pytest.mark.kubectl
def test_real_kubectl_prints_the_same_table_from_the_simulator(
    sim_cluster: SimCluster, kubectl: Kubectl
) -> None:
    kubectl("create", "namespace", "printpod")
    now = sim_cluster.clock.now()
    for case in CASES:
        body = case.build(now)
        body["metadata"] |= {"name": case.name, "uid": new_uid()}
        sim_cluster.store.create("pods", body)
    output = kubectl("get", "pods", "-n", "printpod", "-o", "wide")
    rows = {}
    for line in output.splitlines()[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = tuple(cells[1:])
    assert rows == {case.name: case.expect for case in CASES}
