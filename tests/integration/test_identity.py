"""Per-user identity end to end: Slack user -> impersonation headers -> the simulator's RBAC decides.

The bot itself authenticates as a service account that may do nothing but impersonate (the
ClusterRole the README documents), so every command below succeeds or fails on the Slack
user's own Kubernetes rights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbot.k8s.client import Clusters, KubeClient
from podbot.localslack import Workspace
from podbot.sim.wire.kubeconfig import write_kubeconfig
from podbot.store import ApprovalState, AuditAction, AuditQuery
from tests.support.approvals import approval_of, click, current, pod_exists, private_answers, request_delete
from tests.support.harness import Harness, podbot_harness

SA_USER = "system:serviceaccount:podbot:podbot"
SA_TOKEN = "podbot-sa-token-for-tests"
POLICY = f"""
users:
  "{SA_USER}": {{token: {SA_TOKEN}, groups: [system:serviceaccounts, "system:serviceaccounts:podbot"]}}
rules:
  - subjects: [user:alice@example.com, user:bob@example.com, user:erin@example.com, user:carol-k8s]
    verbs: [get, list, watch]
    apiGroups: [""]
    resources: [pods, pods/log, events, secrets]
  - subjects: [user:alice@example.com]
    verbs: [create]
    apiGroups: [""]
    resources: [pods]
    namespaces: [default]
  # Only through the SECOND Kubernetes group of @sre: a comma-joined Impersonate-Group value
  # ("oncall,deleters") would be one group name that matches nothing here.
  - subjects: [group:deleters]
    verbs: [delete]
    apiGroups: [""]
    resources: [pods]
    namespaces: [default]
"""
# What the README tells operators to grant podbot's service account for per-user identity.
IMPERSONATOR_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "podbot-impersonator"},
    "rules": [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}],
}
IMPERSONATOR_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "podbot-impersonator"},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "podbot-impersonator",
    },
    "subjects": [{"kind": "ServiceAccount", "name": "podbot", "namespace": "podbot"}],
}
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def workspace(**kwargs: object) -> Workspace:
    ws = Workspace.demo(**kwargs)
    ws.add_user("erin", real_name="Erin Evans")  # an approver by user ID, in no Slack group
    ws.join("ops", "erin")
    return ws


def config(ws: Workspace) -> str:
    sre, erin, carol = ws.usergroup("sre").id, ws.user("erin").id, ws.user("carol").id
    return f"""
channels:
  - channel: "*"
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: ["{sre}"]
      users: ["{erin}"]
identity:
  enabled: true
  users:
    "{carol}": carol-k8s
  groups:
    "{sre}": [oncall, deleters]
