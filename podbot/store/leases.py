"""Named leases in the database: who holds ``name`` until when.

For things that must run in one place only and have no Kubernetes Lease to lean on, e.g. the
guard that refuses a second podbot replica on a SQLite database (acquire at start-up, renew
periodically, release on shutdown; a replica that finds it held by someone else refuses to start).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import RowMapping, and_, case, delete, or_, select, update

from podbot.core.records import Lease, utc
from podbot.store.database import Database
from podbot.store.schema import leases


def _lease(row: RowMapping) -> Lease:
    return Lease(
        name=row["name"],
        holder=row["holder"],
        acquired_at=row["acquired_at"],
        renewed_at=row["renewed_at"],
        expires_at=row["expires_at"],
    )


class Leases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> Lease | None:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``; None while someone else holds it."""
        if not holder or ttl <= timedelta(0):
            raise ValueError("a lease needs a holder and a positive ttl")
        now = utc(now)
        insert = (
            self._db.insert(leases)
            .values(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(leases)
        )
        take_or_renew = (
            update(leases)
            .where(and_(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at <= now)))
            .values(
                acquired_at=case((leases.c.holder == holder, leases.c.acquired_at), else_=now),
                holder=holder,
                renewed_at=now,
                expires_at=now + ttl,
            )
            .returning(leases)
        )
        with self._db.write() as connection:
            row = connection.execute(take_or_renew).mappings().first()
            if row is None:
                row = connection.execute(insert).mappings().first()
        return _lease(row) if row else None

    def release(self, name: str, holder: str) -> bool:
        """Give ``name`` up (only its holder can); True if it was held by ``holder``."""
        with self._db.write() as connection:
            result = connection.execute(
                delete(leases).where(and_(leases.c.name == name, leases.c.holder == holder))
            )
        return result.rowcount == 1

    def get(self, name: str) -> Lease | None:
        with self._db.read() as connection:
            row = connection.execute(select(leases).where(leases.c.name == name)).mappings().first()
        return _lease(row) if row else None
