"""Pure rendering of digests and alerts (podbot.core.digests) as Slack messages, within Slack's limits.

A digest must fit one message (50 blocks, ~13k characters of blocks) however big the cluster:
lists are shortened until ``blocks.fits`` says yes, and whenever something was left out the
complete list goes into an attached text file (``Rendered.upload``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from podbot.core.diagnosis.findings import Finding, FindingKind, Severity, describe_finding
from podbot.core.digests import AlertGroup, Changes, HealthDigest, ImageFailure, Mark, PullDigest, Scope
from podbot.core.i18n import t
from podbot.core.model import DigestKind
from podbot.core.pods.status import duration_text
from podbot.core.records import Schedule
from podbot.core.results import AlertsChanged, SubscriptionChanged, SubscriptionList
from podbot.core.times import DEFAULT_TIMEZONE, show_time
from podbot.render.blocks import (
    MAX_SECTION_TEXT,
    Block,
    Rendered,
    Upload,
    context,
    fits,
    fix_button,
    log_tail_block,
    mrkdwn_escape,
    section,
)

ONE_LINE = 220  # characters of a cause sentence in a one-line list entry


def _time(when: datetime, timezone: str) -> str:
    return show_time(when, timezone)


def _pods(count: int, locale: str | None) -> str:
    return t("digests.pods_one", locale) if count == 1 else t("digests.pods_many", locale, count=count)


def scope_text(scope: Scope, locale: str | None) -> str:
    if not scope.namespaces:
        return t("digests.scope_all", locale)
    return t("digests.scope_some", locale, namespaces=", ".join(scope.namespaces))


def kind_label(kind: str, cause: str, locale: str | None) -> str:
    """ "image pull failure (no registry login)": a finding kind and its cause, short."""
    label = t(f"digests.kind.{kind}", locale) if kind else "?"
    if cause:
        return t("digests.kind_cause", locale, kind=label, cause=t(f"digests.cause.{cause}", locale))
    return label


def _icon(severity: Severity) -> str:
    return ":red_circle:" if severity is Severity.CRITICAL else ":warning:"


def one_line(finding: Finding, locale: str | None) -> str:
    cause, _ = describe_finding(finding, locale)
    if len(cause) > ONE_LINE:
        cause = cause[: ONE_LINE - 1].rstrip() + "…"
    return cause


def _bullets(lines: Sequence[str], limit: int, locale: str | None, total: int | None = None) -> str:
    """The first ``limit`` lines and "… N more" (of ``total`` lines, by default all of ``lines``)."""
    total = len(lines) if total is None else total
    shown = list(lines[:limit])
    if total > limit:
        shown.append(t("digests.more", locale, count=total - limit))
    return "\n".join(shown)


def _change_lines(marks: Sequence[Mark], locale: str | None) -> list[str]:
    return [
        t(
            "digests.change_line",
            locale,
            kind=t(f"digests.kind.{m.kind}", locale) if m.kind else "?",
            namespace=mrkdwn_escape(m.namespace or "?"),
            subject=mrkdwn_escape(m.subject or m.key),
        )
        for m in marks
    ]


def _changes_blocks(changes: Changes, limit: int, locale: str | None) -> list[Block]:
    blocks: list[Block] = []
    if changes.new:
        text = t("digests.new_header", locale, count=len(changes.new))
        blocks.append(section(text + "\n" + _bullets(_change_lines(changes.new, locale), limit, locale)))
    if changes.resolved:
        text = t("digests.resolved_header", locale, count=len(changes.resolved))
        blocks.append(section(text + "\n" + _bullets(_change_lines(changes.resolved, locale), limit, locale)))
    return blocks


def _stamp(
    at: datetime,
    previous_at: datetime | None,
    late_for: datetime | None,
    locale: str | None,
    timezone: str,
) -> Block:
    if previous_at is not None:
        text = t(
            "digests.at_previous", locale, time=_time(at, timezone), previous=_time(previous_at, timezone)
        )
    else:
        text = t("digests.at", locale, time=_time(at, timezone))
    if late_for is not None:
        text += "\n" + t("digests.late", locale, time=_time(late_for, timezone))
    return context(text)


def _since(moment: datetime, locale: str | None, timezone: str) -> str:
    return t("digests.file.since", locale, time=_time(moment, timezone))


def _pod_and_container(pod: str, container: str, is_init: bool, locale: str | None) -> str:
    key = "digests.affected_init" if is_init else "digests.affected_app"
    return t(key, locale, pod=pod, container=container)


def _change_lists(changes: Changes, locale: str | None) -> tuple[tuple[str, tuple[Mark, ...]], ...]:
    """The attached file's "new" and "resolved" sections, titled in the reader's language."""
    return (
        (t("digests.file.new", locale), tuple(changes.new)),
        (t("digests.file.resolved", locale), tuple(changes.resolved)),
    )


def _fit(candidates: Sequence[list[Block]]) -> list[Block]:
    """The first candidate that fits one message (the last one is short enough by construction)."""
    for blocks in candidates:
        if fits(blocks):
            return blocks
    return candidates[-1][:3]


# --- health --------------------------------------------------------------------------------------


def health_text(digest: HealthDigest, locale: str | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The full digest as plain text: every problem with its cause and fix (the attached file)."""
    lines = [
        f"{t('digests.kind_health', locale)}: {digest.scope.context}, {scope_text(digest.scope, locale)}, "
        + _time(digest.at, timezone),
        _pods(digest.total_pods, locale),
        "",
    ]
    lines += [f"{status:<28} {count}" for status, count in digest.by_status]
    lines.append("")
    lines += [_file_entry(finding, locale, timezone) for finding in digest.findings]
    for title, marks in _change_lists(digest.changes, locale):
        if marks:
            lines.append(f"{title} ({len(marks)})")
            lines += [f"  {m.kind} {m.namespace}/{m.subject}" for m in marks]
            lines.append("")
    return "\n".join(line for line in lines if line is not None)


