"""Intent before effect: a change is written down before its API call, and settled after.

The database faults are real: the SQLite file's directory is moved away (and the pool emptied),
so every new connection fails as it would on a lost disk or volume, and moved back to recover.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from podbot.localslack import Message
from podbot.sim.cluster import SimCluster
from podbot.store import ApprovalState, AuditAction, AuditQuery
from tests.support.approvals import (
    approval_of,
    click,
    counting_deletes,
    current,
    pod_exists,
    private_answers,
    request_delete,
    run_pod,
)
from tests.support.harness import Harness, podbot_harness
from tests.support.stores import DatabaseCut


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    (tmp_path / "db").mkdir()
    with podbot_harness(tmp_path, database_url=f"sqlite:///{tmp_path / 'db' / 'podbot.sqlite3'}") as made:
        yield made


@contextmanager
def on_api_call(sim: SimCluster, method: str, then: Any) -> Iterator[list[str]]:
    """Run ``then()`` as the simulator's API server receives the first ``method`` request (which
    it still carries out): the moment between podbot's API call and its next step."""
    seen: list[str] = []
    original = sim.faults.check

    def check(verb: str, path: str, is_watch: bool) -> Any:
        if verb == method and not seen:
            seen.append(path)
            then()
        return original(verb, path, is_watch)

    sim.faults.check = check  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del sim.faults.check  # type: ignore[method-assign]


def test_database_down_nothing_touches_the_cluster(h: Harness, tmp_path: Path) -> None:
    db = DatabaseCut(h, tmp_path)
    db.cut()
    try:
        answer = h.command("run while-db-down --image=nginx:1.16")
    finally:
        db.restore()
    assert pod_exists(h.sim, "while-db-down") is None
    assert "database is unavailable" in answer.rendered
    assert "nothing was changed" in answer.rendered
    assert "Traceback" not in answer.rendered


def test_a_change_whose_outcome_write_failed_is_audited_by_recovery(h: Harness, tmp_path: Path) -> None:
    """The database goes away between the API call and the audit write: the pod is created and
    the user told so; the open intent is settled from the cluster once the database is back."""
    db = DatabaseCut(h, tmp_path)
    try:
        with on_api_call(h.sim, "POST", db.cut) as seen:
            answer = h.command("run half-written --image=nginx:1.16")
    finally:
        db.restore()
    assert seen == ["/api/v1/namespaces/default/pods"]
    created = pod_exists(h.sim, "half-written")
    assert created is not None
    assert "created" in answer.rendered
    audit = h.runtime.store.audit
    assert audit.query(AuditQuery(action=AuditAction.RUN)) == []  # the outcome write was lost
    [intent] = audit.unsettled(h.sim.clock.now())
    assert (intent.action, intent.kind, intent.name, intent.settled_at) == (
        AuditAction.RUN,
        "Pod",
        "half-written",
        None,
    )

    h.sim.advance(timedelta(minutes=3).total_seconds())
    h.runtime.sweeper.sweep()
    [record] = audit.query(AuditQuery(action=AuditAction.RUN))
    assert record.outcome == "created"
    assert record.uid == created["metadata"]["uid"]
    assert record.name == "half-written" and record.user_id == h.slack.workspace.user("alice").id
    assert record.detail.startswith("recovered")
    assert audit.unsettled(h.sim.clock.now()) == []
    h.runtime.sweeper.sweep()  # settled once: a second sweep (or replica) writes nothing more
    assert len(audit.query(AuditQuery(action=AuditAction.RUN))) == 1


def test_every_change_settles_its_intent(h: Harness) -> None:
    answer = h.command("run settled --image=nginx:1.16")
    assert "created" in answer.rendered
    audit = h.runtime.store.audit
    [record] = audit.query(AuditQuery(action=AuditAction.RUN))
    assert record.outcome == "created" and record.name == "settled"
    h.sim.advance(timedelta(minutes=3).total_seconds())
    assert audit.unsettled(h.sim.clock.now()) == []


