"""Delete requests waiting for (or past) an approver's decision.

Every transition is one compare-and-set ``UPDATE ... WHERE state = <expected>``: when two
approvers click at once (threads of one process or two replicas), exactly one UPDATE matches and
wins; the other sees ``False`` and can read the approval to explain what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, select, update

from podbot.core.records import Approval, ApprovalAction, ApprovalState, DeleteTarget, Requester, utc
from podbot.store.database import Database
from podbot.store.schema import approvals

_DECISIONS = (ApprovalState.APPROVED, ApprovalState.DENIED)
_OUTCOMES = (ApprovalState.DONE, ApprovalState.FAILED)


def _approval(row: RowMapping) -> Approval:
    return Approval(
        id=row["id"],
        state=ApprovalState(row["state"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        requester=Requester(team_id=row["team_id"], channel_id=row["channel_id"], user_id=row["user_id"]),
        target=DeleteTarget(
            context=row["context"],
            kind=row["kind"],
            namespace=row["namespace"],
            name=row["name"],
            uid=row["uid"],
            resource_version=row["resource_version"],
            owner_kind=row["owner_kind"],
            owner_name=row["owner_name"],
            node=row["node"],
            grace_period=row["grace_period"],
            reason=row["reason"],
        ),
        message_channel=row["message_channel"],
        message_ts=row["message_ts"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        finished_at=row["finished_at"],
        outcome=row["outcome"],
        detail=row["detail"],
        action=ApprovalAction(row["action"]),
        manifest=row["manifest"],
        violations=tuple((str(rule), str(detail)) for rule, detail in row["violations"] or ()),
        message_stale=bool(row["message_stale"]),
    )


class Approvals:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        target: DeleteTarget,
        requester: Requester,
        *,
        now: datetime,
        expires_at: datetime,
        action: ApprovalAction = ApprovalAction.DELETE,
        manifest: str | None = None,
        violations: Sequence[tuple[str, str]] = (),
    ) -> Approval:
        """A new pending request: deleting exactly ``target`` (its uid is pinned), or creating
        ``manifest`` (held for breaking the channel's Pod Security level: ``violations``)."""
        if utc(expires_at, "expires_at") <= utc(now):
            raise ValueError("an approval must expire after it is created")
        values: dict[str, Any] = {
            "state": ApprovalState.PENDING.value,
            "created_at": now,
            "expires_at": expires_at,
            "team_id": requester.team_id,
            "channel_id": requester.channel_id,
            "user_id": requester.user_id,
            "context": target.context,
            "kind": target.kind,
            "namespace": target.namespace,
            "name": target.name,
            "uid": target.uid,
            "resource_version": target.resource_version,
            "owner_kind": target.owner_kind,
            "owner_name": target.owner_name,
            "node": target.node,
            "grace_period": target.grace_period,
            "reason": target.reason,
            "action": action.value,
            "manifest": manifest,
            "violations": [list(v) for v in violations] if action is ApprovalAction.CREATE else None,
        }
        with self._db.write() as connection:
            row = connection.execute(approvals.insert().values(values).returning(approvals)).mappings().one()
        return _approval(row)

    def get(self, approval_id: int) -> Approval | None:
        with self._db.read() as connection:
            row = (
                connection.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()
            )
        return _approval(row) if row else None

    def set_message(self, approval_id: int, channel: str, ts: str) -> None:
        """Where the request message was posted, so that outcomes can update it in place."""
        with self._db.write() as connection:
            connection.execute(
                update(approvals)
                .where(approvals.c.id == approval_id)
                .values(message_channel=channel, message_ts=ts)
            )

    def mark_stale(self, approval_id: int, stale: bool) -> None:
        """Whether the message still shows an older state (its last chat.update failed)."""
        with self._db.write() as connection:
            connection.execute(
                update(approvals).where(approvals.c.id == approval_id).values(message_stale=stale)
            )

    def stale_messages(self, limit: int = 100) -> list[Approval]:
        """Finished requests whose message is marked stale, oldest first: the sweeper edits them
        again. One still in progress is left to its next step, which edits the message anyway."""
        final = [state.value for state in ApprovalState if state.final]
        query = (
            select(approvals)
            .where(and_(approvals.c.message_stale.is_(True), approvals.c.state.in_(final)))
            .order_by(approvals.c.id)
            .limit(limit)
        )
        with self._db.read() as connection:
            return [_approval(row) for row in connection.execute(query).mappings()]

    def decide(self, approval_id: int, new_state: ApprovalState, by: str, now: datetime) -> bool:
        """Approve or deny; True only for the one call that moved the request out of ``pending``.

        A request past its ``expires_at`` cannot be decided any more, even if the expiry sweep
        has not marked it expired yet.
        """
        if new_state not in _DECISIONS:
            raise ValueError(f"a decision is approved or denied, not {new_state}")
        now = utc(now)
        with self._db.write() as connection:
            result = connection.execute(
                update(approvals)
                .where(
                    and_(
                        approvals.c.id == approval_id,
                        approvals.c.state == ApprovalState.PENDING.value,
                        approvals.c.expires_at > now,
                    )
                )
                .values(state=new_state.value, decided_by=by, decided_at=now)
            )
        return result.rowcount == 1

    def expire_due(self, now: datetime) -> list[Approval]:
        """Mark every pending request whose time is up as expired; returns those this call expired.

        Also catches requests that expired while podbot was down. Two replicas sweeping at once
        get disjoint lists, so each expiry is reported (and its message updated) once.
        """
        now = utc(now)
        with self._db.write() as connection:
            rows = (
                connection.execute(
                    update(approvals)
                    .where(
                        and_(
                            approvals.c.state == ApprovalState.PENDING.value,
                            approvals.c.expires_at <= now,
                        )
                    )
                    .values(state=ApprovalState.EXPIRED.value, decided_at=now)
                    .returning(approvals)
                )
                .mappings()
                .all()
            )
        return sorted((_approval(row) for row in rows), key=lambda a: a.id)

    def start(self, approval_id: int) -> bool:
        """approved -> executing: True for the one worker that may run the delete."""
        return self._move(approval_id, ApprovalState.APPROVED, ApprovalState.EXECUTING, {})

    def finish(
        self, approval_id: int, state: ApprovalState, *, outcome: str, detail: str = "", now: datetime
    ) -> bool:
        """executing -> done | failed, with the delete's outcome (e.g. deleted, not_found, conflict)."""
        if state not in _OUTCOMES:
            raise ValueError(f"a finished approval is done or failed, not {state}")
        changes = {"outcome": outcome, "detail": detail, "finished_at": utc(now)}
        return self._move(approval_id, ApprovalState.EXECUTING, state, changes)

    def _move(
        self, approval_id: int, expected: ApprovalState, new: ApprovalState, changes: dict[str, Any]
    ) -> bool:
        with self._db.write() as connection:
            result = connection.execute(
                update(approvals)
                .where(and_(approvals.c.id == approval_id, approvals.c.state == expected.value))
                .values(state=new.value, **changes)
            )
        return result.rowcount == 1

    def pending(self, channel_id: str, now: datetime) -> list[Approval]:
        """Requests of one channel still waiting for a decision (``/pod approvals``), oldest first."""
        now = utc(now)
        query = (
            select(approvals)
            .where(
                and_(
                    approvals.c.channel_id == channel_id,
                    approvals.c.state == ApprovalState.PENDING.value,
                    approvals.c.expires_at > now,
                )
            )
            .order_by(approvals.c.created_at, approvals.c.id)
        )
        with self._db.read() as connection:
            return [_approval(row) for row in connection.execute(query).mappings()]

    def pending_for(self, target: DeleteTarget, now: datetime) -> Approval | None:
        """A still-open request for the same object (same uid), so a duplicate can point to it."""
        now = utc(now)
        query = (
            select(approvals)
            .where(
                and_(
                    approvals.c.context == target.context,
                    approvals.c.kind == target.kind,
                    approvals.c.namespace == target.namespace,
                    approvals.c.name == target.name,
                    approvals.c.uid == target.uid,
                    approvals.c.state == ApprovalState.PENDING.value,
                    approvals.c.expires_at > now,
                )
            )
            .order_by(approvals.c.id)
            .limit(1)
        )
        with self._db.read() as connection:
            row = connection.execute(query).mappings().first()
        return _approval(row) if row else None

    def in_state(self, state: ApprovalState, limit: int = 100) -> list[Approval]:
        """Requests in one state, oldest first: after a crash, ``approved``/``executing`` ones need a look."""
        query = (
            select(approvals).where(approvals.c.state == state.value).order_by(approvals.c.id).limit(limit)
        )
        with self._db.read() as connection:
            return [_approval(row) for row in connection.execute(query).mappings()]
