"""Channel settings, subscriptions, post claims, alert state and leases on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from podbot.core.model import DigestKind
from podbot.store import AlertState, ChannelSettings, Schedule, Store, Subscription
from tests.support.stores import T0, Target, open_store, race

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
STALE = timedelta(minutes=5)


def subscribe(store: Store, channel: str = "C-OPS", **changes: object) -> Subscription:
    values: dict[str, object] = {
        "team_id": "T1",
        "channel_id": channel,
        "kind": DigestKind.HEALTH,
        "schedule": Schedule(every_seconds=3600),
        "namespaces": ("shop", "billing"),
        "context": "prod",
        "created_by": "U-ALICE",
        "now": T0,
    }
    values.update(changes)
    return store.subscriptions.create(**values)  # type: ignore[arg-type]


# --- channel settings ------------------------------------------------------------------------


def test_channel_settings_are_created_replaced_and_listed(store: Store) -> None:
    assert store.channels.get("C-OPS") is None
    wanted = ChannelSettings(
        channel_id="C-OPS",
        team_id="T1",
        default_context="prod",
        default_namespace="shop",
        allowed_namespaces=("shop", "shop-*"),
        locale="zh_CN",
    )
    saved = store.channels.save(wanted, by="U-ALICE", now=T0)
    assert saved == replace(wanted, updated_by="U-ALICE", updated_at=T0)
    assert store.channels.get("C-OPS") == saved
    assert store.channels.with_alerts() == []

    alerting = replace(saved, alerts_enabled=True, alert_namespaces=("shop",), alert_context="prod")
    store.channels.save(alerting, by="U-BOB", now=T0 + MINUTE)
    store.channels.save(ChannelSettings(channel_id="C-DEV"), by="U-DAN", now=T0)
    got = store.channels.get("C-OPS")
    assert got == replace(alerting, updated_by="U-BOB", updated_at=T0 + MINUTE)
    assert [c.channel_id for c in store.channels.with_alerts()] == ["C-OPS"]


# --- subscriptions ---------------------------------------------------------------------------


def test_subscriptions_crud(store: Store) -> None:
    hourly = subscribe(store)
    weekdays = subscribe(
        store, kind=DigestKind.IMAGE_PULLS, schedule=Schedule(cron="0 9 * * 1-5", timezone="Asia/Shanghai")
    )
    elsewhere = subscribe(store, channel="C-DEV", namespaces=(), context=None)
    assert hourly.schedule == Schedule(every_seconds=3600)
    assert hourly.namespaces == ("shop", "billing") and hourly.context == "prod" and hourly.active
    assert weekdays.kind is DigestKind.IMAGE_PULLS
    assert weekdays.schedule == Schedule(cron="0 9 * * 1-5", timezone="Asia/Shanghai")
    assert elsewhere.namespaces == () and elsewhere.context is None
    assert store.subscriptions.get(hourly.id) == hourly
    assert [s.id for s in store.subscriptions.for_channel("C-OPS")] == [hourly.id, weekdays.id]
    assert [s.id for s in store.subscriptions.active()] == [hourly.id, weekdays.id, elsewhere.id]

    # Another channel cannot end it; this channel can, once.
    assert store.subscriptions.end(hourly.id, channel_id="C-DEV", by="U-DAN", now=T0) is None
    ended = store.subscriptions.end(hourly.id, channel_id="C-OPS", by="U-BOB", now=T0 + HOUR)
    assert ended is not None
    assert (ended.active, ended.ended_by, ended.ended_at) == (False, "U-BOB", T0 + HOUR)
    assert store.subscriptions.end(hourly.id, channel_id="C-OPS", by="U-BOB", now=T0 + HOUR) is None
    assert [s.id for s in store.subscriptions.for_channel("C-OPS")] == [weekdays.id]
    assert len(store.subscriptions.for_channel("C-OPS", include_ended=True)) == 2
    assert store.subscriptions.get(999) is None


def test_a_schedule_is_either_an_interval_or_a_cron(store: Store) -> None:
    for bad in ({}, {"every_seconds": 60, "cron": "* * * * *"}, {"every_seconds": 0}, {"cron": " "}):
        with pytest.raises(ValueError, match=r"schedule|positive|empty"):
            Schedule(**bad)  # type: ignore[arg-type]
    # The database holds the same line, for rows written by anything else.
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO subscriptions (team_id, channel_id, kind, every_seconds, cron, namespaces, "
                "created_by, created_at, last_fingerprints) "
                "VALUES ('T', 'C', 'health', 60, '* * * * *', '[]', 'U', '2026-05-09 09:00:00', '[]')"
            )
        )


# --- post claims -----------------------------------------------------------------------------


def test_a_claim_is_exclusive_and_final_once_posted(store: Store) -> None:
    sub = subscribe(store)
    claim = store.claims.claim_post(sub.id, T0, "replica-a", now=T0)
    assert claim is not None
    assert (claim.subscription_id, claim.scheduled_time, claim.owner, claim.attempt) == (
        sub.id,
        T0,
        "replica-a",
        1,
    )
    assert store.claims.claim_post(sub.id, T0, "replica-b", now=T0) is None
    assert store.claims.claim_post(sub.id, T0, "replica-a", now=T0) is None  # not even the holder twice
    assert store.claims.claim_post(sub.id, T0 + HOUR, "replica-b", now=T0) is not None  # other time

    assert store.claims.mark_posted(claim, "1715245200.000100", now=T0 + MINUTE)
    assert not store.claims.mark_posted(claim, "1715245200.000200", now=T0 + MINUTE)
    posted = store.claims.get(sub.id, T0)
    assert posted is not None
    assert (posted.posted_at, posted.message_ts) == (T0 + MINUTE, "1715245200.000100")
    # Posted is final: no takeover however late.
    assert store.claims.claim_post(sub.id, T0, "replica-b", now=T0 + 10 * HOUR, stale_after=STALE) is None


def test_two_schedulers_racing_for_the_same_time_get_one_claim(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        sub = subscribe(first)
        for slot in range(3):
            when = T0 + slot * HOUR
            calls = [
                lambda s=s, o=f"{name}-{i}", w=when: s.claims.claim_post(sub.id, w, o, now=w)
                for i in range(4)
                for s, name in ((first, "a"), (second, "b"))
            ]
            claims = [c for c in race(calls) if c is not None]
            assert len(claims) == 1, f"slot {slot}: {claims}"
            assert second.claims.get(sub.id, when) == claims[0]


def test_a_crashed_claim_is_retried_after_the_lease_and_the_late_holder_loses(store: Store) -> None:
    sub = subscribe(store)
    crashed = store.claims.claim_post(sub.id, T0, "replica-a", now=T0)
    assert crashed is not None
    assert store.claims.reclaimable(T0 + STALE - MINUTE, STALE) == []
    assert (
        store.claims.claim_post(sub.id, T0, "replica-b", now=T0 + STALE - MINUTE, stale_after=STALE) is None
    )

    assert store.claims.reclaimable(T0 + STALE, STALE) == [crashed]
    retry = store.claims.claim_post(sub.id, T0, "replica-b", now=T0 + STALE, stale_after=STALE)
    assert retry is not None
    assert (retry.owner, retry.attempt, retry.claimed_at) == ("replica-b", 2, T0 + STALE)
    assert store.claims.reclaimable(T0 + STALE, STALE) == []
    # The first holder wakes up: its claim is gone, it must not record a post.
    assert not store.claims.mark_posted(crashed, "1.1", now=T0 + STALE)
    assert not store.claims.release(crashed)
    assert store.claims.mark_posted(retry, "2.2", now=T0 + STALE + MINUTE)


def test_racing_takeovers_of_a_stale_claim_have_one_winner(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        sub = subscribe(first)
        assert first.claims.claim_post(sub.id, T0, "crashed", now=T0) is not None
        later = T0 + 2 * STALE
        calls = [
            lambda s=s, o=f"taker-{i}": s.claims.claim_post(sub.id, T0, o, now=later, stale_after=STALE)
            for i, s in enumerate((first, second) * 4)
        ]
        winners = [c for c in race(calls) if c is not None]
        assert len(winners) == 1
        assert winners[0].attempt == 2


def test_a_released_claim_is_retaken_at_once(store: Store) -> None:
    sub = subscribe(store)
    claim = store.claims.claim_post(sub.id, T0, "replica-a", now=T0)
    assert claim is not None
    assert store.claims.release(claim)
    assert store.claims.reclaimable(T0, STALE) == [claim]
    again = store.claims.claim_post(sub.id, T0, "replica-b", now=T0 + MINUTE, stale_after=STALE)
    assert again is not None and again.attempt == 2


def test_posting_records_the_digest_state_in_order(store: Store) -> None:
    sub = subscribe(store)
    assert sub.last_digest_at is None and sub.last_fingerprints == frozenset()
    nine = store.claims.claim_post(sub.id, T0, "a", now=T0)
    ten = store.claims.claim_post(sub.id, T0 + HOUR, "a", now=T0 + HOUR)
    assert nine is not None and ten is not None
    assert store.claims.mark_posted(
        ten, "10", now=T0 + HOUR, fingerprints=["crash:shop/web", "pull:shop/api"]
    )
    # The 9:00 digest, retried late, must not overwrite what the 10:00 one recorded.
    assert store.claims.mark_posted(nine, "9", now=T0 + HOUR, fingerprints=["old"])
    latest = store.subscriptions.get(sub.id)
    assert latest is not None
    assert latest.last_digest_at == T0 + HOUR
    assert latest.last_fingerprints == frozenset({"crash:shop/web", "pull:shop/api"})
    # A claim that lost its race records nothing.
    eleven = store.claims.claim_post(sub.id, T0 + 2 * HOUR, "a", now=T0 + 2 * HOUR)
    assert eleven is not None
    assert store.claims.claim_post(sub.id, T0 + 2 * HOUR, "b", now=T0 + 3 * HOUR, stale_after=STALE)
    assert not store.claims.mark_posted(eleven, "11", now=T0 + 3 * HOUR, fingerprints=[])
    unchanged = store.subscriptions.get(sub.id)
    assert unchanged is not None and unchanged.last_digest_at == T0 + HOUR


def test_claims_need_a_real_subscription_and_prune_keeps_unposted(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.claims.claim_post(12345, T0, "a", now=T0)  # foreign keys are on, SQLite included
    sub = subscribe(store)
    old = store.claims.claim_post(sub.id, T0, "a", now=T0)
    unposted = store.claims.claim_post(sub.id, T0 + HOUR, "a", now=T0 + HOUR)
    recent = store.claims.claim_post(sub.id, T0 + 5 * HOUR, "a", now=T0 + 5 * HOUR)
    assert old and unposted and recent
    store.claims.mark_posted(old, "1", now=T0)
    store.claims.mark_posted(recent, "2", now=T0 + 5 * HOUR)
    assert store.claims.prune(T0 + 2 * HOUR) == 1
    assert store.claims.get(sub.id, T0) is None
    assert store.claims.get(sub.id, T0 + HOUR) == unposted
    assert store.claims.get(sub.id, T0 + 5 * HOUR) is not None


# --- alerts ----------------------------------------------------------------------------------


def test_an_alert_is_posted_once_updated_sparingly_and_resolved(store: Store) -> None:
    first = store.alerts.observe(
        "C-OPS", "pull:regcred", T0, count=3, title="ImagePullBackOff: no credentials"
    )
    assert first.must_post
    alert = first.alert
    assert (alert.state, alert.count, alert.peak_count, alert.episodes) == (AlertState.OPEN, 3, 3, 1)
    store.alerts.set_message(alert.id, "1715245200.000100")

    again = store.alerts.observe("C-OPS", "pull:regcred", T0 + MINUTE, count=500)
    assert not again.must_post
    assert (again.alert.count, again.alert.peak_count, again.alert.last_seen) == (500, 500, T0 + MINUTE)
    assert again.alert.message_ts == "1715245200.000100"

    interval = timedelta(minutes=10)
    assert not store.alerts.claim_thread_update(alert.id, T0 + 9 * MINUTE, interval)
    assert store.alerts.claim_thread_update(alert.id, T0 + 10 * MINUTE, interval)
    assert not store.alerts.claim_thread_update(alert.id, T0 + 15 * MINUTE, interval)
    assert store.alerts.claim_thread_update(alert.id, T0 + 20 * MINUTE, interval)

    lower = store.alerts.observe("C-OPS", "pull:regcred", T0 + 21 * MINUTE, count=2)
    assert (lower.alert.count, lower.alert.peak_count, lower.alert.thread_updates) == (2, 500, 2)

    resolved = store.alerts.resolve("C-OPS", "pull:regcred", T0 + HOUR)
    assert resolved is not None
    assert (resolved.state, resolved.resolved_at, resolved.message_ts) == (
        AlertState.RESOLVED,
        T0 + HOUR,
        "1715245200.000100",
    )
    assert store.alerts.resolve("C-OPS", "pull:regcred", T0 + HOUR) is None
    assert not store.alerts.claim_thread_update(alert.id, T0 + 2 * HOUR, interval)
    assert store.alerts.open_alerts() == []

    # It comes back: a new episode and a new message.
    back = store.alerts.observe("C-OPS", "pull:regcred", T0 + 2 * HOUR, count=1)
    assert back.must_post
    assert back.alert.id == alert.id
    assert (back.alert.episodes, back.alert.message_ts, back.alert.first_seen) == (2, None, T0 + 2 * HOUR)
    assert (back.alert.thread_updates, back.alert.peak_count, back.alert.resolved_at) == (0, 1, None)


def test_alerts_are_per_channel_and_listed_when_open(store: Store) -> None:
    assert store.alerts.observe("C-OPS", "crash:shop/web", T0).must_post
    assert store.alerts.observe("C-DEV", "crash:shop/web", T0).must_post
    assert store.alerts.observe("C-OPS", "oom:shop/api", T0).must_post
    assert [a.group_key for a in store.alerts.open_alerts("C-OPS")] == ["crash:shop/web", "oom:shop/api"]
    assert len(store.alerts.open_alerts()) == 3
    got = store.alerts.get("C-DEV", "crash:shop/web")
    assert got is not None and got.channel_id == "C-DEV"
    assert store.alerts.get("C-DEV", "nothing") is None


def test_an_alert_whose_poster_crashed_is_handed_out_again_after_the_lease(store: Store) -> None:
    assert store.alerts.observe("C-OPS", "crash:shop/web", T0).must_post  # ...and the poster dies
    lease = timedelta(minutes=5)
    assert not store.alerts.observe("C-OPS", "crash:shop/web", T0 + MINUTE, post_lease=lease).must_post
    retry = store.alerts.observe("C-OPS", "crash:shop/web", T0 + lease, post_lease=lease)
    assert retry.must_post
    store.alerts.set_message(retry.alert.id, "9.9")
    assert not store.alerts.observe("C-OPS", "crash:shop/web", T0 + 3 * lease, post_lease=lease).must_post


def test_a_burst_of_observers_posts_one_alert(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        calls = [
            lambda s=s: s.alerts.observe("C-OPS", "pull:regcred", T0, count=500) for s in (first, second) * 4
        ]
        assert [o.must_post for o in race(calls)].count(True) == 1


# --- leases ----------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires(store: Store) -> None:
    ttl = timedelta(seconds=30)
    lease = store.leases.acquire("sqlite-single-replica", "pod-a", T0, ttl)
    assert lease is not None and lease.expires_at == T0 + ttl
    assert store.leases.acquire("sqlite-single-replica", "pod-b", T0 + 10 * timedelta(seconds=1), ttl) is None
    renewed = store.leases.acquire("sqlite-single-replica", "pod-a", T0 + timedelta(seconds=20), ttl)
    assert renewed is not None
    assert (renewed.acquired_at, renewed.renewed_at) == (T0, T0 + timedelta(seconds=20))
    # pod-a stops renewing: after expiry pod-b takes over.
    taken = store.leases.acquire("sqlite-single-replica", "pod-b", T0 + timedelta(seconds=50), ttl)
    assert taken is not None and (taken.holder, taken.acquired_at) == ("pod-b", T0 + timedelta(seconds=50))
    assert not store.leases.release("sqlite-single-replica", "pod-a")
    assert store.leases.release("sqlite-single-replica", "pod-b")
    assert store.leases.get("sqlite-single-replica") is None


def test_racing_lease_takers_get_one_lease(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        ttl = timedelta(seconds=30)
        calls = [
            lambda s=s, h=f"pod-{i}": s.leases.acquire("leader", h, T0, ttl)
            for i, s in enumerate((first, second) * 3)
        ]
        assert len([lease for lease in race(calls) if lease is not None]) == 1
