"""Any result of the pipeline as a Slack message: one renderer per result type, looked up by type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
from podbot.core.times import DEFAULT_TIMEZONE
from podbot.render import approvals, audit, blocks, digests
from podbot.render.blocks import Rendered

Renderer = Callable[[Any, str | None, datetime, str], Rendered]  # (result, locale, now, timezone)

RENDERERS: dict[type, Renderer] = {
    PodTable: lambda r, locale, now, tz: blocks.render_pod_table(r, locale),
    RawOutput: lambda r, locale, now, tz: blocks.render_raw(r, locale),
    Changed: lambda r, locale, now, tz: blocks.render_changed(r, locale),
    Logs: lambda r, locale, now, tz: blocks.render_logs(r, locale),
    StaticPods: lambda r, locale, now, tz: blocks.render_static_pods(r, locale),
    HelpText: lambda r, locale, now, tz: blocks.render_help(r, locale),
    Notice: lambda r, locale, now, tz: blocks.render_notice(r, locale),
    PodDescription: lambda r, locale, now, tz: blocks.render_description(r, locale, now=now),
    ApprovalPosted: lambda r, locale, now, tz: approvals.posted_notice(
        r.approval, locale, r.approvers, timezone=tz
    ),
    ApprovalDuplicate: lambda r, locale, now, tz: approvals.duplicate_notice(
        r.approval, locale, r.link, timezone=tz
    ),
    PendingApprovals: lambda r, locale, now, tz: approvals.pending_list(r.approvals, locale, timezone=tz),
    AuditListing: lambda r, locale, now, tz: audit.audit_list(
        r.events,
        locale,
        user=r.user,
        since=r.since,
        namespace=r.namespace,
        truncated=r.truncated,
        timezone=tz,
    ),
    SubscriptionChanged: lambda r, locale, now, tz: digests.render_subscription_changed(
        r, locale, timezone=tz
    ),
    SubscriptionList: lambda r, locale, now, tz: digests.render_subscription_list(r, locale, timezone=tz),
    AlertsChanged: lambda r, locale, now, tz: digests.render_alerts_changed(r, locale),
}
SILENT = (Posted, DialogNeeded)  # nothing to say: the work posted its own message, or a modal opens


def render(
    result: Result,
    locale: str | None = None,
    *,
    now: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    """The message for ``result``; a result type without a renderer is a bug, said at once."""
    renderer = RENDERERS.get(type(result))
    if renderer is None:
        raise TypeError(f"no renderer for {type(result).__name__}")
    return renderer(result, locale, now or datetime.now(UTC), timezone)
