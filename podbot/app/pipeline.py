"""podbot's one request pipeline, whatever road a request came by (slash command, dialog, button,
scheduled digest, alert cycle, the approval sweeper):

    defaults -> authorize (the gate) -> intent -> execute (a handler, by request type) -> audit -> Answer

A change (its request type's row in ``REQUESTS`` names one) is written down as an intent before
its handler may touch the cluster, and its audit record settles the intent; if the intent cannot be
written (the database is down), the handler does not run and the user is told that nothing was
changed (``audit.NothingChanged``).

Handlers are looked up in a table by request type; a request type without a handler is a clear
error, never a fall-through. What the audit calls each type of request, and what the pipeline does
with each type of result (audit it, show it to the channel), are tables too, with a row for every
type (unit tests check). The pipeline returns a typed ``Answer`` (a result or an error, and who may
see it); turning it into Block Kit happens at the Slack edge. Every ``PodbotError`` becomes one
clear message; anything else is a bug: logged with a traceback and an error id, and the user gets a
short apology quoting that id.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from podbot import metrics
from podbot.app.audit import AuditTrail, NothingChanged
from podbot.app.gate import Gate, Grant
from podbot.commands import parse
from podbot.core.errors import (
    ClusterUnavailable,
    Conflict,
    DeliveryFailed,
    Forbidden,
    Invalid,
    NotFound,
    NotPermitted,
    PodbotError,
    UsageError,
)
from podbot.core.i18n import t
from podbot.core.manifests import load_manifests
from podbot.core.model import (
    AttachPullSecret,
    CreateFromManifest,
    CreateRegistrySecret,
    DecideApproval,
    DeletePod,
    DeleteSecret,
    DescribePod,
    DryRun,
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
    Where,
    needs_dialog,
)
from podbot.core.podsecurity import violations_text
from podbot.core.policy import explain_forbidden
from podbot.core.records import ApprovalAction, AuditAction, Intent
from podbot.core.redaction import redact
from podbot.core.results import (
    AlertsChanged,
    ApprovalDuplicate,
    ApprovalPosted,
    AuditListing,
    Changed,
    DialogNeeded,
    HelpText,
    Logs,
    Notice,
    PendingApprovals,
    PodDescription,
    PodTable,
    Posted,
    RawOutput,
    Result,
    StaticPods,
    SubscriptionChanged,
    SubscriptionList,
)
from podbot.core.settings import OnViolation, Settings
from podbot.core.times import DEFAULT_TIMEZONE
from podbot.k8s.api import Identity

log = logging.getLogger(__name__)

Handler = Callable[[Any, Grant], Result]
"""Runs one request type with what the gate granted; raises PodbotError for what the user must fix."""


@dataclass(frozen=True)
class Answer:
    """What the pipeline says back: a result, or an error (with an error id when it was a bug)."""

    locale: str
    result: Result | None = None
    error: PodbotError | None = None
    error_id: str = ""
    public: bool = False  # True: show it to the channel; False: only to the asker
    timezone: str = DEFAULT_TIMEZONE  # how times in the result are shown


@dataclass(frozen=True)
class Audited:
    """What the audit calls a request of one type (a row of ``REQUESTS``)."""

    change: AuditAction | None = None  # the change it makes; None: it makes none (a read)
    kind: str = ""  # the kind of object its ``name`` field names; "": it has no name
    failed: AuditAction | None = None  # a failure's action, when not ``change``
    click: Callable[[Any], tuple[int, str]] | None = None  # an approval click: its request id, decision


def _decided(click: DecideApproval) -> tuple[int, str]:
    return click.approval_id, click.decision.value


def _resumed(resume: ResumeApproval) -> tuple[int, str]:
    return resume.approval_id, "resume"


# Every request type has its row (a unit test checks), so that a new type is a new row here.
REQUESTS: dict[type, Audited] = {
    RunPod: Audited(AuditAction.RUN, "Pod"),
    CreateFromManifest: Audited(AuditAction.CREATE),  # its objects are named in its manifest
    CreateRegistrySecret: Audited(AuditAction.SECRET_CREATE, "Secret"),
    ReplaceRegistryLogin: Audited(AuditAction.SECRET_REPLACE, "Secret"),
    AttachPullSecret: Audited(AuditAction.PULL_SECRET_ATTACH, "Secret"),
    # A delete is a change when made at once (no approval needed); when it fails, what failed is
    # the request to delete.
    DeletePod: Audited(AuditAction.DELETE, "Pod", failed=AuditAction.DELETE_REQUEST),
    DeleteSecret: Audited(AuditAction.SECRET_DELETE, "Secret", failed=AuditAction.DELETE_REQUEST),
    DescribePod: Audited(kind="Pod"),  # a read is audited only when refused, with what it names
    PodLogs: Audited(kind="Pod"),
    # A click's delete is audited by the approval flow; a refused click names its decision.
    DecideApproval: Audited(click=_decided),
    ResumeApproval: Audited(click=_resumed),
    **dict.fromkeys(
        (
            GetPods,
            ListStaticPods,
            ShowHelp,
            ListApprovals,
            ShowAudit,
            Subscribe,
            ListSubscriptions,
            Unsubscribe,
            SetAlerts,
            PostDigest,
            ReconcileAlerts,
        ),
        Audited(),
    ),
}


@dataclass(frozen=True)
class _Done:
    """The request behind a result, as the result's audit row needs it."""

    request: Request
    origin: Origin
    text: str
    identity: Identity | None
    intent: Intent | None


