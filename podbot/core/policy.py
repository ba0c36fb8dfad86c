"""Pure policy: may this channel do this, does it need approval, may this person approve it.

Checked before any Kubernetes API call. Refusals are ``NotPermitted`` errors whose message says
what *is* allowed, so the user knows what to do instead.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from podbot.core.errors import NotPermitted
from podbot.core.i18n import t

if TYPE_CHECKING:  # settings are plain dataclasses; importing them for types keeps this module pure
    from podbot.core.settings import ApprovalSettings, ChannelPolicy


def _matches(value: str, patterns: Collection[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def check_channel(
    policy: ChannelPolicy, verb: str, context: str, namespace: str | None, locale: str | None = None
) -> None:
    """Refuse (NotPermitted) a verb/cluster/namespace this channel is not allowed to touch."""
    check_verb(policy, verb, locale)
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


def check_verb(policy: ChannelPolicy, verb: str, locale: str | None = None) -> None:
    """Refuse a verb the channel may not use (also for verbs that touch no cluster: audit, approvals)."""
    if not _matches(verb, policy.verbs):
        raise NotPermitted(t("policy.verb_refused", locale, verb=verb, allowed=", ".join(policy.verbs)))


def namespace_visible(policy: ChannelPolicy, namespace: str) -> bool:
    """May this channel see records about ``namespace`` ("" = cluster-wide: only all-namespace channels)?"""
    if "*" in policy.namespaces:
        return True
    return bool(namespace) and _matches(namespace, policy.namespaces)


# The API server's forbiddenMessage (apiserver/pkg/endpoints/handlers/responsewriters/errors.go):
#   User "alice" cannot delete resource "pods" in API group "" in the namespace "prod"
_FORBIDDEN = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)" in API group '
    r'"[^"]*" (?:in the namespace "(?P<namespace>[^"]*)"|at the cluster scope)'
)


def explain_forbidden(
    server_message: str, identity: str | None, locale: str | None = None, *, second_person: bool = True
) -> str | None:
    """A cluster's 403 in words that name who was refused what, or None if the message is not one.

    ``identity`` is the impersonated Kubernetes user (None: podbot's own account was refused).
    ``second_person`` speaks to that person ("You (alice@example.com) may not ..."); otherwise
    it names them, for messages the whole channel reads.
    """
    match = _FORBIDDEN.search(server_message)
    if match is None:
        return None
    verb, resource, namespace = match["verb"], match["resource"], match["namespace"]
    if verb == "impersonate":
        return t(
            "identity.cannot_impersonate",
            locale,
            identity=identity or "?",
            account=match["user"],
            resource=resource,
        )
    if identity is None:
        key, who = "identity.bot_forbidden", match["user"]
    else:
        key, who = ("identity.forbidden" if second_person else "identity.forbidden_other"), identity
    if namespace is None:
        key += "_cluster"
    return t(key, locale, identity=who, verb=verb, resource=resource, namespace=namespace or "")


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
