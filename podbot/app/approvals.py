"""Deletes behind approval buttons: the pipeline's handlers for delete requests and clicks.

    /pod delete pod X -> plan (exact uid; mirror pods refused) -> request stored -> message with
    Approve (confirm dialog) / Deny -> first valid click wins (compare-and-set in the store) ->
    delete with preconditions.uid as the approver -> the same message edited with the outcome

Every step is in the database before it is shown, so a restart loses nothing: a pending request
can still be approved after a restart, one that expired while podbot was down is marked expired
(and its message edited) by the sweeper's first run, and one left approved or half-executed by a
crash is finished by the sweeper — through the pipeline, so the gate checks it again. Every
decision and refusal is an audit record.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from podbot.app.audit import AuditTrail, IntentRecovery
from podbot.app.gate import Grant
from podbot.app.pipeline import Handler, Pipeline, outcome_of
from podbot.app.ports import Messenger, People
from podbot.core.errors import DeliveryFailed, Forbidden, NotFound, NotPermitted, PodbotError
from podbot.core.i18n import t
from podbot.core.manifests import load_manifests
from podbot.core.model import (
    CreateFromManifest,
    DecideApproval,
    Decision,
    DeletePod,
    DeleteSecret,
    Entry,
    ListApprovals,
    Origin,
    ResumeApproval,
    RunPod,
    Where,
)
from podbot.core.policy import ApprovalVerdict, approvers_for, explain_forbidden, judge_approval
from podbot.core.records import (
    Approval,
    ApprovalAction,
    ApprovalState,
    AuditAction,
    DeleteTarget,
    Intent,
    Requester,
)
from podbot.core.results import ApprovalDuplicate, ApprovalPosted, Changed, Notice, PendingApprovals, Posted
from podbot.core.settings import Settings
from podbot.k8s import actions
from podbot.k8s.api import Identity, Kube, path_for
from podbot.render.approvals import approval_message, approvers_text, when
from podbot.render.blocks import Rendered
from podbot.store.ports import ApprovalStore

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
"""How often (real seconds) the sweeper looks for requests whose time is up on the bot's clock."""
STUCK_AFTER = timedelta(minutes=2)
"""An approved request not finished after this long was abandoned by a crash: finish it."""

_MESSAGE_GONE = frozenset({"message_not_found", "channel_not_found", "cant_update_message", "is_archived"})
"""chat.update errors that another try cannot fix: the message (or its channel) is gone."""

_STATES = {Decision.APPROVE: ApprovalState.APPROVED, Decision.DENY: ApprovalState.DENIED}


