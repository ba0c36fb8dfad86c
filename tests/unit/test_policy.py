import pytest

from podbot.core.errors import NotPermitted
from podbot.core.policy import ApprovalVerdict, check_channel, judge_approval
from podbot.core.settings import ApprovalSettings, ApproverRule, ChannelPolicy

OPS = ChannelPolicy(
    channel="#ops",
    contexts=("sim", "prod-*"),
    namespaces=("default", "team-*"),
    verbs=("get", "describe", "delete"),
)


@pytest.mark.parametrize(
    ("verb", "context", "namespace", "refusal"),
    [
        ("get", "sim", "default", None),
        ("delete", "prod-eu", "team-a", None),
        ("run", "sim", "default", "may not use `run`. Allowed here: get, describe, delete"),
        ("get", "staging", "default", "may not touch cluster staging"),
        ("get", "sim", "kube-system", "may not touch namespace kube-system. Allowed here: default, team-*"),
        ("get", "sim", None, "may not look across all namespaces"),
    ],
)
def test_channel_policy(verb: str, context: str, namespace: str | None, refusal: str | None) -> None:
    if refusal is None:
        check_channel(OPS, verb, context, namespace)
    else:
        with pytest.raises(NotPermitted, match=refusal.replace("*", r"\*")):
            check_channel(OPS, verb, context, namespace)


def test_default_policy_allows_everything() -> None:
    check_channel(ChannelPolicy(), "delete", "any", None)


SETTINGS = ApprovalSettings(
    rules=(ApproverRule(namespaces=("prod*",), users=("U_BOB",), usergroups=("S_SRE",)),)
)


@pytest.mark.parametrize(
    ("namespace", "approver", "groups", "requester", "verdict", "allow_self"),
    [
        ("prod", "U_BOB", (), "U_ALICE", ApprovalVerdict.APPROVE, False),
        ("prod", "U_CAROL", ("S_SRE",), "U_ALICE", ApprovalVerdict.APPROVE, False),
        ("prod", "U_CAROL", ("S_OTHER",), "U_ALICE", ApprovalVerdict.NOT_AN_APPROVER, False),
        ("prod", "U_BOB", (), "U_BOB", ApprovalVerdict.SELF_APPROVAL, False),
        ("prod", "U_BOB", (), "U_BOB", ApprovalVerdict.APPROVE, True),
        ("dev", "U_BOB", (), "U_ALICE", ApprovalVerdict.NO_APPROVERS, False),
    ],
)
def test_judge_approval(
    namespace: str,
    approver: str,
    groups: tuple[str, ...],
    requester: str,
    verdict: ApprovalVerdict,
    allow_self: bool,
) -> None:
    settings = ApprovalSettings(rules=SETTINGS.rules, allow_self_approval=allow_self)
    assert judge_approval(settings, namespace, approver, groups, requester) is verdict
