"""Scheduled digests (leader only): APScheduler fires, each due digest goes through the pipeline.

    DigestScheduler (APScheduler on the bot's clock, jobs in the database)
      -> Digests.run_digest(S, T): PostDigest(S, T) as the subscriber, through the pipeline (the gate
         checks the subscriber's channel and namespaces again, every time)
      -> DigestPoster.post: claim (S, T) -> compose from the warm cache -> post -> mark posted

Posting a digest, exactly once (``store.claims``): the scheduled run time T of subscription S is
claimed in the database before anything is posted; a second scheduler firing the same (S, T)
finds the claim and posts nothing.

* Slack refuses the post (or the cluster cache is not ready): the claim is *released* and the
  next maintenance sweep (every minute of the bot's clock) retries it at once.
* The process dies between claim and post: the claim turns *stale* after
  ``digests.claim_stale_seconds`` and the sweep of whichever replica leads then takes it over
  (attempt 2) and posts the digest, marked "posted late" — if T is no older than
  ``digests.retry_window_seconds``; an older one is recorded as missed (``message_ts = "missed"``)
  and not posted: the next scheduled digest covers the same ground (so is one of a subscription
  that was stopped meanwhile).
* Slack answers the post with a 5xx, times out or drops the connection: it may have stored the
  message (``DeliveryUncertain``). The post is never retried blindly (``make_post_client``): the
  claim is kept, marked uncertain, and settled by the sweep ``digests.settle_seconds`` later.
* Settling (a retry, attempt > 1, after an uncertain answer or a crash after the post): every
  digest carries Slack message metadata with its key ``digest:S:T``, written to the post ledger
  before the post; Slack's ``message_metadata_posted`` event (``slack.app``) marks the key posted
  with the message's ts. The retry records that message when the ledger has it, and posts again
  only when it does not (the post really was lost). No ``conversations.history``: Slack allows
  apps outside the Marketplace about one call a minute.
* A run time that passed more than ``digests.misfire_grace_seconds`` ago when the scheduler gets
  to it (the bot was down) is skipped by APScheduler's misfire rule; after a longer outage
  several missed run times coalesce into one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from podbot import metrics
from podbot.app.gate import Grant
from podbot.app.pipeline import Pipeline
from podbot.app.ports import Messenger
from podbot.core.digests import Scope, health_digest, pull_digest
from podbot.core.errors import ClusterUnavailable, DeliveryFailed, DeliveryUncertain
from podbot.core.model import DigestKind, Entry, Origin, PostDigest
from podbot.core.records import Subscription
from podbot.core.results import Posted
from podbot.core.settings import Settings
from podbot.core.times import DEFAULT_TIMEZONE
from podbot.jobs.scheduler import ClockExecutor, ClockScheduler, trigger_for
from podbot.k8s import actions
from podbot.k8s.api import Kube
from podbot.k8s.watch import ClusterCaches
from podbot.render.blocks import Rendered
from podbot.render.digests import render_health, render_pulls
from podbot.store.database import StoreUnavailable
from podbot.store.ports import ClaimStore, PostLedgerStore, SubscriptionStore

log = logging.getLogger(__name__)

JOB_PREFIX = "digest-"
MAINTENANCE_JOB = "podbot-maintenance"
METADATA_EVENT = "podbot_digest"
MISSED = "missed"
LATE_AFTER = timedelta(minutes=1)

Runner = Callable[[int, datetime], object]  # (subscription id, scheduled time)


def digest_key(subscription_id: int, scheduled: datetime) -> str:
    """The post ledger's key (and the message metadata's) of the digest of S due at T."""
    return f"digest:{subscription_id}:{scheduled.astimezone(UTC).isoformat()}"


def scheduled_digest(subscription_id: int) -> None:
    """The job function stored in the job store; ``ClockExecutor`` runs digest jobs itself."""
    raise RuntimeError(f"digest job {subscription_id} must run through the digest scheduler's executor")


class DigestScheduler:
    """The APScheduler instance (leader only) and its jobs: one per active subscription.

    It is ``app.ports.DigestSchedule`` for the subscription verbs: ``sync`` and ``next_run`` work on
    every replica (a no-op / the trigger's answer where the scheduler does not run)."""

    def __init__(
        self,
        settings: Settings,
        subscriptions: SubscriptionStore,
        engine: Engine,
        *,
        now: Callable[[], datetime],
        poll_seconds: float = 5.0,
        maintenance_seconds: int = 60,
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._engine = engine
        self._now = now
        self._poll_seconds = poll_seconds
        self._maintenance_seconds = maintenance_seconds
        self._scheduler: ClockScheduler | None = None
        self._executor: ClockExecutor | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self, run: Runner, maintain: Callable[[], None]) -> None:
        """Start firing: each due (subscription, time) goes to ``run``; ``maintain`` every minute."""
        if self._scheduler is not None:
            return

        def run_job(job: Any, run_time: datetime) -> None:
            if job.id.startswith(JOB_PREFIX):
                run(int(job.args[0]), run_time)
            else:
                job.func(*job.args, **job.kwargs)

        self._executor = ClockExecutor(self._now, run_job)
        scheduler = ClockScheduler(
            self._now,
            poll_seconds=self._poll_seconds,
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine), "local": MemoryJobStore()},
            executors={"default": self._executor},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self._settings.digests.misfire_grace_seconds,
            },
        )
        scheduler.start()
        self._scheduler = scheduler
        now = self._now()
        every = IntervalTrigger(seconds=self._maintenance_seconds, start_date=now, timezone=UTC)
        scheduler.add_job(
            maintain,
            trigger=every,
            id=MAINTENANCE_JOB,
            jobstore="local",
            next_run_time=every.get_next_fire_time(None, now),
            misfire_grace_time=None,
        )
        self.sync()

    def stop(self) -> None:
        """Stop firing; digests being posted finish first."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)

    def wakeup(self) -> None:
        """Look at the clock again now (after ``sim.advance`` in tests and the demo)."""
        if self._scheduler is not None:
            self._scheduler.wakeup()

    def settle(self, timeout: float) -> bool:
        """Hand what is due by the clock to the executor now and wait until it has run
        (``podbot demo`` after each step; the scheduler thread would only look on its next poll)."""
        scheduler, executor = self._scheduler, self._executor
        if scheduler is None or executor is None:
            return True
        scheduler.run_due()
        return executor.wait_idle(timeout)

    def next_due(self) -> datetime | None:
        """The earliest run time of any digest job (None: none scheduled, or not leading)."""
        times = [job.next_run_time for job in self.get_jobs() if job.next_run_time is not None]
        return min(times) if times else None

    def get_jobs(self) -> list[Any]:
        """The scheduled digest jobs (empty where the scheduler does not run)."""
        return self._scheduler.get_jobs(jobstore="default") if self._scheduler is not None else []

    def sync(self) -> None:
        """One job per active subscription (others may have been made on another replica)."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        active = {f"{JOB_PREFIX}{s.id}": s for s in self._subscriptions.active()}
        for job in scheduler.get_jobs(jobstore="default"):
            if job.id.startswith(JOB_PREFIX) and job.id not in active:
                self.remove(job.id)
        now = self._now()
        for job_id, sub in active.items():
            if scheduler.get_job(job_id, jobstore="default") is not None:
                continue
            trigger = trigger_for(sub.schedule, sub.created_at)
            first = trigger.get_next_fire_time(None, now)
            if first is None:
                continue
            # ConflictingIdError: another replica's scheduler added it a moment ago.
            with contextlib.suppress(ConflictingIdError):
                scheduler.add_job(
                    "podbot.jobs.digests:scheduled_digest",
                    trigger=trigger,
                    args=(sub.id,),
                    id=job_id,
                    name=f"{sub.kind.value} digest for {sub.channel_id}",
                    jobstore="default",
                    next_run_time=first,
                )

    def remove(self, job_id: str) -> None:
        if self._scheduler is None:
            return
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id, jobstore="default")

    def next_run(self, subscription: Subscription) -> datetime | None:
        """When the subscription's next digest is due (from the scheduler, else its trigger)."""
        if self._scheduler is not None:
            job = self._scheduler.get_job(f"{JOB_PREFIX}{subscription.id}", jobstore="default")
            if job is not None and job.next_run_time is not None:
                return job.next_run_time  # type: ignore[no-any-return]
        trigger = trigger_for(subscription.schedule, subscription.created_at)
        return trigger.get_next_fire_time(None, self._now())  # type: ignore[no-any-return]


