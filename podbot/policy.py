"""Pure policy: may this channel do this, does it need approval, may this person approve it.

Checked before any Kubernetes API call. Refusals are ``NotPermitted`` errors whose message says
what *is* allowed, so the user knows what to do instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from podbot.errors import NotPermitted
from podbot.i18n import t

if TYPE_CHECKING:  # settings are plain dataclasses; importing them for types keeps this module pure
    from podbot.config import ApprovalSettings, ChannelPolicy


def _matches(value: str, patterns: Collection[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def check_channel(
    policy: ChannelPolicy, verb: str, context: str, namespace: str | None, locale: str | None = None
) -> None:
    """Refuse (NotPermitted) a verb/cluster/namespace this channel is not allowed to touch."""
    if not _matches(verb, policy.verbs):
        raise NotPermitted(t("policy.verb_refused", locale, verb=verb, allowed=", ".join(policy.verbs)))
    if not _matches(context, policy.contexts):
        raise NotPermitted(
            t("policy.context_refused", locale, context=context, allowed=", ".join(policy.contexts))
        )
    if namespace is None:
        # All namespaces: only for channels that may see every namespace.
        if "*" not in policy.namespaces:
            raise NotPermitted(
                t("policy.all_namespaces_refused", locale, allowed=", ".join(policy.namespaces))
            )
    elif not _matches(namespace, policy.namespaces):
        raise NotPermitted(
            t("policy.namespace_refused", locale, namespace=namespace, allowed=", ".join(policy.namespaces))
        )


class ApprovalVerdict(Enum):
    APPROVE = "approve"
    NOT_AN_APPROVER = "not_an_approver"
    SELF_APPROVAL = "self_approval"
    NO_APPROVERS = "no_approvers"


@dataclass(frozen=True)
class Approvers:
    """Who may approve in one namespace: user IDs plus members of user groups (resolved by the caller)."""

    users: frozenset[str]
    usergroups: frozenset[str]


def approvers_for(settings: ApprovalSettings, namespace: str) -> Approvers | None:
    rule = settings.rule_for(namespace)
    if rule is None:
        return None
    return Approvers(frozenset(rule.users), frozenset(rule.usergroups))


def judge_approval(
    settings: ApprovalSettings,
    namespace: str,
    approver: str,
    approver_groups: Collection[str],
    requester: str,
) -> ApprovalVerdict:
    """May ``approver`` (member of ``approver_groups``) approve ``requester``'s delete in ``namespace``?"""
    approvers = approvers_for(settings, namespace)
    if approvers is None:
        return ApprovalVerdict.NO_APPROVERS
    allowed = approver in approvers.users or bool(approvers.usergroups.intersection(approver_groups))
    if not allowed:
        return ApprovalVerdict.NOT_AN_APPROVER
    if approver == requester and not settings.allow_self_approval:
        return ApprovalVerdict.SELF_APPROVAL
    return ApprovalVerdict.APPROVE
