"""Which replica runs the leader-only work, and the guard that keeps SQLite to one replica.

    leadership = build_leadership(settings, store, clusters, tasks, now=...)   # the runtime, once
    leadership.start()              # when serving starts
    leadership.stop(timeout)        # SIGTERM: stop the tasks, then release the Lease
    leadership.close()              # last: give the SQLite single-replica guard up

Leader-only work is the list of ``LeaderTask`` (start/stop callables) the runtime builds: the
digest scheduler with its watchers, and the alert fan-out. With leader election on (the default in
a cluster) the tasks start when this replica wins the Lease and stop the moment it loses it; with it
off, this process is the only replica and the tasks start with serving. Tasks start and stop on
one worker thread, in order, so a slow ``start`` never delays a renewal.

SQLite is a file: two replicas writing it (two pods mounting one volume) would corrupt podbot's
state. Chosen behaviour: **refuse to start**. At start-up a replica on SQLite takes the database
lease ``single-replica`` (``store.leases``) and renews it every few seconds; a second replica finds
it held, waits one lease period in case the holder is a dead process (a pod killed a moment ago,
whose lease simply runs out), and exits with a clear error if the holder is still renewing.
A warning alone would not do: by the time someone read it the damage would be done.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge

from podbot import metrics
from podbot.core.errors import ConfigError, PodbotError
from podbot.core.settings import LeaderElectionSettings
from podbot.k8s.api import Kube
from podbot.k8s.election import LeaderElector, LeaseLock
from podbot.store.leases import Leases

log = logging.getLogger(__name__)

# The SQLite guard's lease: a SIGKILLed replica's successor waits at most this long (+2 s) to start.
GUARD_TTL_SECONDS = 20.0
GUARD_RENEW_SECONDS = 5.0

START_ATTEMPTS = 3
START_RETRY_SECONDS = 0.5

LEADER = Gauge(
    "podbot_leader",
    "1 while this replica is the elected leader (runs the scheduler and the watchers).",
    registry=metrics.REGISTRY,
)


@dataclass(frozen=True)
class LeaderTask:
    """Work that must run on one replica only. ``start`` must return promptly (start a thread);
    ``stop`` must end the work before it returns: the Lease is released right after."""

    name: str
    start: Callable[[], None]
    stop: Callable[[], None]


def replica_identity(base: str | None) -> str:
    """``<pod or host name>_<random>``: unique even when a restarted container keeps its pod name."""
    return f"{base or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class SingleReplicaGuard:
    """One replica per SQLite database, enforced with a database lease renewed in the background."""

    NAME = "single-replica"

    def __init__(
        self,
        leases: Leases,
        identity: str,
        *,
        ttl: float = 20.0,
        renew_every: float = 5.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._leases = leases
        self.identity = identity
        self._ttl = timedelta(seconds=ttl)
        self._renew_every = renew_every
        self._wall = wall
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait: float | None = None, poll: float = 1.0) -> None:
        """Take the lease, waiting up to ``wait`` seconds (default: one ttl and a bit) for a dead
        holder's lease to run out; ``ConfigError`` if another replica keeps it alive."""
        give_up = time.monotonic() + (self._ttl.total_seconds() + 2 if wait is None else wait)
        while True:
            if self._leases.acquire(self.NAME, self.identity, self._wall(), self._ttl) is not None:
                return
            if time.monotonic() >= give_up:
                holder = self._leases.get(self.NAME)
                raise ConfigError(
                    "another podbot replica "
                    f"({holder.holder if holder else 'unknown'}) is using this SQLite database. "
                    "SQLite supports one replica only: run one replica (replicas: 1, strategy "
                    "Recreate), or use PostgreSQL (DATABASE_URL) for several."
                )
            time.sleep(poll)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="podbot-sqlite-guard", daemon=True)
            self._thread.start()

    def _renew(self) -> None:
        while not self._stopping.wait(self._renew_every):
            try:
                held = self._leases.acquire(self.NAME, self.identity, self._wall(), self._ttl)
            except Exception:  # a busy database must not kill the guard; the next round retries
                log.exception("cannot renew the single-replica lease")
                continue
            if held is None:
                log.error(
                    "ANOTHER podbot replica took over this SQLite database (this one could not renew "
                    "for %ss): run one replica only, or use PostgreSQL",
                    self._ttl.total_seconds(),
                )

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self._leases.release(self.NAME, self.identity)
        except PodbotError:  # shutting down: the lease runs out by itself
            log.warning("cannot release the single-replica lease; it expires in %s", self._ttl)


