"""Post claims: at most one digest per (subscription, scheduled time), and no digest lost to a crash.

How a scheduler posts the digest of subscription S due at time T::

    claim = store.claims.claim_post(S, T, owner=replica_id, now=now)
    if claim is None:
        return                      # another scheduler has it, or it was posted already
    ts = post_digest(...)           # chat.postMessage
    store.claims.mark_posted(claim, ts, now=now, fingerprints=...)
    # on a failed post, or when shutting down before posting: store.claims.release(claim)

Exact semantics (``(S, T)`` is the table's primary key, so the database arbitrates every race):

1. The first ``claim_post`` for (S, T) inserts the row and returns ``Claim(attempt=1)``. While that
   claim is *live*, every other call for (S, T) returns None, in any thread or replica.
2. A claim stays live until it is posted (``mark_posted``; final: (S, T) is never claimable
   again), released (``release``), or stale: unposted and claimed at or before ``now - stale_after``.
3. A released or stale claim is taken over by exactly one caller of ``claim_post``: owner and
   ``claimed_at`` are replaced and ``attempt`` goes up by one (``attempt > 1`` tells the new holder
   it is a retry).
4. ``mark_posted`` succeeds only for the current holder (same owner and attempt) of an unposted
   claim. It returns False when the claim was taken over because this holder took longer than
   ``stale_after``; the new holder may then post too. Choose ``stale_after`` well above the
   longest post including Slack retries (default 5 minutes).
5. ``reclaimable(now, stale_after)`` lists released and stale claims, so the leader can retry
   them (a scheduler does not fire a past time again by itself).

Guarantee: a digest is posted at most once per (S, T) while every holder finishes within
``stale_after``; a holder that crashes before posting leads to a retry after ``stale_after``, not
a loss. The one window that can still duplicate is a crash *after* ``chat.postMessage`` succeeded
and *before* ``mark_posted`` committed: the retry posts again. A caller that must close it can tag
the message with Slack message metadata (S, T) and, when ``attempt > 1``, look for that message
in ``conversations.history`` before posting.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, RowMapping, and_, delete, or_, select, update

from podbot.core.records import Claim, utc
from podbot.store.database import Database
from podbot.store.schema import post_claims, subscriptions

DEFAULT_STALE_AFTER = timedelta(minutes=5)


def _claim(row: RowMapping) -> Claim:
    return Claim(
        subscription_id=row["subscription_id"],
        scheduled_time=row["scheduled_time"],
        owner=row["owner"],
        attempt=row["attempt"],
        claimed_at=row["claimed_at"],
        posted_at=row["posted_at"],
        message_ts=row["message_ts"],
    )


def _is(claim: Claim) -> ColumnElement[bool]:
    """The row of exactly this claim: same key, same holder, same attempt, not yet posted."""
    return and_(
        post_claims.c.subscription_id == claim.subscription_id,
        post_claims.c.scheduled_time == claim.scheduled_time,
        post_claims.c.owner == claim.owner,
        post_claims.c.attempt == claim.attempt,
        post_claims.c.posted_at.is_(None),
    )


class PostClaims:
    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_post(
        self,
        subscription_id: int,
        scheduled_time: datetime,
        owner: str,
        now: datetime,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> Claim | None:
        """The right to post (S, T), or None if someone else holds it or it was posted."""
        if not owner:
            raise ValueError("a claim needs an owner (the replica's identity)")
        if stale_after <= timedelta(0):
            raise ValueError("stale_after must be positive")
        scheduled_time, now = utc(scheduled_time, "scheduled_time"), utc(now)
        key = and_(
            post_claims.c.subscription_id == subscription_id,
            post_claims.c.scheduled_time == scheduled_time,
        )
        insert = (
            self._db.insert(post_claims)
            .values(
                subscription_id=subscription_id,
                scheduled_time=scheduled_time,
                owner=owner,
                attempt=1,
                claimed_at=now,
                released=False,
            )
            .on_conflict_do_nothing(index_elements=["subscription_id", "scheduled_time"])
            .returning(post_claims)
        )
        takeover = (
            update(post_claims)
            .where(
                and_(
                    key,
                    post_claims.c.posted_at.is_(None),
                    or_(post_claims.c.released.is_(True), post_claims.c.claimed_at <= now - stale_after),
                )
            )
            .values(owner=owner, claimed_at=now, attempt=post_claims.c.attempt + 1, released=False)
            .returning(post_claims)
        )
        with self._db.write() as connection:
            row = connection.execute(insert).mappings().first()
            if row is None:
                # Conditional UPDATE: on PostgreSQL a competing taker's row lock makes this one
                # re-check the condition after it commits, and find the claim live again.
                row = connection.execute(takeover).mappings().first()
        return _claim(row) if row else None

    def mark_posted(
        self,
        claim: Claim,
        message_ts: str,
        *,
        now: datetime,
        fingerprints: Collection[str] | None = None,
    ) -> bool:
        """Record the post (final). With ``fingerprints``, also remember them as the subscription's
        latest digest (unless a later scheduled time was recorded already), in the same transaction.
        False: this claim was taken over meanwhile (see the module docstring, point 4)."""
        with self._db.write() as connection:
            result = connection.execute(
                update(post_claims).where(_is(claim)).values(posted_at=utc(now), message_ts=message_ts)
            )
            if result.rowcount != 1:
                return False
            if fingerprints is not None:
                connection.execute(
                    update(subscriptions)
                    .where(
                        and_(
                            subscriptions.c.id == claim.subscription_id,
                            or_(
                                subscriptions.c.last_digest_at.is_(None),
                                subscriptions.c.last_digest_at <= claim.scheduled_time,
                            ),
                        )
                    )
                    .values(last_digest_at=claim.scheduled_time, last_fingerprints=sorted(set(fingerprints)))
                )
        return True

    def release(self, claim: Claim) -> bool:
        """Give up an unposted claim so the next ``claim_post`` retries at once; False if not ours."""
        with self._db.write() as connection:
            result = connection.execute(update(post_claims).where(_is(claim)).values(released=True))
        return result.rowcount == 1

    def get(self, subscription_id: int, scheduled_time: datetime) -> Claim | None:
        statement = select(post_claims).where(
            and_(
                post_claims.c.subscription_id == subscription_id,
                post_claims.c.scheduled_time == utc(scheduled_time, "scheduled_time"),
            )
        )
        with self._db.read() as connection:
            row = connection.execute(statement).mappings().first()
        return _claim(row) if row else None

    def reclaimable(self, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER) -> list[Claim]:
        """Unposted claims that are released or stale, oldest scheduled time first: digests to retry."""
        statement = (
            select(post_claims)
            .where(
                and_(
                    post_claims.c.posted_at.is_(None),
                    or_(
                        post_claims.c.released.is_(True),
                        post_claims.c.claimed_at <= utc(now) - stale_after,
                    ),
                )
            )
            .order_by(post_claims.c.scheduled_time, post_claims.c.subscription_id)
        )
        with self._db.read() as connection:
            return [_claim(row) for row in connection.execute(statement).mappings()]

    def prune(self, posted_before: datetime) -> int:
        """Delete posted claims scheduled before ``posted_before`` (housekeeping); returns how many.

        Keep well clear of any time a scheduler could still fire for (its misfire grace): a pruned
        (S, T) could be claimed, and posted, again."""
        with self._db.write() as connection:
            result = connection.execute(
                delete(post_claims).where(
                    and_(
                        post_claims.c.posted_at.is_not(None),
                        post_claims.c.scheduled_time < utc(posted_before, "posted_before"),
                    )
                )
            )
        return result.rowcount