def _audit_change(audit: AuditTrail, result: Changed, done: _Done) -> bool:
    """Each object a change made, the last record settling its intent."""
    action = REQUESTS[type(done.request)].change
    if action is None or result.dry_run or not result.objects:
        return False  # a preview made nothing; and only a change's objects are audited here
    for index, ref in enumerate(result.objects):
        audit.record(
            # A manifest's Secret is audited as a secret, like one made by ``secret``.
            AuditAction.SECRET_CREATE if ref.kind == "Secret" and action is AuditAction.CREATE else action,
            done.origin,
            result.verb,
            context=result.context,
            namespace=ref.namespace,
            kind=ref.kind,
            name=ref.name,
            uid=ref.uid,
            text=done.text,
            identity=done.identity,
            settles=done.intent if index == len(result.objects) - 1 else None,  # once, last
        )
    return True


def _audit_held(audit: AuditTrail, result: ApprovalPosted, done: _Done) -> bool:
    """A change waiting for an approver: the request is recorded (its own intent comes then)."""
    target = result.approval.target
    held = result.approval.action is ApprovalAction.CREATE
    audit.record(
        AuditAction.CREATE_REQUEST if held else AuditAction.DELETE_REQUEST,
        done.origin,
        "pending",
        context=target.context,
        namespace=target.namespace,
        kind=target.kind,
        name=target.name,
        uid=target.uid,
        text=done.text,
        approval_id=result.approval.id,
        settles=done.intent,
    )
    return True


def _audit_subscription(audit: AuditTrail, result: SubscriptionChanged, done: _Done) -> bool:
    sub = result.subscription
    audit.record(
        AuditAction.UNSUBSCRIBE if result.stopped else AuditAction.SUBSCRIBE,
        done.origin,
        "unsubscribed" if result.stopped else "subscribed",
        context=sub.context or "",
        namespace=",".join(sub.namespaces),
        kind="Subscription",
        name=f"#{sub.id}",
        text=done.text or f"{'unsubscribe' if result.stopped else 'subscribe'} {sub.kind.value}",
    )
    return False  # not a change of the cluster: there is no intent


def _audit_alerts(audit: AuditTrail, result: AlertsChanged, done: _Done) -> bool:
    audit.record(
        AuditAction.ALERTS,
        done.origin,
        "on" if result.enabled else "off",
        context=result.context,
        namespace=",".join(result.namespaces),
        kind="Channel",
        name=done.origin.channel_id,
        text=done.text or "alerts",
    )
    return False  # not a change of the cluster: there is no intent


def _never(result: Result) -> bool:
    return False


def _always(result: Result) -> bool:
    return True


def _made(result: Changed) -> bool:
    return not result.dry_run  # a preview made nothing: only the asker sees it


@dataclass(frozen=True)
class Shown:
    """What the pipeline does with one type of result besides answering with it (a row of
    ``RESULTS``)."""

    public: Callable[[Any], bool] = _never  # the channel sees it, not only the asker
    # Records it; True: that settled the request's intent (an intent not settled is closed).
    audit: Callable[[AuditTrail, Any, _Done], bool] | None = None


