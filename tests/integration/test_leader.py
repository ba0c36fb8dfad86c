"""Leader election on a coordination.k8s.io/v1 Lease, against podbot.sim's API server.

Step tests drive ``try_acquire_or_renew`` by hand with a fake monotonic clock (no threads, no
sleeping); the loop tests run real electors on threads with short real durations (the election
works on the process's monotonic clock, not on simulated time).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from podbot.core.errors import Conflict
from podbot.k8s.client import KubeClient
from podbot.k8s.election import LeaderElector, LeaseLock, LeaseRecord
from podbot.sim.cluster import SimCluster
from tests.support.election import FAST
from tests.support.stores import race
from tests.support.waits import wait_until

NS = "default"
T0 = datetime(2026, 5, 9, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def lease_name() -> str:
    return f"podbot-{uuid.uuid4().hex[:8]}"


def lease(sim: SimCluster, name: str) -> dict:  # type: ignore[type-arg]
    return sim.store.get("leases.coordination.k8s.io", NS, name).load()


def elector(
    kube: KubeClient,
    name: str,
    identity: str,
    clock: Callable[[], float] = time.monotonic,
    *,
    lease_duration: int = 15,
    renew_deadline: float = 10,
    retry_period: float = 2,
    **callbacks: Callable[[], None],
) -> LeaderElector:
    return LeaderElector(
        LeaseLock(kube, NS, name),
        identity,
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
        now=lambda: datetime.now(UTC),
        clock=clock,
        **callbacks,  # type: ignore[arg-type]
    )


# --- one step at a time -------------------------------------------------------------------------
def test_first_candidate_creates_the_lease_with_the_record_fields(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    a = elector(kube, lease_name, "a", clock)
    assert a.try_acquire_or_renew()
    spec = lease(sim_cluster, lease_name)["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0 and spec["acquireTime"] == spec["renewTime"]
    assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == len("2026-05-09T09:00:00.000000Z")
    assert a.leader == "a"


def test_a_follower_waits_a_lease_duration_after_the_last_change_it_saw(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    a = elector(kube, lease_name, "a", clock)
    b = elector(kube, lease_name, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew() and b.leader == "a"
    clock.t += 10
    assert a.try_acquire_or_renew()  # a renews: the record changes
    first_renew = lease(sim_cluster, lease_name)["spec"]["renewTime"]
    clock.t += 10  # 20 s since b first saw the lease, but only 10 s since it last changed
    assert not b.try_acquire_or_renew()
    clock.t += 14.9
    assert not b.try_acquire_or_renew()  # b saw the change 14.9 s ago: not yet
    clock.t += 0.2
    assert b.try_acquire_or_renew()  # a stopped renewing 15 s ago (as b observed it): taken over
    spec = lease(sim_cluster, lease_name)["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert spec["acquireTime"] == spec["renewTime"] != first_renew
    # The old leader's optimistic renewal carries a stale resourceVersion and loses; then it sees b.
    assert not a.try_acquire_or_renew() and a.leader == "b"
    assert lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == "b"


def test_renewal_keeps_acquire_time_and_transitions(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    a = elector(kube, lease_name, "a", clock)
    assert a.try_acquire_or_renew()
    before = lease(sim_cluster, lease_name)
    clock.t += 2
    time.sleep(0.002)  # renewTime has microseconds of the real wall clock
    assert a.try_acquire_or_renew()
    after = lease(sim_cluster, lease_name)
    assert after["spec"]["acquireTime"] == before["spec"]["acquireTime"]
    assert after["spec"]["renewTime"] > before["spec"]["renewTime"]
    assert after["spec"]["leaseTransitions"] == 0
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


def test_update_conflict_means_the_other_candidate_won(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    """b and c both read the expired lease; b writes first; c's update carries the old
    resourceVersion, the API server answers 409, and c does not lead."""
    clock = FakeClock()
    a, b = elector(kube, lease_name, "a", clock), elector(kube, lease_name, "b", clock)
    assert a.try_acquire_or_renew()

    class RacingLock(LeaseLock):
        def get(self, timeout: float | None = None) -> LeaseRecord:
            record = super().get(timeout)
            if racing:
                assert b.try_acquire_or_renew()  # b wins while c holds what it just read
            return record

        def update(self, record: LeaseRecord, timeout: float | None = None) -> None:
            try:
                super().update(record, timeout)
            except Conflict:
                conflicts.append(record)
                raise

    conflicts: list[LeaseRecord] = []
    racing = False
    c = LeaderElector(RacingLock(kube, NS, lease_name), "c", clock=clock)
    assert not b.try_acquire_or_renew() and not c.try_acquire_or_renew()  # both have seen a's record...
    clock.t += 16  # ...and it has not changed for a lease duration
    racing = True
    assert not c.try_acquire_or_renew()
    assert len(conflicts) == 1 and conflicts[0].holder == "c"
    spec = lease(sim_cluster, lease_name)["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1


def test_candidates_racing_for_an_expired_lease_exactly_one_wins(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    old = elector(kube, lease_name, "old", clock)
    assert old.try_acquire_or_renew()
    candidates = [elector(kube, lease_name, f"c{i}", clock) for i in range(6)]
    assert not any(c.try_acquire_or_renew() for c in candidates)
    clock.t += 16
    results = race([c.try_acquire_or_renew for c in candidates])
    assert results.count(True) == 1
    winner = candidates[results.index(True)].identity
    assert lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == winner
    assert lease(sim_cluster, lease_name)["spec"]["leaseTransitions"] == 1


def test_race_for_a_lease_that_does_not_exist_yet(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    candidates = [elector(kube, lease_name, f"c{i}", FakeClock()) for i in range(5)]
    results = race([c.try_acquire_or_renew for c in candidates])
    assert results.count(True) == 1  # one create succeeds, the others get AlreadyExists
    assert (
        lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == candidates[results.index(True)].identity
    )


def test_release_lets_the_next_candidate_take_over_at_once(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    a, b = elector(kube, lease_name, "a", clock), elector(kube, lease_name, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release()
    spec = lease(sim_cluster, lease_name)["spec"]
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    assert b.try_acquire_or_renew()  # no waiting: an empty holder is free (same clock instant)
    assert lease(sim_cluster, lease_name)["spec"]["leaseTransitions"] == 1
    assert b.release() and a.release()  # a no longer holds it: nothing to do, b's release stands
    assert lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == ""


def test_a_non_holder_never_overwrites_on_release(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    a, b = elector(kube, lease_name, "a", clock), elector(kube, lease_name, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert b.release()
    assert lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == "a"


def test_is_leader_turns_false_at_the_renew_deadline_without_any_call(
    kube: KubeClient, sim_cluster: SimCluster, lease_name: str
) -> None:
    clock = FakeClock()
    started: list[str] = []
    a = elector(kube, lease_name, "a", clock, on_started_leading=lambda: started.append("a"))
    a._after_attempt(a.try_acquire_or_renew(), clock())  # what the loop does after each attempt
    assert a.is_leader and started == ["a"]
    clock.t += 9.99
    assert a.is_leader
    clock.t += 0.02
    assert not a.is_leader  # the lease is still a's on the server, but a must not act on it


def test_bad_timings_are_refused(kube: KubeClient) -> None:
    lock = LeaseLock(kube, NS, "x")
    with pytest.raises(ValueError, match="lease_duration"):
        LeaderElector(lock, "a", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match="retry_period"):
        LeaderElector(lock, "a", lease_duration=15, renew_deadline=2, retry_period=2)
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(lock, "")


# --- the loop, on threads, in real time ---------------------------------------------------------
class Candidate:
    """An elector on its thread plus a log of its leadership changes."""

    def __init__(self, kube: KubeClient, name: str, identity: str) -> None:
        self.events: list[tuple[str, float]] = []
        self.elector = elector(
            kube,
            name,
            identity,
            on_started_leading=lambda: self.events.append(("started", time.monotonic())),
            on_stopped_leading=lambda: self.events.append(("stopped", time.monotonic())),
            **FAST,  # type: ignore[arg-type]
        )

    def starts(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "started")


@pytest.fixture
def candidates(kube: KubeClient, lease_name: str) -> Iterator[list[Candidate]]:
    made = [Candidate(kube, lease_name, f"replica-{i}") for i in range(3)]
    yield made
    for candidate in made:
        candidate.elector.stop(timeout=3)


def leaders(candidates: list[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.elector.is_leader]


@pytest.mark.slow
def test_three_candidates_exactly_one_leader(candidates: list[Candidate]) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    # Over several lease durations: never two leaders at once, and no change of leader.
    end = time.monotonic() + 5
    (first,) = leaders(candidates)
    while time.monotonic() < end:
        assert len(leaders(candidates)) <= 1
        time.sleep(0.02)
    assert leaders(candidates) == [first]
    assert sum(c.starts() for c in candidates) == 1
    assert all(c.elector.leader == first.elector.identity for c in candidates)


@pytest.mark.slow
def test_when_the_leader_stops_renewing_another_takes_over_within_the_lease_duration(
    candidates: list[Candidate], sim_cluster: SimCluster, lease_name: str
) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    (old,) = leaders(candidates)
    last_renew = lease(sim_cluster, lease_name)["spec"]["renewTime"]
    # A frozen leader: its loop ends without releasing (as if the process hung or was killed).
    old.elector._stopping.set()
    old.elector._thread.join(3)  # type: ignore[union-attr]
    stopped_renewing = time.monotonic()
    others = [c for c in candidates if c is not old]
    took = wait_until(lambda: len(leaders(others)) == 1, timeout=6)
    # client-go's bound: a follower takes over lease_duration after it last saw a change, plus at
    # most one jittered retry period (2.2 x retry) before it looks again.
    assert took <= FAST["lease_duration"] + 2.2 * FAST["retry_period"] + 0.5, took
    (new,) = leaders(others)
    spec = lease(sim_cluster, lease_name)["spec"]
    assert spec["holderIdentity"] == new.elector.identity and spec["renewTime"] != last_renew
    assert spec["leaseTransitions"] == 1
    assert time.monotonic() - stopped_renewing >= 1.0  # not before the old lease could have expired


@pytest.mark.slow
def test_api_down_the_leader_steps_down_at_the_deadline_and_someone_leads_after(
    candidates: list[Candidate], sim_cluster: SimCluster
) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    (old,) = leaders(candidates)
    sim_cluster.faults.api_down()
    try:
        down_at = time.monotonic()
        took = wait_until(lambda: not old.elector.is_leader, timeout=4)
        assert took <= FAST["renew_deadline"] + 0.1, took
        wait_until(lambda: old.events[-1][0] == "stopped", timeout=2)
        stopped_at = old.events[-1][1]
        assert stopped_at - down_at <= FAST["renew_deadline"] + 0.5
        assert not leaders(candidates)
    finally:
        sim_cluster.faults.api_up()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=8)


@pytest.mark.slow
def test_a_slow_api_server_cannot_keep_a_stale_leader(
    candidates: list[Candidate], sim_cluster: SimCluster, lease_name: str
) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    (old,) = leaders(candidates)
    # Every lease request now hangs for 4 s (longer than the lease duration) before being answered.
    sim_cluster.faults.slow(4, path=f"/leases/{lease_name}")
    try:
        took = wait_until(lambda: old.events[-1][0] == "stopped", timeout=5)
        assert took <= FAST["renew_deadline"] + 0.6, took  # the call's timeout is what is left
    finally:
        sim_cluster.faults.clear()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=10)


@pytest.mark.slow
def test_stop_then_release_hands_over_without_waiting_for_expiry(
    candidates: list[Candidate], sim_cluster: SimCluster, lease_name: str
) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    (old,) = leaders(candidates)
    old.elector.stop()
    assert old.events[-1][0] == "stopped" and not old.elector.is_leader
    assert old.elector.release()
    others = [c for c in candidates if c is not old]
    took = wait_until(lambda: len(leaders(others)) == 1, timeout=3)
    assert took < FAST["lease_duration"], took  # the next retry, not a lease duration later


@pytest.mark.slow
def test_stop_while_following_changes_nothing(
    candidates: list[Candidate], sim_cluster: SimCluster, lease_name: str
) -> None:
    for candidate in candidates:
        candidate.elector.start()
    wait_until(lambda: len(leaders(candidates)) == 1, timeout=5)
    (leader,) = leaders(candidates)
    follower = next(c for c in candidates if c is not leader)
    follower.elector.stop()
    assert follower.elector.release()
    assert follower.events == []
    assert lease(sim_cluster, lease_name)["spec"]["holderIdentity"] == leader.elector.identity
    time.sleep(3 * FAST["retry_period"])
    assert leaders(candidates) == [leader]
