"""The one authorization gate: every request from every entry path is checked here before it runs.

    channel policy, by channel ID (verb) -> cluster -> every namespace the request touches
    -> the user's Kubernetes identity -> what that identity may do (access reviews)
    -> the Pod Security level of anything it creates -> where a click came from

A slash command, a dialog (when it opens and when it is submitted), a button click, a scheduled
digest and an alert cycle all reach the action layer through ``Gate.authorize``, which either
raises ``NotPermitted`` (with the reason in the asker's language) or returns a ``Grant``: the one
cluster client and identity the handler may use. Handlers never pick a cluster themselves.

A channel's policy is found by its ID; a policy the configuration keyed by ``#name`` is matched
against the name Slack gives for that ID (never a name from a payload that can lack it, such as
a dialog's). Digests and alerts are produced with podbot's own watch cache, so with per-user
identity the gate asks the cluster whether the subscriber may list pods in each namespace, at
subscription time and again before every digest and alert cycle, and narrows the scope to what
they may see.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from podbot.app.ports import People
from podbot.core.errors import NotFound, NotPermitted
from podbot.core.i18n import t
from podbot.core.manifests import load_manifests
from podbot.core.model import (
    AttachPullSecret,
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
    ReplaceRegistryLogin,
    Request,
    ResumeApproval,
    RunPod,
    SetAlerts,
    ShowAudit,
    ShowHelp,
    Subscribe,
    Unsubscribe,
)
from podbot.core.podsecurity import Violation, check_create
from podbot.core.policy import check_channel, check_verb
from podbot.core.records import Approval, ApprovalAction, Intent
from podbot.core.settings import ChannelPolicy, Settings
from podbot.core.times import DEFAULT_TIMEZONE
from podbot.k8s import actions
from podbot.k8s.api import Identity, Kube, KubeClusters

ACCESS_TTL_SECONDS = 60.0  # an access review answer is reused this long (kube-apiserver caches 5 min)


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
    violations: tuple[Violation, ...] = field(default=())  # Pod Security findings of a create
    timezone: str = DEFAULT_TIMEZONE  # the display time zone of the origin's channel
    intent: Intent | None = None  # a change's intent (the pipeline's), for a handler to pin a uid

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
    ReplaceRegistryLogin,
    AttachPullSecret,
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
        people: People,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._clusters = clusters
        self._identities = identities
        self._approvals = approvals
        self._people = people
        self._monotonic = monotonic
        self._access: dict[tuple[str, tuple[str, ...], str, str | None], tuple[float, bool]] = {}
        self._access_lock = threading.Lock()
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

    def _channel_name(self, origin: Origin) -> str:
        if not self._settings.names_channels:
            return ""  # every policy is keyed by ID (or "*"): no name needed
        return origin.channel_name or self._people.channel_name(origin.channel_id)

    def locale(self, origin: Origin) -> str:
        return self._settings.locale_for(origin.channel_id, self._channel_name(origin))

    def policy(self, origin: Origin) -> ChannelPolicy:
        return self._settings.channel_policy(origin.channel_id, self._channel_name(origin))

    def timezone(self, origin: Origin) -> str:
        return self._settings.timezone_for(origin.channel_id, self._channel_name(origin))

    def approval(self, approval_id: int) -> Approval | None:
        """The approval request a click or the sweeper names (for the audit of a refusal)."""
        return self._approvals.get(approval_id)

    def authorize(self, request: Request, origin: Origin) -> Grant:
        """The grant to run ``request`` for ``origin``, or ``NotPermitted`` saying why not."""
        locale, policy = self.locale(origin), self.policy(origin)
        rule = self._rules[type(request)]
        if rule not in (self._anyone, self._approval):  # an approval's verb is its action's
            check_verb(policy, request.verb, locale)
        return dataclasses.replace(rule(request, origin, policy, locale), timezone=self.timezone(origin))

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
        violations: tuple[Violation, ...] = ()
        if isinstance(request, RunPod | CreateFromManifest):
            violations = self._creating(request, kube, policy, locale)
        return Grant(origin, locale, policy, kube, self._identities.identity(origin), violations=violations)

    def _creating(
        self, request: RunPod | CreateFromManifest, kube: Kube, policy: ChannelPolicy, locale: str
    ) -> tuple[Violation, ...]:
        """Every namespace a create lands in is checked (a manifest names its own), and the pods it
        makes against the channel's Pod Security level; the pipeline refuses or holds them."""
        default = request.where.namespace or kube.default_namespace
        if isinstance(request, RunPod):
            pods, namespaces = [actions.build_run_pod(request, default)], [default]
        elif request.manifest is None:
            return ()  # the dialog is opening: its manifest is checked when it is submitted
        else:
            documents = load_manifests(request.manifest, locale=locale)
            pods = [d.obj for d in documents if d.kind == "Pod"]
            namespaces = [d.namespace or default for d in documents]
        for namespace in sorted(set(namespaces)):
            check_channel(policy, request.verb, kube.context, namespace, locale)
        found = check_create(pods, namespaces, policy.pod_security, self._settings.protected_namespaces)
        return tuple(found)

    def _watching(self, request: Any, origin: Origin, policy: ChannelPolicy, locale: str) -> Grant:
        """Digests and alerts: every namespace they will name must be one this channel may see, and
        (per-user identity) one the person who asked for them may list pods in."""
        if isinstance(request, SetAlerts) and not request.enabled:
            return Grant(origin, locale, policy)
        kube = self._clusters.get(request.context)
        for namespace in request.namespaces:
            check_channel(policy, request.verb, kube.context, namespace, locale)
        if not request.namespaces:
            check_channel(policy, request.verb, kube.context, None, locale)
        namespaces = tuple(request.namespaces)
        identity = self._identities.identity(origin)
        if identity is not None:
            scope: tuple[str | None, ...] = namespaces or (None,)
            allowed = [ns for ns in scope if self._may_list_pods(kube, identity, ns)]
            denied = [ns for ns in scope if ns not in allowed]
            # A new subscription must be honest about its scope; a scheduled run shows what it may.
            if denied and (isinstance(request, Subscribe | SetAlerts) or not allowed):
                where = ", ".join(ns or "*" for ns in denied)
                raise NotPermitted(
                    t("identity.cannot_list", locale, identity=identity.user, namespaces=where),
                    reason="forbidden",
                )
            namespaces = tuple(ns for ns in allowed if ns is not None)
        return Grant(origin, locale, policy, kube, identity, namespaces=namespaces)

    def _may_list_pods(self, kube: Kube, identity: Identity, namespace: str | None) -> bool:
        key = (identity.user, identity.groups, kube.context, namespace)
        now = self._monotonic()
        with self._access_lock:
            cached = self._access.get(key)
        if cached is not None and now - cached[0] < ACCESS_TTL_SECONDS:
            return cached[1]
        allowed = actions.may(kube, identity, "list", "pods", namespace)
        with self._access_lock:
            self._access[key] = (now, allowed)
        return allowed

    def _approval(
        self, request: DecideApproval | ResumeApproval, origin: Origin, policy: ChannelPolicy, locale: str
    ) -> Grant:
        approval = self._approvals.get(request.approval_id)
        if approval is None:
            raise NotFound(t("approvals.click_unknown", locale, id=request.approval_id))
        target = approval.target
        if (
            isinstance(request, DecideApproval)
            and approval.message_ts
            and (origin.channel_id != approval.message_channel or origin.message_ts != approval.message_ts)
        ):
            # A click counts only on the request's own message (a forged or copied button does not).
            raise NotPermitted(t("approvals.click_elsewhere", locale, id=approval.id), reason="elsewhere")
        if target.context not in self._clusters.contexts:
            raise NotFound(t("approvals.unknown_cluster", locale, context=target.context))
        verb = "create" if approval.action is ApprovalAction.CREATE else "delete"
        check_channel(policy, verb, target.context, target.namespace, locale)
        acts = isinstance(request, ResumeApproval) or request.decision is Decision.APPROVE
        try:
            # The delete runs as the approver: one podbot cannot map must not approve (the request
            # stays open for another approver instead of failing later).
            identity = self._identities.identity(origin) if acts else None
        except NotPermitted as exc:
            raise NotPermitted(exc.message, reason="unmapped") from exc
        return Grant(origin, locale, policy, self._clusters.get(target.context), identity, approval=approval)
