"""The audit trail (who did what, where, with what outcome) and ``/pod audit``, its view from Slack.

``AuditTrail`` stamps and redacts records for the pipeline and the flows; the sink is the database
(``store.audit``) or, for tools without one, the log. ``AuditView`` answers ``/pod audit``: a
channel sees the records of the namespaces its channel policy lets it touch (all of them for a
channel allowed ``*``), so the audit log does not become a way around that policy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from podbot.app.gate import Grant
from podbot.app.ports import People
from podbot.core.errors import NotPermitted, UsageError
from podbot.core.i18n import t
from podbot.core.model import Origin, ShowAudit
from podbot.core.policy import namespace_visible
from podbot.core.records import AuditAction, AuditEvent, AuditQuery
from podbot.core.redaction import redact
from podbot.core.results import AuditListing
from podbot.k8s.api import Identity

log = logging.getLogger(__name__)

SHOWN = 50
SCANNED = 1000  # when the channel policy hides some namespaces, look further back for visible ones
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class AuditSink(Protocol):
    """Where audit records go: the database (``store.audit``), or the log when there is none."""

    def record(self, event: AuditEvent) -> AuditEvent: ...


class AuditReader(Protocol):
    def query(self, query: AuditQuery) -> Sequence[AuditEvent]: ...


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


class AuditTrail:
    """Builds every audit record the same way: stamped on the bot's clock, the request text redacted."""

    def __init__(self, sink: AuditSink, now: Callable[[], datetime]) -> None:
        self._sink = sink
        self._now = now

    def record(
        self,
        action: AuditAction,
        origin: Origin,
        outcome: str,
        *,
        context: str = "",
        namespace: str = "",
        kind: str = "",
        name: str = "",
        uid: str = "",
        text: str = "",
        identity: Identity | None = None,
        detail: str = "",
        approval_id: int | None = None,
    ) -> AuditEvent:
        return self._sink.record(
            AuditEvent(
                at=self._now(),
                action=action,
                team_id=origin.team_id,
                channel_id=origin.channel_id,
                user_id=origin.user_id,
                kube_user=identity.user if identity else "",
                kube_groups=identity.groups if identity else (),
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
        )


class AuditView:
    """``/pod audit [--user U] [--since 1d] [-n NS]``: the handler of ``ShowAudit``."""

    def __init__(self, log: AuditReader, people: People, now: Callable[[], datetime]) -> None:
        self._log = log
        self._people = people
        self._now = now

    def show(self, request: ShowAudit, grant: Grant) -> AuditListing:
        policy, locale = grant.policy, grant.locale
        if request.namespace and not namespace_visible(policy, request.namespace):
            raise NotPermitted(
                t(
                    "policy.namespace_refused",
                    locale,
                    namespace=request.namespace,
                    allowed=", ".join(policy.namespaces),
                )
            )
        user_id = self._user_id(request.user, locale) if request.user else None
        since = self._now() - timedelta(seconds=request.since_seconds) if request.since_seconds else None
        everything = "*" in policy.namespaces
        events = self._log.query(
            AuditQuery(
                user_id=user_id,
                since=since,
                namespace=request.namespace,
                limit=SHOWN + 1 if everything else SCANNED,
            )
        )
        visible = [e for e in events if namespace_visible(policy, e.namespace)]
        return AuditListing(
            tuple(visible[:SHOWN]), user_id, since, request.namespace, truncated=len(visible) > SHOWN
        )

    def _user_id(self, user: str, locale: str) -> str:
        """A user ID as given (a mention arrives as one), else looked up by name in the workspace."""
        if _USER_ID.match(user):
            return user
        found = self._people.find_user_id(user)
        if found is None:
            raise UsageError(t("audit.unknown_user", locale, user=user))
        return found
