"""Pure rendering: action results -> Slack messages (Block Kit), within Slack's limits.

Nothing here is silently truncated. When output does not fit a message (50 blocks, 3,000 chars per
section, ~13k chars of blocks in all) the ``Rendered`` message carries a short summary plus an
``Upload`` with the full text, which the Slack layer sends with ``files_upload_v2``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podbot.core.diagnosis.findings import Finding, Fix, FixKind, Severity, describe_finding
from podbot.core.i18n import DEFAULT_LOCALE, catalog, t
from podbot.core.kube import as_pod
from podbot.core.pods.describe import describe_text
from podbot.core.pods.status import pod_status
from podbot.core.podsecurity import violations_text
from podbot.core.records import DeleteTarget
from podbot.core.results import (
    Changed,
    HelpText,
    Logs,
    Notice,
    PodDescription,
    PodTable,
    RawOutput,
    StaticPods,
)

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_MESSAGE_BLOCKS_CHARS = 12_000  # Slack answers msg_blocks_too_long a little above 13k
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 3000
CODE_FENCE = "```"
DEFUSED_FENCE = "`\u200b``"

STATUS_EMOJI = {
    "Running": ":large_green_circle:",
    "Completed": ":white_check_mark:",
    "Succeeded": ":white_check_mark:",
    "Pending": ":hourglass_flowing_sand:",
    "ContainerCreating": ":hourglass_flowing_sand:",
    "PodInitializing": ":hourglass_flowing_sand:",
    "Terminating": ":wastebasket:",
}


def status_emoji(status: str) -> str:
    """Green for healthy, hourglass for on its way, red for anything kubectl shows as a problem."""
    if status in STATUS_EMOJI:
        return STATUS_EMOJI[status]
    if status.startswith("Init:") and status[5:6].isdigit():
        return ":hourglass_flowing_sand:"
    return ":red_circle:"


@dataclass(frozen=True)
class Upload:
    """Full output for ``files_upload_v2`` when it is too big for a message."""

    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Rendered:
    """A message ready for chat.postMessage / respond: fallback text, blocks, optional file."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    upload: Upload | None = None


# --- block builders ------------------------------------------------------------------------------
def mrkdwn_escape(text: str) -> str:
    """Escape the three characters Slack requires escaped in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's own mention syntax in podbot's catalog messages (a user, a user group, a channel) stays
# live; anything else that looks like markup (e.g. <!channel> in an API error) is shown as text.
_MENTION = re.compile(r"<(?:@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+|#C[A-Z0-9]+)>")


def escape_keeping_mentions(text: str) -> str:
    """``mrkdwn_escape``, except for user, user-group and channel mentions."""
    pieces, last = [], 0
    for match in _MENTION.finditer(text):
        pieces += [mrkdwn_escape(text[last : match.start()]), match.group(0)]
        last = match.end()
    return "".join([*pieces, mrkdwn_escape(text[last:])])


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def code(text: str) -> str:
    # A fence inside the text would end the code block early; a zero-width space defuses it.
    body = mrkdwn_escape(text).replace(CODE_FENCE, DEFUSED_FENCE)
    return f"{CODE_FENCE}\n{body}\n{CODE_FENCE}"


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:MAX_BUTTON_TEXT]},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def blocks_chars(blocks: Sequence[Block]) -> int:
    """Roughly what Slack counts for msg_blocks_too_long: the text inside the blocks."""
    total = 0
    for block in blocks:
        total += len(str(block))
    return total


def fits(blocks: Sequence[Block]) -> bool:
    """Whether a message with these blocks is within Slack's limits."""
    if len(blocks) > MAX_BLOCKS or blocks_chars(blocks) > MAX_MESSAGE_BLOCKS_CHARS:
        return False
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if len(text) > MAX_SECTION_TEXT:
            return False
    return True


def _with_code(header: str, body: str, filename: str, locale: str | None, title: str) -> Rendered:
    """A header and a code block, or a header and an upload when the code is too long."""
    blocks = [section(header), section(code(body))] if body else [section(header)]
    if fits(blocks):
        return Rendered(text=_plain(header), blocks=blocks)
    lines = body.count("\n") + 1
    note = t("blocks.uploaded", locale, lines=lines, filename=filename)
    return Rendered(
        text=_plain(header),
        blocks=[section(header), context(note)],
        upload=Upload(filename=filename, content=body, title=title),
    )


