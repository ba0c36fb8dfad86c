"""Leader election on a ``coordination.k8s.io/v1`` Lease: client-go's ``leaderelection``, in Python.

Several podbot replicas share one Lease object; at most one of them leads at a time. The algorithm
is client-go's (``tools/leaderelection/leaderelection.go``, ``tryAcquireOrRenew``), step for step:

- Every candidate reads the Lease every ``retry_period`` (with jitter while following). A follower
  remembers *when it last saw the record change* on its own monotonic clock (``observedTime``) and
  takes the Lease over only after ``leaseDurationSeconds`` have passed since then with no change:
  no two machines' clocks are ever compared, so clock skew between nodes does not matter.
- Every write is an update with the ``resourceVersion`` of the object last read: when two
  candidates race for an expired Lease, the API server accepts one update and answers 409 Conflict
  to the other, so two candidates never both win.
- The leader renews every ``retry_period`` (first optimistically with the version it wrote last,
  then by reading again). If it has not renewed for ``renew_deadline`` it stops leading at once —
  before any follower can take over (``renew_deadline < lease_duration``). Every API call is given
  at most the time left before that deadline, so a hanging API server cannot keep a stale leader.
- On shutdown the leader releases the Lease (empty holder, duration 1 s) after its leader-only
  work has stopped, so the next leader takes over at its next retry instead of a lease later.

Differences from client-go, on purpose: the renew deadline counts from the start of the last
successful renewal (client-go counts from the start of a retry round, which is later), and a
replica that lost the Lease becomes a candidate again instead of exiting — every replica keeps
answering Slack, only the leader-only work moves.

This module talks to the API server only through ``Kube``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from podbot.core.errors import NotFound, PodbotError
from podbot.k8s.api import Kube, path_for

log = logging.getLogger(__name__)

JSON = dict[str, Any]
API_VERSION = "coordination.k8s.io/v1"
JITTER_FACTOR = 1.2  # client-go's leaderelection.JitterFactor


def micro_time(moment: datetime) -> str:
    """A ``metav1.MicroTime`` in the API's wire format: ``2006-01-02T15:04:05.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseRecord:
    """The election state kept in the Lease's spec (client-go's ``LeaderElectionRecord``)."""

    holder: str
    lease_duration_seconds: int
    acquire_time: str
    renew_time: str
    transitions: int

    @classmethod
    def from_spec(cls, spec: JSON) -> LeaseRecord:
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=str(spec.get("acquireTime") or ""),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> JSON:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


class LeaseLock:
    """Get / create / update of one Lease; updates carry the resourceVersion last seen (or written)."""

    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self._lease: JSON | None = None

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    def get(self, timeout: float | None = None) -> LeaseRecord:
        """The current record (``NotFound`` when there is no Lease yet)."""
        path = path_for(API_VERSION, "leases", self.namespace, self.name)
        lease = self.kube.request("GET", path, timeout=timeout)
        self._lease = lease
        return LeaseRecord.from_spec(lease.get("spec") or {})

    def create(self, record: LeaseRecord, timeout: float | None = None) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": record.spec(),
        }
        path = path_for(API_VERSION, "leases", self.namespace)
        self._lease = self.kube.request("POST", path, body=body, timeout=timeout)

    def update(self, record: LeaseRecord, timeout: float | None = None) -> None:
        """PUT with the last seen resourceVersion: ``Conflict`` if anyone wrote the Lease since."""
        if self._lease is None:
            raise RuntimeError("lease not initialized: get or create it first")
        body = {**self._lease, "spec": record.spec()}
        path = path_for(API_VERSION, "leases", self.namespace, self.name)
        self._lease = self.kube.request("PUT", path, body=body, timeout=timeout)


