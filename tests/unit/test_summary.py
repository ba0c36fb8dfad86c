"""summarize() over realistic pod JSON in each state; event notes; remembering pull failures."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from podbot.core.pods.summary import (
    PULL_MESSAGE_LIMIT,
    ContainerSummary,
    PodSummary,
    StateKind,
    clip,
    keep_note,
    note_from_event,
    remember,
    summarize,
)
from tests.support.builders import NOW, ago, cstatus, event, pod, running, terminated, waiting
from tests.support.seed import SEED_AUTH_ERROR, SEED_IMAGE, SEED_PULL_ERROR


def seed_pod(reason: str = "ErrImagePull", message: str = SEED_AUTH_ERROR, **kw: Any) -> dict[str, Any]:
    """The seed notes' private-registry pod, failing to pull."""
    return pod(
        "nginx",
        containers=[{"name": "nginx", "image": SEED_IMAGE, "ports": [{"containerPort": 80}]}],
        statuses=[cstatus("nginx", SEED_IMAGE, waiting(reason, message))],
        phase="Pending",
        owner=None,
        pull_secrets=["myregistrykey"],
        **kw,
    )


def test_running_pod() -> None:
    s = summarize(pod())
    assert (s.namespace, s.name, s.node, s.phase, s.status, s.ready, s.restarts) == (
        "default", "web-7d4b9c-abcde", "node-1", "Running", "Running", "1/1", 0,
    )  # fmt: skip
    assert (s.owner_kind, s.owner_name, s.mirror, s.service_account) == (
        "ReplicaSet",
        "web-7d4b9c",
        False,
        "default",
    )
    (c,) = s.containers
    assert (c.name, c.image, c.state, c.ready, c.is_init) == (
        "web",
        "nginx:1.25",
        StateKind.RUNNING,
        True,
        False,
    )
    assert s.pull_failures == ()


def test_image_pull_pod_remembers_the_waiting_message() -> None:
    s = summarize(seed_pod(), now=NOW)
    assert (s.status, s.ready, s.pull_secrets) == ("ErrImagePull", "0/1", ("myregistrykey",))
    (failure,) = s.pull_failures
    assert (failure.container, failure.image, failure.message) == ("nginx", SEED_IMAGE, SEED_AUTH_ERROR)
    assert failure.first_seen == failure.last_seen == NOW.timestamp()


def test_backoff_keeps_the_memory_and_its_first_time() -> None:
    first = summarize(seed_pod(), now=NOW)
    later = NOW.timestamp() + 300
    backoff = summarize(
        seed_pod("ImagePullBackOff", f'Back-off pulling image "{SEED_IMAGE}"', uid=first.uid),
        first,
        now=later,
    )
    assert backoff.status == "ImagePullBackOff"
    (failure,) = backoff.pull_failures
    assert failure.message == SEED_AUTH_ERROR and failure.first_seen == NOW.timestamp()


def test_newer_backoff_message_with_cause_is_learned() -> None:
    msg = f'Back-off pulling image "{SEED_IMAGE}": ErrImagePull: {SEED_AUTH_ERROR}'
    (failure,) = summarize(seed_pod("ImagePullBackOff", msg), now=NOW).pull_failures
    assert SEED_AUTH_ERROR in failure.message


def test_memory_is_forgotten_once_the_container_runs_or_the_image_changes() -> None:
    failing = summarize(seed_pod(), now=NOW)
    fixed = pod(
        "nginx",
        uid=failing.uid,
        containers=[{"name": "nginx", "image": SEED_IMAGE}],
        owner=None,
        pull_secrets=["myregistrykey"],
    )
    assert summarize(fixed, failing).pull_failures == ()
    changed = seed_pod("ContainerCreating", "", uid=failing.uid)
    changed["spec"]["containers"][0]["image"] = "10.0.0.130:5000/nginx:1.25"
    assert summarize(changed, failing).pull_failures == ()


def test_a_new_pod_with_the_same_name_starts_with_no_memory() -> None:
    failing = summarize(seed_pod(), now=NOW)
    again = summarize(seed_pod("ContainerCreating", ""), failing)  # new uid
    assert again.pull_failures == ()