def _file_entry(finding: Finding, locale: str | None, timezone: str) -> str:
    """One finding's lines in the attached file, ending in a blank line.

    Made once per finding, language and time zone, like ``describe_finding``'s sentences: a
    finding is immutable and the watch cache hands out the same objects digest after digest, so
    a warm digest of a thousand problems joins stored text instead of formatting it again."""
    made: dict[tuple[str | None, str], str] = finding.__dict__.setdefault("_file_entry", {})
    entry = made.get((locale, timezone))
    if entry is None:
        cause, fix = describe_finding(finding, locale)
        where = f"{finding.namespace}/{finding.pod}" + (
            f" ({finding.container})" if finding.container else ""
        )
        since = "  " + _since(finding.since, locale, timezone) if finding.since else ""
        label = kind_label(finding.kind.value, finding.cause_value, locale)
        lines = [
            f"[{finding.severity.value}] {where}: {label}{since}",
            f"    {cause}",
            f"    {fix}" if fix else "",
        ]
        lines += [f"    | {line}" for line in finding.evidence.log_tail] + [""]
        entry = made[(locale, timezone)] = "\n".join(lines)
    return entry


def render_health(
    digest: HealthDigest,
    locale: str | None = None,
    *,
    top: int = 10,
    late_for: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    scope = digest.scope
    problems = len({(f.namespace, f.pod) for f in digest.findings})
    key = "digests.health_header" if digest.findings else "digests.health_header_ok"
    header = t(
        key,
        locale,
        context=scope.context,
        scope=scope_text(scope, locale),
        pods=_pods(digest.total_pods, locale),
        problems=problems,
    )
    statuses = " · ".join(f"`{mrkdwn_escape(s)}` {n}" for s, n in digest.by_status[:20])
    if len(digest.by_status) > 20:
        statuses += " · " + t("digests.more", locale, count=len(digest.by_status) - 20)
    cause_lines = [
        t(
            "digests.cause_line",
            locale,
            pods=_pods(g.pods, locale),
            label=t(
                "digests.cause_where",
                locale,
                label=kind_label(g.kind.value, g.cause, locale),
                namespaces=", ".join(g.namespaces[:5]) + ("…" if len(g.namespaces) > 5 else ""),
            ),
        )
        for g in digest.groups
    ]
    top_lines = [
        t(
            "digests.top_line",
            locale,
            icon=_icon(f.severity),
            namespace=f.namespace,
            pod=f.pod,
            container=t("digests.top_container", locale, container=f.container) if f.container else "",
            cause=mrkdwn_escape(one_line(f, locale)),
        )
        for f in digest.findings[:top]  # only these can be shown (the file has them all)
    ]
    filename = f"pod-health-{digest.at.strftime('%Y%m%d-%H%M')}.txt"

    def complete(causes: int, tops: int, changes: int) -> bool:
        longest = max(len(digest.changes.new), len(digest.changes.resolved))
        return len(cause_lines) <= causes and len(digest.findings) <= tops and longest <= changes

    def build(causes: int, tops: int, changes: int) -> list[Block]:
        blocks = [section(header), _stamp(digest.at, digest.previous_at, late_for, locale, timezone)]
        if statuses:
            blocks.append(section(t("digests.by_status", locale) + "\n" + statuses[: MAX_SECTION_TEXT - 40]))
        if cause_lines:
            blocks.append(section(t("digests.causes", locale) + "\n" + _bullets(cause_lines, causes, locale)))
        blocks += _changes_blocks(digest.changes, changes, locale)
        if top_lines and tops:
            top_text = _bullets(top_lines, tops, locale, total=len(digest.findings))
            blocks.append(section(t("digests.top_header", locale) + "\n" + top_text))
            # the crash logs of the worst two shown (all of them are in the attached full list)
            logs = [log_tail_block(f, locale) for f in digest.findings[:tops] if f.evidence.log_tail]
            blocks += [b for b in logs[:2] if b is not None]
        if not complete(causes, tops, changes):
            blocks.append(
                context(t("digests.full_list", locale, count=len(digest.findings), filename=filename))
            )
        return blocks

    limits = [(12, top, 10), (8, min(top, 6), 5), (5, min(top, 3), 3), (3, 1, 1), (1, 0, 0)]
    candidates = [build(*limit) for limit in limits]
    blocks = _fit(candidates)
    chosen = limits[candidates.index(blocks)] if blocks in candidates else limits[-1]
    upload = None
    if not complete(*chosen):
        title = t(
            "digests.file_title",
            locale,
            title=t("digests.kind_health", locale),
            context=scope.context,
            time=_time(digest.at, timezone),
        )
        upload = Upload(filename=filename, content=health_text(digest, locale, timezone), title=title)
    return Rendered(text=_plain(header), blocks=blocks, upload=upload)


# --- image pulls ---------------------------------------------------------------------------------


def _affected(failure: ImageFailure, locale: str | None, limit: int = 8) -> str:
    names = [
        t(
            "digests.affected_init" if p.is_init else "digests.affected_app",
            locale,
            pod=mrkdwn_escape(p.pod),
            container=mrkdwn_escape(p.container),
        )
        for p in failure.pods
    ]
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += ", " + t("digests.more", locale, count=len(names) - limit)
    return t("digests.affected", locale, pods=shown)


def failure_blocks(
    failure: ImageFailure,
    context_name: str,
    at: datetime,
    locale: str | None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Block]:
    """One failing image: what, since when, its root cause and fix, the pods, the fix button."""
    example = failure.example
    if failure.since is not None:
        age = duration_text((at - failure.since).total_seconds(), locale)
        head = t(
            "digests.pull_image",
            locale,
            icon=_icon(example.severity),
            image=mrkdwn_escape(failure.image),
            namespace=failure.namespace,
            pods=_pods(len(failure.pods), locale),
            since=_time(failure.since, timezone),
            age=age,
        )
    else:
        head = t(
            "digests.pull_image_undated",
            locale,
            icon=_icon(example.severity),
            image=mrkdwn_escape(failure.image),
            namespace=failure.namespace,
            pods=_pods(len(failure.pods), locale),
        )
    cause, fix = describe_finding(example, locale)
    text = f"{head}\n{mrkdwn_escape(cause)}"
    if fix:
        text += "\n:wrench: " + mrkdwn_escape(fix)
    blocks = [section(text[:MAX_SECTION_TEXT]), context(_affected(failure, locale))]
    buttons = [b for b in (fix_button(f, context_name, locale) for f in example.fixes) if b is not None]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:5]})
    return blocks


