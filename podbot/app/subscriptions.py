"""The channel verbs of digests and alerts: ``subscribe``, ``subscriptions``, ``unsubscribe``,
``alerts``. Any replica answers them from the database; the scheduler and the alert fan-out (leader
only) hear of a change through their ports.

The gate has already checked the cluster and every namespace against the channel policy, and
"no -n" in a restricted channel means the policy's namespaces (the pipeline's defaults): they are
stored with the subscription, and the gate checks them again before every digest and alert cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from podbot.app.gate import Grant
from podbot.app.pipeline import Handler
from podbot.app.ports import AlertWatch, DigestSchedule
from podbot.core.errors import NotFound
from podbot.core.i18n import t
from podbot.core.model import ListSubscriptions, SetAlerts, Subscribe, Unsubscribe
from podbot.core.records import ChannelSettings, Schedule
from podbot.core.results import AlertsChanged, SubscriptionChanged, SubscriptionList
from podbot.core.times import DEFAULT_TIMEZONE
from podbot.store.ports import ChannelStore, SubscriptionStore


class ChannelVerbs:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        channels: ChannelStore,
        schedule: DigestSchedule,
        alerts: AlertWatch,
        *,
        default_context: str,
        now: Callable[[], datetime],
    ) -> None:
        self._subscriptions = subscriptions
        self._channels = channels
        self._schedule = schedule
        self._alerts = alerts
        self._default_context = default_context
        self._now = now

    def handlers(self) -> dict[type, Handler]:
        return {
            Subscribe: self.subscribe,
            ListSubscriptions: self.list,
            Unsubscribe: self.unsubscribe,
            SetAlerts: self.alerts,
        }

    def subscribe(self, request: Subscribe, grant: Grant) -> SubscriptionChanged:
        origin = grant.origin
        sub = self._subscriptions.create(
            team_id=origin.team_id,
            channel_id=origin.channel_id,
            kind=request.kind,
            schedule=Schedule(
                every_seconds=request.every_seconds,
                cron=request.cron,
                # A cron runs on the clock of the channel unless it names its own time zone.
                timezone=(request.timezone or grant.timezone) if request.cron else DEFAULT_TIMEZONE,
            ),
            namespaces=grant.namespaces,
            context=grant.cluster.context,
            created_by=origin.user_id,
            now=self._now(),
        )
        self._schedule.sync()
        return SubscriptionChanged(sub, self._schedule.next_run(sub))

    def list(self, request: ListSubscriptions, grant: Grant) -> SubscriptionList:
        subs = self._subscriptions.for_channel(grant.origin.channel_id)
        return SubscriptionList(tuple((s, self._schedule.next_run(s)) for s in subs), self._default_context)

    def unsubscribe(self, request: Unsubscribe, grant: Grant) -> SubscriptionChanged:
        origin = grant.origin
        ended = self._subscriptions.end(
            request.subscription_id, channel_id=origin.channel_id, by=origin.user_id, now=self._now()
        )
        if ended is None:
            raise NotFound(t("digests.no_such_subscription", grant.locale, id=request.subscription_id))
        self._schedule.sync()
        return SubscriptionChanged(ended, None, stopped=True)

    def alerts(self, request: SetAlerts, grant: Grant) -> AlertsChanged:
        origin = grant.origin
        current = self._channels.get(origin.channel_id) or ChannelSettings(
            channel_id=origin.channel_id, team_id=origin.team_id
        )
        if request.enabled:
            context = grant.cluster.context
            updated = replace(
                current,
                alerts_enabled=True,
                alert_namespaces=grant.namespaces,
                alert_context=context,
            )
            changed = AlertsChanged(True, context, grant.namespaces)
        else:
            updated = replace(current, alerts_enabled=False)
            changed = AlertsChanged(False, current.alert_context or "", current.alert_namespaces)
        self._channels.save(updated, by=origin.user_id, now=self._now())
        self._alerts.refresh()
        return changed
