"""The audit trail (who did what, where, with what outcome) and ``/pod audit``, its view from Slack.

``AuditTrail`` stamps and redacts records for the pipeline and the flows; the sink is the database
(``store.audit``) or, for tools without one, the log. ``AuditView`` answers ``/pod audit``: a
channel sees the records of the namespaces its channel policy lets it touch (all of them for a
channel allowed ``*``), so the audit log does not become a way around that policy.

Intent before effect: ``AuditTrail.intend`` writes down a change before its API call, and
``record(..., settles=intent)`` writes its outcome and settles the intent at once (see
``store.audit``). ``IntentRecovery`` settles the intents a crash left open, from the cluster.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from podbot.app.gate import Grant
from podbot.app.ports import People
from podbot.core.errors import NotFound, NotPermitted, PodbotError, UsageError
from podbot.core.i18n import t
from podbot.core.model import Entry, Origin, ShowAudit
from podbot.core.policy import namespace_visible
from podbot.core.records import AuditAction, AuditEvent, AuditQuery, Intent
from podbot.core.redaction import redact
from podbot.core.results import AuditListing
from podbot.k8s.api import Identity, KubeClusters, path_for
from podbot.store.ports import IntentStore

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


class NothingChanged(PodbotError):
    """The intent of a change could not be written (the database is down): nothing was sent."""


class AuditTrail:
    """Builds every audit record the same way: stamped on the bot's clock, the request text redacted.

    With ``intents`` (the database), changes are written down before they are made (``intend``);
    without (tools that only log), ``intend`` writes nothing and returns None."""

    def __init__(
        self,
        sink: AuditSink,
        now: Callable[[], datetime],
        *,
        intents: IntentStore | None = None,
        owner: str = "",
    ) -> None:
        self._sink = sink
        self._now = now
        self._intents = intents
        self._owner = owner  # the replica, so an operator can tell whose crash left an intent

    def intend(
        self,
        action: AuditAction,
        origin: Origin,
        locale: str,
        *,
        context: str = "",
        namespace: str = "",
        kind: str = "",
        name: str = "",
        uid: str = "",
        text: str = "",
        identity: Identity | None = None,
        approval_id: int | None = None,
    ) -> Intent | None:
        """Write down the change before its API call; ``NothingChanged`` if the store cannot take it
        (then the caller must not touch the cluster)."""
        if self._intents is None:
            return None
        intent = Intent(
            started_at=self._now(),
            action=action,
            owner=self._owner,
            team_id=origin.team_id,
            channel_id=origin.channel_id,
            user_id=origin.user_id,
            kube_user=identity.user if identity else "",
            context=context,
            namespace=namespace,
            kind=kind,
            name=name,
            uid=uid,
            request_text=redact(text),
            approval_id=approval_id,
        )
        try:
            return self._intents.intend(intent)
        except PodbotError as exc:  # the store's StoreUnavailable
            log.warning("no intent written for %s %s/%s: %s", action, namespace, name, exc.message)
            raise NothingChanged(t("audit.no_intent", locale)) from exc

    def pin(self, intent: Intent, uid: str, locale: str) -> None:
        """The exact object (uid) a change resolved to, before its API call: ``NothingChanged``
        when the store cannot take it (then the caller must not touch the cluster either)."""
        if self._intents is None or intent.id is None:
            return
        try:
            self._intents.pin(intent.id, uid)
        except PodbotError as exc:
            log.warning("intent %s not pinned to %s: %s", intent.id, uid, exc.message)
            raise NothingChanged(t("audit.no_intent", locale)) from exc

    def close(self, intent: Intent, outcome: str) -> None:
        """Settle an intent whose request changed nothing (so there is no outcome to audit)."""
        if self._intents is not None and intent.id is not None:
            self._intents.close(intent.id, outcome, self._now())

    def intent_of(self, approval_id: int) -> Intent | None:
        """The latest intent of an approved change (None without a database, or never written)."""
        return self._intents.intent_of(approval_id) if self._intents is not None else None

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
        settles: Intent | None = None,
    ) -> AuditEvent | None:
        """Append a record; with ``settles``, it is that intent's outcome and settles it in the same
        transaction (None: the intent was settled already, by another replica's recovery)."""
        event = AuditEvent(
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
        if settles is not None and settles.id is not None and self._intents is not None:
            return self._intents.settle(settles.id, event)
        return self._sink.record(event)


RECOVER_AFTER = timedelta(minutes=2)
"""An intent unsettled this long was abandoned (no request runs this long): settle it."""

_CREATES = frozenset({AuditAction.RUN, AuditAction.CREATE, AuditAction.SECRET_CREATE})
_DELETES = frozenset({AuditAction.DELETE, AuditAction.SECRET_DELETE})
_PLURALS = {"Pod": "pods", "Secret": "secrets"}


class IntentRecovery:
    """Settles the intents of changes (outside approvals) that a crash or a lost database left
    open, from the cluster's state: the missing audit record is written, marked as recovered.

    A create whose object exists is "created" (with the uid found); a delete pinned to a uid that
    is gone, replaced or terminating is "deleted"; what the cluster cannot tell is "unknown", with
    what it shows in the detail. Only the object's metadata is kept from what is read."""

    def __init__(
        self,
        trail: AuditTrail,
        intents: IntentStore,
        clusters: KubeClusters,
        now: Callable[[], datetime],
        after: timedelta = RECOVER_AFTER,
    ) -> None:
        self._trail = trail
        self._intents = intents
        self._clusters = clusters
        self._now = now
        self._after = after

    def settle_abandoned(self) -> int:
        """Settle every abandoned intent the cluster can be asked about now; how many."""
        settled = 0
        for intent in self._intents.unsettled(self._now() - self._after):
            try:
                outcome, uid, seen = self._observe(intent)
            except PodbotError as exc:  # e.g. the cluster is down: the next sweep tries again
                log.warning("intent %s not settled yet: %s", intent.id, exc.message)
                continue
            log.warning("intent %s was interrupted; settled from the cluster: %s", intent.id, outcome)
            origin = Origin(intent.team_id, intent.channel_id, intent.user_id, Entry.SCHEDULE)
            recorded = self._trail.record(
                intent.action,
                origin,
                outcome,
                context=intent.context,
                namespace=intent.namespace,
                kind=intent.kind,
                name=intent.name,
                uid=uid,
                text=intent.request_text,
                identity=Identity(intent.kube_user) if intent.kube_user else None,
                detail=f"recovered: interrupted before its outcome was written; {seen}",
                settles=intent,
            )
            settled += recorded is not None
        return settled

    def _observe(self, intent: Intent) -> tuple[str, str, str]:
        """(outcome, uid, what the cluster shows) for an interrupted change."""
        plural = _PLURALS.get(intent.kind)
        if plural is None or not intent.name or intent.context not in self._clusters.contexts:
            return "unknown", intent.uid, "the object cannot be looked up"
        kube = self._clusters.get(intent.context)
        try:
            metadata = kube.get(path_for("v1", plural, intent.namespace, intent.name)).get("metadata", {})
        except NotFound:
            metadata = {}
        uid = str(metadata.get("uid", ""))
        terminating = bool(metadata.get("deletionTimestamp"))
        seen = f"{intent.kind} {intent.namespace}/{intent.name} " + (
            f"exists with uid {uid}{' (terminating)' if terminating else ''}" if uid else "does not exist"
        )
        if intent.action in _CREATES:
            return ("created" if uid else "not_found"), uid, seen
        if intent.action in _DELETES and intent.uid:
            gone = uid != intent.uid or terminating
            return ("deleted" if gone else "not_deleted"), intent.uid, seen
        return "unknown", uid or intent.uid, seen


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