def pulls_text(digest: PullDigest, locale: str | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    lines = [
        f"{t('digests.kind_image_pulls', locale)}: {digest.scope.context}, "
        f"{scope_text(digest.scope, locale)}, {_time(digest.at, timezone)}",
        "",
    ]
    for failure in digest.failures:
        cause, fix = describe_finding(failure.example, locale)
        since = " " + _since(failure.since, locale, timezone) if failure.since else ""
        lines += [f"{failure.namespace} {failure.image}{since}", f"    {cause}", f"    {fix}"]
        lines += [f"    - {_pod_and_container(p.pod, p.container, p.is_init, locale)}" for p in failure.pods]
        lines.append("")
    for title, marks in _change_lists(digest.changes, locale):
        if marks:
            lines.append(f"{title} ({len(marks)})")
            lines += [f"  {m.namespace} {m.subject}" for m in marks]
            lines.append("")
    return "\n".join(lines)


def render_pulls(
    digest: PullDigest,
    locale: str | None = None,
    *,
    late_for: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    scope = digest.scope
    count = len(digest.failures)
    key = {0: "digests.pulls_header_ok", 1: "digests.pulls_header_one"}.get(count, "digests.pulls_header")
    header = t(key, locale, context=scope.context, scope=scope_text(scope, locale), count=count)
    filename = f"image-pulls-{digest.at.strftime('%Y%m%d-%H%M')}.txt"
    per_failure = [failure_blocks(f, scope.context, digest.at, locale, timezone) for f in digest.failures]

    def build(shown: int, changes: int) -> list[Block]:
        blocks = [section(header), _stamp(digest.at, digest.previous_at, late_for, locale, timezone)]
        for group in per_failure[:shown]:
            blocks += group
        if shown < count:
            blocks.append(context(t("digests.more_images", locale, count=count - shown, filename=filename)))
        blocks += _changes_blocks(digest.changes, changes, locale)
        return blocks

    sizes = sorted({min(count, n) for n in (15, 10, 6, 3, 1, 0)}, reverse=True)
    blocks = _fit([build(n, c) for n in sizes for c in (10, 3)])
    shown = sum(1 for group in per_failure if group[0] in blocks)
    upload = None
    if shown < count or len(digest.changes.new) > 10 or len(digest.changes.resolved) > 10:
        title = t(
            "digests.file_title",
            locale,
            title=t("digests.kind_image_pulls", locale),
            context=scope.context,
            time=_time(digest.at, timezone),
        )
        upload = Upload(filename=filename, content=pulls_text(digest, locale, timezone), title=title)
    return Rendered(text=_plain(header), blocks=blocks, upload=upload)


# --- alerts --------------------------------------------------------------------------------------


def alert_title(group: AlertGroup, locale: str | None = None) -> str:
    example = group.example
    label = kind_label(example.kind.value, example.cause_value, locale)
    if example.kind is FindingKind.IMAGE_PULL:
        return t(
            "digests.alert_title_image",
            locale,
            label=label,
            image=example.image,
            namespace=example.namespace,
            context=group.context,
        )
    return t("digests.alert_title", locale, label=label, namespace=example.namespace, context=group.context)


def render_alert(group: AlertGroup, locale: str | None = None, *, names: int = 10) -> Rendered:
    """One new problem (on one or many pods): cause, fix, the pods, the fix button."""
    title = alert_title(group, locale)
    example = group.example
    cause, fix = describe_finding(example, locale)
    pods = sorted({f.pod for f in group.findings})
    shown = ", ".join(mrkdwn_escape(p) for p in pods[:names])
    if len(pods) > names:
        shown += ", " + t("digests.more", locale, count=len(pods) - names)
    text = t("digests.alert_new", locale, title=mrkdwn_escape(title)) + "\n" + mrkdwn_escape(cause)
    if fix:
        text += "\n:wrench: " + mrkdwn_escape(fix)
    blocks: list[Block] = [
        section(text[:MAX_SECTION_TEXT]),
        context(t("digests.alert_pods", locale, pods=_pods(group.pods, locale), names=shown)[:2000]),
    ]
    if example.evidence.message:
        blocks.append(context("> " + mrkdwn_escape(example.evidence.message[:600])))
    logs = log_tail_block(example, locale)
    if logs is not None:
        blocks.append(logs)
    buttons = [b for b in (fix_button(f, group.context, locale) for f in example.fixes) if b is not None]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:5]})
    return Rendered(text=_plain(t("digests.alert_new", locale, title=title)), blocks=blocks)


