"""Who is who in Slack: user profiles and user-group membership, cached briefly.

Approvals (approver groups) and per-user identity (email -> Kubernetes user) need these on every
click; a short cache keeps Slack API calls (rate-limited) off the hot path while membership
changes still take effect within a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str = ""
    locale: str = ""
    found: bool = True  # False: Slack could not say who this is (unknown, deleted, or Slack failed)


class Directory:
    """``app.ports.People`` over the Slack Web API (users.info, usergroups.users.list, users.list,
    conversations.info), each answer cached for ``ttl_seconds``."""

    def __init__(
        self, client: WebClient, ttl_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._users: dict[str, tuple[float, SlackUser]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._by_name: tuple[float, dict[str, str]] | None = None
        self._channels: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _fresh(self, stamp: float) -> bool:
        return self._monotonic() - stamp < self._ttl

    def user(self, user_id: str) -> SlackUser:
        """The user's profile; a lookup failure degrades to just the ID (and is logged)."""
        with self._lock:
            cached = self._users.get(user_id)
            if cached and self._fresh(cached[0]):
                return cached[1]
        try:
            response = self._client.users_info(user=user_id)
            raw = response.get("user") or {}
            profile = raw.get("profile") or {}
            user = SlackUser(
                id=user_id,
                name=str(raw.get("name") or user_id),
                email=str(profile.get("email") or ""),
                locale=str(raw.get("locale") or ""),
                found=not raw.get("deleted"),
            )
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(method="users.info", error=str(exc.response.get("error"))).inc()
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return SlackUser(id=user_id, name=user_id, found=False)
        with self._lock:
            self._users[user_id] = (self._monotonic(), user)
        return user

    def email_of(self, user_id: str) -> str:
        return self.user(user_id).email

    def is_member(self, user_id: str) -> bool:
        return self.user(user_id).found

    def channel_name(self, channel_id: str) -> str:
        """The channel's name (conversations.info); "" when Slack cannot say (asked again next time)."""
        with self._lock:
            cached = self._channels.get(channel_id)
            if cached and self._fresh(cached[0]):
                return cached[1]
        try:
            response = self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(
                method="conversations.info", error=str(exc.response.get("error"))
            ).inc()
            log.warning("conversations.info failed for %s: %s", channel_id, exc.response.get("error"))
            return ""
        name = str((response.get("channel") or {}).get("name") or "")
        with self._lock:
            self._channels[channel_id] = (self._monotonic(), name)
        return name

    def group_members(self, group_id: str) -> frozenset[str]:
        """Members of a Slack user group; empty (and logged) if Slack cannot say."""
        with self._lock:
            cached = self._groups.get(group_id)
            if cached and self._fresh(cached[0]):
                return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(u) for u in response.get("users") or ())
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(
                method="usergroups.users.list", error=str(exc.response.get("error"))
            ).inc()
            log.warning("usergroups.users.list failed for %s: %s", group_id, exc.response.get("error"))
            return frozenset()
        with self._lock:
            self._groups[group_id] = (self._monotonic(), members)
        return members

    def groups_of(self, user_id: str, candidates: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
        """Which of the ``candidates`` user groups ``user_id`` belongs to."""
        return frozenset(g for g in candidates if user_id in self.group_members(g))

    def find_user_id(self, name: str) -> str | None:
        """The ID of the user whose handle, display name or real name is ``name`` (users.list), or None."""
        wanted = name.strip().removeprefix("@").casefold()
        with self._lock:
            cached = self._by_name
        if cached is None or not self._fresh(cached[0]):
            names = self._list_names()
            if names is None:
                return None
            with self._lock:
                self._by_name = cached = (self._monotonic(), names)
        return cached[1].get(wanted)

    def _list_names(self) -> dict[str, str] | None:
        """Every user's names -> ID, following users.list's cursor; None if Slack cannot say."""
        names: dict[str, str] = {}
        cursor = ""
        try:
            while True:
                response = self._client.users_list(limit=200, cursor=cursor or None)
                for raw in response.get("members") or ():
                    if raw.get("deleted") or not raw.get("id"):
                        continue
                    profile = raw.get("profile") or {}
                    for candidate in (
                        raw.get("name"),
                        profile.get("display_name"),
                        raw.get("real_name") or profile.get("real_name"),
                    ):
                        if candidate:
                            names.setdefault(str(candidate).casefold(), str(raw["id"]))
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    return names
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(method="users.list", error=str(exc.response.get("error"))).inc()
            log.warning("users.list failed: %s", exc.response.get("error"))
            return None
