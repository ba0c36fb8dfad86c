"""Real-time alerts (leader only): watch cache changes -> findings -> one alert per problem group.

The fan-out thread wakes when a watch cache changes (and every ``sweep_seconds`` anyway, since
some findings appear with time alone: pending too long, stuck terminating). It re-diagnoses the
pods that changed, groups every current finding by ``Finding.group_key`` (namespace, kind,
cause, image) — 500 pods failing the same way are one group — and reconciles each alerting
channel with the store (``store.alerts``, whose compare-and-set rows make every decision once,
even with several replicas):

* a group that appears: ``observe`` says ``must_post`` to exactly one caller, which posts the
  alert and records its ts;
* a group whose pod count changed: an update in the alert's thread, at most once per
  ``update_interval`` (``claim_thread_update``);
* an open alert whose group is gone (once that cluster's cache has synced): ``resolve`` hands it
  to one caller, which edits the message to "resolved".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.core.diagnosis.findings import Finding
from podbot.core.diagnosis.rules import diagnose
from podbot.core.digests import AlertGroup, PodKey, Scope, alert_groups, is_quiet
from podbot.core.errors import PodbotError
from podbot.core.records import ChannelSettings
from podbot.core.settings import Settings
from podbot.k8s.watch import ClusterCaches, WatchCache
from podbot.render.blocks import Rendered
from podbot.render.digests import alert_title, render_alert, render_alert_resolved, render_alert_update
from podbot.store.store import Store

log = logging.getLogger(__name__)


class AlertFanout:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        client: Any,  # slack_sdk.WebClient
        caches: ClusterCaches,
        now: Callable[[], datetime],
        sweep_seconds: float = 30.0,
        debounce_seconds: float = 0.1,
        channels_ttl: float = 2.0,
    ) -> None:
        self._settings = settings
        self._store = store
        self._client = client
        self._caches = caches
        self._now = now
        self._sweep_seconds = sweep_seconds
        self._debounce = debounce_seconds
        self._channels_ttl = channels_ttl
        self.update_interval = timedelta(minutes=settings.digests.alert_update_minutes)
        self._kick = threading.Event()
        self._sweep = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._findings: dict[str, dict[PodKey, list[Finding]]] = {}  # context -> pod -> findings
        self._seen: dict[tuple[str, str], int] = {}  # (channel, group id) -> pods at last observe
        self._reported: dict[int, int] = {}  # alert id -> pods in the last message about it
        self._channels: tuple[float, list[ChannelSettings]] = (0.0, [])
        self.cycles = 0
        caches.add_listener(self._kick.set)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="podbot-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._findings.clear()
        self._seen.clear()

    def wakeup(self, *, sweep: bool = True) -> None:
        """Look again now (tests call this after ``sim.advance``); ``sweep`` re-diagnoses all pods."""
        if sweep:
            self._sweep.set()
        self._kick.set()

    # --- the loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        last_sweep = 0.0
        while not self._stop.is_set():
            self._kick.wait(self._sweep_seconds)
            if self._stop.is_set():
                return
            time.sleep(self._debounce)  # let a burst of watch events land in one cycle
            self._kick.clear()
            sweep = self._sweep.is_set() or time.monotonic() - last_sweep >= self._sweep_seconds
            self._sweep.clear()
            if sweep:
                last_sweep = time.monotonic()
            try:
                self.cycle(sweep=sweep)
            except Exception:
                log.exception("alert cycle failed")
                self._stop.wait(1.0)

    def _alert_channels(self) -> list[ChannelSettings]:
        fetched_at, channels = self._channels
        if time.monotonic() - fetched_at > self._channels_ttl:
            channels = self._store.channels.with_alerts()
            self._channels = (time.monotonic(), channels)
        return channels

    def refresh_channels(self) -> None:
        """The alert settings changed (``/pod alerts``): read them again on the next cycle."""
        self._channels = (0.0, [])
        self.wakeup(sweep=True)

    def cycle(self, *, sweep: bool = False) -> None:
        """One reconciliation of every alerting channel."""
        self.cycles += 1
        channels = self._alert_channels()
        by_context: dict[str, list[ChannelSettings]] = {}
        for channel in channels:
            context = channel.alert_context or self._caches.default_context
            by_context.setdefault(context, []).append(channel)
        for context, members in by_context.items():
            try:
                cache = self._caches.get(context)
            except PodbotError as exc:
                log.warning("alerts for cluster %s: %s", context, exc.message)
                continue
            findings = self._diagnose(cache, sweep)
            if not cache.synced():
                continue
            now = self._now()
            for channel in members:
                scope = Scope(context, channel.alert_namespaces)
                self._reconcile(channel, alert_groups(context, findings, scope), now, sweep)

    def _diagnose(self, cache: WatchCache, sweep: bool) -> list[Finding]:
        table = self._findings.setdefault(cache.context, {})
        changed = cache.drain_changed()
        keys = set(table) | changed if sweep else changed
        if sweep:
            keys |= {p.key for p in cache.pods() if not is_quiet(p)}
        if keys:
            now = self._now()
            credentials = cache.credentials()
            for key, pod in cache.pods_by_key(keys).items():
                if pod is None or is_quiet(pod):
                    table.pop(key, None)
                    continue
                found = diagnose(pod, cache.notes_for(*key), credentials, now)
                if found:
                    table[key] = found
                else:
                    table.pop(key, None)
        return [f for found in table.values() for f in found]

    def _reconcile(
        self, channel: ChannelSettings, groups: dict[str, AlertGroup], now: datetime, sweep: bool
    ) -> None:
        cid = channel.channel_id
        locale = self._settings.locale_for(cid)
        for gid, group in groups.items():
            if not sweep and self._seen.get((cid, gid)) == group.pods:
                continue
            title = alert_title(group, locale)
            observed = self._store.alerts.observe(cid, gid, now, count=group.pods, title=title)
            self._seen[(cid, gid)] = group.pods
            alert = observed.alert
            if observed.must_post:
                ts = self._post(cid, render_alert(group, locale))
                if ts:
                    self._store.alerts.set_message(alert.id, ts)
                    self._reported[alert.id] = group.pods
                    metrics.ALERTS.labels(event="posted").inc()
                continue
            reported = self._reported.setdefault(alert.id, group.pods)  # after a restart: no update
            if (
                alert.message_ts
                and group.pods != reported
                and self._store.alerts.claim_thread_update(alert.id, now, self.update_interval)
            ):
                update = render_alert_update(group.pods, alert.peak_count, locale)
                if self._post(cid, update, thread_ts=alert.message_ts):
                    self._reported[alert.id] = group.pods
                    metrics.ALERTS.labels(event="updated").inc()
        for alert in self._store.alerts.open_alerts(cid):
            if alert.group_key in groups:
                continue
            resolved = self._store.alerts.resolve(cid, alert.group_key, now)
            self._seen.pop((cid, alert.group_key), None)
            self._reported.pop(alert.id, None)
            if resolved is not None and resolved.message_ts:
                duration = (now - resolved.first_seen).total_seconds()
                rendered = render_alert_resolved(resolved.title, duration, locale)
                try:
                    self._client.chat_update(
                        channel=cid, ts=resolved.message_ts, text=rendered.text, blocks=rendered.blocks
                    )
                    metrics.ALERTS.labels(event="resolved").inc()
                except SlackApiError as exc:
                    log.warning(
                        "could not mark alert %s resolved: %s", resolved.id, exc.response.get("error")
                    )

    def _post(self, channel: str, rendered: Rendered, *, thread_ts: str | None = None) -> str | None:
        try:
            response = self._client.chat_postMessage(
                channel=channel, text=rendered.text, blocks=rendered.blocks, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.warning("could not post an alert to %s: %s", channel, exc.response.get("error"))
            return None
        return str(response.get("ts") or "") or None