def render_alert_update(pods: int, peak: int, locale: str | None = None) -> Rendered:
    text = t("digests.alert_update", locale, pods=_pods(pods, locale), peak=_pods(peak, locale))
    return Rendered(text=_plain(text), blocks=[section(text)])


def render_alert_resolved(title: str, duration_seconds: float, locale: str | None = None) -> Rendered:
    text = t(
        "digests.alert_resolved",
        locale,
        duration=duration_text(duration_seconds, locale),
        title=mrkdwn_escape(title),
    )
    return Rendered(text=_plain(text), blocks=[section(text)])


def _plain(text: str) -> str:
    return text.replace("*", "")[:3000]


# --- subscription and alert settings answers ------------------------------------------------------
def _when(moment: datetime | None, timezone: str) -> str:
    return show_time(moment, timezone) if moment is not None else "-"


def kind_text(kind: DigestKind, locale: str | None) -> str:
    return t("digests.kind_health" if kind is DigestKind.HEALTH else "digests.kind_image_pulls", locale)


def schedule_text(schedule: Schedule, locale: str | None) -> str:
    if schedule.every_seconds is not None:
        every = duration_text(schedule.every_seconds, locale, exact=True)
        return t("digests.schedule_every", locale, duration=every)
    return t("digests.schedule_cron", locale, cron=schedule.cron, timezone=schedule.timezone)


