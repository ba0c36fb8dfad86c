"""Deletes behind approvals, end to end: localslack (signed clicks) -> bolt -> podbot -> podbot.sim.

Each test makes its own pods; the module shares one simulator, Slack workspace and bot.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podbot.localslack import Workspace
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
    stale_click,
)
from tests.support.harness import Harness, podbot_harness
from tests.support.stores import DB_KINDS, make_target, race

CONFIG = """
approvals:
  approvers:
    - namespaces: [default, kube-system, "team-*"]
      usergroups: ["{sre}"]
  no_approval_namespaces: ["dev-*"]
channels:
  - channel: "#dev"
    namespaces: ["dev-*"]
    verbs: [get, run, audit]
    default_namespace: dev-1
  - channel: "*"
"""


def workspace() -> Workspace:
    """The demo workspace plus dave, a second approver in @sre (for the double-approval race)."""
    ws = Workspace.demo()
    ws.add_user("dave", real_name="Dave Diaz")
    ws.join("ops", "dave")
    ws.set_usergroup_users("sre", ["bob", "dave"])
    return ws


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with podbot_harness(tmp_path_factory.mktemp("approvals"), config=CONFIG, workspace=workspace()) as made:
        kube = made.runtime.clusters.get()
        for namespace in ("dev-1", "lonely"):
            kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
        yield made


def audit_actions(h: Harness, approval_id: int) -> list[str]:
    """The audit trail of one request, oldest first."""
    events = h.runtime.store.audit.query(AuditQuery(limit=1000))
    return [e.action.value for e in reversed(events) if e.approval_id == approval_id]


def test_request_then_approve_deletes_the_pod_and_edits_the_message(h: Harness) -> None:
    uid = run_pod(h, "web-approve")
    request = request_delete(h, 'delete pod web-approve --reason "rolling the node"')
    assert not request.is_ephemeral  # the channel sees it
    text = request.rendered
    for shown in ("web-approve", "default", "podbot-sim", uid, "@alice", "rolling the node", "@sre"):
        assert shown in text, shown
    approve = request.button("Approve")
    assert approve.element["confirm"]["confirm"]["text"] == "Delete"  # Slack's confirm dialog
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.PENDING
    assert (approval.expires_at - approval.created_at).total_seconds() == 3600  # default expiry 1 h

    with counting_deletes(h.sim) as deletes:
        click(h, "bob", request, "Approve")
    assert deletes == ["/api/v1/namespaces/default/pods/web-approve"]
    edited = current(h, request)
    assert edited.edited and "Approved by @bob" in edited.rendered and "deleted" in edited.rendered
    assert not edited.buttons  # nothing left to click
    h.sim.advance(40)  # the kubelet stops the containers within the grace period
    assert pod_exists(h.sim, "web-approve") is None
    done = approval_of(h, request)
    assert (done.state, done.outcome, done.decided_by) == (
        ApprovalState.DONE,
        "deleted",
        h.slack.workspace.user("bob").id,
    )
    assert audit_actions(h, done.id) == ["delete_request", "approve", "delete"]
    delete = h.runtime.store.audit.query(AuditQuery(action=AuditAction.DELETE, limit=1))[0]
    assert (delete.uid, delete.outcome, delete.namespace) == (uid, "deleted", "default")


def test_deny_keeps_the_pod_and_a_later_click_changes_nothing(h: Harness) -> None:
    run_pod(h, "web-deny")
    request = request_delete(h, "delete pod web-deny")
    click(h, "bob", request, "Deny")
    assert "Denied by @bob" in current(h, request).rendered
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        stale_click(h, "dave", request, "Approve")  # dave's client still shows the buttons
    assert deletes == []
    assert any("already denied by @bob" in a for a in private_answers(h, "dave", mark))
    assert pod_exists(h.sim, "web-deny") is not None
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.DENIED
    assert audit_actions(h, approval.id) == ["delete_request", "deny"]


def test_requester_may_withdraw_with_deny(h: Harness) -> None:
    run_pod(h, "web-withdraw")
    request = request_delete(h, "delete pod web-withdraw")
    click(h, "alice", request, "Deny")
    assert "Withdrawn by @alice" in current(h, request).rendered
    assert approval_of(h, request).state is ApprovalState.DENIED


def test_self_approval_is_refused(h: Harness) -> None:
    run_pod(h, "web-self")
    request = request_delete(h, "delete pod web-self", user="bob")  # bob is an approver himself
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        click(h, "bob", request, "Approve")
    assert deletes == []
    assert any("someone else must approve" in a for a in private_answers(h, "bob", mark, "ops"))
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.PENDING
    refused = [e for e in h.runtime.store.audit.query(AuditQuery(limit=50)) if e.approval_id == approval.id]
    assert refused[0].action is AuditAction.REFUSED_CLICK and refused[0].outcome == "self_approval"
    click(h, "dave", request, "Approve")  # another approver can
    assert "Approved by @dave" in current(h, request).rendered


def test_non_approver_is_refused_privately_and_audited(h: Harness) -> None:
    run_pod(h, "web-carol")
    request = request_delete(h, "delete pod web-carol")
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        click(h, "carol", request, "Approve")
        click(h, "carol", request, "Deny")
    assert deletes == []
    answers = private_answers(h, "carol", mark)
    assert len(answers) == 2 and all("Only @sre can approve" in a for a in answers)
    assert current(h, request).rendered == request.rendered  # the message did not change
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.PENDING
    carol = h.slack.workspace.user("carol").id
    refused = h.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED_CLICK, user_id=carol))
    assert {e.outcome for e in refused if e.approval_id == approval.id} == {"not_an_approver"}
    assert {e.detail for e in refused if e.approval_id == approval.id} == {
        "approve click refused",
        "deny click refused",
    }


def test_pod_replaced_between_request_and_approval_is_not_deleted(h: Harness) -> None:
    old_uid = run_pod(h, "web-replaced")
    request = request_delete(h, "delete pod web-replaced")
    kube = h.runtime.clusters.get()
    kube.request("DELETE", "/api/v1/namespaces/default/pods/web-replaced", body={"gracePeriodSeconds": 0})
    h.sim.advance(5)
    new_uid = run_pod(h, "web-replaced")  # same name, new pod
    assert new_uid != old_uid
    click(h, "bob", request, "Approve")
    edited = current(h, request).rendered
    assert "replaced by a new pod with the same name: nothing deleted" in edited
    survivor = pod_exists(h.sim, "web-replaced")
    assert survivor is not None and survivor["metadata"]["uid"] == new_uid
    assert "deletionTimestamp" not in survivor["metadata"]
    approval = approval_of(h, request)
    assert (approval.state, approval.outcome) == (ApprovalState.FAILED, "conflict")


def test_pod_already_gone_is_reported_as_not_found(h: Harness) -> None:
    run_pod(h, "web-gone")
    request = request_delete(h, "delete pod web-gone")
    kube = h.runtime.clusters.get()
    kube.request("DELETE", "/api/v1/namespaces/default/pods/web-gone", body={"gracePeriodSeconds": 0})
    h.sim.advance(5)
    click(h, "bob", request, "Approve")
    assert "was already gone: nothing was deleted" in current(h, request).rendered
    assert approval_of(h, request).outcome == "not_found"


def test_mirror_pod_is_refused_before_any_approval(h: Harness) -> None:
    mark = h.slack.mark()
    before = len(h.runtime.store.approvals.in_state(ApprovalState.PENDING, limit=1000))
    answer = h.command("delete pod kube-apiserver-node01 -n kube-system")
    assert answer.is_ephemeral and "static pod" in answer.rendered
    assert "/etc/kubernetes/manifests" in answer.rendered
    assert len(h.runtime.store.approvals.in_state(ApprovalState.PENDING, limit=1000)) == before
    assert not [m for m in h.slack.messages_since(mark) if "Delete request" in m.rendered]
    refused = h.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED, limit=1))[0]
    assert (refused.name, refused.outcome) == ("kube-apiserver-node01", "refused")


def test_duplicate_request_points_at_the_open_one(h: Harness) -> None:
    run_pod(h, "web-twice")
    first = request_delete(h, "delete pod web-twice")
    answer = h.command("delete pod web-twice", user="carol")
    approval = approval_of(h, first)
    assert answer.is_ephemeral
    assert f"request #{approval.id}" in answer.rendered and "@alice" in answer.rendered
    open_ones = [
        a
        for a in h.runtime.store.approvals.in_state(ApprovalState.PENDING, limit=1000)
        if a.target.name == "web-twice"
    ]
    assert len(open_ones) == 1
    listed = h.command("approvals")
    assert listed.is_ephemeral and f"#{approval.id}" in listed.rendered and "web-twice" in listed.rendered
    click(h, "bob", first, "Deny")
    assert "web-twice" not in h.command("approvals").rendered


def test_secret_delete_needs_approval_too(h: Harness) -> None:
    kube = h.runtime.clusters.get()
    kube.request(
        "POST",
        "/api/v1/namespaces/default/secrets",
        body={"metadata": {"name": "old-creds"}, "stringData": {"token": "x"}},
    )
    request = request_delete(h, "delete secret old-creds")
    assert "secret old-creds" in request.rendered
    click(h, "bob", request, "Approve")
    assert "secret old-creds deleted" in current(h, request).rendered
    assert not h.sim.store.list("secrets", "default", lambda s: s.name == "old-creds")[0]
    assert audit_actions(h, approval_of(h, request).id)[-1] == "secret_delete"


def test_no_approval_namespace_deletes_at_once(h: Harness) -> None:
    run_pod(h, "scratch", namespace="dev-1")
    answer = h.command("delete pod scratch -n dev-1")
    assert "deleted" in answer.rendered and not answer.is_ephemeral
    assert "Delete request" not in answer.rendered


def test_namespace_without_approvers_is_refused_clearly(h: Harness) -> None:
    run_pod(h, "alone", namespace="lonely")
    answer = h.command("delete pod alone -n lonely")
    assert answer.is_ephemeral and "No approvers are configured for namespace lonely" in answer.rendered
    assert pod_exists(h.sim, "alone", "lonely") is not None


def test_expiry_edits_the_message_and_later_clicks_change_nothing(h: Harness) -> None:
    run_pod(h, "web-expire")
    request = request_delete(h, "delete pod web-expire")
    approval = approval_of(h, request)
    h.sim.advance(3601)  # the bot's clock is the simulator's
    mark = h.slack.mark()
    h.runtime.sweeper.wake()
    expired = h.slack.wait_for(
        lambda m: m.ts == request.ts and "Expired" in m.rendered, after=mark, timeout=10
    )
    assert "nothing was deleted" in expired.rendered and not expired.buttons
    with counting_deletes(h.sim) as deletes:
        stale_click(h, "bob", request, "Approve")  # a client that has not seen the edit
    assert deletes == []
    assert any("expired" in a for a in private_answers(h, "bob", mark))
    assert approval_of(h, request).state is ApprovalState.EXPIRED
    assert audit_actions(h, approval.id) == ["delete_request", "expire"]


def test_click_after_expiry_before_the_sweep_is_refused(h: Harness) -> None:
    run_pod(h, "web-late")
    request = request_delete(h, "delete pod web-late")
    h.sim.advance(3601)
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        click(h, "bob", request, "Approve")  # may beat the sweeper: decide() refuses it anyway
    assert deletes == []
    assert any("expired" in a for a in private_answers(h, "bob", mark))
    assert "Expired" in current(h, request).rendered


def test_audit_command_filters_by_user_name_and_namespace(h: Harness) -> None:
    run_pod(h, "web-audit")
    request = request_delete(h, "delete pod web-audit")
    click(h, "bob", request, "Approve")
    by_name = h.command("audit --user bob --since 1h")
    assert by_name.is_ephemeral
    assert "approve" in by_name.rendered and "web-audit" in by_name.rendered
    assert "delete_request" not in by_name.rendered  # that one was alice's
    bob = h.slack.workspace.user("bob").id
    by_id = h.command(f"audit --user <@{bob}> -n default")
    assert "approve" in by_id.rendered
    nobody = h.command("audit --user nosuchperson")
    assert "no Slack user named nosuchperson" in nobody.rendered


def test_racing_approvers_delete_exactly_once(h: Harness) -> None:
    assert_one_delete_when_racing(h, "web-race")


def assert_one_delete_when_racing(h: Harness, pod: str) -> None:
    run_pod(h, pod)
    request = request_delete(h, f"delete pod {pod}")
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        race(
            [
                lambda: h.slack.click("bob", request, "Approve", confirm=True),
                lambda: h.slack.click("dave", request, "Approve", confirm=True),
            ]
        )
        h.runtime.pool.wait_idle(10)
    assert deletes == [f"/api/v1/namespaces/default/pods/{pod}"]
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.DONE
    assert audit_actions(h, approval.id) == ["delete_request", "approve", "delete"]
    winner = h.slack.workspace.user(approval.decided_by or "").name
    loser = "dave" if winner == "bob" else "bob"
    assert any(f"already approved by @{winner}" in a for a in private_answers(h, loser, mark))
    assert f"Approved by @{winner}" in current(h, request).rendered


@pytest.mark.parametrize("kind", DB_KINDS)
def test_racing_approvers_on_each_database(kind: str, tmp_path: Path) -> None:
    with (
        make_target(kind, tmp_path) as target,
        podbot_harness(
            tmp_path, config=CONFIG, workspace=workspace(), database_url=target.database_url
        ) as made,
    ):
        assert made.runtime.store.dialect == ("sqlite" if kind == "sqlite" else "postgresql")
        for attempt in range(3):  # a few rounds: the race must hold every time, not once by luck
            assert_one_delete_when_racing(made, f"race-{attempt}")


def test_channel_policy_refusals_are_audited_and_bound_the_audit_view(h: Harness) -> None:
    dev = h.slack.workspace.channel("dev").id
    assert "created" in h.command("run dev-web --image=nginx:1.16", channel="dev").rendered  # in dev-1
    refused = h.command("delete pod dev-web", channel="dev")
    assert refused.is_ephemeral and "This channel may not use `delete`" in refused.rendered
    record = h.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED, channel_id=dev, limit=1))[0]
    assert (record.name, record.namespace, record.outcome) == ("dev-web", "dev-1", "refused")
    assert "delete" in record.detail
    assert "may not use `approvals`" in h.command("approvals", channel="dev").rendered
    # #dev sees the audit records of its own namespaces only, whoever wrote them and wherever.
    h.command("run ops-only --image=nginx:1.16")  # from #ops, namespace default
    shown = h.command("audit", channel="dev").rendered
    assert "dev-web" in shown and "ops-only" not in shown and "web-approve" not in shown
    assert "may not touch namespace default" in h.command("audit -n default", channel="dev").rendered
    assert "ops-only" in h.command("audit").rendered  # #ops may see everything


@pytest.mark.slow  # the Socket Mode client's 3 s receive timeout on close
def test_approval_over_socket_mode(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, config=CONFIG, workspace=workspace(), socket_mode=True) as made:
        run_pod(made, "socket-web")
        request = request_delete(made, "delete pod socket-web")
        click(made, "carol", request, "Approve")  # refused: not an approver
        click(made, "bob", request, "Approve")
        assert "Approved by @bob" in current(made, request).rendered
        assert approval_of(made, request).outcome == "deleted"
