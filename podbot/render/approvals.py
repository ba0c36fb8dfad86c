"""Pure rendering of delete requests: the request message with its buttons, its outcomes, the list.

One message per request, edited in place as the request moves on (pending -> approved ->
deleted / not found / conflict / forbidden, or denied, or expired), so a channel never gets a
second message about the same delete. User input (the reason) is escaped: a reason cannot
ping ``<!channel>`` or fake a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from podbot.core.i18n import t
from podbot.core.policy import Approvers
from podbot.core.records import Approval, ApprovalAction, ApprovalState
from podbot.core.times import DEFAULT_TIMEZONE, show_time
from podbot.render.blocks import (
    Block,
    Rendered,
    button,
    context,
    kind_word,
    mrkdwn_escape,
    render_delete_target_summary,
    section,
)

APPROVE_ACTION = "approval_approve"
DENY_ACTION = "approval_deny"
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_FALLBACK = 3000
MAX_LISTED = 40  # /pod approvals: one section each, leaving room under the 50-block limit


def when(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """A time every reader sees in their own time zone (Slack date token); where a client cannot
    show the token, the fallback is in the channel's display time zone."""
    fallback = show_time(moment, timezone)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def approvers_text(approvers: Approvers | None) -> str:
    """Mentions of every approver (user groups ping their members); "-" when there are none."""
    if approvers is None:
        return "-"
    mentions = [f"<!subteam^{g}>" for g in sorted(approvers.usergroups)]
    mentions += [f"<@{u}>" for u in sorted(approvers.users)]
    return ", ".join(mentions) or "-"


def _kind(approval: Approval, locale: str | None) -> str:
    return kind_word(approval.target.kind, locale)


def _key(approval: Approval, key: str) -> str:
    """The catalog key of ``key``'s wording for this request: deletes and held creates differ."""
    return f"approvals.{key}_create" if approval.action is ApprovalAction.CREATE else f"approvals.{key}"


def _header(approval: Approval, locale: str | None) -> str:
    target = approval.target
    return t(
        _key(approval, "header"),
        locale,
        id=approval.id,
        kind=_kind(approval, locale),
        name=target.name,
        namespace=target.namespace,
    )


def _what(approval: Approval, locale: str | None) -> str:
    """Exactly what will be deleted (cluster, namespace, name, uid, owner, node), or for a held
    create: where, and each Pod Security rule it breaks."""
    if approval.action is ApprovalAction.CREATE:
        target = approval.target
        lines = [t("approvals.create_target", locale, kind=_kind(approval, locale), name=target.name,
                   namespace=target.namespace, context=target.context)]  # fmt: skip
        lines.append(t("podsecurity.held", locale))
        lines += [
            t(
                "podsecurity.line",
                locale,
                rule=t(f"podsecurity.rule.{rule}", locale),
                detail=mrkdwn_escape(detail),
            )
            for rule, detail in approval.violations
        ]
        return "\n".join(lines)
    text = render_delete_target_summary(approval.target, locale)
    if approval.target.node:
        text += "\n" + t("approvals.node", locale, node=approval.target.node)
    return text


def _confirm(approval: Approval, locale: str | None) -> Block:
    target = approval.target
    params = {
        "kind": _kind(approval, locale),
        "name": target.name,
        "namespace": target.namespace,
        "context": target.context,
    }
    return {
        "title": {
            "type": "plain_text",
            "text": t(_key(approval, "confirm_title"), locale, **params)[:MAX_CONFIRM_TITLE],
        },
        "text": {
            "type": "plain_text",
            "text": t(_key(approval, "confirm_text"), locale, **params)[:MAX_CONFIRM_TEXT],
        },
        "confirm": {"type": "plain_text", "text": t(_key(approval, "confirm_yes"), locale)},
        "deny": {"type": "plain_text", "text": t("approvals.confirm_no", locale)},
        "style": "danger",
    }


def request_message(
    approval: Approval,
    locale: str | None,
    approvers: Approvers | None,
    *,
    runs_as_approver: bool,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    """The pending request: what, who asked, why, until when, who can approve; Approve / Deny."""
    target = approval.target
    reason = (
        t("approvals.reason", locale, reason=mrkdwn_escape(target.reason))
        if target.reason
        else t("approvals.no_reason", locale)
    )
    fields = [
        t("approvals.requested_by", locale, user=approval.requester.user_id),
        reason,
        t("approvals.expires", locale, when=when(approval.expires_at, timezone)),
        t("approvals.approvers", locale, who=approvers_text(approvers)),
    ]
    notes = [t(_key(approval, "pinned"), locale, kind=_kind(approval, locale), uid=target.uid)]
    if runs_as_approver:
        notes.append(t("approvals.runs_as_approver", locale))
    value = str(approval.id)
    blocks: list[Block] = [
        section(_header(approval, locale)),
        section(_what(approval, locale)),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields]},
        context(" ".join(notes)),
        {
            "type": "actions",
            "block_id": f"approval-{approval.id}",
            "elements": [
                button(
                    t("approvals.approve_button", locale),
                    APPROVE_ACTION,
                    value,
                    style="primary",
                    confirm=_confirm(approval, locale),
                ),
                button(t("approvals.deny_button", locale), DENY_ACTION, value, style="danger"),
            ],
        },
    ]
    return Rendered(text=_plain(_header(approval, locale)), blocks=blocks)