def test_event_is_remembered_after_it_expires() -> None:
    raw = seed_pod("ImagePullBackOff", f'Back-off pulling image "{SEED_IMAGE}"')
    summary = summarize(raw)
    assert summary.pull_failures == ()
    ev = event(raw, "Failed", SEED_PULL_ERROR, container="nginx", count=4)
    note = note_from_event(ev)
    assert note is not None and note.is_pull_failure
    learned = remember(summary, note)
    (failure,) = learned.pull_failures
    assert failure.message.endswith("no basic auth credentials") and failure.count == 4
    assert failure.first_seen == note.first_seen
    # The pod is updated later (event long gone): the memory carries over.
    assert summarize(raw, learned).pull_failures == learned.pull_failures
    # Not a pull failure, another pod, or a running container: nothing learned (same object back).
    other = note_from_event(
        event(raw, "BackOff", f'Back-off pulling image "{SEED_IMAGE}"', container="nginx")
    )
    assert other is not None and remember(summary, other) is summary
    stranger = dataclasses.replace(note, pod_uid="someone-else")
    assert remember(summary, stranger) is summary


def test_init_container_pull_failure_and_sidecar() -> None:
    raw = pod(
        containers=[{"name": "app", "image": "app:1"}],
        init_containers=[
            {"name": "fetch", "image": "registry.corp/tools/fetch:2"},
            {"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"},
        ],
        init_statuses=[
            cstatus("fetch", "registry.corp/tools/fetch:2", waiting("ErrImagePull", "401 Unauthorized"))
        ],
        statuses=[cstatus("app", "app:1", waiting("PodInitializing"))],
        phase="Pending",
        conditions=[{"type": "Initialized", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
    )
    s = summarize(raw, now=NOW)
    assert s.status == "Init:ErrImagePull"
    fetch, proxy, app = s.containers
    assert (fetch.is_init, fetch.is_sidecar, proxy.is_sidecar, app.is_init) == (True, False, True, False)
    assert s.pull_failure("fetch") is not None and s.pull_failure("app") is None


def test_crash_loop_container() -> None:
    raw = pod(
        statuses=[
            cstatus(
                "web",
                "nginx:1.25",
                waiting("CrashLoopBackOff", "back-off 5m0s restarting failed container=web"),
                restarts=7,
                last=terminated(1, finished=ago(minutes=1)),
            )
        ]
    )
    raw["spec"]["containers"][0]["resources"] = {"limits": {"memory": "256Mi"}}
    s = summarize(raw)
    (c,) = s.containers
    assert (s.status, s.restarts) == ("CrashLoopBackOff", 7)
    assert (c.reason, c.last_reason, c.last_exit_code, c.restart_count, c.memory_limit) == (
        "CrashLoopBackOff", "Error", 1, 7, "256Mi",
    )  # fmt: skip
    assert c.last_finished_at == pytest.approx(NOW.timestamp() - 60)
    assert c.restart_times == (c.last_finished_at,)


def test_restart_history_grows_across_updates_and_is_bounded() -> None:
    previous: PodSummary | None = None
    uid = "u-1"
    for i in range(15):
        raw = pod(
            uid=uid,
            statuses=[
                cstatus(
                    "web",
                    "nginx:1.25",
                    running(),
                    restarts=i + 1,
                    last=terminated(137, "OOMKilled", finished=ago(minutes=60 - i)),
                )
            ],
        )
        previous = summarize(raw, previous)
        previous = summarize(raw, previous)  # the same version twice adds nothing
    assert previous is not None
    times = previous.containers[0].restart_times
    assert len(times) == 10 and list(times) == sorted(times)


def test_terminating_evicted_unschedulable_and_mirror() -> None:
    term = summarize(pod(deletion=ago(minutes=20), finalizers=["example.com/cleanup"]))
    assert term.status == "Terminating" and term.deleted_at is not None
    assert (term.grace_seconds, term.finalizers) == (30, ("example.com/cleanup",))

    evicted = summarize(
        pod(phase="Failed", reason="Evicted", message="The node was low on resource: memory.", statuses=[])
    )
    assert (evicted.status, evicted.reason, evicted.message) == (
        "Evicted", "Evicted", "The node was low on resource: memory.",
    )  # fmt: skip

    msg = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available."
    pending = summarize(
        pod(
            phase="Pending",
            node=None,
            statuses=[],
            conditions=[
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg}
            ],
        )
    )
    assert (pending.scheduled_reason, pending.scheduled_message, pending.node) == ("Unschedulable", msg, "")

    mirror = summarize(
        pod(
            "etcd-master-1",
            "kube-system",
            node="master-1",
            owner=("Node", "master-1"),
            annotations={
                "kubernetes.io/config.mirror": "abc123",
                "kubernetes.io/config.source": "file",
                "kubernetes.io/config.hash": "abc123",
            },
        )
    )
    assert (mirror.mirror, mirror.config_source, mirror.config_hash, mirror.owner_kind) == (
        True, "file", "abc123", "Node",
    )  # fmt: skip


def test_strings_are_interned_and_fields_are_compact() -> None:
    a = summarize(pod("a-1"))
    b = summarize(pod("b-1"))
    assert a.namespace is b.namespace and a.node is b.node and a.containers[0].image is b.containers[0].image
    assert a.status is b.status and a.owner_name is b.owner_name
    assert not hasattr(a, "__dict__") and not hasattr(a.containers[0], "__dict__")
    assert isinstance(a.containers, tuple) and isinstance(a.containers[0], ContainerSummary)


def test_clip_keeps_head_and_tail() -> None:
    text = "Failed to pull image " + "x" * 2000 + ": no basic auth credentials"
    clipped = clip(text, PULL_MESSAGE_LIMIT)
    assert len(clipped) <= PULL_MESSAGE_LIMIT
    assert clipped.startswith("Failed to pull image") and clipped.endswith("no basic auth credentials")
    assert clip("short") == "short"


@pytest.mark.parametrize(
    ("field_path", "container", "is_init"),
    [
        ("spec.containers{nginx}", "nginx", False),
        ("spec.initContainers{fetch}", "fetch", True),
        ("", "", False),
    ],
)
def test_event_notes_read_the_container(field_path: str, container: str, is_init: bool) -> None:
    raw = pod()
    ev = event(raw, "Failed", "x")
    if field_path:
        ev["involvedObject"]["fieldPath"] = field_path
    note = note_from_event(ev)
    assert note is not None
    assert (note.container, note.is_init, note.pod_uid, note.count) == (
        container,
        is_init,
        raw["metadata"]["uid"],
        1,
    )


def test_event_notes_ignore_other_kinds_and_read_series() -> None:
    raw = pod()
    ev = event(raw, "Failed", "x")
    ev["involvedObject"]["kind"] = "Node"
    assert note_from_event(ev) is None
    ev = event(raw, "BackOff", "y", type_="Normal")
    ev.pop("firstTimestamp")
    ev.pop("lastTimestamp")
    ev["eventTime"] = ago(minutes=30)
    ev["series"] = {"count": 12, "lastObservedTime": ago(minutes=1)}
    note = note_from_event(ev)
    assert note is not None and note.count == 12
    assert note.first_seen == pytest.approx(NOW.timestamp() - 1800)
    assert note.last_seen == pytest.approx(NOW.timestamp() - 60)


def test_keep_note_keeps_the_newest_warning_per_reason_and_container_bounded() -> None:
    raw = pod()
    notes: tuple[Any, ...] = ()
    for minutes in (30, 20, 10):
        n = note_from_event(
            event(raw, "Failed", f"err {minutes}", container="web", last=ago(minutes=minutes))
        )
        assert n is not None
        notes = keep_note(notes, n)
    assert [n.message for n in notes] == ["err 10"]
    stale = note_from_event(event(raw, "Failed", "err 99", container="web", last=ago(minutes=99)))
    assert stale is not None and keep_note(notes, stale) is notes
    normal = note_from_event(event(raw, "Pulling", "Pulling image", container="web", type_="Normal"))
    assert normal is not None and keep_note(notes, normal) is notes
    sched = note_from_event(event(raw, "FailedScheduling", "0/1 nodes", type_="Normal"))
    assert sched is not None and len(keep_note(notes, sched)) == 2
    for i in range(20):
        n = note_from_event(event(raw, f"Reason{i}", "m", last=ago(seconds=60 - i)))
        assert n is not None
        notes = keep_note(notes, n, limit=5)
    assert len(notes) == 5 and notes[-1].reason == "Reason19"
