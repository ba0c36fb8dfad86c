"""podbot's request pipeline, independent of how the request arrived (slash command, button, modal).

    resolve defaults -> channel policy -> identity -> action -> audit -> render

Every ``PodbotError`` becomes one clear message; anything else is a bug: logged with a traceback
and an error id, and the user gets a short apology quoting that id. Reads answer privately;
changes are shown to the channel.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from podbot import metrics
from podbot.commands import help_text, parse
from podbot.core.errors import (
    ClusterUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NotPermitted,
    PodbotError,
    UsageError,
)
from podbot.core.i18n import t
from podbot.core.model import (
    KUBERNETES_REQUESTS,
    CreateFromManifest,
    CreateRegistrySecret,
    DeletePod,
    DeleteSecret,
    DescribePod,
    GetPods,
    ListStaticPods,
    PodLogs,
    Request,
    RunPod,
    ShowHelp,
    Where,
)
from podbot.core.policy import check_channel, explain_forbidden
from podbot.core.records import AuditAction, AuditEvent
from podbot.core.redaction import redact
from podbot.core.results import Changed, DeleteTarget, HelpText, Result
from podbot.core.settings import Settings
from podbot.k8s import actions
from podbot.k8s.client import Clusters, Identity, KubeClient
from podbot.render.blocks import Rendered, render, render_error, render_internal_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """Who asked, from where (Slack identifiers)."""

    team_id: str
    channel_id: str
    user_id: str
    channel_name: str = ""
    user_name: str = ""


@dataclass(frozen=True)
class Reply:
    rendered: Rendered
    public: bool = False  # True: show to the channel; False: only to the asker


class AuditSink(Protocol):
    """Where audit records go: the database (``store.audit``), or the log when there is none."""

    def record(self, event: AuditEvent) -> AuditEvent: ...


class DeleteFlow(Protocol):
    """What happens to a delete request: the approvals component (posts the request message)."""

    def request(self, target: DeleteTarget, asker: Asker, text: str, locale: str) -> Reply: ...


class IdentityResolver(Protocol):
    def identity(self, asker: Asker) -> Identity | None: ...


class LogAudit:
    """Audit to the log only (for tools without a database); the text is redacted."""

    def record(self, event: AuditEvent) -> AuditEvent:
        log.info(
            "audit %s %s %s/%s/%s by %s: %s",
            event.action,
            event.kind,
            event.context,
            event.namespace,
            event.name,
            event.user_id,
            event.outcome,
        )
        return event


ExtraHandler = Callable[[Request, Asker], Reply]


def needs_modal(request: Request) -> bool:
    """Requests Slack must answer with a modal: a manifest to paste, or a password to type."""
    if isinstance(request, CreateFromManifest):
        return request.manifest is None
    if isinstance(request, CreateRegistrySecret):
        return request.password is None
    return False


class Podbot:
    def __init__(
        self,
        settings: Settings,
        clusters: Clusters,
        *,
        now: Callable[[], datetime],
        audit: AuditSink | None = None,
        identities: IdentityResolver | None = None,
        deletes: DeleteFlow | None = None,
    ) -> None:
        self.settings = settings
        self.clusters = clusters
        self.now = now
        self.audit = audit or LogAudit()
        self.identities = identities
        self.deletes = deletes
        # Verbs that are not Kubernetes operations (approvals, audit, subscriptions, alerts) are
        # answered by the components that own them, registered here by request type.
        self.extra_handlers: dict[type, ExtraHandler] = {}

    # --- helpers -----------------------------------------------------------------------------
    def locale(self, asker: Asker) -> str:
        return self.settings.locale_for(asker.channel_id, asker.channel_name)

    def parse(self, text: str, asker: Asker) -> Request:
        """The typed request, with the channel's default cluster/namespace filled in."""
        request = parse(text, locale=self.locale(asker))
        return self.with_defaults(request, asker)

    def with_defaults(self, request: Request, asker: Asker) -> Request:
        where = getattr(request, "where", None)
        if not isinstance(where, Where):
            return request
        policy = self.settings.channel_policy(asker.channel_id, asker.channel_name)
        # -A (and `static`, which looks everywhere by default) must not be narrowed to the default.
        across_namespaces = bool(getattr(request, "all_namespaces", False)) and where.namespace is None
        filled = Where(
            context=where.context or policy.default_context or self.settings.kube.default_context,
            namespace=None if across_namespaces else where.namespace or policy.default_namespace,
        )
        # Every request type with a ``where`` is a frozen dataclass with that field.
        return cast(Request, dataclasses.replace(cast(Any, request), where=filled))

    def _cluster(self, request: Request, asker: Asker) -> KubeClient:
        """The request's cluster, once the channel policy allows its cluster and namespace."""
        where: Where = request.where  # type: ignore[union-attr]
        kube = self.clusters.get(where.context)
        all_namespaces = bool(getattr(request, "all_namespaces", False)) and not where.namespace
        namespace = None if all_namespaces else (where.namespace or kube.default_namespace)
        policy = self.settings.channel_policy(asker.channel_id, asker.channel_name)
        check_channel(policy, request.verb, kube.context, namespace, self.locale(asker))
        return kube

    def _identity(self, asker: Asker) -> Identity | None:
        return self.identities.identity(asker) if self.identities is not None else None

    # --- the pipeline ------------------------------------------------------------------------
    def handle_text(self, text: str, asker: Asker) -> Reply:
        """A slash command's text, start to finish."""
        try:
            request = self.parse(text, asker)
        except PodbotError as exc:
            metrics.COMMANDS.labels(verb="unknown", outcome=_outcome(exc)).inc()
            return Reply(render_error(str(exc), self.locale(asker)))
        return self.answer(request, asker, text)

    def answer(self, request: Request, asker: Asker, text: str) -> Reply:
        """``execute``, with every failure turned into a message and every outcome counted."""
        try:
            reply = self.execute(request, asker, text=text)
        except PodbotError as exc:
            metrics.COMMANDS.labels(verb=request.verb, outcome=_outcome(exc)).inc()
            return Reply(render_error(str(exc), self.locale(asker)))
        except Exception:  # noqa: BLE001 - the last line of defence: log it, apologise, never crash
            metrics.COMMANDS.labels(verb=request.verb, outcome="bug").inc()
            return self.apologise(asker, "command")
        metrics.COMMANDS.labels(verb=request.verb, outcome="ok").inc()
        return reply

    def apologise(self, asker: Asker, what: str) -> Reply:
        error_id = uuid.uuid4().hex[:8].upper()
        log.exception("unexpected error %s while handling a %s from %s", error_id, what, asker.user_id)
        return Reply(render_internal_error(error_id, self.locale(asker)))

    def execute(self, request: Request, asker: Asker, *, text: str = "") -> Reply:
        """Run one typed request for ``asker``; raises PodbotError for anything the user must fix."""
        locale = self.locale(asker)
        if isinstance(request, ShowHelp):
            return Reply(render(HelpText(help_text(request.topic, locale)), locale))
        if not isinstance(request, KUBERNETES_REQUESTS):
            handler = self.extra_handlers.get(type(request))
            if handler is None:
                raise UsageError(t("bot.unavailable", locale, verb=request.verb))
            return handler(request, asker)
        if needs_modal(request):
            raise UsageError(t("bot.needs_dialog", locale))
        try:
            kube = self._cluster(request, asker)
            as_user = self._identity(asker)
        except PodbotError as exc:
            self._audit_failure(request, asker, text, exc, None)
            raise
        try:
            return self._execute_on(request, asker, text, kube, as_user)
        except PodbotError as exc:
            error = self.explain(exc, as_user, locale)
            self._audit_failure(request, asker, text, error, as_user, context=kube.context)
            if error is exc:
                raise
            raise error from exc

    def _execute_on(
        self, request: Request, asker: Asker, text: str, kube: KubeClient, as_user: Identity | None
    ) -> Reply:
        locale = self.locale(asker)
        if isinstance(request, DeletePod | DeleteSecret):
            target = (
                actions.plan_delete_pod(request, kube, as_user)
                if isinstance(request, DeletePod)
                else actions.plan_delete_secret(request, kube, as_user)
            )
            if self.deletes is None or not self.settings.approvals.needs_approval(target.namespace):
                return self.delete_now(target, asker, text)
            return self.deletes.request(target, asker, text, locale)
        result = self._act(request, kube, as_user)
        if isinstance(result, Changed):
            self._audit_change(request, result, asker, text, as_user)
            return Reply(render(result, locale, now=self.now()), public=not result.dry_run)
        return Reply(render(result, locale, now=self.now()))

    def _act(self, request: Request, kube: KubeClient, as_user: Identity | None) -> Result:
        if isinstance(request, RunPod):
            return actions.run_pod(request, kube, as_user)
        if isinstance(request, CreateFromManifest):
            return actions.create_from_manifest(request, kube, as_user)
        if isinstance(request, GetPods):
            return actions.get_pods(request, kube, as_user)
        if isinstance(request, DescribePod):
            return actions.describe_pod(request, kube, self.now(), as_user)
        if isinstance(request, PodLogs):
            return actions.pod_logs(request, kube, as_user)
        if isinstance(request, CreateRegistrySecret):
            return actions.create_registry_secret(request, kube, as_user)
        if isinstance(request, ListStaticPods):
            return actions.list_static_pods(request, kube, as_user)
        raise UsageError(t("bot.unavailable", None, verb=request.verb))

    def delete_now(
        self,
        target: DeleteTarget,
        asker: Asker,
        text: str,
        *,
        approved_by: str = "",
        approval_id: int | None = None,
    ) -> Reply:
        """Delete exactly ``target`` (uid precondition), as the approver's identity when approved.

        The outcome is audited either way; a failure is raised again (a refusal by the cluster
        explained in words that name the identity used)."""
        action = AuditAction.DELETE if target.kind == "Pod" else AuditAction.SECRET_DELETE
        detail = f"approved by {approved_by}" if approved_by else ""
        as_user: Identity | None = None

        def audit(outcome: str, more: str = "") -> None:
            self.audit.record(
                self.audit_event(
                    action,
                    asker,
                    target.context,
                    target.namespace,
                    target.kind,
                    target.name,
                    target.uid,
                    outcome,
                    text=text,
                    as_user=as_user,
                    detail="; ".join(d for d in (detail, more) if d),
                    approval_id=approval_id,
                )
            )

        try:
            kube = self.clusters.get(target.context)
            as_user = self._identity(
                dataclasses.replace(asker, user_id=approved_by) if approved_by else asker
            )
            result = actions.delete_target(target, kube, as_user)
        except PodbotError as exc:
            # An approved delete is reported to the whole channel: name the identity, not "you".
            error = self.explain(exc, as_user, self.locale(asker), second_person=not approved_by)
            audit(outcome_of(error), str(error))
            if error is exc:
                raise
            raise error from exc
        audit("deleted")
        return Reply(render(result, self.locale(asker)), public=True)

    def explain(
        self, error: PodbotError, as_user: Identity | None, locale: str, *, second_person: bool = True
    ) -> PodbotError:
        """A cluster's 403 as a sentence naming who was refused what; any other error unchanged."""
        if not isinstance(error, Forbidden):
            return error
        explained = explain_forbidden(
            error.message, as_user.user if as_user else None, locale, second_person=second_person
        )
        return Forbidden(explained) if explained else error

    def _audit_failure(
        self,
        request: Request,
        asker: Asker,
        text: str,
        error: PodbotError,
        as_user: Identity | None,
        *,
        context: str = "",
    ) -> None:
        """Refusals (policy, identity, RBAC) of any request, and failed changes, are audited too."""
        refused = isinstance(error, NotPermitted)
        if not refused and not request.mutates:
            return
        where = getattr(request, "where", None)
        name = str(getattr(request, "name", "") or "")
        kind = {DeleteSecret: "Secret", CreateRegistrySecret: "Secret"}.get(
            type(request), "Pod" if name else ""
        )
        action = AuditAction.REFUSED if refused else _ACTIONS.get(request.verb, AuditAction.CREATE)
        self.audit.record(
            self.audit_event(
                action,
                asker,
                context or (where.context if isinstance(where, Where) and where.context else ""),
                where.namespace or "" if isinstance(where, Where) else "",
                kind,
                name,
                "",
                outcome_of(error),
                text=text,
                as_user=as_user,
                detail=f"{request.verb}: {error.message}",
            )
        )

    def _audit_change(
        self, request: Request, result: Changed, asker: Asker, text: str, as_user: Identity | None
    ) -> None:
        if result.dry_run:
            return
        action = _ACTIONS.get(request.verb, AuditAction.CREATE)
        for ref in result.objects:
            if ref.kind == "Secret":
                action = AuditAction.SECRET_CREATE
            self.audit.record(
                self.audit_event(
                    action,
                    asker,
                    result.context,
                    ref.namespace,
                    ref.kind,
                    ref.name,
                    ref.uid,
                    result.verb,
                    text=text,
                    as_user=as_user,
                )
            )

    def audit_event(
        self,
        action: AuditAction,
        asker: Asker,
        context: str,
        namespace: str,
        kind: str,
        name: str,
        uid: str,
        outcome: str,
        *,
        text: str = "",
        as_user: Identity | None = None,
        detail: str = "",
        approval_id: int | None = None,
    ) -> AuditEvent:
        """An audit record of ``asker``'s action, stamped now (the store redacts the text again)."""
        return AuditEvent(
            at=self.now(),
            action=action,
            team_id=asker.team_id,
            channel_id=asker.channel_id,
            user_id=asker.user_id,
            kube_user=as_user.user if as_user else "",
            kube_groups=as_user.groups if as_user else (),
            context=context,
            namespace=namespace,
            kind=kind,
            name=name,
            uid=uid,
            request_text=redact(text),
            outcome=outcome,
            detail=detail,
            approval_id=approval_id,
        )

    def run_secret_form(self, request: CreateRegistrySecret, asker: Asker) -> Reply:
        """The registry-secret dialog was submitted: the same pipeline; the audited text names the
        server and user, never the password."""
        text = (
            f"secret docker-registry {request.name} --docker-server={request.server} "
            f"--docker-username={request.username}"
        )
        return self.answer(self.with_defaults(request, asker), asker, text)


_ACTIONS = {
    "run": AuditAction.RUN,
    "create": AuditAction.CREATE,
    "secret": AuditAction.SECRET_CREATE,
    "delete": AuditAction.DELETE_REQUEST,
}


def outcome_of(error: PodbotError) -> str:
    """The audit/approval outcome word for a failure."""
    if isinstance(error, Forbidden):
        return "forbidden"  # the cluster's RBAC said no
    if isinstance(error, NotPermitted):
        return "refused"  # podbot's own policy said no
    for kind, word in ((NotFound, "not_found"), (Conflict, "conflict"), (Invalid, "invalid")):
        if isinstance(error, kind):
            return word
    if isinstance(error, ClusterUnavailable):
        return "unavailable"
    if isinstance(error, UsageError):
        return "usage"
    return "error"


def _outcome(error: PodbotError) -> str:
    if isinstance(error, UsageError):
        return "usage"
    if isinstance(error, NotPermitted):
        return "refused"
    return "error"
