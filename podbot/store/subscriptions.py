"""Digest subscriptions of channels (``/pod subscribe``), and what the previous digest contained."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, select, update

from podbot.core.model import DigestKind
from podbot.core.records import Schedule, Subscription, utc
from podbot.store.database import Database
from podbot.store.schema import subscriptions


def _subscription(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        team_id=row["team_id"],
        channel_id=row["channel_id"],
        kind=DigestKind(row["kind"]),
        schedule=Schedule(every_seconds=row["every_seconds"], cron=row["cron"], timezone=row["timezone"]),
        namespaces=tuple(row["namespaces"] or ()),
        context=row["context"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        active=bool(row["active"]),
        ended_by=row["ended_by"],
        ended_at=row["ended_at"],
        last_digest_at=row["last_digest_at"],
        last_fingerprints=frozenset(row["last_fingerprints"] or ()),
    )


class Subscriptions:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        team_id: str,
        channel_id: str,
        kind: DigestKind,
        schedule: Schedule,
        namespaces: Sequence[str] = (),
        context: str | None = None,
        created_by: str,
        now: datetime,
    ) -> Subscription:
        values: dict[str, Any] = {
            "team_id": team_id,
            "channel_id": channel_id,
            "kind": kind.value,
            "every_seconds": schedule.every_seconds,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "namespaces": list(namespaces),
            "context": context,
            "created_by": created_by,
            "created_at": utc(now),
            "active": True,
            "last_fingerprints": [],
        }
        with self._db.write() as connection:
            statement = subscriptions.insert().values(values).returning(subscriptions)
            row = connection.execute(statement).mappings().one()
        return _subscription(row)

    def get(self, subscription_id: int) -> Subscription | None:
        with self._db.read() as connection:
            statement = select(subscriptions).where(subscriptions.c.id == subscription_id)
            row = connection.execute(statement).mappings().first()
        return _subscription(row) if row else None

    def for_channel(self, channel_id: str, *, include_ended: bool = False) -> list[Subscription]:
        """A channel's subscriptions (``/pod subscriptions``), oldest first."""
        statement = select(subscriptions).where(subscriptions.c.channel_id == channel_id)
        if not include_ended:
            statement = statement.where(subscriptions.c.active.is_(True))
        with self._db.read() as connection:
            return [
                _subscription(row)
                for row in connection.execute(statement.order_by(subscriptions.c.id)).mappings()
            ]

    def active(self) -> list[Subscription]:
        """Every active subscription: what the scheduler must have jobs for."""
        statement = select(subscriptions).where(subscriptions.c.active.is_(True)).order_by(subscriptions.c.id)
        with self._db.read() as connection:
            return [_subscription(row) for row in connection.execute(statement).mappings()]

    def end(self, subscription_id: int, *, channel_id: str, by: str, now: datetime) -> Subscription | None:
        """``/pod unsubscribe``: ends an active subscription of *this* channel; None if there is none.

        Rows are kept (ended, not deleted): post claims refer to them, and history stays readable.
        """
        with self._db.write() as connection:
            row = (
                connection.execute(
                    update(subscriptions)
                    .where(
                        and_(
                            subscriptions.c.id == subscription_id,
                            subscriptions.c.channel_id == channel_id,
                            subscriptions.c.active.is_(True),
                        )
                    )
                    .values(active=False, ended_by=by, ended_at=utc(now))
                    .returning(subscriptions)
                )
                .mappings()
                .first()
            )
        return _subscription(row) if row else None