class ApprovalFlow:
    """Delete requests, their buttons, expiry and recovery."""

    def __init__(
        self,
        settings: Settings,
        approvals: ApprovalStore,
        messenger: Messenger,
        people: People,
        audit: AuditTrail,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._approvals = approvals
        self._messenger = messenger
        self._people = people
        self._audit = audit
        self._now = now
        # One request per object at a time: check-then-create is serialised within this process.
        self._creating = threading.Lock()

    def handlers(self) -> dict[type, Handler]:
        return {
            DeletePod: self.request_delete,
            DeleteSecret: self.request_delete,
            ListApprovals: self.list_pending,
            DecideApproval: self.decide,
            ResumeApproval: self.resume,
        }

    # --- asking ------------------------------------------------------------------------------
    def request_delete(
        self, request: DeletePod | DeleteSecret, grant: Grant
    ) -> Changed | ApprovalPosted | ApprovalDuplicate:
        """Pin the object (uid), then delete at once (no approval needed here) or post the request."""
        kube, identity = grant.cluster, grant.identity
        if isinstance(request, DeletePod):
            target = actions.plan_delete_pod(request, kube, identity, grant.locale)
        else:
            target = actions.plan_delete_secret(request, kube, identity)
        if not self._settings.approvals.needs_approval(target.namespace):
            if grant.intent is not None:  # recovery must know which object the delete was for
                self._audit.pin(grant.intent, target.uid, grant.locale)
            return actions.delete_target(target, kube, identity)
        return self._post_request(target, grant)

    def request_create(
        self, request: RunPod | CreateFromManifest, grant: Grant
    ) -> ApprovalPosted | ApprovalDuplicate:
        """A create that breaks the channel's Pod Security level: it waits for an approver."""
        kube, locale = grant.cluster, grant.locale
        default = request.where.namespace or kube.default_namespace
        if isinstance(request, RunPod):
            manifest = json.dumps(actions.build_run_pod(request, default), separators=(",", ":"))
            kind, name, namespaces = "Pod", request.name, [default]
        else:
            assert request.manifest is not None  # a dialog opens first when it is None
            documents = load_manifests(request.manifest, locale=locale)
            if any(d.kind == "Secret" for d in documents):
                raise NotPermitted(t("approvals.create_secret_refused", locale), reason="pod_security")
            manifest, kind = request.manifest, documents[0].kind
            name = documents[0].name or documents[0].generate_name or "?"
            namespaces = sorted({d.namespace or default for d in documents})
        if len(set(namespaces)) != 1:
            raise NotPermitted(t("approvals.create_namespaces", locale, namespaces=", ".join(namespaces)))
        target = DeleteTarget(kube.context, kind, namespaces[0], name, uid="")
        violations = tuple((v.rule, v.detail) for v in grant.violations)
        return self._post_request(target, grant, manifest=manifest, violations=violations)

    def _post_request(
        self,
        target: DeleteTarget,
        grant: Grant,
        *,
        manifest: str | None = None,
        violations: tuple[tuple[str, str], ...] = (),
    ) -> ApprovalPosted | ApprovalDuplicate:
        """Store the request, then post its message with the buttons (closing it if Slack refuses)."""
        action = ApprovalAction.CREATE if manifest is not None else ApprovalAction.DELETE
        approvers = approvers_for(self._settings.approvals, target.namespace)
        if approvers is None:
            key = "approvals.no_approvers_create" if manifest is not None else "approvals.no_approvers"
            raise NotPermitted(t(key, grant.locale, namespace=target.namespace))
        origin = grant.origin
        with self._creating:
            now = self._now()
            existing = self._approvals.pending_for(target, now)
            if existing is not None and existing.action is action:
                return ApprovalDuplicate(existing, self._permalink(existing))
            approval = self._approvals.create(
                target,
                Requester(origin.team_id, origin.channel_id, origin.user_id),
                now=now,
                expires_at=now + timedelta(seconds=self._settings.approvals.expiry_seconds),
                action=action,
                manifest=manifest,
                violations=violations,
            )
        # The metadata's key lets Slack's message_metadata_posted event record a card Slack stored
        # although it did not confirm the post (DeliveryUncertain: closed below, never re-posted).
        metadata = {"event_type": "podbot_approval", "event_payload": {"key": f"approval:{approval.id}"}}
        try:
            ts = self._messenger.post(
                origin.channel_id, self._message(approval, grant.locale), metadata=metadata
            )
        except DeliveryFailed as exc:
            # Never leave an invisible request that could still be approved: close it now.
            self._approvals.decide(approval.id, ApprovalState.DENIED, "", self._now())
            raise DeliveryFailed(t("approvals.post_failed", grant.locale, error=exc.code), exc.code) from exc
        self._approvals.set_message(approval.id, origin.channel_id, ts)
        return ApprovalPosted(approval, approvers)  # the pipeline audits the request

    def card_seen(self, approval_id: int, channel: str, ts: str) -> None:
        """Slack stored this request's card (its message_metadata_posted event). When the post's
        answer was lost the request was closed at once: record the card and mark it stale, so the
        sweeper edits it to its final state instead of leaving live buttons (a pending request's
        next step edits it anyway)."""
        approval = self._approvals.get(approval_id)
        if approval is None or approval.message_ts:
            return
        self._approvals.set_message(approval_id, channel, ts)
        self._approvals.mark_stale(approval_id, True)

    def list_pending(self, request: ListApprovals, grant: Grant) -> PendingApprovals:
        """``/pod approvals``: the requests waiting in this channel."""
        return PendingApprovals(tuple(self._approvals.pending(grant.origin.channel_id, self._now())))

    # --- clicks ------------------------------------------------------------------------------
    def decide(self, request: DecideApproval, grant: Grant) -> Notice | Posted:
        """An Approve or Deny click the gate let through: decide once, then act and report."""
        approval = grant.approval
        assert approval is not None  # the gate loads it for every DecideApproval
        clicker = grant.origin
        if approval.state is ApprovalState.PENDING and approval.expires_at <= self._now():
            self.expire_due()  # due but not swept yet: expire it (and edit its message) right now
            approval = self._approvals.get(approval.id) or approval
        if approval.state is not ApprovalState.PENDING:
            return self._explain_state(approval)
        decision = _STATES[request.decision]
        self._check_decider(approval, clicker, decision, grant.locale)
        if not self._approvals.decide(approval.id, decision, clicker.user_id, self._now()):
            # Someone else decided first (or time ran out between the read and the write).
            self.expire_due()
            return self._explain_state(self._approvals.get(approval.id) or approval)
        decided = self._approvals.get(approval.id) or approval
        if decision is ApprovalState.DENIED:
            self._record(AuditAction.DENY, decided, clicker, "denied")
            self._update(decided)
            return Posted()
        self._record(AuditAction.APPROVE, decided, clicker, "approved")
        self._update(decided)
        if self._approvals.start(decided.id):
            self._run_change(decided, grant.cluster, grant.identity, grant.locale)
        return Posted()

    def _check_decider(
        self, approval: Approval, clicker: Origin, decision: ApprovalState, locale: str
    ) -> None:
        """``NotPermitted`` (its reason the audit outcome) when this click may not decide the request."""
        namespace = approval.target.namespace
        requester = approval.requester.user_id
        if decision is ApprovalState.DENIED and clicker.user_id == requester:
            return  # the requester may always withdraw their own request
        approvers = approvers_for(self._settings.approvals, namespace)
        groups = self._people.groups_of(clicker.user_id, approvers.usergroups) if approvers else frozenset()
        verdict = judge_approval(self._settings.approvals, namespace, clicker.user_id, groups, requester)
        who = approvers_text(approvers)
        if verdict is ApprovalVerdict.APPROVE:
            return
        if verdict is ApprovalVerdict.SELF_APPROVAL:
            message = t("approvals.click_self_approval", locale, who=who)
        elif verdict is ApprovalVerdict.NO_APPROVERS:
            message = t("approvals.click_no_approvers", locale, namespace=namespace, id=approval.id)
        else:
            message = t(
                "approvals.click_not_an_approver", locale, id=approval.id, namespace=namespace, who=who
            )
        raise NotPermitted(message, reason=verdict.value)

    def _explain_state(self, approval: Approval) -> Notice:
        """The private answer to a click that came too late; heals a message left stale."""
        state = approval.state
        if state.final:
            # Final states never change again, so re-rendering cannot overwrite a newer outcome;
            # it repairs a message whose earlier edit Slack did not take (e.g. down at expiry).
            self._update(approval)
        if state is ApprovalState.EXPIRED:
            return Notice(
                "approvals.click_already_expired",
                {"id": approval.id, "when": when(approval.expires_at, self._timezone(approval))},
            )
        if state is ApprovalState.DENIED and not approval.decided_by:  # its card was never confirmed
            return Notice("approvals.click_closed_unposted", {"id": approval.id})
        key = (
            "approvals.click_already_denied"
            if state is ApprovalState.DENIED
            else "approvals.click_already_approved"
        )
        return Notice(key, {"id": approval.id, "user": approval.decided_by or "-"})

    # --- deleting ----------------------------------------------------------------------------
    def resume(self, request: ResumeApproval, grant: Grant) -> Posted:
        """The sweeper's request: finish a change that a crash left approved or half-executed.

        An approved request never started its change: run it. An executing one is settled from
        its intent and the cluster: no intent means the API call was never sent (run it); a
        settled intent means the outcome is in the audit log (finish the request with it); an
        open intent of a delete whose pinned uid is gone (404, replaced, terminating) means our
        delete landed: it is done, "deleted" (and a held create whose object exists, "created").
        Otherwise the change is sent again under the same intent (a delete's uid precondition
        makes that safe)."""
        approval = grant.approval
        assert approval is not None
        if approval.state is ApprovalState.APPROVED and not self._approvals.start(approval.id):
            return Posted()
        if approval.state is ApprovalState.APPROVED:
            self._run_change(approval, grant.cluster, grant.identity, grant.locale)
        elif approval.state is ApprovalState.EXECUTING:
            intent = self._audit.intent_of(approval.id)
            if intent is not None and intent.settled_at is not None:
                self._finish(approval, intent.outcome, "")
            elif intent is not None and (landed := self._landed(approval, grant.cluster)):
                detail = t("approvals.recovered", grant.locale)
                self._conclude(approval, ApprovalState.DONE, landed, detail, grant.identity, intent)
            else:
                detail = t("approvals.interrupted", grant.locale)
                self._run_change(approval, grant.cluster, grant.identity, grant.locale, detail, intent)
        return Posted()

    def _landed(self, approval: Approval, kube: Kube) -> str | None:
        """The outcome the cluster shows for a change whose API call may have been sent: "deleted"
        when the approved uid is gone (404, replaced, terminating), "created" when the held
        create's object exists; None when the change did not land (or cannot be told)."""
        target = approval.target
        plural = {"Pod": "pods", "Secret": "secrets"}.get(target.kind)
        if plural is None:
            return None
        try:
            metadata = kube.get(path_for("v1", plural, target.namespace, target.name)).get("metadata", {})
        except NotFound:
            metadata = {}
        if approval.action is ApprovalAction.CREATE:
            return "created" if metadata else None
        gone = metadata.get("uid") != target.uid or bool(metadata.get("deletionTimestamp"))
        return "deleted" if gone else None

    def abandon(self, approval: Approval, error: PodbotError) -> None:
        """An approved request the gate will not let finish any more (e.g. its cluster is gone)."""
        if self._approvals.finish(
            approval.id,
            ApprovalState.FAILED,
            outcome=outcome_of(error),
            detail=error.message,
            now=self._now(),
        ):
            self._update(self._approvals.get(approval.id) or approval)

    def _run_change(
        self,
        approval: Approval,
        kube: Kube,
        identity: Identity | None,
        locale: str,
        detail: str = "",
        intent: Intent | None = None,
    ) -> None:
        """executing -> done | failed, audited as the requester's change, approved by the approver.

        The intent is written before the API call (``NothingChanged`` when the store cannot take
        it: then nothing is sent and the request stays executing for the sweeper)."""
        target = approval.target
        creating = approval.action is ApprovalAction.CREATE
        if intent is None:
            intent = self._audit.intend(
                _action(approval),
                _requester_origin(approval),
                locale,
                context=target.context,
                namespace=target.namespace,
                kind=target.kind,
                name=target.name,
                uid=target.uid,
                text=_change_text(approval),
                identity=identity,
                approval_id=approval.id,
            )
        state, outcome = ApprovalState.DONE, "created" if creating else "deleted"
        try:
            if creating:
                request = CreateFromManifest(
                    manifest=approval.manifest, where=Where(target.context, target.namespace)
                )
                actions.create_from_manifest(request, kube, identity, locale)
            else:
                actions.delete_target(target, kube, identity)
        except NotFound as exc:
            if creating:  # e.g. the namespace is gone
                state, outcome, detail = ApprovalState.FAILED, "not_found", exc.localized(locale)
            else:
                outcome = "not_found"  # already gone: nothing left to do, so the request is done
        except PodbotError as exc:
            # conflict: replaced (the uid did not match); forbidden: the cluster's RBAC; ...
            # The outcome is shown to the whole channel: name the identity, not "you".
            explained = isinstance(exc, Forbidden) and explain_forbidden(
                exc.message, identity.user if identity else None, locale, second_person=False
            )
            state, outcome, detail = ApprovalState.FAILED, outcome_of(exc), explained or exc.localized(locale)
        except Exception:  # a bug must still end the request and say so
            log.exception("unexpected error carrying out approval %s", approval.id)
            state, outcome = ApprovalState.FAILED, "error"
            detail = detail or "internal error"
        self._conclude(approval, state, outcome, detail, identity, intent)

    def _conclude(
        self,
        approval: Approval,
        state: ApprovalState,
        outcome: str,
        detail: str,
        identity: Identity | None,
        intent: Intent | None,
    ) -> None:
        """The change's audit record (settling its intent), then the request's end and its message.

        When the store cannot take the record, the request stays executing with its intent open,
        and the sweeper settles it from the cluster (``resume``): the change happened, so the
        clicker is not told to try again."""
        approved_by = f"approved by {approval.decided_by}" if approval.decided_by else ""
        try:
            self._record(
                _action(approval),
                approval,
                _requester_origin(approval),
                outcome,
                text=_change_text(approval),
                identity=identity,
                detail="; ".join(d for d in (approved_by, detail) if d),
                settles=intent,
            )
        except PodbotError as exc:
            if intent is None:
                raise
            log.warning(
                "approval %s: outcome %s not written (%s); the sweeper settles it",
                approval.id,
                outcome,
                exc.message,
            )
            return
        self._finish(approval, outcome, detail, state)

    def _finish(
        self, approval: Approval, outcome: str, detail: str, state: ApprovalState | None = None
    ) -> None:
        """executing -> ``state`` (without one: as the outcome of a settled intent says)."""
        if state is None:
            deleting = approval.action is ApprovalAction.DELETE
            done = outcome in ("deleted", "created") or (outcome == "not_found" and deleting)
            state = ApprovalState.DONE if done else ApprovalState.FAILED
        self._approvals.finish(approval.id, state, outcome=outcome, detail=detail, now=self._now())
        finished = self._approvals.get(approval.id)
        if finished is not None:
            self._update(finished)

    # --- time --------------------------------------------------------------------------------
    def expire_due(self) -> int:
        """Expire due requests (editing their messages); how many."""
        expired = self._approvals.expire_due(self._now())
        for approval in expired:
            self._record(
                AuditAction.EXPIRE,
                approval,
                _requester_origin(approval),
                "expired",
                detail="no decision in time",
            )
            self._update(approval)
        return len(expired)

    def stuck(self) -> list[Approval]:
        """Requests a crash left approved or half-executed (older than ``STUCK_AFTER``)."""
        cutoff = self._now() - STUCK_AFTER
        return [
            approval
            for state in (ApprovalState.APPROVED, ApprovalState.EXECUTING)
            for approval in self._approvals.in_state(state)
            if approval.decided_at is not None and approval.decided_at <= cutoff
        ]

    # --- Slack -------------------------------------------------------------------------------
    def _locale(self, approval: Approval) -> str:
        channel = approval.requester.channel_id
        return self._settings.locale_for(channel, self._people.channel_name(channel))

    def _timezone(self, approval: Approval) -> str:
        channel = approval.requester.channel_id
        return self._settings.timezone_for(channel, self._people.channel_name(channel))

    def _message(self, approval: Approval, locale: str) -> Rendered:
        return approval_message(
            approval,
            locale,
            approvers_for(self._settings.approvals, approval.target.namespace),
            runs_as_approver=self._settings.identity.enabled,
            timezone=self._timezone(approval),
        )

    def _update(self, approval: Approval) -> None:
        """Edit the request message in place to show ``approval``'s state.

        When Slack does not take the edit, the approval is marked stale, so that the sweeper
        edits it again (``repair_messages``) instead of leaving live buttons behind."""
        if not approval.message_channel or not approval.message_ts:
            return
        try:
            self._messenger.update(
                approval.message_channel, approval.message_ts, self._message(approval, self._locale(approval))
            )
        except DeliveryFailed as exc:
            gone = exc.code in _MESSAGE_GONE  # nothing left to repair: do not retry for ever
            log.warning(
                "could not update approval %s's message%s: %s",
                approval.id,
                "" if gone else " (will retry)",
                exc.code,
            )
            if not gone or approval.message_stale:
                self._mark_stale(approval, not gone)
            return
        if approval.message_stale:
            self._mark_stale(approval, False)

    def _mark_stale(self, approval: Approval, stale: bool) -> None:
        try:
            self._approvals.mark_stale(approval.id, stale)
        except PodbotError as exc:  # the store is down too: the message stays as it is
            log.warning("could not mark approval %s's message stale=%s: %s", approval.id, stale, exc.message)

    def repair_messages(self) -> int:
        """Edit again the messages whose last edit failed; how many were marked stale.

        Only final states are re-rendered: they never change again, so a repair cannot overwrite
        a newer outcome written meanwhile; a request still in progress is edited by its next step."""
        stale = self._approvals.stale_messages()
        for approval in stale:
            self._update(approval)
        return len(stale)

    def _permalink(self, approval: Approval) -> str | None:
        if not approval.message_channel or not approval.message_ts:
            return None
        return self._messenger.permalink(approval.message_channel, approval.message_ts)

    def _record(
        self,
        action: AuditAction,
        approval: Approval,
        who: Origin,
        outcome: str,
        *,
        text: str = "",
        identity: Identity | None = None,
        detail: str = "",
        settles: Intent | None = None,
    ) -> None:
        target = approval.target
        self._audit.record(
            action,
            who,
            outcome,
            context=target.context,
            namespace=target.namespace,
            kind=target.kind,
            name=target.name,
            uid=target.uid,
            text=text,
            identity=identity,
            detail=detail,
            approval_id=approval.id,
            settles=settles,
        )


def _action(approval: Approval) -> AuditAction:
    """The audit action of the approved change."""
    if approval.action is ApprovalAction.CREATE:
        return AuditAction.CREATE
    return AuditAction.DELETE if approval.target.kind == "Pod" else AuditAction.SECRET_DELETE


def _change_text(approval: Approval) -> str:
    return f"{_request_text(approval)} (request #{approval.id})"


def _request_text(approval: Approval) -> str:
    target = approval.target
    return f"{approval.action.value} {target.kind.lower()} {target.name} -n {target.namespace}"


def _requester_origin(approval: Approval) -> Origin:
    requester = approval.requester
    return Origin(requester.team_id, requester.channel_id, requester.user_id, Entry.SCHEDULE)


class ApprovalSweeper:
    """A small thread: at start and every ``seconds`` (or when woken) expire due requests and send
    the ones a crash left behind back through the pipeline (as their approver, so the gate checks)."""

    def __init__(
        self,
        flow: ApprovalFlow,
        pipeline: Pipeline,
        seconds: float = SWEEP_SECONDS,
        *,
        recovery: IntentRecovery | None = None,
    ) -> None:
        """``recovery`` settles the other changes a crash left half-written (``audit.IntentRecovery``)."""
        self._flow = flow
        self._pipeline = pipeline
        self._recovery = recovery
        self._seconds = seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podbot-approval-sweeper", daemon=True)

    def start(self) -> ApprovalSweeper:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Sweep now (e.g. after a test moved the clock), without waiting for the next tick."""
        self._wake.set()

    def sweep(self) -> None:
        self._flow.expire_due()
        for approval in self._flow.stuck():
            log.warning("approval %s was interrupted (%s); finishing it", approval.id, approval.state.value)
            requester = approval.requester
            approver = Origin(
                requester.team_id, requester.channel_id, approval.decided_by or "", Entry.SCHEDULE
            )
            answer = self._pipeline.handle(ResumeApproval(approval.id), approver)
            if isinstance(answer.error, NotPermitted | NotFound):
                log.warning("approval %s cannot be finished: %s", approval.id, answer.error.message)
                self._flow.abandon(approval, answer.error)
            elif answer.error is not None:  # e.g. the cluster is down: the next sweep tries again
                log.warning("approval %s not finished yet: %s", approval.id, answer.error.message)
        self._flow.repair_messages()
        if self._recovery is not None:
            self._recovery.settle_abandoned()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except PodbotError as exc:
                log.warning("approval sweep skipped: %s", exc.message)
            except Exception:  # keep sweeping; the next tick may succeed
                log.exception("approval sweep failed")
            self._wake.wait(self._seconds)
            self._wake.clear()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
