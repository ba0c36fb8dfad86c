"""The post ledger and uncertain digest claims (revision 0004) on SQLite and PostgreSQL
(issue: reliability, items 3 and 7)."""

from __future__ import annotations

from datetime import timedelta

from podbot.core.model import DigestKind
from podbot.store import Schedule, Store
from tests.support.stores import T0, race

MINUTE = timedelta(minutes=1)
STALE = timedelta(minutes=5)
SETTLE = timedelta(minutes=2)


def test_the_first_ts_recorded_wins_whoever_records_it(store: Store) -> None:
    store.posts.intend("digest:1:T", "C-OPS", T0)
    sending = store.posts.get("digest:1:T")
    assert sending is not None and (sending.state, sending.message_ts, sending.channel_id) == (
        "sending",
        None,
        "C-OPS",
    )
    # The post's answer and message_metadata_posted events race: no error, one ts, the first.
    racers = ("1.1", "1.2", "1.3")
    race([lambda ts=ts: store.posts.posted("digest:1:T", ts, now=T0 + MINUTE) for ts in racers])
    first = store.posts.get("digest:1:T")
    assert first is not None and first.state == "posted" and first.message_ts in racers
    store.posts.posted("digest:1:T", "2.2", now=T0 + 2 * MINUTE)
    posted = store.posts.get("digest:1:T")
    assert posted == first
    store.posts.intend("digest:1:T", "C-OPS", T0 + 3 * MINUTE)  # a late retry changes nothing
    store.posts.forget("digest:1:T")
    assert store.posts.get("digest:1:T") == posted


def test_an_event_for_a_key_never_intended_is_recorded(store: Store) -> None:
    store.posts.posted("alert:3:1", "5.5", channel_id="C-OPS", now=T0)
    seen = store.posts.get("alert:3:1")
    assert seen is not None and (seen.state, seen.message_ts, seen.channel_id) == ("posted", "5.5", "C-OPS")


def test_another_try_restarts_the_grace_and_a_refusal_forgets_the_try(store: Store) -> None:
    store.posts.intend("alert:1:1", "C-OPS", T0)
    store.posts.intend("alert:1:1", "C-OPS", T0 + SETTLE)
    again = store.posts.get("alert:1:1")
    assert again is not None and again.created_at == T0 and again.updated_at == T0 + SETTLE
    store.posts.forget("alert:1:1")
    assert store.posts.get("alert:1:1") is None


def test_an_uncertain_claim_is_kept_then_claimable_after_the_grace(store: Store) -> None:
    sub = store.subscriptions.create(
        team_id="T1",
        channel_id="C-OPS",
        kind=DigestKind.HEALTH,
        schedule=Schedule(every_seconds=3600),
        created_by="U-ALICE",
        now=T0,
    )
    claim = store.claims.claim_post(sub.id, T0, "replica-a", T0, STALE, SETTLE)
    assert claim is not None and store.claims.mark_uncertain(claim, T0)
    # Inside the grace: live, nobody takes it (a release would be retried at once).
    assert store.claims.reclaimable(T0 + MINUTE, STALE, SETTLE) == []
    assert store.claims.claim_post(sub.id, T0, "replica-b", T0 + MINUTE, STALE, SETTLE) is None
    # After it (well before stale): exactly one taker, attempt 2, and the mark is gone.
    later = T0 + SETTLE
    assert [c.attempt for c in store.claims.reclaimable(later, STALE, SETTLE)] == [1]
    taken = race([lambda: store.claims.claim_post(sub.id, T0, "replica-b", later, STALE, SETTLE)] * 3)
    (settler,) = [c for c in taken if c is not None]
    assert settler.attempt == 2 and store.claims.reclaimable(later, STALE, SETTLE) == []
    assert not store.claims.mark_uncertain(claim, later)  # no longer the holder