def _plain(text: str) -> str:
    return text.replace("*", "")[:MAX_FALLBACK_TEXT]


# --- results -------------------------------------------------------------------------------------
def align(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """kubectl's tabwriter layout: columns padded to the widest cell, three spaces apart."""
    widths = [len(c) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in [list(columns), *rows]
    ]
    return "\n".join(lines)


def render_pod_table(table: PodTable, locale: str | None = None) -> Rendered:
    where = t("blocks.all_namespaces", locale) if table.namespace is None else table.namespace
    if not table.rows:
        text = t("blocks.no_pods", locale, namespace=where, context=table.context)
        if table.missing:
            text = t("actions.pods_not_found", locale, names=", ".join(table.missing))
        return Rendered(text=text, blocks=[section(text)])
    status_index = table.columns.index("STATUS") if "STATUS" in table.columns else -1
    problems = sum(
        1 for row in table.rows if status_index >= 0 and status_emoji(row[status_index]) == ":red_circle:"
    )
    key = "blocks.pods_header_one" if len(table.rows) == 1 else "blocks.pods_header"
    header = t(key, locale, count=len(table.rows), namespace=where, context=table.context)
    if problems:
        header += "  " + t("blocks.pods_problems", locale, problems=problems)
    body = align(table.columns, table.rows)
    rendered = _with_code(header, body, "pods.txt", locale, "kubectl get pods")
    if table.missing:
        missing = t("actions.pods_not_found", locale, names=", ".join(table.missing))
        rendered.blocks.append(context(":warning: " + missing))
    return rendered


def render_raw(output: RawOutput, locale: str | None = None) -> Rendered:
    header = t("blocks.raw_header", locale, format=output.format.value, context=output.context)
    return _with_code(
        header,
        output.text.rstrip("\n"),
        f"pods.{output.format.value}",
        locale,
        f"kubectl get pods -o {output.format.value}",
    )


def render_changed(change: Changed, locale: str | None = None) -> Rendered:
    key = f"blocks.{change.verb}{'_dry_run' if change.dry_run else ''}"
    lines = [
        t(
            key,
            locale,
            kind=kind_word(o.kind, locale),
            name=o.name,
            namespace=o.namespace or "-",
            context=change.context,
        )
        for o in change.objects
    ]
    header = "\n".join(lines)
    notes = [context(":information_source: " + t(note, locale)) for note in change.notes]
    if change.pod_security is not None:
        if change.violations:
            verdict = violations_text(change.violations, change.pod_security, locale)
            notes.append(section(":shield: " + mrkdwn_escape(verdict)[:MAX_SECTION_TEXT]))
        else:
            notes.append(
                context(":shield: " + t("podsecurity.meets", locale, level=change.pod_security.value))
            )
    if change.printed is None:
        return Rendered(text=_plain(lines[0] if lines else ""), blocks=[section(header), *notes])
    # -o yaml|json|name: the object as kubectl prints it (the manifest, for a dry run)
    fmt = change.printed.format.value
    rendered = _with_code(
        header, change.printed.text.rstrip("\n"), f"pod.{fmt}", locale, f"kubectl run -o {fmt}"
    )
    rendered.blocks.extend(notes)
    return rendered


def render_logs(logs: Logs, locale: str | None = None) -> Rendered:
    key = "blocks.logs_previous_header" if logs.previous else "blocks.logs_header"
    header = t(key, locale, pod=logs.pod, container=logs.container, namespace=logs.namespace)
    text = logs.text.rstrip("\n")
    if not text:
        return Rendered(
            text=_plain(header), blocks=[section(header), context(t("blocks.logs_empty", locale))]
        )
    return _with_code(header, text, f"{logs.pod}-{logs.container}.log", locale, header)


def render_static_pods(static: StaticPods, locale: str | None = None) -> Rendered:
    if not static.pods:
        text = t("blocks.no_static_pods", locale, context=static.context)
        return Rendered(text=text, blocks=[section(text)])
    rows = [(p.namespace, p.name, p.node, p.source or "-", p.status) for p in static.pods]
    body = align(("NAMESPACE", "NAME", "NODE", "SOURCE", "STATUS"), rows)
    key = "blocks.static_header_one" if len(rows) == 1 else "blocks.static_header"
    header = t(key, locale, count=len(rows), context=static.context)
    rendered = _with_code(header, body, "static-pods.txt", locale, "static pods")
    rendered.blocks.append(context(":information_source: " + t("blocks.static_explain", locale)))
    return rendered


def render_help(help_text: HelpText, locale: str | None = None) -> Rendered:
    chunks = _split(help_text.text, MAX_SECTION_TEXT)
    return Rendered(text=_plain(chunks[0]), blocks=[section(mrkdwn_escape(c)) for c in chunks][:MAX_BLOCKS])


def render_notice(notice: Notice, locale: str | None = None) -> Rendered:
    text = t(notice.key, locale, **notice.params)
    return Rendered(text=_plain(text), blocks=[section(text)])


def kind_word(kind: str, locale: str | None) -> str:
    """An API kind as a word in a sentence: "pod" in English, "Pod" in Chinese."""
    key = f"kinds.{kind.lower()}"
    return t(key, locale) if key in catalog(DEFAULT_LOCALE) else kind.lower()


def render_error(message: str, locale: str | None = None) -> Rendered:
    """A PodbotError's message (already a sentence for the user)."""
    text = ":warning: " + escape_keeping_mentions(message)
    if len(text) <= MAX_SECTION_TEXT:
        return Rendered(text=_plain(text), blocks=[section(text)])
    # Too long for one section (e.g. an API server's list of causes): the start, and the whole as a file.
    head = _split(text, MAX_SECTION_TEXT - 100)[0]
    note = t("blocks.error_uploaded", locale, filename="error.txt")
    return Rendered(
        text=_plain(head),
        blocks=[section(head), context(note)],
        upload=Upload(filename="error.txt", content=message, title=t("blocks.error_title", locale)),
    )


def render_internal_error(error_id: str, locale: str | None = None) -> Rendered:
    text = ":x: " + t("error.internal", locale, error_id=error_id)
    return Rendered(text=text, blocks=[section(text)])


FIX_SECRET_ACTION = "fix_registry_secret"  # noqa: S105 - an action id, not a secret
FIX_LOGIN_ACTION = "fix_registry_login"  # opens the private "replace the login" dialog
FIX_ATTACH_ACTION = "fix_attach_pull_secret"  # runs `secret attach` (after a confirm)
MAX_FINDINGS_SHOWN = 5


def _value(**fields: str) -> str:
    return json.dumps(fields, separators=(",", ":"))


def fix_button(fix: Fix, context_name: str, locale: str | None) -> Block | None:
    """The one button that applies a fix, if it has one: create the secret (dialog), replace its
    login (private dialog) or attach it to the ServiceAccount (a confirm, then the change)."""
    if not fix.secret_name:
        return None
    where = {"namespace": fix.namespace, "context": context_name}
    if fix.opens_secret_modal:
        value = _value(name=fix.secret_name, server=fix.server, **where)
        label = t("blocks.fix_secret_button", locale, name=fix.secret_name)
        return button(label, FIX_SECRET_ACTION, value, style="primary")
    if fix.kind is FixKind.REPLACE_REGISTRY_LOGIN:
        value = _value(name=fix.secret_name, server=fix.server, **where)
        label = t("blocks.fix_login_button", locale, name=fix.secret_name)
        return button(label, FIX_LOGIN_ACTION, value, style="primary")
    if fix.kind is FixKind.ATTACH_PULL_SECRET:
        account = fix.service_account or "default"
        value = _value(name=fix.secret_name, service_account=account, **where)
        label = t("blocks.fix_attach_button", locale, name=fix.secret_name, service_account=account)
        params = {"name": fix.secret_name, "service_account": account, **where}
        confirm = {
            "title": {"type": "plain_text", "text": t("blocks.attach_confirm_title", locale)[:100]},
            "text": {"type": "mrkdwn", "text": t("blocks.attach_confirm_text", locale, **params)[:300]},
            "confirm": {"type": "plain_text", "text": t("blocks.attach_confirm_yes", locale)[:30]},
            "deny": {"type": "plain_text", "text": t("blocks.attach_confirm_no", locale)[:30]},
        }
        return button(label, FIX_ATTACH_ACTION, value, style="primary", confirm=confirm)
    return None


MAX_LOG_TAIL_CHARS = 1500  # ten lines of a crashed run, each already clipped to 300


def log_tail_block(finding: Finding, locale: str | None) -> Block | None:
    """The last lines the crashed container wrote (already redacted), as a code block."""
    lines = finding.evidence.log_tail
    if not lines:
        return None
    header = t("blocks.log_tail_header", locale, container=finding.container, pod=finding.pod)
    body = "\n".join(lines)
    if len(body) > MAX_LOG_TAIL_CHARS:
        body = "…" + body[-MAX_LOG_TAIL_CHARS:]
    return section(f"{mrkdwn_escape(header)}\n{code(body)}")


def finding_blocks(finding: Finding, context_name: str, locale: str | None) -> list[Block]:
    """One finding: cause, fix, the evidence it rests on, and the fix button when there is one."""
    cause, fix_text = describe_finding(finding, locale)
    icon = ":red_circle:" if finding.severity is Severity.CRITICAL else ":warning:"
    where = finding.pod + (f" / `{finding.container}`" if finding.container else "")
    text = f"{icon} *{mrkdwn_escape(where)}*: {mrkdwn_escape(cause)}"
    if fix_text:
        text += "\n:wrench: " + mrkdwn_escape(fix_text)
    blocks = [section(text[:MAX_SECTION_TEXT])]
    if finding.evidence.message:
        blocks.append(context("> " + mrkdwn_escape(finding.evidence.message[:600])))
    logs = log_tail_block(finding, locale)
    if logs is not None:
        blocks.append(logs)
    buttons = [b for b in (fix_button(f, context_name, locale) for f in finding.fixes) if b is not None]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:5]})
    return blocks