class LeaderElector:
    """One candidate. ``start()`` runs the election loop on a thread; ``stop()`` ends it.

    ``on_started_leading`` / ``on_stopped_leading`` are called from the election thread and must
    not block (hand the work to another thread); ``is_leader`` is exact at any instant: it turns
    False the moment the renew deadline passes, even while a renewal call is still waiting.
    """

    def __init__(
        self,
        lock: LeaseLock,
        identity: str,
        *,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
        on_started_leading: Callable[[], None] = lambda: None,
        on_stopped_leading: Callable[[], None] = lambda: None,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        if not identity:
            raise ValueError("a candidate needs an identity")
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError("renew_deadline must be greater than retry_period * 1.2")
        self.lock = lock
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self._now = now
        self._clock = clock
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._state = threading.Lock()
        self._observed: LeaseRecord | None = None
        self._observed_time = 0.0
        self._reported_leader = ""
        self._leading = False  # between on_started and on_stopped
        self._renewed_at = 0.0  # clock() when the last successful acquire/renew call started
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- state ---------------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        with self._state:
            return self._leading and self._clock() < self._renewed_at + self.renew_deadline

    @property
    def leader(self) -> str:
        """The holder of the Lease as last observed ("" when none)."""
        with self._state:
            return self._observed.holder if self._observed else ""

    def _observe(self, record: LeaseRecord) -> None:
        with self._state:
            self._observed = record
            self._observed_time = self._clock()

    def _observed_is_me(self) -> bool:
        with self._state:
            return self._observed is not None and self._observed.holder == self.identity

    def _lease_valid(self) -> bool:
        with self._state:
            if self._observed is None:
                return False
            return self._observed_time + self._observed.lease_duration_seconds > self._clock()

    # --- one step ------------------------------------------------------------------------------
    def try_acquire_or_renew(self, deadline: float | None = None) -> bool:
        """client-go's ``tryAcquireOrRenew``: True if this candidate holds the Lease afterwards.

        ``deadline`` (on ``clock``) bounds the whole step: each API call gets half the time left, as
        urllib3 may spend a connect timeout and a read timeout one after the other.
        """
        if deadline is None:
            deadline = self._clock() + self.renew_deadline

        def timeout() -> float:
            return max(0.05, (deadline - self._clock()) / 2)

        stamp = micro_time(self._now())
        desired = LeaseRecord(self.identity, self.lease_duration, stamp, stamp, 0)

        # 1. Fast path: the leader updates optimistically with the version it wrote last.
        if self._observed_is_me() and self._lease_valid():
            observed = self._observed
            assert observed is not None
            record = replace(desired, acquire_time=observed.acquire_time, transitions=observed.transitions)
            try:
                self.lock.update(record, timeout())
            except PodbotError as exc:
                log.info(
                    "lease %s: optimistic renewal failed (%s); reading it again", self.lock.describe(), exc
                )
            else:
                self._observe(record)
                return True

        # 2. Read the record, or create it.
        try:
            current = self.lock.get(timeout())
        except NotFound:
            try:
                self.lock.create(desired, timeout())
            except PodbotError as exc:
                log.warning("lease %s: cannot create it: %s", self.lock.describe(), exc)
                return False
            self._observe(desired)
            self._report_transition()
            return True
        except PodbotError as exc:
            log.warning("lease %s: cannot read it: %s", self.lock.describe(), exc)
            return False

        # 3. A changed record restarts the follower's wait; an unexpired lease of another holder stops us.
        with self._state:
            changed = current != self._observed
        if changed:
            self._observe(current)
        self._report_transition()
        if current.holder and self._lease_valid() and not self._observed_is_me():
            return False

        # 4. Take it over (or renew it on the slow path), with the resourceVersion just read.
        if self._observed_is_me():
            record = replace(desired, acquire_time=current.acquire_time, transitions=current.transitions)
        else:
            record = replace(desired, transitions=current.transitions + 1)
        try:
            self.lock.update(record, timeout())
        except PodbotError as exc:
            # A Conflict here is the losing side of a race: someone else wrote the Lease first.
            log.info("lease %s: update refused: %s", self.lock.describe(), exc)
            return False
        self._observe(record)
        self._report_transition()
        return True

    def release(self, timeout: float = 5.0) -> bool:
        """Give the Lease up if this candidate holds it (client-go's ``release``)."""
        if not self._observed_is_me():
            return True
        observed = self._observed
        assert observed is not None
        stamp = micro_time(self._now())
        record = LeaseRecord("", 1, stamp, stamp, observed.transitions)
        try:
            self.lock.update(record, timeout)
        except PodbotError as exc:
            log.warning("lease %s: cannot release it: %s", self.lock.describe(), exc)
            return False
        self._observe(record)
        log.info("lease %s released by %s", self.lock.describe(), self.identity)
        return True

    def _report_transition(self) -> None:
        leader = self.leader
        if leader == self._reported_leader:
            return
        self._reported_leader = leader
        log.info("lease %s: leader is now %s", self.lock.describe(), leader or "nobody")
        if self._on_new_leader is not None:
            self._on_new_leader(leader)

    # --- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="podbot-leader-election", daemon=True)
        self._thread.start()
        log.info(
            "leader election on lease %s as %s (lease %ss, renew deadline %ss, retry %ss)",
            self.lock.describe(),
            self.identity,
            self.lease_duration,
            self.renew_deadline,
            self.retry_period,
        )

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = self._clock()
            with self._state:
                leading = self._leading
                deadline = (
                    self._renewed_at + self.renew_deadline if leading else started + self.renew_deadline
                )
            ok = self.try_acquire_or_renew(deadline)
            if self._stopping.is_set():
                break
            self._after_attempt(ok, started)
            if self.is_leader:
                # Renew every retry period, but wake at the deadline at the latest.
                with self._state:
                    left = self._renewed_at + self.renew_deadline - self._clock()
                wait = min(self.retry_period, max(0.0, left))
            else:
                wait = self.retry_period * (
                    1 + random.random() * JITTER_FACTOR
                )  # client-go: JitterUntil(retry, 1.2)
            self._stopping.wait(wait)

    def _after_attempt(self, ok: bool, started: float) -> None:
        became = lost = False
        with self._state:
            if ok and self._observed is not None and self._observed.holder == self.identity:
                self._renewed_at = started
                if not self._leading:
                    self._leading = became = True
            elif self._leading and self._clock() >= self._renewed_at + self.renew_deadline:
                self._leading, lost = False, True
        if became:
            log.info("lease %s acquired: %s is the leader", self.lock.describe(), self.identity)
            self._on_started()
        if lost:
            log.warning(
                "lease %s: not renewed for %ss: %s stops leading now",
                self.lock.describe(),
                self.renew_deadline,
                self.identity,
            )
            self._on_stopped()

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop; a leader stops leading (``on_stopped_leading``). The Lease is kept.

        Call ``release()`` afterwards, once the leader-only work has really finished (client-go's
        ReleaseOnCancel has the same rule); ``Leadership.stop`` does it in that order.
        """
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._state:
            was_leading, self._leading = self._leading, False
        if was_leading:
            self._on_stopped()
