"""Pure rendering of ``/pod audit``: audit records as message lines, or a file when they do not fit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from podbot.core.i18n import DEFAULT_LOCALE, catalog, t
from podbot.core.records import AuditEvent
from podbot.core.times import DEFAULT_TIMEZONE, show_time
from podbot.render.approvals import when
from podbot.render.blocks import (
    MAX_SECTION_TEXT,
    Block,
    Rendered,
    Upload,
    context,
    fits,
    kind_word,
    mrkdwn_escape,
    section,
)

MAX_DETAIL = 160
_QUIET_OUTCOMES = frozenset({"ok", "created", "deleted", "pending", "approved", "denied", "expired"})


def _stamp(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    return show_time(moment, timezone, seconds=True)


def _word(kind: str, value: str, locale: str | None) -> str:
    """An audit action or outcome in the reader's language; a word the catalog does not know
    (an outcome recorded by a newer podbot) as it was stored."""
    key = f"audit.{kind}.{value}"
    return t(key, locale) if key in catalog(DEFAULT_LOCALE) else value


def _object(event: AuditEvent, locale: str | None) -> str:
    if not event.name and not event.kind:
        return "-"
    path = f"{event.namespace}/{event.name}" if event.namespace else event.name
    text = f"{kind_word(event.kind, locale)} `{mrkdwn_escape(path)}`".strip()
    if not event.context:
        return text
    return t("audit.object_in_cluster", locale, object=text, context=mrkdwn_escape(event.context))


def audit_line(event: AuditEvent, locale: str | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """One record: when, who, what, on which object, with what outcome (and as whom, for which request)."""
    line = t(
        "audit.line",
        locale,
        when=f"`{_stamp(event.at, timezone)}`",
        user=event.user_id or "-",
        action=_word("action", event.action.value, locale),
        object=_object(event, locale),
        outcome=mrkdwn_escape(_word("outcome", event.outcome, locale) if event.outcome else "-"),
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


def _filters(
    locale: str | None, user: str | None, since: datetime | None, namespace: str | None, timezone: str
) -> str:
    text = ""
    if user:
        text += t("audit.filter_user", locale, user=user)
    if namespace:
        text += t("audit.filter_namespace", locale, namespace=namespace)
    if since is not None:
        text += t("audit.filter_since", locale, when=when(since, timezone))
    return text


def audit_list(
    events: Sequence[AuditEvent],
    locale: str | None,
    *,
    user: str | None = None,
    since: datetime | None = None,
    namespace: str | None = None,
    truncated: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    """``/pod audit``: newest first; a file with every line when they do not fit one message."""
    filters = _filters(locale, user, since, namespace, timezone)
    if not events:
        text = t("audit.none", locale, filters=filters)
        return Rendered(text=text.replace("*", ""), blocks=[section(text)])
    key = "audit.header_one" if len(events) == 1 else "audit.header"
    header = t(key, locale, count=len(events), filters=filters)
    blocks: list[Block] = [section(header)]
    chunk = ""
    for event in events:
        line = audit_line(event, locale, timezone)
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
