"""What ``podbot serve`` checks before it answers anyone: settings that would make it unsafe.

One thing stops start-up: a channel may delete, a delete there needs an approval, and no approver
can be found in Slack (no rule for the namespace, or a rule whose users and user groups Slack
does not know; user groups need a paid Slack plan). Such a delete could never be approved, and
an operator should hear it at start-up, not from a stuck request. Other risky settings are
warnings, logged once.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from podbot.app.ports import People
from podbot.core.errors import ConfigError
from podbot.core.podsecurity import PodSecurityLevel
from podbot.core.settings import ApproverRule, ChannelPolicy, OnViolation, Settings


def _may(policy: ChannelPolicy, verb: str) -> bool:
    return any(fnmatchcase(verb, pattern) for pattern in policy.verbs)


def _name(policy: ChannelPolicy) -> str:
    return "every other channel" if policy.channel == "*" else f"channel {policy.channel}"


def check(settings: Settings, people: People) -> list[str]:
    """The warnings (for the log); ``ConfigError`` naming every fatal problem."""
    problems: list[str] = []
    warnings: list[str] = []
    approvals = settings.approvals
    resolved = {id(rule): _reachable(rule, people) for rule in approvals.rules}
    for rule in approvals.rules:
        if not resolved[id(rule)]:
            problems.append(
                f"approvals.approvers for namespaces {', '.join(rule.namespaces)}: none of "
                f"{', '.join((*rule.users, *rule.usergroups))} could be found in Slack "
                "(check the IDs; user groups need a paid Slack plan)"
            )
    for policy in settings.channels:
        held = policy.on_violation is OnViolation.APPROVE and (_may(policy, "run") or _may(policy, "create"))
        if not (_may(policy, "delete") or held):
            continue
        for pattern in policy.namespaces:
            if approvals.needs_approval(pattern) and approvals.rule_for(pattern) is None:
                problems.append(
                    f"{_name(policy)} may change namespace {pattern}, where a delete needs an approval, "
                    "but approvals.approvers names nobody for it: add a rule, or list the namespace "
                    "in approvals.no_approval_namespaces"
                )
        if policy.pod_security is PodSecurityLevel.PRIVILEGED and _may(policy, "run"):
            warnings.append(f"{_name(policy)} may create privileged pods (pod_security: privileged)")
        if "*" in policy.namespaces and "*" in policy.verbs and policy.channel == "*":
            warnings.append(
                "every channel podbot is in may change every namespace (channels: - channel: '*' with "
                "all verbs); name the channels that need it instead"
            )
    if approvals.allow_self_approval:
        warnings.append("approvals.allow_self_approval is on: a requester may approve their own delete")
    if not settings.identity.enabled and any(_may(p, "delete") for p in settings.channels):
        warnings.append(
            "per-user identity is off: every change runs with podbot's own Kubernetes account "
            "(identity.enabled lets the cluster's RBAC decide per person)"
        )
    if problems:
        raise ConfigError("podbot would not be safe with this configuration:\n- " + "\n- ".join(problems))
    return warnings


def _reachable(rule: ApproverRule, people: People) -> bool:
    """Does at least one person this rule names exist in Slack?"""
    return any(people.is_member(user) for user in rule.users) or any(
        people.group_members(group) for group in rule.usergroups
    )