# Every result type has its row (a unit test checks), so that a new type is a new row here.
RESULTS: dict[type, Shown] = {
    Changed: Shown(public=_made, audit=_audit_change),
    ApprovalPosted: Shown(audit=_audit_held),  # the flow posts the request to the channel itself
    SubscriptionChanged: Shown(public=_always, audit=_audit_subscription),
    AlertsChanged: Shown(public=_always, audit=_audit_alerts),
    **dict.fromkeys(
        (
            PodTable,
            RawOutput,
            PodDescription,
            Logs,
            StaticPods,
            HelpText,
            Notice,
            ApprovalDuplicate,
            PendingApprovals,
            AuditListing,
            SubscriptionList,
            DialogNeeded,
            Posted,
        ),
        Shown(),
    ),
}


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        gate: Gate,
        handlers: Mapping[type, Handler],
        audit: AuditTrail,
        *,
        hold: Handler,
    ) -> None:
        """``hold`` takes a create the channel's Pod Security level holds for an approver."""
        self._settings = settings
        self._gate = gate
        self._handlers = dict(handlers)
        self._audit = audit
        self._hold = hold

    def locale(self, origin: Origin) -> str:
        return self._gate.locale(origin)

    # --- the steps --------------------------------------------------------------------------------
    def parse(self, text: str, origin: Origin) -> Request:
        """A slash command's text as a typed request, or ``UsageError`` with the usage.

        A registry password typed on the command line is dropped, and the private dialog asks for
        it instead: the text went through Slack's message box (kept in the client's input history
        and drafts, seen over a shoulder, shown to the channel if a reply were in_channel), so it is
        treated as exposed, and a password is only ever taken from the dialog."""
        request = parse(text, locale=self.locale(origin))
        if isinstance(request, CreateRegistrySecret) and request.password is not None:
            request = dataclasses.replace(request, password=None, password_typed=True)
        return self.with_defaults(request, origin)

    def with_defaults(self, request: Request, origin: Origin) -> Request:
        """The channel's default cluster and namespace(s) filled in where the request named none."""
        policy = self._gate.policy(origin)
        default_context = policy.default_context or self._settings.kube.default_context
        if isinstance(request, Subscribe | SetAlerts):
            namespaces = request.namespaces or (() if "*" in policy.namespaces else policy.namespaces)
            return dataclasses.replace(
                request, context=request.context or default_context, namespaces=tuple(namespaces)
            )
        where = _where(request)
        if where is None:
            return request
        # -A (and `static`, which looks everywhere by default) must not be narrowed to the default.
        across_namespaces = bool(getattr(request, "all_namespaces", False)) and where.namespace is None
        filled = Where(
            context=where.context or default_context,
            namespace=None if across_namespaces else where.namespace or policy.default_namespace,
        )
        # Every request type with a ``where`` is a frozen dataclass with that field.
        return cast(Request, dataclasses.replace(cast(Any, request), where=filled))

    def handle_text(self, text: str, origin: Origin) -> Answer:
        """A slash command's text, start to finish."""
        try:
            request = self.parse(text, origin)
        except PodbotError as exc:
            metrics.COMMANDS.labels(verb="unknown", outcome=_metric_outcome(exc)).inc()
            return Answer(self.locale(origin), error=exc)
        return self.handle(request, origin, text=text)

    def handle(self, request: Request, origin: Origin, *, text: str = "") -> Answer:
        """Run one request for ``origin``: the only road from any entry path to the action layer."""
        locale = self.locale(origin)
        request = self.with_defaults(request, origin)
        grant: Grant | None = None
        intent: Intent | None = None
        try:
            grant = self._gate.authorize(request, origin)
            intent = self._intend(request, grant, text)
            if intent is not None:
                grant = dataclasses.replace(grant, intent=intent)
            result = self._execute(request, grant)
        except PodbotError as exc:
            error = self._explain(exc, grant, locale)
            if carries_secret(request):  # an API error may quote the object it refused
                error.message = redact(error.message)
                error.text = None  # its catalog form holds the same quote: show the redacted one
            if not isinstance(error, NothingChanged):  # nothing happened, and the store is down
                self._settle(lambda: self._audit_failure(request, origin, text, error, grant, intent))
            metrics.COMMANDS.labels(verb=request.verb, outcome=_metric_outcome(error)).inc()
            return Answer(locale, error=error)
        except Exception:  # noqa: BLE001 - the last line of defence: log it, apologise, never crash
            metrics.COMMANDS.labels(verb=request.verb, outcome="bug").inc()
            return self.apologise(origin, type(request).__name__)
        # The change is made: its answer goes out even if its audit record cannot be written now.
        self._settle(lambda: self._audit_result(request, origin, text, result, grant, intent))
        metrics.COMMANDS.labels(verb=request.verb, outcome="ok").inc()
        # Slack shows the channel the command behind an in_channel answer: never for secret data.
        public = _public(result) and not carries_secret(request)
        return Answer(locale, result, public=public, timezone=grant.timezone)

    def apologise(self, origin: Origin, what: str) -> Answer:
        error_id = uuid.uuid4().hex[:8].upper()
        log.exception("unexpected error %s while handling %s from %s", error_id, what, origin.user_id)
        return Answer(self.locale(origin), error_id=error_id)

    def _intend(self, request: Request, grant: Grant, text: str) -> Intent | None:
        """The intent of a change about to be made (None for reads, previews, dialogs and creates
        held for an approver: those touch nothing yet). Raises ``NothingChanged``."""
        action = REQUESTS[type(request)].change
        previewing = getattr(request, "dry_run", DryRun.NONE) is not DryRun.NONE
        if action is None or previewing or needs_dialog(request) or grant.violations:
            return None
        where = _where(request) or Where()
        namespace = where.namespace or (grant.kube.default_namespace if grant.kube else "")
        kind, name = _named(request)
        if isinstance(request, CreateFromManifest) and request.manifest is not None:
            documents = load_manifests(request.manifest, locale=grant.locale)
            if len(documents) == 1:
                kind, name = documents[0].kind, documents[0].name or ""
                namespace = documents[0].namespace or namespace
        return self._audit.intend(
            action,
            grant.origin,
            grant.locale,
            context=grant.kube.context if grant.kube else "",
            namespace=namespace,
            kind=kind,
            name=name,
            text=text,
            identity=grant.identity,
        )

    def _settle(self, write: Callable[[], None]) -> None:
        """Write a change's outcome; when the store cannot take it, the intent stays open and
        recovery (``audit.IntentRecovery``) writes the record from the cluster's state later."""
        try:
            write()
        except PodbotError as exc:
            log.warning("audit record not written (its intent stays open for recovery): %s", exc.message)

    def _execute(self, request: Request, grant: Grant) -> Result:
        handler = self._handlers.get(type(request))
        if handler is None:
            raise UsageError(t("bot.unavailable", grant.locale, verb=request.verb))
        if needs_dialog(request):
            # Authorized before the dialog opens, and again when it is submitted.
            return DialogNeeded(
                cast(CreateFromManifest | CreateRegistrySecret | ReplaceRegistryLogin, request)
            )
        previewing = getattr(request, "dry_run", DryRun.NONE) is not DryRun.NONE
        if grant.violations and not previewing:
            if grant.policy.on_violation is not OnViolation.APPROVE:
                raise NotPermitted(
                    violations_text(grant.violations, grant.policy.pod_security, grant.locale),
                    reason="pod_security",
                )
            handler = self._hold  # it waits for an approver, like a delete
        result = handler(request, grant)
        if previewing and isinstance(result, Changed):
            # The preview says which rule a real create would meet.
            return dataclasses.replace(
                result, violations=grant.violations, pod_security=grant.policy.pod_security
            )
        return result

    def _explain(self, error: PodbotError, grant: Grant | None, locale: str) -> PodbotError:
        """A cluster's 403 as a sentence naming who was refused what; any other error unchanged."""
        if not isinstance(error, Forbidden):
            return error
        identity = grant.identity if grant else None
        # An approved delete is reported to the whole channel: name the identity, not "you".
        second_person = grant is None or grant.approval is None
        explained = explain_forbidden(
            error.message, identity.user if identity else None, locale, second_person=second_person
        )
        return Forbidden(explained) if explained else error

    # --- audit ------------------------------------------------------------------------------------
    def _audit_result(
        self,
        request: Request,
        origin: Origin,
        text: str,
        result: Result,
        grant: Grant,
        intent: Intent | None = None,
    ) -> None:
        audit = RESULTS[type(result)].audit
        done = _Done(request, origin, text, grant.identity, intent)
        settled = audit is not None and audit(self._audit, result, done)
        if intent is not None and not settled:  # e.g. a duplicate delete request: nothing to audit
            self._audit.close(intent, "unchanged")

    def _audit_failure(
        self,
        request: Request,
        origin: Origin,
        text: str,
        error: PodbotError,
        grant: Grant | None,
        intent: Intent | None = None,
    ) -> None:
        """Refusals (policy, identity, RBAC) of any request, and failed changes, are audited too."""
        refusal = error if isinstance(error, NotPermitted) else None
        if refusal is None and not request.mutates:
            return
        identity: Identity | None = grant.identity if grant else None
        audited = REQUESTS[type(request)]
        if audited.click is not None:
            approval_id, decision = audited.click(request)
            approval = grant.approval if grant else self._gate.approval(approval_id)
            if approval is None or refusal is None:
                return  # an unknown request id; failures of the delete are audited by the flow
            target = approval.target
            self._audit.record(
                AuditAction.REFUSED_CLICK,
                origin,
                refusal.reason,
                context=target.context,
                namespace=target.namespace,
                kind=target.kind,
                name=target.name,
                uid=target.uid,
                detail=f"{decision} click refused",
                approval_id=approval.id,
            )
            return
        where = _where(request) or Where()
        kind, name = _named(request)
        if refusal is not None:
            action = AuditAction.REFUSED
        else:
            # A mutating request has a change or a click (a unit test checks): CREATE is for mypy.
            action = audited.failed or audited.change or AuditAction.CREATE
        context = grant.kube.context if grant and grant.kube else ""
        self._audit.record(
            action,
            origin,
            outcome_of(error),
            context=context or where.context or "",
            namespace=where.namespace or "",
            kind=kind,
            name=name,
            text=text,
            identity=identity,
            detail=f"{request.verb}: {error.message}",
            # A write whose answer was lost (timeout, reset, 5xx) may have been carried out: its
            # intent stays open, and recovery settles it from what the cluster shows.
            settles=None if isinstance(error, ClusterUnavailable) else intent,
        )


