"""Deletes behind approval buttons.

    /pod delete pod X -> plan (exact uid; mirror pods refused) -> request stored -> message with
    Approve (confirm dialog) / Deny -> first valid click wins (compare-and-set in the store) ->
    delete with preconditions.uid as the approver -> the same message edited with the outcome

Every step is in the database before it is shown, so a restart loses nothing: a pending request
can still be approved after a restart, one that expired while podbot was down is marked expired
(and its message edited) by the sweep at start-up, and one left approved or half-executed by a
crash is finished by the sweeper. Every decision and refusal is an audit record.

``install(runtime)`` wires it all (and the audit view and per-user identity, issue 5) into a
``Runtime``; ``Runtime.stop`` stops the sweeper through ``ApprovalFlow.stop``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.app.audit import AuditView
from podbot.app.identity import SlackIdentities
from podbot.app.pipeline import Asker, Podbot, Reply, outcome_of
from podbot.core.errors import NotFound, NotPermitted, PodbotError
from podbot.core.i18n import t
from podbot.core.model import ListApprovals, Request, ShowAudit
from podbot.core.policy import ApprovalVerdict, approvers_for, check_verb, judge_approval
from podbot.core.records import Approval, ApprovalState, AuditAction, Requester
from podbot.core.results import DeleteTarget
from podbot.render.approvals import (
    APPROVE_ACTION,
    DENY_ACTION,
    approval_message,
    approvers_text,
    duplicate_notice,
    pending_list,
    posted_notice,
    when,
)
from podbot.render.blocks import Rendered, render_error, section
from podbot.slack.app import SlackBot, asker_from
from podbot.slack.directory import Directory
from podbot.slack.work import WorkPool
from podbot.store.approvals import Approvals
from podbot.store.database import StoreUnavailable

if TYPE_CHECKING:
    from podbot.server.runtime import Runtime

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
"""How often (real seconds) the sweeper looks for requests whose time is up on the bot's clock."""
STUCK_AFTER = timedelta(minutes=2)
"""An approved request not finished after this long was abandoned by a crash: finish it."""