def _short(text: str) -> Rendered:
    return Rendered(text=text.replace("*", "")[:3000], blocks=[section(text)])


def render_subscription_changed(
    changed: SubscriptionChanged, locale: str | None, *, timezone: str = DEFAULT_TIMEZONE
) -> Rendered:
    sub = changed.subscription
    if changed.stopped:
        return _short(
            t(
                "digests.unsubscribed",
                locale,
                id=sub.id,
                kind=kind_text(sub.kind, locale),
                schedule=schedule_text(sub.schedule, locale),
            )
        )
    scope = Scope(sub.context or "", sub.namespaces)
    return _short(
        t(
            "digests.subscribed",
            locale,
            kind=kind_text(sub.kind, locale),
            id=sub.id,
            schedule=schedule_text(sub.schedule, locale),
            scope=scope_text(scope, locale),
            context=scope.context,
            next=_when(changed.next_run, timezone),
        )
    )


def render_subscription_list(
    listing: SubscriptionList, locale: str | None, *, timezone: str = DEFAULT_TIMEZONE
) -> Rendered:
    if not listing.subscriptions:
        return _short(t("digests.no_subscriptions", locale))
    lines = [t("digests.subscriptions_header", locale)]
    for sub, next_run in listing.subscriptions:
        lines.append(
            t(
                "digests.subscription_line",
                locale,
                id=sub.id,
                kind=kind_text(sub.kind, locale),
                schedule=schedule_text(sub.schedule, locale),
                scope=scope_text(Scope(sub.context or "", sub.namespaces), locale),
                context=sub.context or listing.default_context or "-",
                next=_when(next_run, timezone),
                user=sub.created_by,
            )
        )
    return _short("\n".join(lines)[:2900])


def render_alerts_changed(changed: AlertsChanged, locale: str | None) -> Rendered:
    if not changed.enabled:
        return _short(t("digests.alerts_off", locale))
    scope = Scope(changed.context, changed.namespaces)
    return _short(t("digests.alerts_on", locale, scope=scope_text(scope, locale), context=changed.context))