"""


def admin(h: Harness) -> KubeClient:
    return Clusters(str(h.sim.kubeconfig_path)).get()


def as_service_account(h: Harness, tmp_path: Path) -> None:
    """Grant the service account the impersonation role and restart the bot authenticated as it."""
    kube = admin(h)
    kube.request("POST", f"{RBAC}/clusterroles", body=IMPERSONATOR_ROLE)
    kube.request("POST", f"{RBAC}/clusterrolebindings", body=IMPERSONATOR_BINDING)
    kubeconfig = write_kubeconfig(tmp_path / "podbot-sa.kubeconfig", h.sim.url, SA_TOKEN, h.sim.ca_pem)
    settings = h.runtime.settings
    h.restart(
        dataclasses.replace(settings, kube=dataclasses.replace(settings.kube, kubeconfig=str(kubeconfig)))
    )


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    tmp = tmp_path_factory.mktemp("identity")
    policy = tmp / "rbac.yaml"
    policy.write_text(POLICY)
    ws = workspace()
    with podbot_harness(tmp, config=config(ws), workspace=ws, rbac_policy=policy) as made:
        as_service_account(made, tmp)
        yield made


def test_the_bot_alone_may_not_touch_pods(h: Harness) -> None:
    """Sanity of the setup: without impersonation the service account is refused."""
    sa = h.runtime.clusters.get()
    with pytest.raises(Exception, match="cannot list resource"):
        sa.get("/api/v1/namespaces/default/pods")


def test_allowed_user_succeeds_as_themselves(h: Harness) -> None:
    answer = h.command("run alice-web --image=nginx:1.16", user="alice")
    assert "created" in answer.rendered, answer.rendered
    assert pod_exists(h.sim, "alice-web") is not None
    record = h.runtime.store.audit.query(AuditQuery(action=AuditAction.RUN, limit=1))[0]
    assert (record.name, record.kube_user, record.outcome) == ("alice-web", "alice@example.com", "created")


def test_denied_user_gets_a_message_naming_their_identity(h: Harness) -> None:
    answer = h.command("run carol-web --image=nginx:1.16", user="carol")
    assert answer.is_ephemeral
    # carol's explicit mapping (carol-k8s) wins over her email
    assert "You (carol-k8s) may not create pods in namespace default." in answer.rendered
    assert pod_exists(h.sim, "carol-web") is None
    record = h.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED, limit=1))[0]
    assert (record.kube_user, record.outcome) == ("carol-k8s", "forbidden")


def test_approved_delete_runs_as_the_approver_with_both_groups(h: Harness) -> None:
    h.command("run doomed --image=nginx:1.16", user="alice")
    request = request_delete(h, "delete pod doomed", user="alice")
    assert "approver's own Kubernetes identity" in request.rendered
    click(h, "bob", request, "Approve")
    assert "Approved by @bob" in current(h, request).rendered and "deleted" in current(h, request).rendered
    delete = h.runtime.store.audit.query(AuditQuery(action=AuditAction.DELETE, limit=1))[0]
    assert delete.kube_user == "bob@example.com"
    assert delete.kube_groups == ("oncall", "deleters")  # sent as two Impersonate-Group lines
    assert delete.user_id == h.slack.workspace.user("alice").id  # the record is about alice's request


def test_approver_without_rights_is_refused_by_the_cluster(h: Harness) -> None:
    h.command("run survivor --image=nginx:1.16", user="alice")
    request = request_delete(h, "delete pod survivor", user="alice")
    click(h, "erin", request, "Approve")  # erin may approve (configuration) but not delete (RBAC)
    edited = current(h, request).rendered
    assert (
        "the cluster refused the delete: erin@example.com may not delete pods in namespace default" in edited
    )
    assert pod_exists(h.sim, "survivor") is not None
    approval = approval_of(h, request)
    assert (approval.state, approval.outcome) == (ApprovalState.FAILED, "forbidden")


def test_without_the_impersonation_grant_the_bot_says_so(h: Harness) -> None:
    kube = admin(h)
    kube.request("DELETE", f"{RBAC}/clusterrolebindings/podbot-impersonator")
    try:
        answer = h.command("get pods", user="alice")
        assert "podbot may not act as alice@example.com" in answer.rendered
        assert SA_USER in answer.rendered and "impersonate" in answer.rendered
    finally:
        kube.request("POST", f"{RBAC}/clusterrolebindings", body=IMPERSONATOR_BINDING)
    assert "alice-web" in h.command("get pods", user="alice").rendered


def test_user_without_an_email_is_refused_not_served_as_the_bot(tmp_path: Path) -> None:
    # An app installed without users:read.email sees no emails: nobody can be mapped by email.
    from podbot.localslack.workspace import ALL_BOT_SCOPES

    ws = workspace(scopes=[s for s in ALL_BOT_SCOPES if s != "users:read.email"])
    with podbot_harness(tmp_path, config=config(ws), workspace=ws) as made:  # bot = the sim's admin
        answer = made.command("run ghost --image=nginx:1.16", user="alice")
        assert "podbot cannot tell which Kubernetes user you are" in answer.rendered
        assert "never falls back to its own identity" in answer.rendered
        assert pod_exists(made.sim, "ghost") is None
        record = made.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED, limit=1))[0]
        assert (record.outcome, record.kube_user) == ("refused", "")
        # carol is mapped explicitly, so she still acts as carol-k8s, whom the default sim policy
        # grants nothing: the cluster, not podbot's admin credentials, has the last word.
        answer = made.command("run carols --image=nginx:1.16", user="carol")
        assert "You (carol-k8s) may not create pods in namespace default." in answer.rendered
        assert pod_exists(made.sim, "carols") is None


def test_an_approver_podbot_cannot_map_cannot_approve(tmp_path: Path) -> None:
    from podbot.localslack.workspace import ALL_BOT_SCOPES

    ws = workspace(scopes=[s for s in ALL_BOT_SCOPES if s != "users:read.email"])
    ws.add_usergroup("devs", users=["carol"])  # -> the default sim policy's "developers"
    settings = config(ws) + f'    "{ws.usergroup("devs").id}": [developers]\n'
    with podbot_harness(tmp_path, config=settings, workspace=ws) as made:
        assert "created" in made.command("run mapped --image=nginx:1.16", user="carol").rendered
        request = request_delete(made, "delete pod mapped", user="carol")
        mark = made.slack.mark()
        click(made, "bob", request, "Approve")  # bob approves by @sre, but has no usable identity
        answers = private_answers(made, "bob", mark)
        assert any("podbot cannot tell which Kubernetes user you are" in a for a in answers), answers
        approval = approval_of(made, request)
        assert approval.state is ApprovalState.PENDING  # still open for an approver who can act
        assert current(made, request).buttons
        refused = made.runtime.store.audit.query(AuditQuery(action=AuditAction.REFUSED_CLICK, limit=1))[0]
        assert (refused.approval_id, refused.outcome) == (approval.id, "unmapped")
        click(made, "bob", request, "Deny")  # denying deletes nothing, so it needs no identity
        assert "Denied by @bob" in current(made, request).rendered
        assert pod_exists(made.sim, "mapped") is not None