def _approve_and_lose_the_outcome(h: Harness, db: DatabaseCut, name: str) -> tuple[Message, str]:
    """An approved delete whose process loses its database right after the API delete: the delete
    happened, nothing after it was written (what a SIGKILL at that point leaves)."""
    uid = run_pod(h, name)
    request = request_delete(h, f"delete pod {name}")
    mark = h.slack.mark()
    try:
        with on_api_call(h.sim, "DELETE", db.cut) as seen:
            click(h, "bob", request, "Approve")
    finally:
        db.restore()
    assert seen == [f"/api/v1/namespaces/default/pods/{name}"]
    # The delete happened: the approver is not told to try again (which would find it approved).
    assert not [a for a in private_answers(h, "bob", mark) if "try again" in a]
    assert approval_of(h, request).state is ApprovalState.EXECUTING
    assert "deleting" in current(h, request).rendered
    return request, uid


def _recover(h: Harness, request: Message) -> tuple[Message, list[str]]:
    """A fresh process on the same database, once the request counts as stuck: its sweep."""
    h.restart()
    h.sim.advance(timedelta(minutes=3).total_seconds())
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        h.runtime.sweeper.sweep()
    edited = h.slack.wait_for(lambda m: m.ts == request.ts, after=mark, timeout=10)
    return edited, deletes


def test_a_delete_interrupted_after_the_api_call_is_settled_as_deleted(h: Harness, tmp_path: Path) -> None:
    request, uid = _approve_and_lose_the_outcome(h, DatabaseCut(h, tmp_path), "doomed")
    edited, deletes = _recover(h, request)
    assert deletes == []  # the cluster already shows our delete: nothing is sent again
    assert "Approved by @bob: pod doomed deleted." in edited.rendered, edited.rendered
    assert not edited.buttons
    approval = approval_of(h, request)
    assert (approval.state, approval.outcome) == (ApprovalState.DONE, "deleted")
    [record] = h.runtime.store.audit.query(AuditQuery(action=AuditAction.DELETE))
    assert (record.outcome, record.uid, record.approval_id) == ("deleted", uid, approval.id)
    assert "approved by " + h.slack.workspace.user("bob").id in record.detail


def test_a_same_named_pod_after_an_interrupted_delete_is_not_touched(h: Harness, tmp_path: Path) -> None:
    request, uid = _approve_and_lose_the_outcome(h, DatabaseCut(h, tmp_path), "reborn")
    h.sim.advance(40)  # the deleted pod's grace period ends
    new_uid = run_pod(h, "reborn")  # a same-named pod, e.g. recreated by its owner
    assert new_uid != uid
    edited, deletes = _recover(h, request)
    assert deletes == []
    assert "pod reborn deleted." in edited.rendered and "replaced" not in edited.rendered
    approval = approval_of(h, request)
    assert (approval.state, approval.outcome) == (ApprovalState.DONE, "deleted")
    [record] = h.runtime.store.audit.query(AuditQuery(action=AuditAction.DELETE))
    assert (record.outcome, record.uid) == ("deleted", uid)
    survivor = pod_exists(h.sim, "reborn")
    assert survivor is not None and survivor["metadata"]["uid"] == new_uid


def test_a_failed_message_edit_is_repaired_by_the_sweeper(h: Harness) -> None:
    run_pod(h, "stale-card")
    request = request_delete(h, "delete pod stale-card")
    h.slack.faults.fail("chat.update", "internal_error", times=100)
    try:
        click(h, "bob", request, "Approve")
    finally:
        h.slack.faults.clear()
    assert approval_of(h, request).state is ApprovalState.DONE
    assert current(h, request).buttons  # Slack took no edit: the card still offers Approve/Deny
    mark = h.slack.mark()
    h.runtime.sweeper.sweep()
    edited = h.slack.wait_for(lambda m: m.ts == request.ts, after=mark, timeout=10)
    assert "pod stale-card deleted." in edited.rendered
    assert not edited.buttons
    assert approval_of(h, request).message_stale is False


