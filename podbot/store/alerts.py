"""Real-time alert state: one alert per (channel, finding group), posted once, updated sparingly.

The alert fan-out (leader only) calls, per channel and finding group:

- ``observe`` whenever the finding is present. ``must_post`` is True for exactly one caller when
  the alert opens (first time, or again after it was resolved): that caller posts it and records
  the message with ``set_message``. If it crashes in between, the alert stays open without a
  message; after ``post_lease`` the next ``observe`` hands ``must_post`` out again.
- ``claim_thread_update`` before posting an update in the alert's thread: True at most once per
  ``min_interval`` (every update, and the alert itself, restart the interval).
- ``resolve`` when the finding is gone: returns the alert (with its message ts, to edit it to
  "resolved") to exactly one caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, RowMapping, and_, case, select, update

from podbot.core.records import Alert, AlertObservation, AlertState, utc
from podbot.store.database import Database
from podbot.store.schema import alerts

DEFAULT_POST_LEASE = timedelta(minutes=5)


def _alert(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        channel_id=row["channel_id"],
        group_key=row["group_key"],
        state=AlertState(row["state"]),
        title=row["title"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        last_update_at=row["last_update_at"],
        count=row["count"],
        peak_count=row["peak_count"],
        thread_updates=row["thread_updates"],
        episodes=row["episodes"],
        message_ts=row["message_ts"],
        resolved_at=row["resolved_at"],
    )


class Alerts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def observe(
        self,
        channel_id: str,
        group_key: str,
        now: datetime,
        *,
        count: int = 1,
        title: str = "",
        post_lease: timedelta = DEFAULT_POST_LEASE,
    ) -> AlertObservation:
        """The finding group is present now, affecting ``count`` pods: open or refresh its alert."""
        now = utc(now)
        key = and_(alerts.c.channel_id == channel_id, alerts.c.group_key == group_key)
        peak = case((alerts.c.peak_count > count, alerts.c.peak_count), else_=count)
        opening = {
            "state": AlertState.OPEN.value,
            "title": title,
            "message_ts": None,
            "first_seen": now,
            "last_seen": now,
            "last_update_at": now,
            "resolved_at": None,
            "count": count,
            "peak_count": count,
            "thread_updates": 0,
        }
        is_open = alerts.c.state == AlertState.OPEN.value
        # Updates first: the common case (already open) must not burn an id on every INSERT attempt.
        attempts = (
            # Back after being resolved: a new episode, a new message.
            (
                update(alerts)
                .where(and_(key, alerts.c.state == AlertState.RESOLVED.value))
                .values(episodes=alerts.c.episodes + 1, **opening)
                .returning(alerts),
                True,
            ),
            # Open but never posted, and whoever should have posted it is long gone: post now.
            (
                update(alerts)
                .where(
                    and_(
                        key,
                        is_open,
                        alerts.c.message_ts.is_(None),
                        alerts.c.last_update_at <= now - post_lease,
                    )
                )
                .values(last_seen=now, last_update_at=now, count=count, peak_count=peak)
                .returning(alerts),
                True,
            ),
            # Still open: remember that it persists.
            (
                update(alerts)
                .where(and_(key, is_open))
                .values(last_seen=now, count=count, peak_count=peak)
                .returning(alerts),
                False,
            ),
            # New group: the unique (channel, group) row decides who posts.
            (
                self._db.insert(alerts)
                .values(channel_id=channel_id, group_key=group_key, episodes=1, **opening)
                .on_conflict_do_nothing(index_elements=["channel_id", "group_key"])
                .returning(alerts),
                True,
            ),
        )
        # Each step is a compare-and-set. On PostgreSQL another replica may commit between two of
        # them (e.g. resolve after our reopen check); going round again sees the new state.
        for _ in range(3):
            with self._db.write() as connection:
                for statement, must_post in attempts:
                    row = connection.execute(statement).mappings().first()
                    if row is not None:
                        return AlertObservation(alert=_alert(row), must_post=must_post)
        raise RuntimeError(f"alert {channel_id}/{group_key} kept changing under observe")

    def set_message(self, alert_id: int, message_ts: str) -> None:
        """The alert was posted as ``message_ts``; thread updates and the resolve edit go there."""
        with self._db.write() as connection:
            connection.execute(update(alerts).where(alerts.c.id == alert_id).values(message_ts=message_ts))

    def claim_thread_update(self, alert_id: int, now: datetime, min_interval: timedelta) -> bool:
        """May the caller post a thread update now? True at most once per ``min_interval``."""
        now = utc(now)
        with self._db.write() as connection:
            result = connection.execute(
                update(alerts)
                .where(
                    and_(
                        alerts.c.id == alert_id,
                        alerts.c.state == AlertState.OPEN.value,
                        alerts.c.message_ts.is_not(None),
                        alerts.c.last_update_at <= now - min_interval,
                    )
                )
                .values(last_update_at=now, thread_updates=alerts.c.thread_updates + 1)
            )
        return result.rowcount == 1

    def resolve(self, channel_id: str, group_key: str, now: datetime) -> Alert | None:
        """The finding cleared: the alert (to edit to "resolved") for the one caller that closed it."""
        with self._db.write() as connection:
            row = (
                connection.execute(
                    update(alerts)
                    .where(
                        and_(
                            alerts.c.channel_id == channel_id,
                            alerts.c.group_key == group_key,
                            alerts.c.state == AlertState.OPEN.value,
                        )
                    )
                    .values(state=AlertState.RESOLVED.value, resolved_at=utc(now), count=0)
                    .returning(alerts)
                )
                .mappings()
                .first()
            )
        return _alert(row) if row else None

    def get(self, channel_id: str, group_key: str) -> Alert | None:
        statement = select(alerts).where(
            and_(alerts.c.channel_id == channel_id, alerts.c.group_key == group_key)
        )
        with self._db.read() as connection:
            row = connection.execute(statement).mappings().first()
        return _alert(row) if row else None

    def open_alerts(self, channel_id: str | None = None) -> list[Alert]:
        """Open alerts (of one channel, or all): after a restart, resolve those that cleared meanwhile."""
        condition: ColumnElement[bool] = alerts.c.state == AlertState.OPEN.value
        if channel_id is not None:
            condition = and_(condition, alerts.c.channel_id == channel_id)
        statement = select(alerts).where(condition).order_by(alerts.c.channel_id, alerts.c.first_seen)
        with self._db.read() as connection:
            return [_alert(row) for row in connection.execute(statement).mappings()]
