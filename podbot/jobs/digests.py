"""Scheduled digests and real-time alerts: the leader-only work behind ``start()`` / ``stop()``.

``install(runtime)`` builds the ``DigestService``, registers the channel verbs (``subscribe``,
``subscriptions``, ``unsubscribe``, ``alerts``; they work on every replica: they only touch the
database) and starts the leader-only work: the watch caches, the APScheduler scheduler
(podbot.jobs.scheduler) and the alert fan-out (podbot.jobs.alerts). Leader election calls ``start()``
when it wins the lease and ``stop()`` when it loses it.

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
* The process dies after Slack accepted the post but before the claim was marked posted: every
  digest carries Slack message metadata (S, T), and a retry (attempt > 1) first looks for it in
  the channel's recent history; when found it records that message instead of posting again.
* A run time that passed more than ``digests.misfire_grace_seconds`` ago when the scheduler gets
  to it (the bot was down) is skipped by APScheduler's misfire rule; after a longer outage
  several missed run times coalesce into one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.core.digests import Scope, find_problems, health_digest, pull_digest
from podbot.core.errors import ClusterUnavailable
from podbot.core.model import DigestKind
from podbot.core.records import Subscription
from podbot.core.settings import Settings
from podbot.jobs.alerts import AlertFanout
from podbot.jobs.leadership import LeaderTask
from podbot.jobs.scheduler import ClockExecutor, ClockScheduler, trigger_for
from podbot.k8s.client import Clusters
from podbot.k8s.watch import ClusterCaches
from podbot.render.blocks import Rendered
from podbot.render.digests import render_health, render_pulls
from podbot.store.store import Store

if TYPE_CHECKING:
    from podbot.server.runtime import Runtime

log = logging.getLogger(__name__)

JOB_PREFIX = "digest-"
MAINTENANCE_JOB = "podbot-maintenance"
METADATA_EVENT = "podbot_digest"
MISSED = "missed"
LATE_AFTER = timedelta(minutes=1)


def scheduled_digest(subscription_id: int) -> None:
    """The job function stored in the job store; ``ClockExecutor`` runs digest jobs itself."""
    raise RuntimeError(f"digest job {subscription_id} must run through the DigestService's executor")


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DigestService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        clusters: Clusters,
        client: Any,  # slack_sdk.WebClient
        now: Callable[[], datetime],
        owner: str | None = None,
        poll_seconds: float = 5.0,
        sweep_seconds: float = 30.0,
        maintenance_seconds: int = 60,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clusters = clusters
        self.client = client
        self.now = now
        self.owner = owner or replica_id()
        self._poll_seconds = poll_seconds
        self._maintenance_seconds = maintenance_seconds
        self.stale_after = timedelta(seconds=settings.digests.claim_stale_seconds)
        self.retry_window = timedelta(seconds=settings.digests.retry_window_seconds)
        self.caches = ClusterCaches(clusters, now=now, namespaces=settings.digests.watch_namespaces)
        self.alerts = AlertFanout(
            settings=settings,
            store=store,
            client=client,
            caches=self.caches,
            now=now,
            sweep_seconds=sweep_seconds,
        )
        self._scheduler: ClockScheduler | None = None

    # --- leader-only work ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Start watching, scheduling and alerting (on the leader)."""
        if self._scheduler is not None:
            return
        self.caches.start()
        scheduler = ClockScheduler(
            self.now,
            poll_seconds=self._poll_seconds,
            jobstores={"default": SQLAlchemyJobStore(engine=self.store.engine), "local": MemoryJobStore()},
            executors={"default": ClockExecutor(self.now, self._run_job)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.settings.digests.misfire_grace_seconds,
            },
        )
        scheduler.start()
        self._scheduler = scheduler
        now = self.now()
        every = IntervalTrigger(seconds=self._maintenance_seconds, start_date=now, timezone=UTC)
        scheduler.add_job(
            self.maintain,
            trigger=every,
            id=MAINTENANCE_JOB,
            jobstore="local",
            next_run_time=every.get_next_fire_time(None, now),
            misfire_grace_time=None,
        )
        self.sync_jobs()
        self.alerts.start()
        log.info("digests and alerts started (replica %s)", self.owner)

    def stop(self) -> None:
        """Stop everything ``start`` started; in-flight posts finish first."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        self.alerts.stop()
        self.caches.stop()

    def wakeup(self) -> None:
        """Look at the clock again now (after ``sim.advance`` in tests and the demo)."""
        if self._scheduler is not None:
            self._scheduler.wakeup()
        self.alerts.wakeup()

    # --- jobs ----------------------------------------------------------------------------------
    def sync_jobs(self) -> None:
        """One job per active subscription (others may have been made on another replica)."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        active = {f"{JOB_PREFIX}{s.id}": s for s in self.store.subscriptions.active()}
        for job in scheduler.get_jobs(jobstore="default"):
            if job.id.startswith(JOB_PREFIX) and job.id not in active:
                self._remove_job(job.id)
        now = self.now()
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

    def _remove_job(self, job_id: str) -> None:
        if self._scheduler is None:
            return
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id, jobstore="default")

    def next_run(self, sub: Subscription) -> datetime | None:
        """When the subscription's next digest is due (from the scheduler, else its trigger)."""
        if self._scheduler is not None:
            job = self._scheduler.get_job(f"{JOB_PREFIX}{sub.id}", jobstore="default")
            if job is not None and job.next_run_time is not None:
                return job.next_run_time  # type: ignore[no-any-return]
        return trigger_for(sub.schedule, sub.created_at).get_next_fire_time(None, self.now())  # type: ignore[no-any-return]

    def _run_job(self, job: Any, run_time: datetime) -> None:
        if job.id.startswith(JOB_PREFIX):
            self.run_digest(int(job.args[0]), run_time)
        else:
            job.func(*job.args, **job.kwargs)

    def maintain(self) -> None:
        """Every minute on the leader: pick up new subscriptions, retry released or stale claims."""
        self.sync_jobs()
        now = self.now()
        for claim in self.store.claims.reclaimable(now, self.stale_after):
            sub = self.store.subscriptions.get(claim.subscription_id)
            if sub is None or not sub.active or now - claim.scheduled_time > self.retry_window:
                taken = self.store.claims.claim_post(
                    claim.subscription_id, claim.scheduled_time, self.owner, now, self.stale_after
                )
                if taken is not None:
                    self.store.claims.mark_posted(taken, MISSED, now=now)
                    metrics.DIGESTS.labels(kind="any", outcome="missed").inc()
                    log.warning(
                        "digest %s due %s was never posted and is too old (or unsubscribed) to post now: "
                        "recorded as missed",
                        claim.subscription_id,
                        claim.scheduled_time,
                    )
                continue
            try:
                self.run_digest(claim.subscription_id, claim.scheduled_time)
            except Exception:
                log.exception("retrying digest %s due %s failed", claim.subscription_id, claim.scheduled_time)

    # --- one digest ----------------------------------------------------------------------------
    def run_digest(self, subscription_id: int, scheduled: datetime) -> str | None:
        """Post subscription ``subscription_id``'s digest due at ``scheduled``, unless another
        scheduler has (or is doing it). Returns the message ts when this call posted it."""
        sub = self.store.subscriptions.get(subscription_id)
        if sub is None or not sub.active:
            self._remove_job(f"{JOB_PREFIX}{subscription_id}")
            return None
        now = self.now()
        claim = self.store.claims.claim_post(sub.id, scheduled, self.owner, now, self.stale_after)
        if claim is None:
            metrics.DIGESTS.labels(kind=sub.kind.value, outcome="skipped").inc()
            return None
        try:
            if claim.attempt > 1:
                found = self._already_posted(sub, scheduled)
                if found:
                    self.store.claims.mark_posted(claim, found, now=self.now())
                    return None
            rendered, marks = self.compose(sub, scheduled)
            ts = self._post(sub, scheduled, rendered)
        except Exception:
            self.store.claims.release(claim)
            metrics.DIGESTS.labels(kind=sub.kind.value, outcome="failed").inc()
            raise
        if not self.store.claims.mark_posted(claim, ts, now=self.now(), fingerprints=marks):
            log.warning("digest %s due %s: the claim was taken over while posting", sub.id, scheduled)
        metrics.DIGESTS.labels(kind=sub.kind.value, outcome="posted").inc()
        return ts

    def compose(self, sub: Subscription, scheduled: datetime) -> tuple[Rendered, list[str]]:
        """The digest message of ``sub`` from the warm cache, and the marks to remember."""
        cache = self.caches.get(sub.context)
        if not cache.wait_synced(timeout=30):
            raise ClusterUnavailable(f"the watch cache of cluster {cache.context!r} has not synced yet")
        now = self.now()
        scope = Scope(cache.context, sub.namespaces)
        pods = cache.pods()
        findings = find_problems(
            pods, lambda key: cache.notes_for(*key), cache.credentials(), now, scope=scope
        )
        locale = self.settings.locale_for(sub.channel_id)
        late_for = scheduled if now - scheduled > LATE_AFTER else None
        previous_at = sub.last_digest_at
        if sub.kind is DigestKind.HEALTH:
            health = health_digest(
                pods,
                findings,
                scope=scope,
                now=scheduled,
                previous=sub.last_fingerprints,
                previous_at=previous_at,
            )
            return (
                render_health(health, locale, top=self.settings.digests.top_offenders, late_for=late_for),
                health.marks,
            )
        pulls = pull_digest(
            findings, scope=scope, now=scheduled, previous=sub.last_fingerprints, previous_at=previous_at
        )
        return render_pulls(pulls, locale, late_for=late_for), pulls.marks

    def _post(self, sub: Subscription, scheduled: datetime, rendered: Rendered) -> str:
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"subscription_id": sub.id, "scheduled_time": scheduled.isoformat()},
        }
        response = self.client.chat_postMessage(
            channel=sub.channel_id, text=rendered.text, blocks=rendered.blocks, metadata=metadata
        )
        ts = str(response["ts"])
        if rendered.upload is not None:
            upload = rendered.upload
            try:
                self.client.files_upload_v2(
                    channel=sub.channel_id,
                    thread_ts=ts,
                    content=upload.content,
                    filename=upload.filename,
                    title=upload.title,
                )
            except SlackApiError as exc:  # the digest itself is posted; the file is a bonus
                log.warning("could not attach %s: %s", upload.filename, exc.response.get("error"))
        return ts

    def _already_posted(self, sub: Subscription, scheduled: datetime) -> str | None:
        """The ts of this (S, T) digest if an earlier attempt posted it before it could say so."""
        try:
            response = self.client.conversations_history(
                channel=sub.channel_id, limit=200, include_all_metadata=True
            )
        except SlackApiError as exc:
            log.warning("cannot check %s for an earlier post: %s", sub.channel_id, exc.response.get("error"))
            return None
        for message in response.get("messages") or ():
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and payload.get("subscription_id") == sub.id
                and payload.get("scheduled_time") == scheduled.isoformat()
            ):
                return str(message.get("ts"))
        return None


def install(runtime: Runtime) -> DigestService:
    """Build the digest service and register its channel verbs on every replica; its watchers,
    scheduler and alert fan-out are leader-only work, started and stopped by leadership."""
    from podbot.app.subscriptions import ChannelVerbs  # noqa: PLC0415 - it imports this module

    service = DigestService(
        settings=runtime.settings,
        store=runtime.store,
        clusters=runtime.clusters,
        client=runtime.client,
        now=runtime.now,
    )
    ChannelVerbs(service, runtime.bot).register()
    runtime.leader_tasks.append(LeaderTask("digests", service.start, service.stop))
    return service