class Leadership:
    """Runs ``tasks`` while this replica leads (always, without an elector)."""

    def __init__(
        self,
        tasks: list[LeaderTask],
        identity: str,
        *,
        elector_factory: Callable[[Callable[[], None], Callable[[], None]], LeaderElector] | None = None,
        guard: SingleReplicaGuard | None = None,
    ) -> None:
        self.tasks = tasks
        self.identity = identity
        self.guard = guard
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podbot-leader-work")
        self._running: list[LeaderTask] = []  # touched on the worker thread only
        self._leading_without_election = False
        self._started = False
        self._stopped = False
        self.elector = elector_factory(self._begin, self._end) if elector_factory else None
        LEADER.set_function(lambda: 1.0 if self.is_leader else 0.0)

    @property
    def is_leader(self) -> bool:
        if self.elector is not None:
            return self.elector.is_leader
        return self._leading_without_election

    def start(self) -> None:
        """Begin: take part in the election, or (no election) start the tasks now. Idempotent."""
        if self._started or self._stopped:
            return
        self._started = True
        if self.elector is not None:
            self.elector.start()
        else:
            # The only replica: start the tasks before serving goes on (as if started inline).
            self._leading_without_election = True
            self._worker.submit(self._start_tasks).result()

    def _begin(self) -> None:
        self._submit(self._start_tasks)

    def _end(self) -> None:
        self._submit(self._stop_tasks)

    def _submit(self, step: Callable[[], None]) -> None:
        try:
            self._worker.submit(step)
        except RuntimeError:  # after shutdown: an election thread that outlived stop()
            log.warning("leadership change after shutdown ignored")

    def _start_tasks(self) -> None:
        for task in list(self.tasks):
            # A start can fail for a passing reason (a busy database, the API server restarting):
            # try a few times while still leading; one broken task must not stop the others.
            for attempt in range(1, START_ATTEMPTS + 1):
                if not self.is_leader:
                    return
                try:
                    task.start()
                except Exception:
                    log.exception("leader task %s failed to start (attempt %d)", task.name, attempt)
                    time.sleep(START_RETRY_SECONDS * attempt)
                    continue
                self._running.append(task)
                log.info("leader task %s started", task.name)
                break

    def _stop_tasks(self) -> None:
        while self._running:
            task = self._running.pop()
            try:
                task.stop()
            except Exception:  # stop the others anyway
                log.exception("leader task %s failed to stop cleanly", task.name)
            else:
                log.info("leader task %s stopped", task.name)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until queued starts/stops have run (tests)."""
        try:
            self._worker.submit(lambda: None).result(timeout)
        except (TimeoutError, RuntimeError):
            return False
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Shutdown: stop leading and the tasks, then release the Lease (within ``timeout``)."""
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        if self.elector is not None:
            self.elector.stop(timeout=min(left(), self.elector.renew_deadline))
        elif self._leading_without_election:
            self._leading_without_election = False
            self._end()
        finished = self.wait_idle(left())
        self._worker.shutdown(wait=False)
        if self.elector is not None:
            if finished:
                self.elector.release(timeout=min(left(), 5.0))
            else:
                # Another leader must not start while our tasks may still run: let the lease expire.
                log.warning("leader tasks did not stop in time; the lease is left to expire")

    def close(self) -> None:
        """Last step of shutdown, after the final database write: let another replica start."""
        if self.guard is not None:
            self.guard.close()


def build_leadership(
    settings: LeaderElectionSettings,
    identity: str,
    tasks: list[LeaderTask],
    *,
    dialect: str,
    leases: Leases,
    kube: Callable[[], Kube],
    now: Callable[[], datetime],
) -> Leadership:
    """Leadership for ``tasks``: the SQLite guard now (refuse to start), the elector later.

    ``kube`` gives the default cluster, where the Lease lives (called only with election on)."""
    guard = None
    if dialect == "sqlite":
        guard = SingleReplicaGuard(leases, identity, ttl=GUARD_TTL_SECONDS, renew_every=GUARD_RENEW_SECONDS)
        guard.acquire()
        guard.start()
    factory = None
    if settings.enabled:
        cluster = kube()
        namespace = settings.namespace or cluster.default_namespace

        def factory(begin: Callable[[], None], end: Callable[[], None]) -> LeaderElector:
            return LeaderElector(
                LeaseLock(cluster, namespace, settings.lease_name),
                identity,
                lease_duration=settings.lease_duration_seconds,
                renew_deadline=settings.renew_deadline_seconds,
                retry_period=settings.retry_period_seconds,
                now=now,
                on_started_leading=begin,
                on_stopped_leading=end,
            )

    return Leadership(tasks, identity, elector_factory=factory, guard=guard)
