"""Pure rendering of ``/pod audit``: audit records as message lines, or a file when they do not fit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from podbot.core.i18n import t
from podbot.core.records import AuditEvent
from podbot.render.approvals import when
from podbot.render.blocks import (
    MAX_SECTION_TEXT,
    Block,
    Rendered,
    Upload,
    context,
    fits,
    mrkdwn_escape,
    section,
)

MAX_DETAIL = 160
_QUIET_OUTCOMES = frozenset({"ok", "created", "deleted", "pending", "approved", "denied", "expired"})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _object(event: AuditEvent) -> str:
    if not event.name and not event.kind:
        return "-"
    path = f"{event.namespace}/{event.name}" if event.namespace else event.name
    text = f"{event.kind.lower()} `{mrkdwn_escape(path)}`".strip()
    return f"{text} ({mrkdwn_escape(event.context)})" if event.context else text


def audit_line(event: AuditEvent, locale: str | None) -> str:
    """One record: when, who, what, on which object, with what outcome (and as whom, for which request)."""
    line = t(
        "audit.line",
        locale,
        when=f"`{_stamp(event.at)}`",
        user=event.user_id or "-",
        action=event.action.value,
        object=_object(event),
        outcome=mrkdwn_escape(event.outcome or "-"),
    )
    if event.kube_user:
        identity = event.kube_user + (f" [{', '.join(event.kube_groups)}]" if event.kube_groups else "")
        line += t("audit.as_identity", locale, identity=mrkdwn_escape(identity))
    if event.approval_id is not None:
        line += t("audit.request_ref", locale, id=event.approval_id)
    if event.detail and event.outcome not in _QUIET_OUTCOMES:
        detail = event.detail if len(event.detail) <= MAX_DETAIL else event.detail[: MAX_DETAIL - 1] + "…"
        line += f" — _{mrkdwn_escape(detail)}_"
    return line


def _plain_line(event: AuditEvent) -> str:
    """The same record for the attached file (no Slack markup)."""
    parts = [
        _stamp(event.at),
        event.user_id or "-",
        event.action.value,
        f"{event.kind}/{event.namespace}/{event.name}@{event.context}" if event.name else "-",
        event.outcome or "-",
        event.kube_user or "-",
        f"request #{event.approval_id}" if event.approval_id is not None else "-",
        event.detail.replace("\n", " ") or "-",
    ]
    return "\t".join(parts)


def _filters(locale: str | None, user: str | None, since: datetime | None, namespace: str | None) -> str:
    text = ""
    if user:
        text += t("audit.filter_user", locale, user=user)
    if namespace:
        text += t("audit.filter_namespace", locale, namespace=namespace)
    if since is not None:
        text += t("audit.filter_since", locale, when=when(since))
    return text


def audit_list(
    events: Sequence[AuditEvent],
    locale: str | None,
    *,
    user: str | None = None,
    since: datetime | None = None,
    namespace: str | None = None,
    truncated: bool = False,
) -> Rendered:
    """``/pod audit``: newest first; a file with every line when they do not fit one message."""
    filters = _filters(locale, user, since, namespace)
    if not events:
        text = t("audit.none", locale, filters=filters)
        return Rendered(text=text.replace("*", ""), blocks=[section(text)])
    key = "audit.header_one" if len(events) == 1 else "audit.header"
    header = t(key, locale, count=len(events), filters=filters)
    blocks: list[Block] = [section(header)]
    chunk = ""
    for event in events:
        line = audit_line(event, locale)
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            blocks.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line[:MAX_SECTION_TEXT]
    if chunk:
        blocks.append(section(chunk))
    if truncated:
        blocks.append(context(t("audit.more", locale, count=len(events))))
    if fits(blocks):
        return Rendered(text=header.replace("*", ""), blocks=blocks)
    body = "\n".join(_plain_line(e) for e in events)
    note = t("blocks.uploaded", locale, lines=len(events), filename="audit.tsv")
    return Rendered(
        text=header.replace("*", ""),
        blocks=[section(header), context(note)],
        upload=Upload(filename="audit.tsv", content=body, title="podbot audit"),
    )