def status_line(approval: Approval, locale: str | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Where the request stands, for the edited message ("" while pending)."""
    state = approval.state
    params = {
        "user": approval.decided_by or "",
        "kind": _kind(approval, locale),
        "name": approval.target.name,
    }
    if state is ApprovalState.PENDING:
        return ""
    if state in (ApprovalState.APPROVED, ApprovalState.EXECUTING):
        return t(_key(approval, "status_approved"), locale, **params)
    if state is ApprovalState.DENIED:
        if not approval.decided_by:  # closed by podbot: its card's post was refused or unconfirmed
            return t(_key(approval, "status_unposted"), locale)
        key = "status_withdrawn" if approval.decided_by == approval.requester.user_id else "status_denied"
        return t(_key(approval, key), locale, **params)
    if state is ApprovalState.EXPIRED:
        return t(_key(approval, "status_expired"), locale, when=when(approval.expires_at, timezone))
    detail = mrkdwn_escape(approval.detail or approval.outcome or "?")
    if approval.action is ApprovalAction.CREATE:
        key = "status_created" if approval.outcome == "created" else "status_error_create"
        return t(f"approvals.{key}", locale, detail=detail, **params)
    key = {
        "deleted": "status_deleted",
        "not_found": "status_not_found",
        "conflict": "status_conflict",
        "forbidden": "status_forbidden",
    }.get(approval.outcome, "status_error")
    return t(f"approvals.{key}", locale, detail=detail, **params)


def outcome_message(approval: Approval, locale: str | None, timezone: str = DEFAULT_TIMEZONE) -> Rendered:
    """The request after a decision or expiry: no buttons, the outcome in place of them."""
    target = approval.target
    reason = (
        t("approvals.requested_reason", locale, reason=mrkdwn_escape(target.reason)) if target.reason else ""
    )
    status = status_line(approval, locale, timezone)
    blocks: list[Block] = [
        section(_header(approval, locale)),
        section(_what(approval, locale)),
        section(status),
        context(t("approvals.requested_context", locale, user=approval.requester.user_id, reason=reason)),
    ]
    return Rendered(text=_plain(f"{_header(approval, locale)} {status}"), blocks=blocks)


def approval_message(
    approval: Approval,
    locale: str | None,
    approvers: Approvers | None,
    *,
    runs_as_approver: bool,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    """The message for the request's current state."""
    if approval.state is ApprovalState.PENDING:
        return request_message(
            approval, locale, approvers, runs_as_approver=runs_as_approver, timezone=timezone
        )
    return outcome_message(approval, locale, timezone)


def posted_notice(
    approval: Approval, locale: str | None, approvers: Approvers | None, *, timezone: str = DEFAULT_TIMEZONE
) -> Rendered:
    """The requester's private confirmation that the request is up and who will see it."""
    text = t(
        _key(approval, "posted"),
        locale,
        id=approval.id,
        who=approvers_text(approvers),
        when=when(approval.expires_at, timezone),
    )
    return Rendered(text=_plain(text), blocks=[section(text)])


def duplicate_notice(
    approval: Approval, locale: str | None, link: str | None, *, timezone: str = DEFAULT_TIMEZONE
) -> Rendered:
    """Someone asked again for an object that already has an open request: point at that one."""
    text = t(
        "approvals.duplicate",
        locale,
        kind=_kind(approval, locale),
        name=approval.target.name,
        id=approval.id,
        user=approval.requester.user_id,
        when=when(approval.expires_at, timezone),
        link=f"<{link}|#{approval.id}>" if link else "",
    ).rstrip()
    return Rendered(text=_plain(text), blocks=[section(text)])


def pending_list(
    approvals: Sequence[Approval], locale: str | None, *, timezone: str = DEFAULT_TIMEZONE
) -> Rendered:
    """``/pod approvals``: the channel's waiting requests, oldest first."""
    if not approvals:
        text = t("approvals.list_none", locale)
        return Rendered(text=text, blocks=[section(text)])
    key = "approvals.list_header_one" if len(approvals) == 1 else "approvals.list_header"
    header = t(key, locale, count=len(approvals))
    blocks: list[Block] = [section(header)]
    for approval in approvals[:MAX_LISTED]:
        target = approval.target
        reason = (
            t("approvals.requested_reason", locale, reason=mrkdwn_escape(target.reason))
            if target.reason
            else ""
        )
        item = t(
            "approvals.list_item",
            locale,
            id=approval.id,
            kind=_kind(approval, locale),
            name=target.name,
            namespace=target.namespace,
            context=target.context,
            user=approval.requester.user_id,
            reason=reason,
            when=when(approval.expires_at, timezone),
        )
        blocks.append(section(item[:3000]))
    if len(approvals) > MAX_LISTED:
        blocks.append(context(t("approvals.list_more", locale, count=len(approvals) - MAX_LISTED)))
    return Rendered(text=_plain(header), blocks=blocks)


def _plain(text: str) -> str:
    return text.replace("*", "")[:MAX_FALLBACK]
