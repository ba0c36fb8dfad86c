"""Findings from pod summaries: image pulls, crash loops, OOM, init containers, pending, terminating,
evicted, frequent restarts, static pods; fingerprints, group keys and the text catalog."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.findings import (
    Evidence,
    Finding,
    FindingKind,
    Fix,
    FixKind,
    SchedulingCause,
    Severity,
    StaticPod,
    describe_finding,
)
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.diagnosis.rules import DiagnosisSettings, diagnose, scheduling_cause
from podbot.core.pods.summary import EventNote, PodSummary, note_from_event, remember, summarize
from tests.support.builders import NOW, ago, cstatus, event, pod, running, terminated, waiting
from tests.support.seed import SEED_IMAGE, SEED_PULL_ERROR

NO_SECRETS = RegistryCredentialIndex.build([], namespaces=["default", "kube-system"])


def run(
    raw: dict[str, Any],
    events: Sequence[dict[str, Any]] = (),
    credentials: RegistryCredentialIndex = NO_SECRETS,
    *,
    summary: PodSummary | None = None,
    now_offset: timedelta = timedelta(0),
    **kw: Any,
) -> list[Finding]:
    summary = summary or summarize(raw, now=NOW)
    notes: list[EventNote] = [n for n in (note_from_event(e) for e in events) if n is not None]
    return diagnose(summary, notes, credentials, NOW + now_offset, **kw)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def pulling(
    image: str = SEED_IMAGE,
    reason: str = "ErrImagePull",
    message: str = SEED_PULL_ERROR,
    *,
    secrets: list[str] | None = None,
    owner: tuple[str, str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    return pod(
        "nginx",
        containers=[{"name": "nginx", "image": image}],
        statuses=[cstatus("nginx", image, waiting(reason, message))],
        phase="Pending",
        owner=owner,
        pull_secrets=secrets,
        **kw,
    )


# --- image pulls ---------------------------------------------------------------------------------


def test_seed_pod_names_a_missing_secret_and_gets_the_create_secret_fix() -> None:
    f = only(run(pulling(secrets=["myregistrykey"])))
    assert (f.kind, f.cause, f.severity) == (
        FindingKind.IMAGE_PULL,
        PullCause.CREDENTIALS_MISSING,
        Severity.CRITICAL,
    )
    assert (f.container, f.is_init, f.image, f.registry, f.node) == (
        "nginx",
        False,
        SEED_IMAGE,
        "10.0.0.130:5000",
        "node-1",
    )
    (fix,) = f.fixes
    assert (fix.kind, fix.secret_name, fix.server) == (
        FixKind.CREATE_REGISTRY_SECRET,
        "myregistrykey",
        "10.0.0.130:5000",
    )
    assert fix.commands == (
        "/pod secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 -n default",
    )
    assert fix.opens_secret_modal
    assert f.evidence.message.endswith("no basic auth credentials")
    cause, fix_text = describe_finding(f, "en")
    assert "myregistrykey" in cause and "does not exist" in cause
    assert "/pod secret docker-registry myregistrykey --docker-server=10.0.0.130:5000" in fix_text
    zh_cause, zh_fix = describe_finding(f, "zh_CN")
    assert "myregistrykey" in zh_cause and "密钥" in zh_cause and "myregistrykey" in zh_fix


def test_secret_present_but_rejected_and_secret_without_the_registry() -> None:
    creds = RegistryCredentialIndex.build([("default", "myregistrykey", ["10.0.0.130:5000"])])
    rejected = pulling(
        message="failed to resolve reference: pulling from host 10.0.0.130:5000 failed: 401 Unauthorized",
        secrets=["myregistrykey"],
    )
    f = only(run(rejected, credentials=creds))
    assert f.cause is PullCause.CREDENTIALS_REJECTED
    # the login is replaced in place (one button, a private dialog), never "delete it first"
    assert f.fixes[0].kind is FixKind.REPLACE_REGISTRY_LOGIN
    assert f.fixes[0].commands == (
        "/pod secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 -n default --replace",
    )
    assert "delete" not in " ".join(describe_finding(f, "en")).lower()

    other = RegistryCredentialIndex.build([("default", "myregistrykey", ["docker.io"])])
    f = only(run(pulling(secrets=["myregistrykey"]), credentials=other))
    assert f.cause is PullCause.SECRET_WITHOUT_REGISTRY
    assert (f.fixes[0].kind, f.fixes[0].secret_name) == (FixKind.REPLACE_REGISTRY_LOGIN, "myregistrykey")
    assert "10.0.0.130:5000" in describe_finding(f, "en")[0]


@pytest.mark.parametrize(
    ("owner", "key_word"), [(("ReplicaSet", "web-7d4b9c"), "pod template"), (None, "recreate")]
)
def test_no_pull_secret_at_all_needs_create_and_attach(owner: tuple[str, str] | None, key_word: str) -> None:
    f = only(run(pulling(owner=owner)))
    assert f.cause is PullCause.CREDENTIALS_MISSING and not f.ambiguous
    (fix,) = f.fixes
    assert fix.kind is FixKind.CREATE_SECRET_AND_ATTACH
    assert fix.secret_name == "regcred-10-0-0-130-5000" and fix.service_account == "default"
    assert fix.commands == (
        "/pod secret docker-registry regcred-10-0-0-130-5000 --docker-server=10.0.0.130:5000 -n default",
    )
    text = describe_finding(f, "en")[1]
    assert key_word in text and "cannot be changed" in text


def test_backoff_uses_the_remembered_event_after_it_expired() -> None:
    raw = pulling(
        reason="ImagePullBackOff", message=f'Back-off pulling image "{SEED_IMAGE}"', secrets=["myregistrykey"]
    )
    summary = summarize(raw, now=NOW)
    assert only(run(raw, summary=summary)).cause is PullCause.UNKNOWN  # nothing learned yet
    note = note_from_event(event(raw, "Failed", SEED_PULL_ERROR, container="nginx", first=ago(minutes=50)))
    assert note is not None
    learned = remember(summary, note)
    f = only(run(raw, summary=learned))  # no events passed: they have expired
    assert f.cause is PullCause.CREDENTIALS_MISSING
    assert f.since is not None and f.since == NOW - timedelta(minutes=50)
    # The same event passed directly (not remembered) classifies too.
    direct = [event(raw, "Failed", SEED_PULL_ERROR, container="nginx")]
    assert only(run(raw, direct, summary=summary)).cause is PullCause.CREDENTIALS_MISSING


def test_unknown_pull_error_points_at_the_events() -> None:
    raw = pulling(reason="ImagePullBackOff", message=f'Back-off pulling image "{SEED_IMAGE}"')
    f = only(run(raw))
    assert f.cause is PullCause.UNKNOWN and f.fixes[0].kind is FixKind.INSPECT_PULL
    assert f.fixes[0].commands == ("/pod describe pod nginx -n default",)


@pytest.mark.parametrize(
    ("reason", "message", "cause", "fix"),
    [
        (
            "ErrImagePull",
            "manifest for x:1 not found: manifest unknown: manifest unknown",
            PullCause.NOT_FOUND,
            FixKind.CHECK_IMAGE_NAME,
        ),
        (
            "ErrImagePull",
            "dial tcp: lookup reg.corp on 10.96.0.10:53: no such host",
            PullCause.UNREACHABLE_DNS,
            FixKind.CHECK_REGISTRY_DNS,
        ),
        (
            "ErrImagePull",
            "dial tcp 10.0.0.9:443: i/o timeout",
            PullCause.UNREACHABLE_TIMEOUT,
            FixKind.CHECK_REGISTRY_NETWORK,
        ),
        (
            "ErrImagePull",
            "dial tcp 10.0.0.9:443: connect: connection refused",
            PullCause.UNREACHABLE_REFUSED,
            FixKind.CHECK_REGISTRY_RUNNING,
        ),
        (
            "ErrImagePull",
            "429 Too Many Requests - Server message: toomanyrequests",
            PullCause.RATE_LIMITED,
            FixKind.AVOID_RATE_LIMIT,
        ),
        (
            "ErrImagePull",
            "http: server gave HTTP response to HTTPS client",
            PullCause.TLS_MISMATCH,
            FixKind.CONFIGURE_REGISTRY_TLS,
        ),
        (
            "InvalidImageName",
            'Failed to apply default image tag "A:b": invalid reference format',
            PullCause.INVALID_NAME,
            FixKind.FIX_IMAGE_NAME,
        ),
        (
            "ErrImageNeverPull",
            'Container image "x" is not present with pull policy of Never',
            PullCause.NEVER_PULL,
            FixKind.PROVIDE_IMAGE_ON_NODE,
        ),
        (
            "ErrImagePull",
            "no match for platform in manifest: not found",
            PullCause.PLATFORM_MISMATCH,
            FixKind.USE_MATCHING_PLATFORM,
        ),
    ],
)
def test_pull_causes_map_to_fixes(reason: str, message: str, cause: PullCause, fix: FixKind) -> None:
    f = only(run(pulling("reg.corp/team/app:1", reason, message)))
    assert (f.cause, f.fixes[0].kind) == (cause, fix)
    for locale in ("en", "zh_CN"):
        cause_text, fix_text = describe_finding(f, locale)
        assert cause_text and fix_text and "{" not in cause_text + fix_text


def test_init_container_pull_failure() -> None:
    raw = pod(
        containers=[{"name": "app", "image": "app:1"}],
        init_containers=[{"name": "fetch", "image": "registry.corp/tools/fetch:2"}],
        init_statuses=[
            cstatus("fetch", "registry.corp/tools/fetch:2", waiting("ImagePullBackOff", "Back-off"))
        ],
        statuses=[cstatus("app", "app:1", waiting("PodInitializing"))],
        phase="Pending",
        pull_secrets=["corp"],
    )
    ev = event(
        raw,
        "Failed",
        'Failed to pull image "registry.corp/tools/fetch:2": rpc error: code = NotFound desc = '
        "failed to resolve reference: registry.corp/tools/fetch:2: not found",
        container="fetch",
        init=True,
    )
    creds = RegistryCredentialIndex.build([("default", "corp", ["registry.corp"])])
    f = only(run(raw, [ev], creds))
    assert (f.kind, f.container, f.is_init, f.cause) == (
        FindingKind.IMAGE_PULL,
        "fetch",
        True,
        PullCause.NOT_FOUND,
    )
    assert describe_finding(f, "en")[0].startswith("The init container fetch")
    assert describe_finding(f, "zh_CN")[0].startswith("Init 容器 fetch（Pod web-7d4b9c-abcde）")


# --- crash loops, OOM, init failures --------------------------------------------------------------


def crashing(
    exit_code: int = 1,
    reason: str = "Error",
    restarts: int = 7,
    *,
    state: dict[str, Any] | None = None,
    finished: str | None = None,
    memory: str = "",
    **kw: Any,
) -> dict[str, Any]:
    raw = pod(
        statuses=[
            cstatus(
                "web",
                "nginx:1.25",
                state or waiting("CrashLoopBackOff", "back-off 5m0s restarting failed"),
                restarts=restarts,
                last=terminated(exit_code, reason, finished=finished or ago(minutes=1)),
            )
        ],
        **kw,
    )
    if memory:
        raw["spec"]["containers"][0]["resources"] = {"limits": {"memory": memory}}
    return raw


def test_crash_loop_with_exit_code_and_last_log_lines() -> None:
    logs = [f"line {i}" for i in range(50)] + [
        "db: password=hunter22 rejected",
        "panic: cannot connect to db",
    ]
    f = only(run(crashing(), crash_logs={"web": logs}))
    assert (f.kind, f.severity, f.container) == (FindingKind.CRASH_LOOP, Severity.CRITICAL, "web")
    assert (f.evidence.exit_code, f.evidence.last_reason, f.evidence.restarts) == (1, "Error", 7)
    assert len(f.evidence.log_tail) == 10 and f.evidence.log_tail[-1] == "panic: cannot connect to db"
    assert f.evidence.log_tail[-2] == "db: password=*** rejected"  # redacted like every text podbot shows
    assert f.fixes[0].commands == ("/pod logs web-7d4b9c-abcde -c web -n default --previous",)
    cause = describe_finding(f, "en")[0]
    assert "code 1" in cause and "7 times" in cause and "Exit code 1" in cause


def test_crash_loop_is_the_same_finding_while_briefly_running() -> None:
    waiting_f = only(run(crashing(uid="u-loop")))
    running_f = only(run(crashing(state=running(ago(seconds=5)), restarts=8, uid="u-loop")))
    assert running_f.kind is FindingKind.CRASH_LOOP
    assert running_f.fingerprint == waiting_f.fingerprint


def test_exit_code_127_hint() -> None:
    f = only(run(crashing(127, "Error")))
    assert "not found in the image" in describe_finding(f, "en")[0]
    assert "找不到该命令" in describe_finding(f, "zh_CN")[0]


def test_oom_killed_crash_loop_is_reported_as_oom_with_the_limit() -> None:
    f = only(run(crashing(137, "OOMKilled", memory="256Mi")))
    assert (f.kind, f.severity) == (FindingKind.OOM_KILLED, Severity.CRITICAL)
    assert (f.fixes[0].kind, f.fixes[0].memory_limit) == (FixKind.RAISE_MEMORY_LIMIT, "256Mi")
    assert "256Mi" in describe_finding(f, "en")[0]


def test_recent_oom_while_running_is_a_warning_and_an_old_one_is_forgotten() -> None:
    recent = only(
        run(crashing(137, "OOMKilled", 1, state=running(ago(minutes=20)), finished=ago(minutes=20)))
    )
    assert (recent.kind, recent.severity) == (FindingKind.OOM_KILLED, Severity.WARNING)
    old = crashing(
        137, "OOMKilled", 1, state=running(ago(hours=3)), finished=ago(hours=3), created=ago(days=2)
    )
    assert run(old) == []


def test_init_container_failures() -> None:
    init_spec = [{"name": "migrate", "image": "migrate:3"}]
    app_status = [cstatus("web", "nginx:1.25", waiting("PodInitializing"))]
    never = pod(
        init_containers=init_spec,
        init_statuses=[cstatus("migrate", "migrate:3", terminated(2, "Error"))],
        statuses=app_status,
        phase="Failed",
        restart_policy="Never",
        conditions=[{"type": "Initialized", "status": "False"}],
    )
    f = only(run(never))
    assert (f.kind, f.container, f.is_init, f.evidence.exit_code) == (
        FindingKind.INIT_FAILURE,
        "migrate",
        True,
        2,
    )
    assert f.fixes[0].commands == ("/pod logs web-7d4b9c-abcde -c migrate -n default",)
    looping = pod(
        init_containers=init_spec,
        init_statuses=[
            cstatus(
                "migrate",
                "migrate:3",
                waiting("CrashLoopBackOff"),
                restarts=4,
                last=terminated(1, finished=ago(minutes=1)),
            )
        ],
        statuses=app_status,
        phase="Pending",
        conditions=[{"type": "Initialized", "status": "False"}],
    )
    f = only(run(looping))
    assert (f.kind, f.evidence.exit_code) == (FindingKind.INIT_FAILURE, 1)
    assert "app containers cannot start" in describe_finding(f, "en")[0]


def test_failed_exit_without_restart_and_config_error() -> None:
    done = pod(
        statuses=[cstatus("web", "nginx:1.25", terminated(3, "Error"))],
        phase="Failed",
        restart_policy="Never",
    )
    f = only(run(done))
    assert (f.kind, f.evidence.exit_code) == (FindingKind.CONTAINER_FAILED, 3)
    cfg = pod(
        statuses=[
            cstatus("web", "nginx:1.25", waiting("CreateContainerConfigError", 'secret "db-pass" not found'))
        ],
        phase="Pending",
    )
    f = only(run(cfg))
    assert f.kind is FindingKind.CONFIG_ERROR and 'secret "db-pass" not found' in describe_finding(f, "en")[0]


def test_frequent_restarts_from_count_and_from_history() -> None:
    young = pod(
        created=ago(minutes=30),
        statuses=[
            cstatus(
                "web",
                "nginx:1.25",
                running(ago(minutes=10)),
                restarts=6,
                last=terminated(0, finished=ago(minutes=11)),
            )
        ],
    )
    f = only(run(young))
    assert (f.kind, f.evidence.restarts_in_window) == (FindingKind.FREQUENT_RESTARTS, 6)
    assert "6 times in the last 60m" in describe_finding(f, "en")[0]
    assert run(young, settings=DiagnosisSettings(restart_threshold=7)) == []

    # An old pod: only restarts seen within the window count (history kept across updates).
    summary: PodSummary | None = None
    for i, minutes in enumerate([300, 200, 50, 40, 30, 20, 15]):
        raw = pod(
            uid="u-old",
            created=ago(days=3),
            statuses=[
                cstatus(
                    "web",
                    "nginx:1.25",
                    running(ago(minutes=minutes - 1)),
                    restarts=20 + i,
                    last=terminated(0, finished=ago(minutes=minutes)),
                )
            ],
        )
        summary = summarize(raw, summary)
    assert summary is not None
    f = only(run(raw, summary=summary))
    assert f.evidence.restarts_in_window == 5
    assert run(raw, summary=summary, settings=DiagnosisSettings(restart_threshold=6)) == []


# --- scheduling, pending, terminating, evicted ---------------------------------------------------

UNSCHED = (
    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
    "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
    "2 No preemption victims found for incoming pod."
)


def unschedulable(message: str = UNSCHED, created: str | None = None) -> dict[str, Any]:
    return pod(
        phase="Pending",
        node=None,
        statuses=[],
        created=created or ago(minutes=5),
        conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        ],
    )


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        (UNSCHED, SchedulingCause.INSUFFICIENT_RESOURCES),
        (
            "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector.",
            SchedulingCause.NODE_SELECTOR_MISMATCH,
        ),
        (
            "0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}.",
            SchedulingCause.UNTOLERATED_TAINT,
        ),
        (
            "0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.",
            SchedulingCause.VOLUME,
        ),
        (
            "0/4 nodes are available: 4 node(s) didn't have free ports for the requested pod ports.",
            SchedulingCause.NO_FREE_PORTS,
        ),
        ("no nodes available to schedule pods", SchedulingCause.NO_NODES),
        ("0/3 nodes are available: 3 Insufficient memory.", SchedulingCause.INSUFFICIENT_RESOURCES),
        ("something new", SchedulingCause.OTHER),
    ],
)
def test_scheduling_cause(message: str, cause: SchedulingCause) -> None:
    assert scheduling_cause(message) is cause


def test_unschedulable_with_the_schedulers_reason_after_the_threshold() -> None:
    f = only(run(unschedulable()))
    assert (f.kind, f.scheduling, f.node) == (
        FindingKind.UNSCHEDULABLE,
        SchedulingCause.INSUFFICIENT_RESOURCES,
        "",
    )
    assert f.fixes[0].kind is FixKind.ADD_CAPACITY and f.evidence.message == UNSCHED
    assert "Insufficient cpu" in describe_finding(f, "en")[0]
    assert run(unschedulable(created=ago(seconds=20))) == []
    assert run(unschedulable(), settings=DiagnosisSettings(unschedulable_after=timedelta(minutes=10))) == []
    # Only the FailedScheduling event (the condition not yet written) is enough.
    raw = pod(phase="Pending", node=None, statuses=[], created=ago(minutes=5), conditions=[])
    ev = event(raw, "FailedScheduling", UNSCHED, component="default-scheduler", count=9)
    f = only(run(raw, [ev]))
    assert (f.scheduling, f.evidence.event_count) == (SchedulingCause.INSUFFICIENT_RESOURCES, 9)


def test_pending_too_long_names_what_it_waits_for() -> None:
    raw = pod(
        phase="Pending",
        created=ago(minutes=20),
        statuses=[cstatus("web", "nginx:1.25", waiting("ContainerCreating"))],
    )
    mount = 'MountVolume.SetUp failed for volume "config" : configmap "web-config" not found'
    f = only(run(raw, [event(raw, "FailedMount", mount)]))
    assert (f.kind, f.evidence.reason, f.evidence.message) == (
        FindingKind.PENDING_TOO_LONG,
        "FailedMount",
        mount,
    )
    assert f.evidence.duration_seconds == 1200 and "20m" in describe_finding(f, "en")[0]
    assert run(raw, settings=DiagnosisSettings(pending_after=timedelta(minutes=30))) == []


def test_stuck_terminating() -> None:
    f = only(run(pod(deletion=ago(minutes=20))))
    assert (f.kind, [x.kind for x in f.fixes]) == (
        FindingKind.STUCK_TERMINATING,
        [FixKind.CHECK_NODE, FixKind.FORCE_DELETE],
    )
    assert f.fixes[-1].commands == ("/pod delete pod web-7d4b9c-abcde -n default --grace-period=0",)
    assert f.evidence.duration_seconds == 1200
    with_finalizer = only(run(pod(deletion=ago(minutes=20), finalizers=["example.com/cleanup"])))
    assert with_finalizer.fixes[0].kind is FixKind.REMOVE_FINALIZERS
    assert "example.com/cleanup" in describe_finding(with_finalizer, "en")[1]
    assert run(pod(deletion=ago(minutes=2))) == []  # within the allowance


def test_evicted() -> None:
    msg = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."
    raw = pod(
        phase="Failed",
        reason="Evicted",
        message=msg,
        statuses=[cstatus("web", "nginx:1.25", terminated(137, "ContainerStatusUnknown"))],
    )
    f = only(run(raw))
    assert (f.kind, f.evidence.message) == (FindingKind.EVICTED, msg)
    assert [x.kind for x in f.fixes] == [FixKind.RELIEVE_NODE_PRESSURE, FixKind.DELETE_EVICTED]
    assert msg in describe_finding(f, "en")[0]


# --- static pods -----------------------------------------------------------------------------------

MIRROR = {
    "kubernetes.io/config.mirror": "9b1f0c",
    "kubernetes.io/config.source": "file",
    "kubernetes.io/config.hash": "9b1f0c",
}


def static(**kw: Any) -> dict[str, Any]:
    return pod(
        "kube-apiserver-master-1",
        "kube-system",
        node="master-1",
        owner=("Node", "master-1"),
        annotations=kw.pop("annotations", MIRROR),
        **kw,
    )


STATIC_CASES = {
    "crash_loop": static(
        statuses=[
            cstatus(
                "web",
                "nginx:1.25",
                waiting("CrashLoopBackOff"),
                restarts=5,
                last=terminated(1, finished=ago(minutes=1)),
            )
        ]
    ),
    "terminating": static(deletion=ago(minutes=30)),
    "evicted": static(phase="Failed", reason="Evicted", message="low on memory", statuses=[]),
    "image_pull": static(
        containers=[{"name": "web", "image": "reg.corp/cp/apiserver:1"}],
        statuses=[cstatus("web", "reg.corp/cp/apiserver:1", waiting("ErrImagePull", "401 Unauthorized"))],
        phase="Pending",
    ),
}


@pytest.mark.parametrize("case", STATIC_CASES, ids=list(STATIC_CASES))
def test_static_pod_findings_name_node_and_manifest_and_never_suggest_delete(case: str) -> None:
    f = only(run(STATIC_CASES[case]))
    assert f.static == StaticPod("master-1", "file", "/etc/kubernetes/manifests", "kube-apiserver")
    assert f.fixes[-1].kind is FixKind.EDIT_STATIC_MANIFEST
    kinds = {x.kind for x in f.fixes}
    assert not kinds & {
        FixKind.FORCE_DELETE,
        FixKind.DELETE_EVICTED,
        FixKind.CREATE_SECRET_AND_ATTACH,
        FixKind.CREATE_REGISTRY_SECRET,
        FixKind.REPLACE_REGISTRY_LOGIN,
        FixKind.ATTACH_PULL_SECRET,
    }
    assert not any("delete" in command for x in f.fixes for command in x.commands)
    for locale in ("en", "zh_CN"):
        cause, fix = describe_finding(f, locale)
        assert "master-1" in cause and "/etc/kubernetes/manifests" in cause + fix
        assert "/pod delete" not in cause + fix
    if case == "image_pull":
        assert FixKind.NODE_REGISTRY_CREDENTIALS in kinds


def test_static_pod_path_is_configurable_and_http_sources_have_no_dir() -> None:
    raw = STATIC_CASES["crash_loop"]
    f = only(run(raw, settings=DiagnosisSettings(static_pod_path="/srv/manifests")))
    assert f.static is not None and f.static.manifest_dir == "/srv/manifests"
    http = static(
        annotations=dict(MIRROR, **{"kubernetes.io/config.source": "http"}),
        statuses=raw["status"]["containerStatuses"],
    )
    f = only(run(http))
    assert f.static is not None and (f.static.source, f.static.manifest_dir) == ("http", "")
    assert "--manifest-url" in describe_finding(f, "en")[0]


# --- fingerprints and groups -------------------------------------------------------------------------


def test_fingerprint_is_stable_for_the_same_problem_and_differs_otherwise() -> None:
    raw = crashing(uid="u-1")
    first = only(run(raw))
    later = only(
        run(crashing(uid="u-1", restarts=9, finished=ago(minutes=3)), now_offset=timedelta(minutes=2))
    )
    assert first.fingerprint == later.fingerprint
    assert only(run(crashing(uid="u-2"))).fingerprint != first.fingerprint  # another pod

    two = pod(
        uid="u-3",
        containers=[{"name": "a", "image": "x:1"}, {"name": "b", "image": "x:1"}],
        statuses=[
            cstatus(
                n, "x:1", waiting("CrashLoopBackOff"), restarts=4, last=terminated(1, finished=ago(minutes=1))
            )
            for n in ("a", "b")
        ],
    )
    a, b = run(two)
    assert a.fingerprint != b.fingerprint and a.group_key == b.group_key


def test_pull_cause_sharpening_keeps_the_fingerprint_but_not_the_group() -> None:
    raw = pulling(reason="ImagePullBackOff", message="Back-off pulling image", secrets=["k"], uid="u-9")
    unknown = only(run(raw))
    known = only(run(pulling(secrets=["k"], uid="u-9")))
    assert (unknown.cause, known.cause) == (PullCause.UNKNOWN, PullCause.CREDENTIALS_MISSING)
    assert unknown.fingerprint == known.fingerprint and unknown.group_key != known.group_key


def test_mirror_pod_recreated_with_a_new_uid_keeps_its_fingerprint() -> None:
    a = only(run(static(uid="m-1", deletion=ago(minutes=30))))
    b = only(run(static(uid="m-2", deletion=ago(minutes=30))))
    assert a.fingerprint == b.fingerprint


def test_five_hundred_pods_failing_the_same_way_share_one_group_key() -> None:
    keys = set()
    fingerprints = set()
    for i in range(500):
        f = only(run(pulling(secrets=["myregistrykey"], uid=f"u-{i}", owner=("ReplicaSet", "web-1"))))
        keys.add(f.group_key)
        fingerprints.add(f.fingerprint)
    # the credential causes share one group: the alert stays one while someone fixes the login
    assert keys == {("default", "image_pull", "credentials", SEED_IMAGE)}
    assert len(fingerprints) == 500


# --- the text catalog covers every finding -------------------------------------------------------------


def _all_findings() -> list[Finding]:
    base = {
        "namespace": "ns",
        "pod": "p",
        "uid": "u",
        "node": "n1",
        "container": "c",
        "image": "r.io/a:1",
        "registry": "r.io",
    }
    out = [
        Finding(
            FindingKind.IMAGE_PULL,
            Severity.CRITICAL,
            cause=cause,
            ambiguous=True,
            **base,
            fixes=(Fix(FixKind.INSPECT_PULL, commands=("/pod describe pod p -n ns",)),),
        )
        for cause in PullCause
    ]
    out += [
        Finding(
            FindingKind.UNSCHEDULABLE, Severity.CRITICAL, scheduling=s, evidence=Evidence(message="m"), **base
        )
        for s in SchedulingCause
    ]
    out += [
        Finding(k, Severity.WARNING, evidence=Evidence(exit_code=137, restarts=3), **base)
        for k in FindingKind
    ]
    fixes = tuple(Fix(k, secret_name="s", server="r.io", commands=("/pod x",)) for k in FixKind)
    out.append(
        Finding(
            FindingKind.CRASH_LOOP,
            Severity.CRITICAL,
            fixes=fixes,
            **base,
            static=StaticPod("n1", "file", "/etc/kubernetes/manifests", "p"),
        )
    )
    return out


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_cause_and_fix_has_text(locale: str) -> None:
    for f in _all_findings():
        cause, fix = describe_finding(f, locale)
        assert cause and "{" not in cause and "}" not in cause.replace("{name:", ""), (f.kind, f.cause, cause)
        if f.fixes:
            assert fix
        if locale == "zh_CN":
            assert re.search("[\u4e00-\u9fff]", cause)
