"""The channel verbs of digests and alerts: ``subscribe``, ``subscriptions``, ``unsubscribe``,
``alerts`` (registered as ``Podbot.extra_handlers``; any replica answers them from the database).

A channel may only subscribe to, or alert on, what its channel policy lets it see: the cluster and
namespaces are checked like any command's, and "no -n" in a restricted channel means the
policy's namespaces (stored with the subscription, so the digest never looks further).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from podbot.app.pipeline import Asker, Podbot, Reply
from podbot.core.digests import Scope
from podbot.core.errors import NotFound
from podbot.core.i18n import t
from podbot.core.model import DigestKind, ListSubscriptions, SetAlerts, Subscribe, Unsubscribe
from podbot.core.policy import check_channel
from podbot.core.records import AuditAction, ChannelSettings, Schedule, Subscription
from podbot.jobs.digests import DigestService
from podbot.render.blocks import Rendered, section
from podbot.render.digests import scope_text


def _when(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when is not None else "-"


def kind_text(kind: DigestKind, locale: str | None) -> str:
    return t("digests.kind_health" if kind is DigestKind.HEALTH else "digests.kind_image_pulls", locale)


def interval_text(seconds: int) -> str:
    """``--every`` as the user would write it: 2h, 1h30m, 1d, 45m, 90s."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def schedule_text(schedule: Schedule, locale: str | None) -> str:
    if schedule.every_seconds is not None:
        return t("digests.schedule_every", locale, duration=interval_text(schedule.every_seconds))
    return t("digests.schedule_cron", locale, cron=schedule.cron, timezone=schedule.timezone)


def _reply(text: str, *, public: bool) -> Reply:
    return Reply(Rendered(text=text.replace("*", "")[:3000], blocks=[section(text)]), public=public)


class ChannelVerbs:
    def __init__(self, service: DigestService, bot: Podbot) -> None:
        self.service = service
        self.bot = bot
        self.settings = bot.settings
        self.store = service.store

    def register(self) -> None:
        self.bot.extra_handlers[Subscribe] = self.subscribe  # type: ignore[assignment]
        self.bot.extra_handlers[ListSubscriptions] = self.subscriptions  # type: ignore[assignment]
        self.bot.extra_handlers[Unsubscribe] = self.unsubscribe  # type: ignore[assignment]
        self.bot.extra_handlers[SetAlerts] = self.alerts  # type: ignore[assignment]

    def _scope(self, verb: str, context: str | None, namespaces: tuple[str, ...], asker: Asker) -> Scope:
        """The cluster and namespaces a channel may watch, checked against its policy."""
        locale = self.bot.locale(asker)
        policy = self.settings.channel_policy(asker.channel_id, asker.channel_name)
        kube = self.bot.clusters.get(context or policy.default_context or self.settings.kube.default_context)
        chosen = namespaces or (() if "*" in policy.namespaces else policy.namespaces)
        for namespace in chosen:
            check_channel(policy, verb, kube.context, namespace, locale)
        if not chosen:
            check_channel(policy, verb, kube.context, None, locale)
        return Scope(kube.context, tuple(chosen))

    def _audit(
        self, action: AuditAction, asker: Asker, scope: Scope, name: str, outcome: str, text: str
    ) -> None:
        self.bot.audit.record(
            self.bot.audit_event(
                action,
                asker,
                scope.context,
                ",".join(scope.namespaces),
                "Subscription" if action is not AuditAction.ALERTS else "Channel",
                name,
                "",
                outcome,
                text=text,
            )
        )

    # --- verbs ---------------------------------------------------------------------------------
    def subscribe(self, request: Subscribe, asker: Asker) -> Reply:
        locale = self.bot.locale(asker)
        scope = self._scope("subscribe", request.context, request.namespaces, asker)
        schedule = Schedule(every_seconds=request.every_seconds, cron=request.cron)
        sub = self.store.subscriptions.create(
            team_id=asker.team_id,
            channel_id=asker.channel_id,
            kind=request.kind,
            schedule=schedule,
            namespaces=scope.namespaces,
            context=scope.context,
            created_by=asker.user_id,
            now=self.bot.now(),
        )
        self.service.sync_jobs()
        self._audit(
            AuditAction.SUBSCRIBE, asker, scope, f"#{sub.id}", "subscribed", f"subscribe {sub.kind.value}"
        )
        text = t(
            "digests.subscribed",
            locale,
            kind=kind_text(sub.kind, locale),
            id=sub.id,
            schedule=schedule_text(schedule, locale),
            scope=scope_text(scope, locale),
            context=scope.context,
            next=_when(self.service.next_run(sub)),
        )
        return _reply(text, public=True)

    def _line(self, sub: Subscription, locale: str | None) -> str:
        return t(
            "digests.subscription_line",
            locale,
            id=sub.id,
            kind=kind_text(sub.kind, locale),
            schedule=schedule_text(sub.schedule, locale),
            scope=scope_text(Scope(sub.context or "", sub.namespaces), locale),
            context=sub.context or self.settings.kube.default_context or "-",
            next=_when(self.service.next_run(sub)),
            user=sub.created_by,
        )

    def subscriptions(self, request: ListSubscriptions, asker: Asker) -> Reply:
        locale = self.bot.locale(asker)
        subs = self.store.subscriptions.for_channel(asker.channel_id)
        if not subs:
            return _reply(t("digests.no_subscriptions", locale), public=False)
        lines = [t("digests.subscriptions_header", locale), *(self._line(s, locale) for s in subs)]
        return _reply("\n".join(lines)[:2900], public=False)

    def unsubscribe(self, request: Unsubscribe, asker: Asker) -> Reply:
        locale = self.bot.locale(asker)
        ended = self.store.subscriptions.end(
            request.subscription_id, channel_id=asker.channel_id, by=asker.user_id, now=self.bot.now()
        )
        if ended is None:
            raise NotFound(t("digests.no_such_subscription", locale, id=request.subscription_id))
        self.service.sync_jobs()
        scope = Scope(ended.context or "", ended.namespaces)
        self._audit(
            AuditAction.UNSUBSCRIBE, asker, scope, f"#{ended.id}", "unsubscribed", f"unsubscribe {ended.id}"
        )
        text = t(
            "digests.unsubscribed",
            locale,
            id=ended.id,
            kind=kind_text(ended.kind, locale),
            schedule=schedule_text(ended.schedule, locale),
        )
        return _reply(text, public=True)

    def alerts(self, request: SetAlerts, asker: Asker) -> Reply:
        locale = self.bot.locale(asker)
        current = self.store.channels.get(asker.channel_id) or ChannelSettings(
            channel_id=asker.channel_id, team_id=asker.team_id
        )
        if request.enabled:
            scope = self._scope("alerts", request.context, request.namespaces, asker)
            updated = replace(
                current, alerts_enabled=True, alert_namespaces=scope.namespaces, alert_context=scope.context
            )
            text = t("digests.alerts_on", locale, scope=scope_text(scope, locale), context=scope.context)
        else:
            scope = Scope(current.alert_context or "", current.alert_namespaces)
            updated = replace(current, alerts_enabled=False)
            text = t("digests.alerts_off", locale)
        self.store.channels.save(updated, by=asker.user_id, now=self.bot.now())
        self.service.alerts.refresh_channels()
        self._audit(
            AuditAction.ALERTS, asker, scope, asker.channel_id, "on" if request.enabled else "off", "alerts"
        )
        return _reply(text, public=True)
