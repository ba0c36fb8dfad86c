"""The audit log: append-only records of every change and every decision.

podbot only ever INSERTs here. The database enforces it as well: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL), so not even a bug in podbot can rewrite history. Retention,
if wanted, is an operator's job with the trigger disabled on purpose.

Free text (the request, the detail) is redacted again on the way in (``redaction.redact``) and
capped in length, whatever the caller already did.

Intents (``intents``): a change is written down *before* its API call, and settled in the same
transaction that appends its outcome's audit record, so "an unsettled intent" means exactly "the
API call may have happened and its outcome is not in the log". A separate table rather than an
audit row updated from "started" to its outcome, because the audit log stays append-only (the
triggers above); an intent is the one mutable note beside it. If the intent cannot be written
(the database is down), the caller must not touch the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, select, update

from podbot.core.records import AuditAction, AuditEvent, AuditQuery, Intent, utc
from podbot.core.redaction import redact
from podbot.store.database import Database
from podbot.store.schema import audit_events, intents

MAX_TEXT = 4000  # an audit line is for people; a 40 kB manifest is summarised by its head
MAX_QUERY_LIMIT = 1000


def _cap(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _event(row: RowMapping) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        at=row["at"],
        action=AuditAction(row["action"]),
        team_id=row["team_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        kube_user=row["kube_user"],
        kube_groups=tuple(row["kube_groups"] or ()),
        context=row["context"],
        namespace=row["namespace"],
        kind=row["kind"],
        name=row["name"],
        uid=row["uid"],
        request_text=row["request_text"],
        outcome=row["outcome"],
        detail=row["detail"],
        approval_id=row["approval_id"],
    )


def _intent(row: RowMapping) -> Intent:
    return Intent(
        id=row["id"],
        started_at=row["started_at"],
        action=AuditAction(row["action"]),
        owner=row["owner"],
        team_id=row["team_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        kube_user=row["kube_user"],
        context=row["context"],
        namespace=row["namespace"],
        kind=row["kind"],
        name=row["name"],
        uid=row["uid"],
        request_text=row["request_text"],
        approval_id=row["approval_id"],
        settled_at=row["settled_at"],
        outcome=row["outcome"],
    )


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, event: AuditEvent) -> AuditEvent:
        """Append ``event``; returns it as stored (with its id, and redacted text)."""
        with self._db.write() as connection:
            return self._insert(connection, event)

    # --- intents ----------------------------------------------------------------------------------
    def intend(self, intent: Intent) -> Intent:
        """Write down a change about to be sent; returns it with its id."""
        if intent.id is not None or intent.settled_at is not None:
            raise ValueError("an intent is written once, unsettled")
        values = {
            "started_at": utc(intent.started_at, "intent time"),
            "action": AuditAction(intent.action).value,
            "owner": intent.owner,
            "team_id": intent.team_id,
            "channel_id": intent.channel_id,
            "user_id": intent.user_id,
            "kube_user": intent.kube_user,
            "context": intent.context,
            "namespace": intent.namespace,
            "kind": intent.kind,
            "name": intent.name,
            "uid": intent.uid,
            "request_text": _cap(redact(intent.request_text)),
            "approval_id": intent.approval_id,
        }
        with self._db.write() as connection:
            row = connection.execute(intents.insert().values(values).returning(intents)).mappings().one()
        return _intent(row)

    def pin(self, intent_id: int, uid: str) -> None:
        """The uid the change resolved to (a delete planned after its intent was written)."""
        with self._db.write() as connection:
            connection.execute(
                update(intents)
                .where(and_(intents.c.id == intent_id, intents.c.settled_at.is_(None)))
                .values(uid=uid)
            )

    def settle(self, intent_id: int, event: AuditEvent) -> AuditEvent | None:
        """Append ``event`` (the change's outcome) and settle the intent, in one transaction.

        None when the intent was settled already (another replica's recovery got there first):
        then nothing is written, so each change has exactly one outcome record."""
        with self._db.write() as connection:
            settled = connection.execute(
                update(intents)
                .where(and_(intents.c.id == intent_id, intents.c.settled_at.is_(None)))
                .values(settled_at=utc(event.at, "audit time"), outcome=event.outcome[:32])
            )
            if settled.rowcount != 1:
                return None
            return self._insert(connection, event)

    def close(self, intent_id: int, outcome: str, now: datetime) -> bool:
        """Settle an intent whose request changed nothing (e.g. a duplicate delete request)."""
        with self._db.write() as connection:
            closed = connection.execute(
                update(intents)
                .where(and_(intents.c.id == intent_id, intents.c.settled_at.is_(None)))
                .values(settled_at=utc(now), outcome=outcome[:32])
            )
        return closed.rowcount == 1

    def unsettled(self, started_before: datetime, limit: int = 100) -> list[Intent]:
        """Intents of changes outside approvals started before ``started_before`` and never settled:
        their process died (or lost the database) between the intent and the outcome. Oldest first.
        An approval's intents are settled by the approval's own recovery (``intent_of``)."""
        statement = (
            select(intents)
            .where(
                and_(
                    intents.c.settled_at.is_(None),
                    intents.c.started_at <= utc(started_before),
                    intents.c.approval_id.is_(None),
                )
            )
            .order_by(intents.c.id)
            .limit(limit)
        )
        with self._db.read() as connection:
            return [_intent(row) for row in connection.execute(statement).mappings()]

    def intent_of(self, approval_id: int) -> Intent | None:
        """The latest intent of an approved change (None: its API call was never sent)."""
        statement = (
            select(intents).where(intents.c.approval_id == approval_id).order_by(intents.c.id.desc()).limit(1)
        )
        with self._db.read() as connection:
            row = connection.execute(statement).mappings().first()
        return _intent(row) if row else None

    def _insert(self, connection: Connection, event: AuditEvent) -> AuditEvent:
        if event.id is not None:
            raise ValueError("an audit event is recorded once; this one already has an id")
        stored = replace(
            event,
            at=utc(event.at, "audit time"),
            request_text=_cap(redact(event.request_text)),
            detail=_cap(redact(event.detail)),
        )
        values = {
            "at": stored.at,
            "action": AuditAction(stored.action).value,
            "team_id": stored.team_id,
            "channel_id": stored.channel_id,
            "user_id": stored.user_id,
            "kube_user": stored.kube_user,
            "kube_groups": list(stored.kube_groups),
            "context": stored.context,
            "namespace": stored.namespace,
            "kind": stored.kind,
            "name": stored.name,
            "uid": stored.uid,
            "request_text": stored.request_text,
            "outcome": stored.outcome,
            "detail": stored.detail,
            "approval_id": stored.approval_id,
        }
        new_id = connection.execute(
            audit_events.insert().values(values).returning(audit_events.c.id)
        ).scalar_one()
        return replace(stored, id=new_id)

    def query(self, query: AuditQuery | None = None) -> list[AuditEvent]:
        """Matching events, newest first, at most ``query.limit`` (capped at 1000)."""
        query = query or AuditQuery()
        conditions: list[ColumnElement[bool]] = []
        if query.user_id:
            conditions.append(audit_events.c.user_id == query.user_id)
        if query.since is not None:
            conditions.append(audit_events.c.at >= utc(query.since, "since"))
        if query.namespace:
            conditions.append(audit_events.c.namespace == query.namespace)
        if query.channel_id:
            conditions.append(audit_events.c.channel_id == query.channel_id)
        if query.action is not None:
            conditions.append(audit_events.c.action == AuditAction(query.action).value)
        limit = max(1, min(query.limit, MAX_QUERY_LIMIT))
        statement = (
            select(audit_events)
            .where(*conditions)
            .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
            .limit(limit)
        )
        with self._db.read() as connection:
            return [_event(row) for row in connection.execute(statement).mappings()]

    def export(self, *, since: datetime | None = None, batch_size: int = 500) -> Iterator[AuditEvent]:
        """Every event (at or after ``since``) in the order written, read in batches.

        Each batch is its own short transaction (keyset paging on the id), so exporting a large
        log neither holds one transaction open nor loads everything into memory.
        """
        after = 0
        since_utc = utc(since, "since") if since is not None else None
        while True:
            statement = select(audit_events).where(audit_events.c.id > after)
            if since_utc is not None:
                statement = statement.where(audit_events.c.at >= since_utc)
            statement = statement.order_by(audit_events.c.id).limit(batch_size)
            with self._db.read() as connection:
                rows = connection.execute(statement).mappings().all()
            for row in rows:
                yield _event(row)
            if len(rows) < batch_size:
                return
            after = rows[-1]["id"]
