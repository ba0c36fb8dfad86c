"""Per-channel settings chosen in Slack (defaults, alert subscription); configuration bounds them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select

from podbot.core.records import ChannelSettings, utc
from podbot.store.database import Database
from podbot.store.schema import channel_settings


def _settings(row: RowMapping) -> ChannelSettings:
    return ChannelSettings(
        channel_id=row["channel_id"],
        team_id=row["team_id"],
        default_context=row["default_context"],
        default_namespace=row["default_namespace"],
        allowed_namespaces=tuple(row["allowed_namespaces"] or ()),
        locale=row["locale"],
        alerts_enabled=bool(row["alerts_enabled"]),
        alert_namespaces=tuple(row["alert_namespaces"] or ()),
        alert_context=row["alert_context"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


class Channels:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, channel_id: str) -> ChannelSettings | None:
        with self._db.read() as connection:
            statement = select(channel_settings).where(channel_settings.c.channel_id == channel_id)
            row = connection.execute(statement).mappings().first()
        return _settings(row) if row else None

    def save(self, settings: ChannelSettings, *, by: str, now: datetime) -> ChannelSettings:
        """Create or replace the channel's settings (read, ``dataclasses.replace``, save)."""
        stored = replace(settings, updated_by=by, updated_at=utc(now))
        values: dict[str, Any] = {
            "channel_id": stored.channel_id,
            "team_id": stored.team_id,
            "default_context": stored.default_context,
            "default_namespace": stored.default_namespace,
            "allowed_namespaces": list(stored.allowed_namespaces),
            "locale": stored.locale,
            "alerts_enabled": stored.alerts_enabled,
            "alert_namespaces": list(stored.alert_namespaces),
            "alert_context": stored.alert_context,
            "updated_by": stored.updated_by,
            "updated_at": stored.updated_at,
        }
        statement = self._db.insert(channel_settings).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[channel_settings.c.channel_id],
            set_={key: statement.excluded[key] for key in values if key != "channel_id"},
        )
        with self._db.write() as connection:
            connection.execute(statement)
        return stored

    def with_alerts(self) -> list[ChannelSettings]:
        """Channels that have real-time alerts on (the alert fan-out's recipients)."""
        statement = (
            select(channel_settings)
            .where(channel_settings.c.alerts_enabled.is_(True))
            .order_by(channel_settings.c.channel_id)
        )
        with self._db.read() as connection:
            return [_settings(row) for row in connection.execute(statement).mappings()]
