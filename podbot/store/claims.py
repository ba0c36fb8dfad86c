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

6. ``mark_uncertain`` (Slack did not confirm the post: 5xx, timeout) keeps the claim live, so
   nobody posts again at once, but makes it claimable ``settle_after`` later (sooner than stale):
   the taker then settles it from the post ledger before deciding to post.

Guarantee: a digest is posted at most once per (S, T) while every holder finishes within
``stale_after``; a holder that crashes before posting leads to a retry after ``stale_after``, not
a loss. A crash *after* ``chat.postMessage`` succeeded and *before* ``mark_posted`` committed, or
an answer Slack never gave, is closed by the ``PostLedger``: the message carries metadata with
its key, Slack's ``message_metadata_posted`` event marks the key posted, and a retry (attempt > 1)
records that message instead of posting again (no ``conversations.history``: its limits for
non-Marketplace apps make it useless here).

``PostLedger``: every non-idempotent post by a stable key ("digest:S:T", "alert:...",
"approval:..."): ``intend`` before the post ("sending"), ``posted`` with the ts from the post's
answer or from the event (the first ts wins), ``get`` to settle.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, RowMapping, and_, delete, or_, select, update

from podbot.core.records import Claim, PostRecord, utc
from podbot.store.database import Database
from podbot.store.schema import post_claims, post_ledger, subscriptions

DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_SETTLE_AFTER = timedelta(minutes=2)


# What a Claim reads (not ``uncertain_at``: only the SQL conditions use it).
_COLUMNS = tuple(
    post_claims.c[name]
    for name in (
        "subscription_id",
        "scheduled_time",
        "owner",
        "attempt",
        "claimed_at",
        "posted_at",
        "message_ts",
    )
)


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


def _takeable(now: datetime, stale_after: timedelta, settle_after: timedelta) -> ColumnElement[bool]:
    """An unposted claim another caller may take: released, stale, or uncertain long enough."""
    return or_(
        post_claims.c.released.is_(True),
        post_claims.c.claimed_at <= now - stale_after,
        post_claims.c.uncertain_at <= now - settle_after,
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
        settle_after: timedelta = DEFAULT_SETTLE_AFTER,
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
            .returning(*_COLUMNS)
        )
        takeover = (
            update(post_claims)
            .where(
                and_(
                    key,
                    post_claims.c.posted_at.is_(None),
                    _takeable(now, stale_after, settle_after),
                )
            )
            .values(
                owner=owner,
                claimed_at=now,
                attempt=post_claims.c.attempt + 1,
                released=False,
                uncertain_at=None,
            )
            .returning(*_COLUMNS)
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

    def mark_uncertain(self, claim: Claim, now: datetime) -> bool:
        """Slack did not confirm this claim's post: keep it live, settle it ``settle_after`` from
        ``now`` (see point 6); False if not ours."""
        with self._db.write() as connection:
            result = connection.execute(update(post_claims).where(_is(claim)).values(uncertain_at=utc(now)))
        return result.rowcount == 1

    def get(self, subscription_id: int, scheduled_time: datetime) -> Claim | None:
        statement = select(*_COLUMNS).where(
            and_(
                post_claims.c.subscription_id == subscription_id,
                post_claims.c.scheduled_time == utc(scheduled_time, "scheduled_time"),
            )
        )
        with self._db.read() as connection:
            row = connection.execute(statement).mappings().first()
        return _claim(row) if row else None

    def reclaimable(
        self,
        now: datetime,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        settle_after: timedelta = DEFAULT_SETTLE_AFTER,
    ) -> list[Claim]:
        """Unposted claims that are released, stale or uncertain for ``settle_after``, oldest
        scheduled time first: digests to retry (or to settle)."""
        statement = (
            select(*_COLUMNS)
            .where(and_(post_claims.c.posted_at.is_(None), _takeable(utc(now), stale_after, settle_after)))
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


class PostLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    def intend(self, key: str, channel_id: str, now: datetime) -> None:
        """Record a post about to be made (before chat.postMessage). For a key not posted yet this
        is another try: ``updated_at`` (where a settling grace counts from) becomes ``now``."""
        now = utc(now)
        insert = (
            self._db.insert(post_ledger)
            .values(key=key, channel_id=channel_id, state="sending", created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        with self._db.write() as connection:
            connection.execute(insert)
            connection.execute(
                update(post_ledger)
                .where(and_(post_ledger.c.key == key, post_ledger.c.message_ts.is_(None)))
                .values(updated_at=now)
            )

    def forget(self, key: str) -> None:
        """Slack refused the post (nothing stored): drop its unposted row."""
        with self._db.write() as connection:
            connection.execute(
                delete(post_ledger).where(and_(post_ledger.c.key == key, post_ledger.c.message_ts.is_(None)))
            )

    def posted(self, key: str, message_ts: str, *, channel_id: str = "", now: datetime) -> None:
        """Slack has the message ``key`` at ``message_ts`` (from the post's answer or the event).
        The first ts recorded wins; a key never intended (the event came first) is recorded too."""
        now = utc(now)
        insert = (
            self._db.insert(post_ledger)
            .values(
                key=key,
                channel_id=channel_id,
                state="posted",
                message_ts=message_ts,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        with self._db.write() as connection:
            connection.execute(insert)
            connection.execute(
                update(post_ledger)
                .where(and_(post_ledger.c.key == key, post_ledger.c.message_ts.is_(None)))
                .values(state="posted", message_ts=message_ts, updated_at=now)
            )

    def get(self, key: str) -> PostRecord | None:
        with self._db.read() as connection:
            row = connection.execute(select(post_ledger).where(post_ledger.c.key == key)).mappings().first()
        if row is None:
            return None
        return PostRecord(
            key=row["key"],
            channel_id=row["channel_id"],
            state=row["state"],
            message_ts=row["message_ts"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