class DigestPoster:
    """The pipeline's handler of ``PostDigest``: claim, compose, post, mark — exactly once."""

    def __init__(
        self,
        settings: Settings,
        subscriptions: SubscriptionStore,
        claims: ClaimStore,
        caches: ClusterCaches,
        messenger: Messenger,
        posts: PostLedgerStore,
        *,
        owner: str,
        now: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._claims = claims
        self._posts = posts
        self._caches = caches
        self._messenger = messenger
        self.owner = owner
        self._now = now
        self.stale_after = timedelta(seconds=settings.digests.claim_stale_seconds)
        self.settle_after = timedelta(seconds=settings.digests.settle_seconds)

    def post(self, request: PostDigest, grant: Grant) -> Posted:
        """Post the digest due at ``request.scheduled`` unless another scheduler has (or is doing it)."""
        sub = self._subscriptions.get(request.subscription_id)
        if sub is None or not sub.active:
            return Posted()
        scheduled = request.scheduled
        claim = self._claims.claim_post(
            sub.id, scheduled, self.owner, self._now(), self.stale_after, self.settle_after
        )
        if claim is None:
            metrics.DIGESTS.labels(kind=sub.kind.value, outcome="skipped").inc()
            return Posted()
        key = digest_key(sub.id, scheduled)
        try:
            if claim.attempt > 1:
                seen = self.seen_ts(sub.id, scheduled)
                if seen:  # an earlier attempt's post reached Slack
                    self._claims.mark_posted(claim, seen, now=self._now())
                    metrics.DIGESTS.labels(kind=sub.kind.value, outcome="settled").inc()
                    return Posted(seen)
            scope = Scope(grant.cluster.context, grant.namespaces)
            rendered, marks = self.compose(
                sub, scheduled, scope, grant.locale, grant.timezone, kube=grant.cluster
            )
            self._posts.intend(key, sub.channel_id, self._now())  # before the post: it may land unseen
            ts = self._post(sub, scheduled, rendered)
        except DeliveryUncertain:
            # Slack may have it: keep the claim (a release would post again at once); the sweep
            # settles it from the ledger after settle_after.
            self._claims.mark_uncertain(claim, self._now())
            metrics.DIGESTS.labels(kind=sub.kind.value, outcome="uncertain").inc()
            log.warning("digest %s due %s: Slack did not confirm the post; settling later", sub.id, scheduled)
            return Posted()
        except Exception:
            self._claims.release(claim)
            metrics.DIGESTS.labels(kind=sub.kind.value, outcome="failed").inc()
            raise
        self._posts.posted(key, ts, channel_id=sub.channel_id, now=self._now())
        if not self._claims.mark_posted(claim, ts, now=self._now(), fingerprints=marks):
            log.warning("digest %s due %s: the claim was taken over while posting", sub.id, scheduled)
        metrics.DIGESTS.labels(kind=sub.kind.value, outcome="posted").inc()
        return Posted(ts)

    def seen_ts(self, subscription_id: int, scheduled: datetime) -> str | None:
        """The ts of this digest's message if Slack is known to have it (post ledger)."""
        seen = self._posts.get(digest_key(subscription_id, scheduled))
        return seen.message_ts if seen is not None else None

    def compose(
        self,
        sub: Subscription,
        scheduled: datetime,
        scope: Scope,
        locale: str,
        timezone: str = DEFAULT_TIMEZONE,
        *,
        kube: Kube | None = None,
    ) -> tuple[Rendered, list[str]]:
        """The digest message of ``sub`` from the warm cache over ``scope``, and the marks to remember."""
        cache = self._caches.get(scope.context)
        if not cache.wait_synced(timeout=30):
            raise ClusterUnavailable(f"the watch cache of cluster {cache.context!r} has not synced yet")
        now = self._now()
        findings = cache.findings(now, scope.includes)
        if kube is not None:  # the worst first: re-read pull secrets and crash logs from the API
            findings = actions.refresh_findings(
                kube, findings, cache.pod, cache.notes_for, cache.credentials(), now
            )
        late_for = scheduled if now - scheduled > LATE_AFTER else None
        previous_at = sub.last_digest_at
        if sub.kind is DigestKind.HEALTH:
            health = health_digest(
                cache.status_totals(scope.includes),
                findings,
                scope=scope,
                now=scheduled,
                previous=sub.last_fingerprints,
                previous_at=previous_at,
            )
            top = self._settings.digests.top_offenders
            return render_health(health, locale, top=top, late_for=late_for, timezone=timezone), health.marks
        pulls = pull_digest(
            findings, scope=scope, now=scheduled, previous=sub.last_fingerprints, previous_at=previous_at
        )
        return render_pulls(pulls, locale, late_for=late_for, timezone=timezone), pulls.marks

    def _post(self, sub: Subscription, scheduled: datetime, rendered: Rendered) -> str:
        # (S, T) stay in the payload for readers of Slack's side (the HA and chaos runs count them).
        payload = {
            "key": digest_key(sub.id, scheduled),
            "subscription_id": sub.id,
            "scheduled_time": scheduled.isoformat(),
        }
        metadata = {"event_type": METADATA_EVENT, "event_payload": payload}
        ts = self._messenger.post(sub.channel_id, rendered, metadata=metadata)
        if rendered.upload is not None:
            try:
                self._messenger.upload(sub.channel_id, rendered.upload, thread_ts=ts)
            except DeliveryFailed as exc:  # the digest itself is posted; the file is a bonus
                log.warning("could not attach %s: %s", rendered.upload.filename, exc.code)
        return ts


class Digests:
    """The leader-only digest work: watch caches and the scheduler; every due digest is a
    ``PostDigest`` request made as its subscriber, through the pipeline."""

    def __init__(
        self,
        settings: Settings,
        scheduler: DigestScheduler,
        poster: DigestPoster,
        pipeline: Pipeline,
        subscriptions: SubscriptionStore,
        claims: ClaimStore,
        caches: ClusterCaches,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._scheduler = scheduler
        self._poster = poster
        self._pipeline = pipeline
        self._subscriptions = subscriptions
        self._claims = claims
        self.caches = caches
        self._now = now
        self.retry_window = timedelta(seconds=settings.digests.retry_window_seconds)
        # Runs that fired while the database was down: their claim was never written, so no sweep
        # knows of them and the scheduler has moved on; maintenance runs them again (the claim
        # keeps that idempotent). In memory: a leader that dies in that same outage loses them.
        self._unclaimed: set[tuple[int, datetime]] = set()

    @property
    def scheduler(self) -> DigestScheduler:
        return self._scheduler

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def start(self) -> None:
        self.caches.start()
        self._scheduler.start(self.run_digest, self.maintain)
        log.info("digests started (replica %s)", self._poster.owner)

    def stop(self) -> None:
        self._scheduler.stop()
        self.caches.stop()

    def wakeup(self) -> None:
        self._scheduler.wakeup()

    def run_digest(self, subscription_id: int, scheduled: datetime) -> str | None:
        """Post subscription ``subscription_id``'s digest due at ``scheduled`` through the pipeline,
        as its subscriber. Returns the message ts when this call posted (or found) it."""
        try:
            sub = self._subscriptions.get(subscription_id)
        except StoreUnavailable as exc:
            self._unclaimed_now(subscription_id, scheduled, exc)
            return None
        if sub is None or not sub.active:
            self._scheduler.remove(f"{JOB_PREFIX}{subscription_id}")
            return None
        request = PostDigest(sub.id, scheduled, sub.kind, sub.context, sub.namespaces)
        subscriber = Origin(sub.team_id, sub.channel_id, sub.created_by, Entry.SCHEDULE)
        answer = self._pipeline.handle(request, subscriber)
        if isinstance(answer.error, StoreUnavailable):
            self._unclaimed_now(sub.id, scheduled, answer.error)
            return None
        self._unclaimed.discard((sub.id, scheduled))
        if answer.error is not None or answer.error_id:
            reason = answer.error.message if answer.error else f"internal error {answer.error_id}"
            log.warning("digest %s due %s not posted: %s", sub.id, scheduled, reason)
            return None
        return answer.result.ts if isinstance(answer.result, Posted) else None

    def _unclaimed_now(self, subscription_id: int, scheduled: datetime, error: StoreUnavailable) -> None:
        log.warning(
            "digest %s due %s not posted yet: %s; retried at the next maintenance",
            subscription_id,
            scheduled,
            error.message,
        )
        self._unclaimed.add((subscription_id, scheduled))

    def _retry_unclaimed(self, now: datetime) -> None:
        for subscription_id, scheduled in sorted(self._unclaimed):
            self._unclaimed.discard((subscription_id, scheduled))
            if now - scheduled > self.retry_window:
                log.warning("digest %s due %s: too old to post now", subscription_id, scheduled)
                continue
            self.run_digest(subscription_id, scheduled)

    def maintain(self) -> None:
        """Every minute on the leader: pick up new subscriptions, retry released or stale claims and
        settle uncertain ones (``DigestPoster.post`` looks in the post ledger first)."""
        self._scheduler.sync()
        now = self._now()
        self._retry_unclaimed(now)
        stale_after, settle_after = self._poster.stale_after, self._poster.settle_after
        for claim in self._claims.reclaimable(now, stale_after, settle_after):
            sub = self._subscriptions.get(claim.subscription_id)
            if sub is None or not sub.active or now - claim.scheduled_time > self.retry_window:
                taken = self._claims.claim_post(
                    claim.subscription_id,
                    claim.scheduled_time,
                    self._poster.owner,
                    now,
                    stale_after,
                    settle_after,
                )
                # An unconfirmed post that did reach Slack (the ledger has its ts) was not missed.
                seen = self._poster.seen_ts(claim.subscription_id, claim.scheduled_time)
                if taken is not None and seen:
                    self._claims.mark_posted(taken, seen, now=now)
                elif taken is not None:
                    self._claims.mark_posted(taken, MISSED, now=now)
                    metrics.DIGESTS.labels(kind="any", outcome="missed").inc()
                    log.warning(
                        "digest %s due %s was never posted and is too old (or unsubscribed) to post now: "
                        "recorded as missed",
                        claim.subscription_id,
                        claim.scheduled_time,
                    )
                continue
            self.run_digest(claim.subscription_id, claim.scheduled_time)
