"""Approvals on SQLite and PostgreSQL: compare-and-set decisions under races, expiry, execution."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from podbot.core.records import DeleteTarget
from podbot.store import ApprovalState, Requester, Store
from tests.support.stores import T0, Target, open_store, race

HOUR = timedelta(hours=1)
POD = DeleteTarget(
    context="prod-cluster",
    kind="Pod",
    namespace="shop",
    name="web-7d9f-abcde",
    uid="0b7c1f5e-1111-4222-8333-944445555666",
    resource_version="12345",
    owner_kind="ReplicaSet",
    owner_name="web-7d9f",
    node="node-3",
    grace_period=30,
    reason="stuck after node drain",
)
ALICE = Requester(team_id="T1", channel_id="C-OPS", user_id="U-ALICE")


def test_create_and_get_keep_every_field(store: Store) -> None:
    created = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    assert created.state is ApprovalState.PENDING
    assert created.target == POD
    assert created.requester == ALICE
    assert created.created_at == T0 and created.expires_at == T0 + HOUR
    assert created.created_at.tzinfo is not None
    assert store.approvals.get(created.id) == created
    assert store.approvals.get(created.id + 1000) is None

    store.approvals.set_message(created.id, "C-OPS", "1715245200.000100")
    shown = store.approvals.get(created.id)
    assert shown is not None
    assert (shown.message_channel, shown.message_ts) == ("C-OPS", "1715245200.000100")


def test_times_must_be_aware_and_expiry_after_creation(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.approvals.create(POD, ALICE, now=datetime(2026, 5, 9, 9, 0), expires_at=T0 + HOUR)
    with pytest.raises(ValueError, match="expire after"):
        store.approvals.create(POD, ALICE, now=T0, expires_at=T0)
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", datetime(2026, 5, 9, 9, 1))
    with pytest.raises(ValueError, match="approved or denied"):
        store.approvals.decide(approval.id, ApprovalState.EXPIRED, "U-BOB", T0)


def test_first_decision_wins_and_later_ones_change_nothing(store: Store) -> None:
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    assert store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", T0 + timedelta(minutes=5))
    # A double click, a second approver, a late deny: all lose.
    assert not store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", T0 + timedelta(minutes=6))
    assert not store.approvals.decide(approval.id, ApprovalState.DENIED, "U-CAROL", T0 + timedelta(minutes=6))
    decided = store.approvals.get(approval.id)
    assert decided is not None
    assert decided.state is ApprovalState.APPROVED
    assert decided.decided_by == "U-BOB"
    assert decided.decided_at == T0 + timedelta(minutes=5)


def test_a_click_after_expiry_loses_even_before_the_sweep(store: Store) -> None:
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    assert not store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", T0 + HOUR)
    unchanged = store.approvals.get(approval.id)
    assert unchanged is not None and unchanged.state is ApprovalState.PENDING
    assert [a.id for a in store.approvals.expire_due(T0 + HOUR)] == [approval.id]


def test_racing_decisions_from_two_replicas_have_exactly_one_winner(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        for round_ in range(3):
            approval_id = first.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR).id
            calls = []
            for i in range(12):
                replica = first if i % 2 else second
                state = ApprovalState.APPROVED if i % 3 else ApprovalState.DENIED
                calls.append(
                    lambda r=replica, s=state, by=f"U-{i}", a=approval_id: r.approvals.decide(a, s, by, T0)
                )
            won = race(calls)
            assert won.count(True) == 1, f"round {round_}: {won}"
            winner = won.index(True)
            final = second.approvals.get(approval_id)
            assert final is not None
            assert final.decided_by == f"U-{winner}"
            assert final.state is (ApprovalState.APPROVED if winner % 3 else ApprovalState.DENIED)


def test_expire_due_returns_each_expiry_once(store: Store) -> None:
    early = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    late = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + 2 * HOUR)
    decided = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    assert store.approvals.decide(decided.id, ApprovalState.DENIED, "U-BOB", T0)

    assert store.approvals.expire_due(T0 + HOUR - timedelta(seconds=1)) == []
    expired = store.approvals.expire_due(T0 + HOUR)
    assert [a.id for a in expired] == [early.id]
    assert expired[0].state is ApprovalState.EXPIRED
    assert expired[0].decided_at == T0 + HOUR
    assert store.approvals.expire_due(T0 + HOUR) == []  # already reported
    assert [a.id for a in store.approvals.expire_due(T0 + 3 * HOUR)] == [late.id]
    still_denied = store.approvals.get(decided.id)
    assert still_denied is not None and still_denied.state is ApprovalState.DENIED


def test_a_request_that_expired_while_podbot_was_down_is_expired_after_restart(target: Target) -> None:
    with open_store(target) as before_crash:
        approval = before_crash.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
        still_pending = before_crash.approvals.create(POD, ALICE, now=T0, expires_at=T0 + 5 * HOUR)
    # podbot is down from T0 to T0 + 2h; a new process opens the same database.
    with open_store(target) as after_restart:
        now = T0 + 2 * HOUR
        assert not after_restart.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", now)
        assert [a.id for a in after_restart.approvals.expire_due(now)] == [approval.id]
        assert [a.id for a in after_restart.approvals.pending("C-OPS", now)] == [still_pending.id]
        # The pending one survived the restart and can still be approved.
        assert after_restart.approvals.decide(still_pending.id, ApprovalState.APPROVED, "U-BOB", now)


def test_concurrent_sweeps_split_the_expired_requests(target: Target) -> None:
    with open_store(target) as first, open_store(target, migrate=False) as second:
        ids = {first.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR).id for _ in range(20)}
        results = race(
            [lambda s=s: s.approvals.expire_due(T0 + HOUR) for s in (first, second, first, second)]
        )
        reported = [a.id for result in results for a in result]
        assert sorted(reported) == sorted(ids)  # each exactly once


def test_execution_runs_once_and_records_the_outcome(store: Store) -> None:
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    assert not store.approvals.start(approval.id)  # not approved yet
    assert store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-BOB", T0)
    assert race([lambda: store.approvals.start(approval.id) for _ in range(6)]).count(True) == 1
    with pytest.raises(ValueError, match="done or failed"):
        store.approvals.finish(approval.id, ApprovalState.APPROVED, outcome="deleted", now=T0)
    assert store.approvals.finish(
        approval.id, ApprovalState.DONE, outcome="deleted", detail="pod shop/web-7d9f-abcde deleted", now=T0
    )
    assert not store.approvals.finish(approval.id, ApprovalState.FAILED, outcome="conflict", now=T0)
    done = store.approvals.get(approval.id)
    assert done is not None
    assert (done.state, done.outcome, done.finished_at) == (ApprovalState.DONE, "deleted", T0)
    assert done.state.final


def test_recovery_lists_requests_left_half_way(store: Store) -> None:
    approved = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    store.approvals.decide(approved.id, ApprovalState.APPROVED, "U-BOB", T0)
    running = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    store.approvals.decide(running.id, ApprovalState.APPROVED, "U-BOB", T0)
    store.approvals.start(running.id)
    assert [a.id for a in store.approvals.in_state(ApprovalState.APPROVED)] == [approved.id]
    assert [a.id for a in store.approvals.in_state(ApprovalState.EXECUTING)] == [running.id]


def test_pending_lists_one_channels_open_requests_oldest_first(store: Store) -> None:
    other_channel = Requester(team_id="T1", channel_id="C-DEV", user_id="U-DAN")
    first = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    second = store.approvals.create(POD, ALICE, now=T0 + timedelta(minutes=1), expires_at=T0 + 3 * HOUR)
    store.approvals.create(POD, other_channel, now=T0, expires_at=T0 + HOUR)
    denied = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    store.approvals.decide(denied.id, ApprovalState.DENIED, "U-BOB", T0)

    assert [a.id for a in store.approvals.pending("C-OPS", T0 + timedelta(minutes=2))] == [
        first.id,
        second.id,
    ]
    # Past the first one's expiry it is no longer offered, swept or not.
    assert [a.id for a in store.approvals.pending("C-OPS", T0 + 2 * HOUR)] == [second.id]
    assert store.approvals.pending("C-NONE", T0) == []


def test_pending_for_finds_an_open_request_for_the_same_pod(store: Store) -> None:
    assert store.approvals.pending_for(POD, T0) is None
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    found = store.approvals.pending_for(POD, T0 + timedelta(minutes=1))
    assert found is not None and found.id == approval.id
    replaced = DeleteTarget(**{**POD.__dict__, "uid": "another-uid"})
    assert store.approvals.pending_for(replaced, T0) is None  # a same-named new pod is another object
    assert store.approvals.pending_for(POD, T0 + HOUR) is None  # expired


def test_a_stale_message_is_listed_for_repair_once_its_request_is_final(store: Store) -> None:
    approval = store.approvals.create(POD, ALICE, now=T0, expires_at=T0 + HOUR)
    store.approvals.mark_stale(approval.id, True)
    assert store.approvals.stale_messages() == []  # pending: its next step edits the message anyway
    assert store.approvals.decide(approval.id, ApprovalState.DENIED, "U-BOB", T0)
    [stale] = store.approvals.stale_messages()
    assert stale.id == approval.id and stale.message_stale
    store.approvals.mark_stale(approval.id, False)
    assert store.approvals.stale_messages() == []
    assert store.approvals.get(approval.id).message_stale is False  # type: ignore[union-attr]