class ApprovalFlow:
    """``bot.DeleteFlow``: the approval requests, their buttons, expiry and recovery."""

    def __init__(
        self,
        bot: Podbot,
        approvals: Approvals,
        client: WebClient,
        directory: Directory,
        pool: WorkPool,
        *,
        now: Callable[[], datetime],
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.bot = bot
        self.approvals = approvals
        self.client = client
        self.directory = directory
        self.pool = pool
        self.now = now
        self._settings = bot.settings.approvals
        # One request per object at a time: check-then-create is serialised within this process.
        self._creating = threading.Lock()
        # Channel names (policies and their locale may be keyed by #name), learned from requests
        # and clicks, else asked of Slack once: messages edited later speak the channel's language.
        self._channel_names: dict[str, str] = {}
        self.sweeper = Sweeper(self.sweep, sweep_seconds)

    # --- asking ------------------------------------------------------------------------------
    def request(self, target: DeleteTarget, asker: Asker, text: str, locale: str) -> Reply:
        """Post the request message (or point at the open one for the same object)."""
        self._learn(asker)
        approvers = approvers_for(self._settings, target.namespace)
        if approvers is None:
            raise NotPermitted(t("approvals.no_approvers", locale, namespace=target.namespace))
        with self._creating:
            now = self.now()
            existing = self.approvals.pending_for(target, now)
            if existing is not None:
                return Reply(duplicate_notice(existing, locale, self._permalink(existing)))
            approval = self.approvals.create(
                target,
                Requester(asker.team_id, asker.channel_id, asker.user_id),
                now=now,
                expires_at=now + timedelta(seconds=self._settings.expiry_seconds),
            )
        rendered = self._message(approval, locale)
        try:
            posted = self.client.chat_postMessage(
                channel=asker.channel_id, text=rendered.text, blocks=rendered.blocks
            )
        except SlackApiError as exc:
            error = _slack_error("chat.postMessage", exc)
            # Never leave an invisible request that could still be approved: close it now.
            self.approvals.decide(approval.id, ApprovalState.DENIED, "", self.now())
            self._audit(AuditAction.DELETE_REQUEST, approval, asker, "post_failed", text=text, detail=error)
            return Reply(render_error(t("approvals.post_failed", locale, error=error), locale))
        self.approvals.set_message(approval.id, str(posted["channel"]), str(posted["ts"]))
        self._audit(AuditAction.DELETE_REQUEST, approval, asker, "pending", text=text)
        return Reply(posted_notice(approval, locale, approvers))

    def list_pending(self, request: Request, asker: Asker) -> Reply:
        """``/pod approvals``: the requests waiting in this channel."""
        locale = self.bot.locale(asker)
        policy = self.bot.settings.channel_policy(asker.channel_id, asker.channel_name)
        check_verb(policy, request.verb, locale)
        return Reply(pending_list(self.approvals.pending(asker.channel_id, self.now()), locale))

    # --- clicks ------------------------------------------------------------------------------
    def click(self, approval_id: int, decision: ApprovalState, clicker: Asker) -> None:
        """An Approve or Deny click (on a worker thread): decide once, then act and report."""
        self._learn(clicker)
        locale = self.bot.locale(clicker)
        approval = self.approvals.get(approval_id)
        if approval is None:
            self._tell(clicker, t("approvals.click_unknown", locale, id=approval_id))
            return
        if approval.state is ApprovalState.PENDING and approval.expires_at <= self.now():
            self.sweep()  # due but not swept yet: expire it (and edit its message) right now
            approval = self.approvals.get(approval_id) or approval
        if approval.state is not ApprovalState.PENDING:
            self._explain_state(approval, clicker, locale)
            return
        refusal = self._refusal(approval, clicker, decision, locale)
        if refusal is not None:
            outcome, message = refusal
            self._audit(
                AuditAction.REFUSED_CLICK, approval, clicker, outcome, detail=f"{decision.value} refused"
            )
            self._tell(clicker, message)
            return
        if not self.approvals.decide(approval_id, decision, clicker.user_id, self.now()):
            # Someone else decided first (or time ran out between the read and the write).
            self.sweep()
            current = self.approvals.get(approval_id) or approval
            self._explain_state(current, clicker, locale)
            return
        decided = self.approvals.get(approval_id) or approval
        if decision is ApprovalState.DENIED:
            self._audit(AuditAction.DENY, decided, clicker, "denied")
            self._update(decided)
            return
        self._audit(AuditAction.APPROVE, decided, clicker, "approved")
        self._update(decided)
        self._execute(decided)

    def _refusal(
        self, approval: Approval, clicker: Asker, decision: ApprovalState, locale: str
    ) -> tuple[str, str] | None:
        """Why this click may not decide the request (outcome word, message), or None when it may."""
        namespace = approval.target.namespace
        approvers = approvers_for(self._settings, namespace)
        requester = approval.requester.user_id
        if decision is ApprovalState.DENIED and clicker.user_id == requester:
            return None  # the requester may always withdraw their own request
        groups = self.directory.groups_of(clicker.user_id, approvers.usergroups) if approvers else frozenset()
        verdict = judge_approval(self._settings, namespace, clicker.user_id, groups, requester)
        who = approvers_text(approvers)
        if verdict is ApprovalVerdict.APPROVE:
            if decision is ApprovalState.APPROVED and self.bot.identities is not None:
                # The delete will run as this approver: one podbot cannot map must not approve
                # (the request stays open for another approver instead of failing later).
                try:
                    self.bot.identities.identity(clicker)
                except NotPermitted as exc:
                    return "unmapped", str(exc)
            return None
        if verdict is ApprovalVerdict.SELF_APPROVAL:
            return verdict.value, t("approvals.click_self_approval", locale, who=who)
        if verdict is ApprovalVerdict.NO_APPROVERS:
            return verdict.value, t(
                "approvals.click_no_approvers", locale, namespace=namespace, id=approval.id
            )
        return verdict.value, t(
            "approvals.click_not_an_approver", locale, id=approval.id, namespace=namespace, who=who
        )

    def _explain_state(self, approval: Approval, clicker: Asker, locale: str) -> None:
        """The ephemeral answer to a click that came too late; heals a message left stale."""
        state = approval.state
        if state is ApprovalState.EXPIRED:
            text = t(
                "approvals.click_already_expired", locale, id=approval.id, when=when(approval.expires_at)
            )
        elif state is ApprovalState.DENIED:
            text = t(
                "approvals.click_already_denied", locale, id=approval.id, user=approval.decided_by or "-"
            )
        else:
            text = t(
                "approvals.click_already_approved", locale, id=approval.id, user=approval.decided_by or "-"
            )
        self._tell(clicker, text)
        if state.final:
            # Final states never change again, so re-rendering cannot overwrite a newer outcome;
            # it repairs a message whose earlier edit Slack did not take (e.g. down at expiry).
            self._update(approval)

    # --- deleting ----------------------------------------------------------------------------
    def _execute(self, approval: Approval) -> None:
        """approved -> executing -> done | failed: at most one worker runs the delete."""
        if not self.approvals.start(approval.id):
            return
        self._run_delete(approval)

    def _run_delete(self, approval: Approval, detail: str = "") -> None:
        target = approval.target
        asker = self._requester(approval)
        text = f"delete {target.kind.lower()} {target.name} -n {target.namespace} (request #{approval.id})"
        state, outcome = ApprovalState.DONE, "deleted"
        if target.context not in self.bot.clusters.contexts:
            state, outcome = ApprovalState.FAILED, "error"
            detail = t("approvals.unknown_cluster", self.bot.locale(asker), context=target.context)
        else:
            try:
                self.bot.delete_now(
                    target, asker, text, approved_by=approval.decided_by or "", approval_id=approval.id
                )
            except NotFound:
                outcome = "not_found"  # already gone: nothing left to do, so the request is done
            except PodbotError as exc:
                # conflict: replaced (the uid did not match); forbidden: the cluster's RBAC; ...
                state, outcome, detail = ApprovalState.FAILED, outcome_of(exc), str(exc)
            except Exception:  # a bug must still end the request and say so
                log.exception("unexpected error deleting for approval %s", approval.id)
                state, outcome = ApprovalState.FAILED, "error"
                detail = detail or "internal error"
        self.approvals.finish(approval.id, state, outcome=outcome, detail=detail, now=self.now())
        finished = self.approvals.get(approval.id)
        if finished is not None:
            self._update(finished)

    # --- time --------------------------------------------------------------------------------
    def sweep(self) -> int:
        """Expire due requests (editing their messages) and finish ones a crash left behind."""
        now = self.now()
        expired = self.approvals.expire_due(now)
        for approval in expired:
            asker = self._requester(approval)
            self._audit(AuditAction.EXPIRE, approval, asker, "expired", detail="no decision in time")
            self._update(approval)
        self._recover(now)
        return len(expired)

    def _recover(self, now: datetime) -> None:
        for approval in self.approvals.in_state(ApprovalState.APPROVED):
            if approval.decided_at is not None and approval.decided_at <= now - STUCK_AFTER:
                log.warning("approval %s was approved but never started; deleting now", approval.id)
                self._execute(approval)
        for approval in self.approvals.in_state(ApprovalState.EXECUTING):
            if approval.decided_at is not None and approval.decided_at <= now - STUCK_AFTER:
                # The delete may or may not have reached the API: repeating it is safe, because the
                # uid precondition makes a second delete of the same object a 404 at worst.
                log.warning("approval %s was interrupted while deleting; trying again", approval.id)
                locale = self.bot.locale(self._requester(approval))
                self._run_delete(approval, t("approvals.interrupted", locale))

    def stop(self, timeout: float = 5.0) -> None:
        self.sweeper.stop(timeout)

    # --- Slack -------------------------------------------------------------------------------
    def _learn(self, asker: Asker) -> None:
        if asker.channel_name:
            self._channel_names[asker.channel_id] = asker.channel_name

    def _requester(self, approval: Approval) -> Asker:
        """The requester, in the request's channel (with its name, for name-keyed policies)."""
        requester = approval.requester
        channel = requester.channel_id
        name = self._channel_names.get(channel)
        if name is None:
            try:
                info = self.client.conversations_info(channel=channel)
                name = self._channel_names[channel] = str((info.get("channel") or {}).get("name") or "")
            except SlackApiError as exc:  # not remembered: the next edit asks again
                _slack_error("conversations.info", exc)
                name = ""
        return Asker(requester.team_id, channel, requester.user_id, channel_name=name)

    def _message(self, approval: Approval, locale: str) -> Rendered:
        return approval_message(
            approval,
            locale,
            approvers_for(self._settings, approval.target.namespace),
            runs_as_approver=self.bot.settings.identity.enabled,
        )

    def _update(self, approval: Approval) -> None:
        """Edit the request message in place to show ``approval``'s state."""
        if not approval.message_channel or not approval.message_ts:
            return
        rendered = self._message(approval, self.bot.locale(self._requester(approval)))
        try:
            self.client.chat_update(
                channel=approval.message_channel,
                ts=approval.message_ts,
                text=rendered.text,
                blocks=rendered.blocks,
            )
        except SlackApiError as exc:
            _slack_error("chat.update", exc)

    def _tell(self, who: Asker, text: str) -> None:
        """A private answer to one person in the channel."""
        rendered = Rendered(text=text.replace("*", ""), blocks=[section(text)])
        try:
            self.client.chat_postEphemeral(
                channel=who.channel_id, user=who.user_id, text=rendered.text, blocks=rendered.blocks
            )
        except SlackApiError as exc:
            _slack_error("chat.postEphemeral", exc)

    def _permalink(self, approval: Approval) -> str | None:
        if not approval.message_channel or not approval.message_ts:
            return None
        try:
            response = self.client.chat_getPermalink(
                channel=approval.message_channel, message_ts=approval.message_ts
            )
        except SlackApiError as exc:
            _slack_error("chat.getPermalink", exc)
            return None
        return str(response.get("permalink") or "") or None

    def _audit(
        self,
        action: AuditAction,
        approval: Approval,
        who: Asker,
        outcome: str,
        *,
        text: str = "",
        detail: str = "",
    ) -> None:
        target = approval.target
        self.bot.audit.record(
            self.bot.audit_event(
                action,
                who,
                target.context,
                target.namespace,
                target.kind,
                target.name,
                target.uid,
                outcome,
                text=text,
                detail=detail,
                approval_id=approval.id,
            )
        )

    # --- listeners ---------------------------------------------------------------------------
    def register(self, app: App, slack: SlackBot) -> None:
        """Bolt listeners for the two buttons (a ``SlackBot.registrars`` entry)."""

        def listener(decision: ApprovalState) -> Callable[..., None]:
            def on_click(ack: Ack, body: dict[str, Any]) -> None:
                ack()
                clicker = asker_from(body)
                action = (body.get("actions") or [{}])[0]
                try:
                    approval_id = int(str(action.get("value") or ""))
                except ValueError:
                    log.warning("approval button with a bad value from %s", clicker.user_id)
                    return
                try:
                    self.pool.submit(lambda: self._click_safely(approval_id, decision, clicker))
                except RuntimeError:
                    self._tell(clicker, t("approvals.click_shutting_down", self.bot.locale(clicker)))

            return on_click

        app.action(APPROVE_ACTION)(listener(ApprovalState.APPROVED))
        app.action(DENY_ACTION)(listener(ApprovalState.DENIED))

    def _click_safely(self, approval_id: int, decision: ApprovalState, clicker: Asker) -> None:
        try:
            self.click(approval_id, decision, clicker)
        except PodbotError as exc:  # e.g. the database is unreachable: say so, change nothing
            self._tell(clicker, str(exc))
        except Exception:  # noqa: BLE001 - the last line of defence: apologise with an error id
            reply = self.bot.apologise(clicker, "approval click")
            self._tell(clicker, reply.rendered.text)


class Sweeper:
    """A small thread that runs ``sweep`` at start and then every ``seconds`` (or when woken)."""

    def __init__(self, sweep: Callable[[], int], seconds: float) -> None:
        self._sweep = sweep
        self._seconds = seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podbot-approval-sweeper", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Sweep now (e.g. after a test moved the clock), without waiting for the next tick."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sweep()
            except StoreUnavailable:
                log.warning("approval sweep skipped: the database is unavailable")
            except Exception:  # keep sweeping; the next tick may succeed
                log.exception("approval sweep failed")
            self._wake.wait(self._seconds)
            self._wake.clear()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def _slack_error(method: str, exc: SlackApiError) -> str:
    error = str(exc.response.get("error", "unknown"))
    metrics.SLACK_ERRORS.labels(method=method, error=error).inc()
    log.warning("Slack refused %s: %s", method, error)
    return error


def install(runtime: Runtime, *, sweep_seconds: float = SWEEP_SECONDS) -> ApprovalFlow:
    """Wire issue 5 into a runtime: approvals (flow, buttons, sweeper), audit view, per-user identity."""
    bot = runtime.bot
    bot.identities = SlackIdentities(runtime.settings, runtime.directory)
    flow = ApprovalFlow(
        bot,
        runtime.store.approvals,
        runtime.client,
        runtime.directory,
        runtime.pool,
        now=runtime.now,
        sweep_seconds=sweep_seconds,
    )
    bot.deletes = flow
    bot.extra_handlers[ListApprovals] = flow.list_pending
    bot.extra_handlers[ShowAudit] = AuditView(bot, runtime.store.audit, runtime.directory).show
    runtime.slack.registrars.append(flow.register)
    flow.sweeper.start()  # its first sweep, right away, catches what expired while podbot was down
    return flow