def _where(request: Request) -> Where | None:
    """The cluster and namespace the request names, if it is a kind of request that names them."""
    where = getattr(request, "where", None)
    return where if isinstance(where, Where) else None


def _named(request: Request) -> tuple[str, str]:
    """The kind and name of the object a request is about, as far as it says before any API call:
    its ``name`` field, of its row's kind (a unit test checks that a row has a kind just when its
    request type has a name)."""
    return REQUESTS[type(request)].kind, str(getattr(request, "name", ""))


def carries_secret(request: Request) -> bool:
    """Whether the request's own text holds secret data (a pasted Secret manifest)."""
    if not isinstance(request, CreateFromManifest) or request.manifest is None:
        return False
    try:
        return any(d.kind == "Secret" for d in load_manifests(request.manifest))
    except UsageError:
        return "Secret" in request.manifest  # unreadable: assume the worst


def _public(result: Result) -> bool:
    """Changes are shown to the channel; reads, previews and everything else only to the asker."""
    return RESULTS[type(result)].public(result)


# Failures by error class, in order: the first class the error is an instance of names it (an
# error class means its subclasses too, e.g. DeliveryUncertain is a DeliveryFailed).
_OUTCOMES: tuple[tuple[type[PodbotError], str], ...] = (
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (Invalid, "invalid"),
    (ClusterUnavailable, "unavailable"),
    (DeliveryFailed, "post_failed"),
    (UsageError, "usage"),
)
_METRIC_OUTCOMES: tuple[tuple[type[PodbotError], str], ...] = (
    (UsageError, "usage"),
    (NotPermitted, "refused"),
)


def outcome_of(error: PodbotError) -> str:
    """The audit/approval outcome word for a failure."""
    if isinstance(error, NotPermitted):
        return error.reason  # "forbidden": the cluster's RBAC; "refused": podbot's own policy; ...
    return next((word for kind, word in _OUTCOMES if isinstance(error, kind)), "error")


def _metric_outcome(error: PodbotError) -> str:
    return next((word for kind, word in _METRIC_OUTCOMES if isinstance(error, kind)), "error")
