"""The one authorization gate: every request from every entry path is checked here before it runs.

    channel policy (verb) -> cluster -> namespace(s) -> the user's Kubernetes identity

A slash command, a dialog (when it opens and when it is submitted), a button click, a scheduled
digest and an alert cycle all reach the action layer through ``Gate.authorize``, which either
raises ``NotPermitted`` (with the reason in the asker's language) or returns a ``Grant``: the one
cluster client and identity the handler may use. Handlers never pick a cluster themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from podbot.core.errors import NotFound, NotPermitted
from podbot.core.i18n import t
from podbot.core.model import (
    CreateFromManifest,
    CreateRegistrySecret,
    DecideApproval,
    Decision,
    DeletePod,
    DeleteSecret,
    DescribePod,
    GetPods,
    ListApprovals,
    ListStaticPods,
    ListSubscriptions,
    Origin,
    PodLogs,
    PostDigest,
    ReconcileAlerts,
    Request,
    ResumeApproval,
    RunPod,
    SetAlerts,
    ShowAudit,
    ShowHelp,
    Subscribe,
    Unsubscribe,
)
from podbot.core.policy import check_channel, check_verb
from podbot.core.records import Approval
from podbot.core.settings import ChannelPolicy, Settings
from podbot.k8s.api import Identity, Kube, KubeClusters


class IdentityResolver(Protocol):
    def identity(self, origin: Origin) -> Identity | None:
        """The Kubernetes identity to act as for this Slack user (None: podbot's own account)."""
        ...


class ApprovalLookup(Protocol):
    def get(self, approval_id: int) -> Approval | None: ...


@dataclass(frozen=True)
class Grant:
    """What the gate allowed: the language to answer in, and for cluster work the one cluster
    client, the identity to act as and the namespaces that were checked."""

    origin: Origin
    locale: str
    policy: ChannelPolicy
    kube: Kube | None = None
    identity: Identity | None = None
    namespaces: tuple[str, ...] = ()  # the checked scope of digests and alerts; () = every namespace
    approval: Approval | None = None  # the approval request a click or the sweeper is about

    @property
    def cluster(self) -> Kube:
        """The granted cluster; only requests that name one get a handler that asks for it."""
        if self.kube is None:
            raise RuntimeError("this request was granted no cluster")
        return self.kube


WHERE_REQUESTS = (
    RunPod,
    CreateFromManifest,
    GetPods,
    DescribePod,
    PodLogs,
    DeletePod,
    DeleteSecret,
    CreateRegistrySecret,
    ListStaticPods,
)
CHANNEL_ONLY = (ListApprovals, ShowAudit, ListSubscriptions, Unsubscribe)


class Gate:
    def __init__(
        self,
        settings: Settings,
        clusters: KubeClusters,
        identities: IdentityResolver,
        approvals: ApprovalLookup,
    ) -> None:
        self._settings = settings
        self._clusters = clusters
        self._identities = identities
        self._approvals = approvals
        self._rules: dict[type, Callable[[Any, Origin, ChannelPolicy, str], Grant]] = {
            **dict.fromkeys(WHERE_REQUESTS, self._where),
            **dict.fromkeys(CHANNEL_ONLY, self._channel_only),
            ShowHelp: self._anyone,
            Subscribe: self._watching,
            SetAlerts: self._watching,
            PostDigest: self._watching,
            ReconcileAlerts: self._watching,
            DecideApproval: self._approval,
            ResumeApproval: self._approval,
        }

    def locale(self, origin: Origin) -> str:
        return self._settings.locale_for(origin.channel_id, origin.channel_name)

    def policy(self, origin: Origin) -> ChannelPolicy:
        return self._settings.channel_policy(origin.channel_id, origin.channel_name)

    def approval(self, approval_id: int) -> Approval | None:
        """The approval request a click or the sweeper names (for the audit of a refusal)."""
        return self._approvals.get(approval_id)

    def authorize(self, request: Request, origin: Origin) -> Grant:
        """The grant to run ``request`` for ``origin``, or ``NotPermitted`` saying why not."""
        locale, policy = self.locale(origin), self.policy(origin)
        rule = self._rules[type(request)]
        if rule is not self._anyone:
            check_verb(policy, request.verb, locale)
        return rule(request, origin, policy, locale)

    # --- the rules, by kind of request ------------------------------------------------------------
    def _anyone(self, request: ShowHelp, origin: Origin, policy: ChannelPolicy, locale: str) -> Grant:
        return Grant(origin, locale, policy)

    def _channel_only(self, request: Any, origin: Origin, policy: ChannelPolicy, locale: str) -> Grant:
        return Grant(origin, locale, policy)

    def _where(self, request: Any, origin: Origin, policy: ChannelPolicy, locale: str) -> Grant:
        kube = self._clusters.get(request.where.context)
        all_namespaces = bool(getattr(request, "all_namespaces", False)) and not request.where.namespace
        namespace = None if all_namespaces else (request.where.namespace or kube.default_namespace)
        check_channel(policy, request.verb, kube.context, namespace, locale)
        return Grant(origin, locale, policy, kube, self._identities.identity(origin))

    def _watching(self, request: Any, origin: Origin, policy: ChannelPolicy, locale: str) -> Grant:
        """Digests and alerts: every namespace they will name must be one this channel may see."""
        if isinstance(request, SetAlerts) and not request.enabled:
            return Grant(origin, locale, policy)
        kube = self._clusters.get(request.context)
        for namespace in request.namespaces:
            check_channel(policy, request.verb, kube.context, namespace, locale)
        if not request.namespaces:
            check_channel(policy, request.verb, kube.context, None, locale)
        return Grant(origin, locale, policy, kube, namespaces=tuple(request.namespaces))

    def _approval(
        self, request: DecideApproval | ResumeApproval, origin: Origin, policy: ChannelPolicy, locale: str
    ) -> Grant:
        approval = self._approvals.get(request.approval_id)
        if approval is None:
            raise NotFound(t("approvals.click_unknown", locale, id=request.approval_id))
        target = approval.target
        if target.context not in self._clusters.contexts:
            raise NotFound(t("approvals.unknown_cluster", locale, context=target.context))
        check_channel(policy, request.verb, target.context, target.namespace, locale)
        acts = isinstance(request, ResumeApproval) or request.decision is Decision.APPROVE
        try:
            # The delete runs as the approver: one podbot cannot map must not approve (the request
            # stays open for another approver instead of failing later).
            identity = self._identities.identity(origin) if acts else None
        except NotPermitted as exc:
            raise NotPermitted(exc.message, reason="unmapped") from exc
        return Grant(origin, locale, policy, self._clusters.get(target.context), identity, approval=approval)
