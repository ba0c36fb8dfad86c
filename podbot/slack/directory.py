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


class Directory:
    def __init__(
        self, client: WebClient, ttl_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._users: dict[str, tuple[float, SlackUser]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
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
            )
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(method="users.info", error=str(exc.response.get("error"))).inc()
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return SlackUser(id=user_id, name=user_id)
        with self._lock:
            self._users[user_id] = (self._monotonic(), user)
        return user

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