def render_description(desc: PodDescription, locale: str | None = None, *, now: datetime) -> Rendered:
    meta = desc.pod.get("metadata") or {}
    status = pod_status(as_pod(desc.pod))
    header = t(
        "blocks.describe_header",
        locale,
        emoji=status_emoji(status),
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        context=desc.context,
        status=status,
    )
    blocks = [section(header)]
    for finding in desc.findings[:MAX_FINDINGS_SHOWN]:
        blocks += finding_blocks(finding, desc.context, locale)
    if not desc.findings:
        blocks.append(context(":white_check_mark: " + t("blocks.describe_healthy", locale)))
    body = describe_text(desc.pod, desc.events, now)
    candidate = [*blocks, section(code(body))]
    if fits(candidate):
        return Rendered(text=_plain(header), blocks=candidate)
    blocks.append(context(t("blocks.uploaded", locale, lines=body.count("\n") + 1, filename="describe.txt")))
    return Rendered(
        text=_plain(header),
        blocks=blocks,
        upload=Upload(
            filename=f"describe-{meta.get('name', 'pod')}.txt",
            content=body,
            title=f"kubectl describe pod {meta.get('name', '')}",
        ),
    )


def render_delete_target_summary(target: DeleteTarget, locale: str | None = None) -> str:
    """One line naming exactly what would be deleted (used by the approval message)."""
    line = t(
        "blocks.delete_target",
        locale,
        kind=kind_word(target.kind, locale),
        name=target.name,
        namespace=target.namespace,
        context=target.context,
        uid=target.uid,
    )
    if target.owner_kind:
        line += "\n" + t(
            "blocks.delete_owner_recreates",
            locale,
            owner_kind=target.owner_kind,
            owner_name=target.owner_name,
        )
    return line


def _split(text: str, limit: int) -> list[str]:
    """Split on line boundaries into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for raw_line in text.splitlines(keepends=True):
        line = raw_line
        while len(line) > limit:
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current or not pieces:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces]