HOLDING = """
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: [{sre}]
channels:
  - channel: "#ops"
    on_violation: approve
"""
PRIVILEGED = """create
apiVersion: v1
kind: Pod
metadata:
  name: rooted
  namespace: default
spec:
  containers:
    - name: shell
      image: busybox
      securityContext:
        privileged: true
"""


def test_a_held_create_interrupted_after_the_api_call_is_settled_as_created(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    url = f"sqlite:///{tmp_path / 'db' / 'podbot.sqlite3'}"
    with podbot_harness(tmp_path, config=HOLDING, database_url=url) as h:
        mark = h.slack.mark()
        h.command(PRIVILEGED)
        card = h.slack.wait_for_message(channel="ops", contains="Create request #", after=mark)
        db = DatabaseCut(h, tmp_path)
        try:
            with on_api_call(h.sim, "POST", db.cut) as seen:
                click(h, "bob", card, "Approve")
        finally:
            db.restore()
        assert seen == ["/api/v1/namespaces/default/pods"]
        created = pod_exists(h.sim, "rooted")
        assert created is not None
        assert approval_of(h, card).state is ApprovalState.EXECUTING
        edited, _ = _recover(h, card)
        approval = approval_of(h, card)
        assert (approval.state, approval.outcome) == (ApprovalState.DONE, "created"), approval.detail
        [record] = h.runtime.store.audit.query(AuditQuery(action=AuditAction.CREATE))
        assert (record.outcome, record.approval_id) == ("created", approval.id)
        assert not edited.buttons
        still = pod_exists(h.sim, "rooted")
        assert still is not None and still["metadata"]["uid"] == created["metadata"]["uid"]


AT_ONCE = """
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: [{sre}]
  no_approval_namespaces: ["default"]
channels:
  - channel: "*"
"""


def test_a_delete_without_approval_whose_outcome_write_failed_is_settled_by_its_uid(
    tmp_path: Path,
) -> None:
    (tmp_path / "db").mkdir()
    url = f"sqlite:///{tmp_path / 'db' / 'podbot.sqlite3'}"
    with podbot_harness(tmp_path, config=AT_ONCE, database_url=url) as h:
        uid = run_pod(h, "scratch")
        db = DatabaseCut(h, tmp_path)
        try:
            with on_api_call(h.sim, "DELETE", db.cut) as seen:
                answer = h.command("delete pod scratch")
        finally:
            db.restore()
        assert seen == ["/api/v1/namespaces/default/pods/scratch"]
        assert "deleted" in answer.rendered
        audit = h.runtime.store.audit
        [intent] = audit.unsettled(h.sim.clock.now())
        assert (intent.action, intent.name, intent.uid) == (AuditAction.DELETE, "scratch", uid)
        h.sim.advance(timedelta(minutes=3).total_seconds())
        h.runtime.sweeper.sweep()
        [record] = audit.query(AuditQuery(action=AuditAction.DELETE))
        assert (record.outcome, record.uid, record.namespace) == ("deleted", uid, "default")
        assert record.detail.startswith("recovered")


def test_a_duplicate_delete_request_leaves_no_open_intent_and_no_record(h: Harness) -> None:
    run_pod(h, "asked-twice")
    request_delete(h, "delete pod asked-twice")
    answer = h.command("delete pod asked-twice", user="carol")
    assert "request #" in answer.rendered
    audit = h.runtime.store.audit
    h.sim.advance(timedelta(minutes=3).total_seconds())
    assert audit.unsettled(h.sim.clock.now()) == []
    h.runtime.sweeper.sweep()
    assert audit.query(AuditQuery(action=AuditAction.DELETE)) == []
    assert len(audit.query(AuditQuery(action=AuditAction.DELETE_REQUEST))) == 1
