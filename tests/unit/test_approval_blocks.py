"""Pure pieces of issue 5: approval and audit rendering, forbidden explanations, identity mapping."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from podbot.app.identity import SlackIdentities
from podbot.app.pipeline import outcome_of
from podbot.core.errors import Conflict, Forbidden, Invalid, NotFound, NotPermitted, PodbotError
from podbot.core.model import Origin
from podbot.core.policy import Approvers, check_verb, explain_forbidden, namespace_visible
from podbot.core.records import Approval, ApprovalState, AuditAction, AuditEvent, DeleteTarget, Requester
from podbot.core.settings import ChannelPolicy, IdentitySettings, Settings
from podbot.render.approvals import (
    APPROVE_ACTION,
    DENY_ACTION,
    approval_message,
    pending_list,
    request_message,
    status_line,
    when,
)
from podbot.render.audit import audit_line, audit_list
from podbot.render.blocks import fits
from podbot.server.config import load_settings

T0 = datetime(2026, 5, 9, 9, 0, tzinfo=UTC)
TARGET = DeleteTarget(
    context="prod-eu",
    kind="Pod",
    namespace="shop",
    name="web-7d4b9-x2x",
    uid="0c4f-uid",
    owner_kind="ReplicaSet",
    owner_name="web-7d4b9",
    node="node02",
    reason="stuck <!channel> & co",
)
PENDING = Approval(
    id=7,
    state=ApprovalState.PENDING,
    created_at=T0,
    expires_at=T0 + timedelta(hours=1),
    requester=Requester("T1", "C1", "UALICE"),
    target=TARGET,
    message_channel="C1",
    message_ts="1.2",
)
APPROVERS = Approvers(users=frozenset({"UBOB"}), usergroups=frozenset({"SSRE"}))


# --- explain_forbidden ---------------------------------------------------------------------------
NAMESPACED = (
    'pods "web" is forbidden: User "alice@example.com" cannot delete resource "pods" in API group "" '
    'in the namespace "prod"'
)
CLUSTER = 'pods is forbidden: User "carol" cannot list resource "pods" in API group "" at the cluster scope'
IMPERSONATE = (
    'users "alice@example.com" is forbidden: User "system:serviceaccount:podbot:podbot" cannot '
    'impersonate resource "users" in API group "" at the cluster scope'
)


@pytest.mark.parametrize(
    ("message", "identity", "second_person", "locale", "expected"),
    [
        (
            NAMESPACED,
            "alice@example.com",
            True,
            "en",
            "You (alice@example.com) may not delete pods in namespace prod.",
        ),
        (
            NAMESPACED,
            "alice@example.com",
            False,
            "en",
            "alice@example.com may not delete pods in namespace prod.",
        ),
        (CLUSTER, "carol", True, "en", "You (carol) may not list pods across the cluster."),
        (
            NAMESPACED,
            None,
            True,
            "en",
            "podbot's own Kubernetes account (alice@example.com) may not delete pods",
        ),
        (IMPERSONATE, "alice@example.com", True, "en", "podbot may not act as alice@example.com"),
        (IMPERSONATE, "alice@example.com", True, "en", "(system:serviceaccount:podbot:podbot) lacks"),
        (
            NAMESPACED,
            "alice@example.com",
            True,
            "zh_CN",
            "你（alice@example.com）不能在命名空间 prod 中 delete pods",
        ),
        ("Unauthorized", "alice", True, "en", None),
    ],
)
def test_explain_forbidden(
    message: str, identity: str | None, second_person: bool, locale: str, expected: str | None
) -> None:
    explained = explain_forbidden(message, identity, locale, second_person=second_person)
    if expected is None:
        assert explained is None
    else:
        assert explained is not None and expected in explained


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (Forbidden("x"), "forbidden"),
        (NotPermitted("x"), "refused"),
        (NotFound("x"), "not_found"),
        (Conflict("x"), "conflict"),
        (Invalid("x"), "invalid"),
        (PodbotError("x"), "error"),
    ],
)
def test_outcome_words(error: PodbotError, outcome: str) -> None:
    assert outcome_of(error) == outcome


def test_verb_and_namespace_visibility() -> None:
    shop = ChannelPolicy(namespaces=("shop", "team-*"), verbs=("get", "audit"))
    check_verb(shop, "audit")
    with pytest.raises(NotPermitted, match="may not use `approvals`"):
        check_verb(shop, "approvals")
    assert [namespace_visible(shop, ns) for ns in ("shop", "team-a", "prod", "")] == [
        True,
        True,
        False,
        False,
    ]
    assert namespace_visible(ChannelPolicy(), "")  # an all-namespaces channel sees cluster-wide records


# --- the request message -------------------------------------------------------------------------
def test_request_message_shows_what_who_why_until_when_and_who_may_approve() -> None:
    rendered = request_message(PENDING, "en", APPROVERS, runs_as_approver=True)
    text = str(rendered.blocks)
    for shown in (
        "web-7d4b9-x2x",
        "shop",
        "prod-eu",
        "0c4f-uid",
        "node02",
        "<@UALICE>",
        "<!subteam^SSRE>",
        "<@UBOB>",
    ):
        assert shown in text, shown
    assert "ReplicaSet *web-7d4b9*, which will create a replacement pod" in text
    assert "&lt;!channel&gt; &amp; co" in text and "<!channel>" not in text  # the reason cannot ping
    assert when(PENDING.expires_at) in text and "2026-05-09 10:00 UTC" in when(PENDING.expires_at)
    assert "approver's own Kubernetes identity" in text
    actions = rendered.blocks[-1]
    approve, deny = actions["elements"]
    assert (approve["action_id"], approve["value"], approve["style"]) == (APPROVE_ACTION, "7", "primary")
    assert (deny["action_id"], deny["value"], deny["style"]) == (DENY_ACTION, "7", "danger")
    assert approve["confirm"]["title"]["text"] == "Delete pod web-7d4b9-x2x?"
    assert "confirm" not in deny
    assert fits(rendered.blocks)


def test_request_message_without_owner_reason_or_identity() -> None:
    bare = replace(PENDING, target=replace(TARGET, owner_kind="", owner_name="", reason="", node=""))
    text = str(request_message(bare, "en", APPROVERS, runs_as_approver=False).blocks)
    assert "replacement" not in text and "none given" in text and "identity" not in text


def test_request_message_in_chinese() -> None:
    rendered = request_message(PENDING, "zh_CN", APPROVERS, runs_as_approver=False)
    assert "删除请求 #7" in rendered.text
    assert rendered.blocks[-1]["elements"][0]["text"]["text"] == "批准"


@pytest.mark.parametrize(
    ("state", "outcome", "decided_by", "expected"),
    [
        (ApprovalState.PENDING, "", None, ""),
        (ApprovalState.APPROVED, "", "UBOB", "Approved by <@UBOB>: deleting…"),
        (ApprovalState.EXECUTING, "", "UBOB", "Approved by <@UBOB>: deleting…"),
        (ApprovalState.DONE, "deleted", "UBOB", "Approved by <@UBOB>: pod *web-7d4b9-x2x* deleted."),
        (ApprovalState.DONE, "not_found", "UBOB", "was already gone: nothing was deleted"),
        (
            ApprovalState.FAILED,
            "conflict",
            "UBOB",
            "replaced by a new pod with the same name: nothing deleted",
        ),
        (ApprovalState.FAILED, "forbidden", "UBOB", "the cluster refused the delete: bob may not"),
        (ApprovalState.FAILED, "error", "UBOB", "the delete failed: bob may not"),
        (ApprovalState.DENIED, "", "UBOB", "Denied by <@UBOB>"),
        (ApprovalState.DENIED, "", "UALICE", "Withdrawn by <@UALICE>"),
        (ApprovalState.EXPIRED, "", None, "Expired <!date^"),
    ],
)
def test_status_lines(state: ApprovalState, outcome: str, decided_by: str | None, expected: str) -> None:
    approval = replace(PENDING, state=state, outcome=outcome, decided_by=decided_by, detail="bob may not <x>")
    line = status_line(approval, "en")
    assert expected in line if expected else line == ""
    if outcome in ("forbidden", "error"):
        assert "&lt;x&gt;" in line  # the detail is escaped
    rendered = approval_message(approval, "en", APPROVERS, runs_as_approver=False)
    has_buttons = any(b["type"] == "actions" for b in rendered.blocks)
    assert has_buttons is (state is ApprovalState.PENDING)


def test_pending_list() -> None:
    assert "No delete requests" in pending_list([], "en").text
    one = pending_list([PENDING], "en")
    assert "1 delete request" in one.text and "#7" in str(one.blocks) and "(reason: stuck" in str(one.blocks)
    many = pending_list([replace(PENDING, id=i) for i in range(1, 61)], "en")
    assert "60 delete requests" in many.text and len(many.blocks) <= 50
    assert "and 20 more" in str(many.blocks[-1])


# --- audit ---------------------------------------------------------------------------------------
EVENT = AuditEvent(
    at=T0,
    action=AuditAction.DELETE,
    team_id="T1",
    channel_id="C1",
    user_id="UALICE",
    kube_user="bob@example.com",
    kube_groups=("oncall", "deleters"),
    context="prod-eu",
    namespace="shop",
    kind="Pod",
    name="web",
    uid="u",
    outcome="deleted",
    detail="approved by UBOB",
    approval_id=7,
    id=1,
)


def test_audit_line() -> None:
    line = audit_line(EVENT, "en")
    assert line.startswith("`2026-05-09 09:00:00 UTC` <@UALICE> *delete* pod `shop/web` (prod-eu) → deleted")
    assert "(as bob@example.com [oncall, deleters])" in line and "request #7" in line
    assert "approved by" not in line  # details only for failures and refusals
    refused = replace(EVENT, action=AuditAction.REFUSED, outcome="forbidden", detail="run: You may not")
    assert "— _run: You may not_" in audit_line(refused, "en")
    assert "*refused*" in audit_line(refused, "en") and "forbidden by RBAC" in audit_line(refused, "en")


def test_audit_line_in_the_channels_language_and_time_zone() -> None:
    line = audit_line(EVENT, "zh_CN", "Asia/Shanghai")
    assert line.startswith("`2026-05-09 17:00:00 UTC+8` <@UALICE> *删除* Pod `shop/web`（prod-eu） → 已删除")
    click = replace(EVENT, action=AuditAction.REFUSED_CLICK, outcome="not_an_approver")
    assert "*点击被拒*" in audit_line(click, "zh_CN") and "不是审批人" in audit_line(click, "zh_CN")
    assert "→ some_new_outcome" in audit_line(replace(EVENT, outcome="some_new_outcome"), "en")


def test_audit_list_fits_or_uploads() -> None:
    assert "No audit records match for <@UBOB>" in audit_list([], "en", user="UBOB").text
    few = audit_list([EVENT] * 3, "en", namespace="shop")
    assert "3 audit records" in few.text and "in namespace shop" in few.text and few.upload is None
    many = audit_list([replace(EVENT, detail="x" * 100, outcome="error")] * 200, "en")
    assert many.upload is not None and many.upload.content.count("\n") == 199
    assert fits(many.blocks)


# --- identity ------------------------------------------------------------------------------------
class FakeDirectory:
    def __init__(self, emails: dict[str, str], groups: dict[str, set[str]]) -> None:
        self.emails = emails
        self.groups = groups

    def email_of(self, user_id: str) -> str:
        return self.emails.get(user_id, "")

    def groups_of(self, user_id: str, candidates: tuple[str, ...]) -> frozenset[str]:
        return frozenset(g for g in candidates if user_id in self.groups.get(g, set()))


IDENTITY = IdentitySettings(
    enabled=True,
    users={"UCAROL": "carol-k8s"},
    groups={"SSRE": ("oncall", "deleters"), "SDEV": ("developers", "oncall")},
)
DIRECTORY = FakeDirectory(
    {"UALICE": "alice@example.com", "UCAROL": "carol@example.com"},
    {"SSRE": {"UALICE"}, "SDEV": {"UALICE", "UCAROL"}},
)


@pytest.mark.parametrize(
    ("settings", "user", "expected"),
    [
        (IDENTITY, "UALICE", ("alice@example.com", ("oncall", "deleters", "developers"))),
        (IDENTITY, "UCAROL", ("carol-k8s", ("developers", "oncall"))),  # the mapping wins over email
        (replace(IDENTITY, use_email=False), "UALICE", "cannot tell which Kubernetes user"),
        (IDENTITY, "UNOBODY", "cannot tell which Kubernetes user you are (<@UNOBODY>)"),
        (replace(IDENTITY, enabled=False), "UALICE", None),
    ],
)
def test_identity_mapping(settings: IdentitySettings, user: str, expected: object) -> None:
    resolver = SlackIdentities(Settings(identity=settings), DIRECTORY)  # type: ignore[arg-type]
    asker = Origin("T1", "C1", user)
    if isinstance(expected, str):
        with pytest.raises(NotPermitted, match=expected.replace("(", r"\(").replace(")", r"\)")):
            resolver.identity(asker)
        return
    identity = resolver.identity(asker)
    assert (None if identity is None else (identity.user, identity.groups)) == expected


def test_readme_configuration_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Approvals, channel policies and per-user identity") :]
    example = section[section.index("```yaml\n") + 8 :]
    example = example[: example.index("```")]
    config = tmp_path / "podbot.yaml"
    config.write_text(example)
    settings = load_settings({}, str(config))
    assert settings.approvals.rule_for("prod-eu") is not None
    assert settings.approvals.rule_for("prod-eu").usergroups == ("S0123SRE",)  # type: ignore[union-attr]
    assert not settings.approvals.needs_approval("dev-x")
    assert settings.channel_policy("C1", "team-a").namespaces == ("team-a-*",)
    assert settings.identity.enabled and settings.identity.groups["S0123SRE"] == ("sre", "oncall")
