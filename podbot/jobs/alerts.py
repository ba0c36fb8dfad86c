"""Real-time alerts (leader only): watch cache changes -> findings -> one alert per problem group.

The fan-out thread wakes when a watch cache changes (and every ``sweep_seconds`` anyway, since
some findings appear with time alone: pending too long, stuck terminating). It re-diagnoses the
pods that changed, groups every current finding by ``Finding.group_key`` (namespace, kind,
cause, image) — 500 pods failing the same way are one group — and then, for each alerting channel,
sends a ``ReconcileAlerts`` request through the pipeline as the person who turned the alerts on
(so the gate checks that channel's policy for those namespaces on every cycle). The handler
reconciles the channel with the store (``store.alerts``, whose compare-and-set rows make every
decision once, even with several replicas):

* a group that appears: ``observe`` says ``must_post`` to exactly one caller, which posts the
  alert and records its ts. The post carries message metadata with the key ``alert:ID:EPISODE``,
  written to the post ledger first; a post Slack did not confirm (``DeliveryUncertain``) is never
  retried blindly: the next ``must_post`` (after the store's post lease) takes the ts from the
  ledger when Slack's ``message_metadata_posted`` event came, waits while the grace
  (``digests.settle_seconds``) runs, and posts again only after it (the post was lost);
* a group whose pod count changed: an update in the alert's thread, at most once per
  ``update_interval`` (``claim_thread_update``);
* an open alert whose group is gone (once that cluster's cache has synced): ``resolve`` hands it
  to one caller, which edits the message to "resolved".
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from podbot import metrics
from podbot.app.gate import Grant
from podbot.app.pipeline import Pipeline
from podbot.app.ports import Messenger
from podbot.core.diagnosis.findings import Finding
from podbot.core.digests import AlertGroup, PodKey, Scope, alert_groups, is_quiet
from podbot.core.errors import DeliveryFailed, DeliveryUncertain, PodbotError
from podbot.core.model import Entry, Origin, ReconcileAlerts
from podbot.core.records import Alert, ChannelSettings
from podbot.core.results import Posted
from podbot.core.settings import Settings
from podbot.k8s import actions
from podbot.k8s.watch import ClusterCaches, WatchCache
from podbot.render.blocks import Rendered
from podbot.render.digests import alert_title, render_alert, render_alert_resolved, render_alert_update
from podbot.store.ports import AlertStore, ChannelStore, PostLedgerStore

log = logging.getLogger(__name__)

METADATA_EVENT = "podbot_alert"


class AlertChannels:
    """The channels with alerts on (read from the store, briefly cached) and the fan-out's wake-up.

    It is ``app.ports.AlertWatch`` for the ``alerts`` verb: ``refresh`` after a change."""

    def __init__(self, channels: ChannelStore, *, ttl: float = 2.0) -> None:
        self._store = channels
        self._ttl = ttl
        self._cached: tuple[float, list[ChannelSettings]] = (0.0, [])
        self.kick = threading.Event()
        self.sweep = threading.Event()

    def current(self) -> list[ChannelSettings]:
        fetched_at, channels = self._cached
        if time.monotonic() - fetched_at > self._ttl:
            channels = self._store.with_alerts()
            self._cached = (time.monotonic(), channels)
        return channels

    def refresh(self) -> None:
        self._cached = (0.0, [])
        self.sweep.set()
        self.kick.set()


class AlertReconciler:
    """The pipeline's handler of ``ReconcileAlerts``, and the findings it reconciles against."""

    def __init__(
        self,
        settings: Settings,
        alerts: AlertStore,
        messenger: Messenger,
        posts: PostLedgerStore,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._alerts = alerts
        self._messenger = messenger
        self._posts = posts
        self._now = now
        self.update_interval = timedelta(minutes=settings.digests.alert_update_minutes)
        self.settle_after = timedelta(seconds=settings.digests.settle_seconds)
        self._findings: dict[str, dict[PodKey, list[Finding]]] = {}  # context -> pod -> findings
        self._seen: dict[tuple[str, str], int] = {}  # (channel, group id) -> pods at last observe
        self._reported: dict[int, int] = {}  # alert id -> pods in the last message about it
        self._caches: dict[str, WatchCache] = {}  # context -> the cache last rediagnosed

    def rediagnose(self, cache: WatchCache, sweep: bool) -> None:
        """Bring the findings of ``cache``'s cluster up to date (only changed pods, unless sweeping)."""
        table = self._findings.setdefault(cache.context, {})
        self._caches[cache.context] = cache
        changed = cache.drain_changed()
        keys = set(table) | changed if sweep else changed
        if sweep:
            keys |= {p.key for p in cache.problems()}
        if not keys:
            return
        now = self._now()
        for key, pod in cache.pods_by_key(keys).items():
            if pod is None or is_quiet(pod):
                table.pop(key, None)
                continue
            found = cache.diagnosis(pod, now)
            if found:
                table[key] = found
            else:
                table.pop(key, None)

    def forget(self) -> None:
        self._findings.clear()
        self._seen.clear()

    def reconcile(self, request: ReconcileAlerts, grant: Grant) -> Posted:
        context = grant.cluster.context
        findings = [f for found in self._findings.get(context, {}).values() for f in found]
        groups = alert_groups(context, findings, Scope(context, grant.namespaces))
        cid = grant.origin.channel_id
        locale = grant.locale
        now = self._now()
        for gid, group in groups.items():
            if not request.sweep and self._seen.get((cid, gid)) == group.pods:
                continue
            title = alert_title(group, locale)
            observed = self._alerts.observe(cid, gid, now, count=group.pods, title=title)
            self._seen[(cid, gid)] = group.pods
            alert = observed.alert
            if observed.must_post:
                # Rendered only if it is to be posted: fresh_group reads the API.
                render = functools.partial(fresh_alert, group, self._caches.get(context), grant, now, locale)
                ts = self._post_alert(alert, render)
                if ts:
                    self._alerts.set_message(alert.id, ts)
                    self._reported[alert.id] = group.pods
                    metrics.ALERTS.labels(event="posted").inc()
                continue
            reported = self._reported.setdefault(alert.id, group.pods)  # after a restart: no update
            if (
                alert.message_ts
                and group.pods != reported
                and self._alerts.claim_thread_update(alert.id, now, self.update_interval)
            ):
                update = render_alert_update(group.pods, alert.peak_count, locale)
                if self._post(cid, update, thread_ts=alert.message_ts):
                    self._reported[alert.id] = group.pods
                    metrics.ALERTS.labels(event="updated").inc()
        for alert in self._alerts.open_alerts(cid):
            if alert.group_key in groups:
                continue
            resolved = self._alerts.resolve(cid, alert.group_key, now)
            self._seen.pop((cid, alert.group_key), None)
            self._reported.pop(alert.id, None)
            # A post Slack stored without confirming has its ts only in the ledger (its event).
            message_ts = resolved and (resolved.message_ts or self._ledger_ts(resolved))
            if resolved is not None and message_ts:
                duration = (now - resolved.first_seen).total_seconds()
                rendered = render_alert_resolved(resolved.title, duration, locale)
                try:
                    self._messenger.update(cid, message_ts, rendered)
                    metrics.ALERTS.labels(event="resolved").inc()
                except DeliveryFailed as exc:
                    log.warning("could not mark alert %s resolved: %s", resolved.id, exc.code)
        return Posted()

    def _ledger_ts(self, alert: Alert) -> str | None:
        seen = self._posts.get(_ledger_key(alert))
        return seen.message_ts if seen is not None and seen.message_ts else None

    def _post_alert(self, alert: Alert, render: Callable[[], Rendered]) -> str | None:
        """Post ``alert``'s message once: the ledger's ts if Slack already has it, None while an
        unconfirmed post is within its grace (or this post's outcome is unknown)."""
        key = _ledger_key(alert)
        now = self._now()
        seen = self._posts.get(key)
        if seen is not None and seen.message_ts:
            return seen.message_ts  # an earlier post reached Slack (its event said so)
        if seen is not None and now - seen.updated_at < self.settle_after:
            return None  # an earlier post may still show up: not again yet
        self._posts.intend(key, alert.channel_id, now)  # past the grace: the earlier post was lost
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        try:
            ts = self._messenger.post(alert.channel_id, render(), metadata=metadata)
        except DeliveryUncertain as exc:
            log.warning("alert %s: Slack did not confirm the post (%s); settling later", alert.id, exc.code)
            return None
        except DeliveryFailed as exc:
            self._posts.forget(key)  # refused: Slack stored nothing, the next try needs no grace
            log.warning("could not post an alert to %s: %s", alert.channel_id, exc.code)
            return None
        self._posts.posted(key, ts, channel_id=alert.channel_id, now=self._now())
        return ts

    def _post(self, channel: str, rendered: Rendered, *, thread_ts: str | None = None) -> str | None:
        try:
            return self._messenger.post(channel, rendered, thread_ts=thread_ts)
        except DeliveryFailed as exc:
            log.warning("could not post an alert to %s: %s", channel, exc.code)
            return None


def _ledger_key(alert: Alert) -> str:
    """The post ledger's key (and the message metadata's) of an alert's message: one per episode."""
    return f"alert:{alert.id}:{alert.episodes}"


def fresh_alert(
    group: AlertGroup, cache: WatchCache | None, grant: Grant, now: datetime, locale: str
) -> Rendered:
    return render_alert(fresh_group(group, cache, grant, now), locale)


def fresh_group(group: AlertGroup, cache: WatchCache | None, grant: Grant, now: datetime) -> AlertGroup:
    """The group as the API says it is right before its alert is posted: the cache may be behind a
    pull secret just created or replaced, and keeps no crash logs (``actions.refresh_findings``)."""
    if cache is None:
        return group
    findings = actions.refresh_findings(
        grant.cluster, group.findings, cache.pod, cache.notes_for, cache.credentials(), now
    )
    wanted = {(f.namespace, f.pod, f.kind, f.container) for f in group.findings}
    fresh = tuple(f for f in findings if (f.namespace, f.pod, f.kind, f.container) in wanted)
    return AlertGroup(group.context, group.key, fresh or group.findings)


class AlertFanout:
    """The leader-only loop: wake on changes, re-diagnose, reconcile each channel through the pipeline."""

    def __init__(
        self,
        channels: AlertChannels,
        reconciler: AlertReconciler,
        pipeline: Pipeline,
        caches: ClusterCaches,
        *,
        sweep_seconds: float = 30.0,
        debounce_seconds: float = 0.1,
    ) -> None:
        self._channels = channels
        self._reconciler = reconciler
        self._pipeline = pipeline
        self._caches = caches
        self._sweep_seconds = sweep_seconds
        self._debounce = debounce_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self._settled = threading.Condition()
        self._asked = 0  # settle() requests made, and the last one a finished cycle has served
        self._served = 0
        caches.add_listener(channels.kick.set)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="podbot-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._channels.kick.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        with self._settled:
            self._settled.notify_all()
        self._reconciler.forget()

    def wakeup(self, *, sweep: bool = True) -> None:
        """Look again now (tests call this after ``sim.advance``); ``sweep`` re-diagnoses all pods."""
        if sweep:
            self._channels.sweep.set()
        self._channels.kick.set()

    def settle(self, timeout: float) -> bool:
        """Sweep once more and wait until that cycle has finished (``podbot demo`` after each step)."""
        with self._settled:
            self._asked += 1
            asked = self._asked
        self.wakeup(sweep=True)
        with self._settled:
            return self._settled.wait_for(
                lambda: self._served >= asked or self._thread is None or self._stop.is_set(), timeout
            )

    # --- the loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        last_sweep = 0.0
        kick, sweep_asked = self._channels.kick, self._channels.sweep
        while not self._stop.is_set():
            kick.wait(self._sweep_seconds)
            if self._stop.is_set():
                return
            if self._stop.wait(self._debounce):  # let a burst of watch events land in one cycle
                return  # stopped meanwhile: no cycle on the way out
            kick.clear()
            with self._settled:
                serving = self._asked
            sweep = sweep_asked.is_set() or time.monotonic() - last_sweep >= self._sweep_seconds
            sweep_asked.clear()
            if sweep:
                last_sweep = time.monotonic()
            try:
                self.cycle(sweep=sweep)
            except PodbotError as exc:  # e.g. the database is down: the next cycle tries again
                log.warning("alert cycle skipped: %s", exc.message)
                self._stop.wait(1.0)
            except Exception:
                log.exception("alert cycle failed")
                self._stop.wait(1.0)
            with self._settled:
                self._served = serving
                self._settled.notify_all()

    def cycle(self, *, sweep: bool = False) -> None:
        """One reconciliation of every alerting channel."""
        self.cycles += 1
        by_context: dict[str, list[ChannelSettings]] = {}
        for channel in self._channels.current():
            by_context.setdefault(channel.alert_context or self._caches.default_context, []).append(channel)
        for context, members in by_context.items():
            try:
                cache = self._caches.get(context)
            except PodbotError as exc:
                log.warning("alerts for cluster %s: %s", context, exc.message)
                continue
            self._reconciler.rediagnose(cache, sweep)
            if not cache.synced():
                continue
            for channel in members:
                request = ReconcileAlerts(context, channel.alert_namespaces, sweep=sweep)
                # As the person who turned the alerts on: the gate checks the channel's policy.
                owner = Origin(channel.team_id, channel.channel_id, channel.updated_by, Entry.SCHEDULE)
                answer = self._pipeline.handle(request, owner)
                if answer.error is not None:
                    log.warning("alerts for %s skipped: %s", channel.channel_id, answer.error.message)
