"""Interaction tokens Slack hands to an app: ``trigger_id``s and ``response_url``s.

A trigger is valid for 3 s and can be exchanged once (views.open/push); afterwards Slack
answers ``exchanged_trigger_id``, after expiry ``expired_trigger_id``, for an unknown one
``invalid_trigger_id``. A response_url accepts 5 posts within 30 minutes. Both read the
workspace clock, so tests expire them by advancing a manual clock, never by sleeping.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from podbot.localslack.wire import ApiError


@dataclass
class Trigger:
    id: str
    user: str
    issued_at: float
    view_id: str | None = None  # set when issued from an interaction inside a modal
    used: bool = False


@dataclass
class ResponseUrl:
    path: str
    kind: str  # "commands" or "actions"
    user: str
    channel: str
    issued_at: float
    original_ts: str | None = None  # the message a replace_original/delete_original acts on
    uses: int = 0
    command_text: str = ""  # "/pod get pods": shown to the channel with the first in_channel response
    echoed: bool = False


class Interactions:
    """Issues and checks triggers and response_urls. Thread-safe (shared workspace lock)."""

    def __init__(
        self,
        lock: threading.RLock,
        clock: Callable[[], float],
        *,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 1800.0,
        response_url_uses: int = 5,
    ) -> None:
        self._lock = lock
        self._clock = clock
        self.trigger_ttl = trigger_ttl
        self.response_url_ttl = response_url_ttl
        self.response_url_uses = response_url_uses
        self._triggers: dict[str, Trigger] = {}
        self._urls: dict[str, ResponseUrl] = {}
        self._counter = 1000

    def issue_trigger(self, user: str, view_id: str | None = None) -> str:
        with self._lock:
            self._counter += 1
            trigger_id = (
                f"{int(self._clock())}{self._counter}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
            )
            self._triggers[trigger_id] = Trigger(trigger_id, user, self._clock(), view_id)
            return trigger_id

    def exchange_trigger(self, trigger_id: str) -> Trigger:
        """Use a trigger once; raises the error Slack gives for a bad, used or stale one."""
        with self._lock:
            trigger = self._triggers.get(trigger_id)
            if trigger is None:
                raise ApiError("invalid_trigger_id")
            if trigger.used:
                raise ApiError("exchanged_trigger_id")
            if self._clock() - trigger.issued_at > self.trigger_ttl:
                raise ApiError("expired_trigger_id")
            trigger.used = True
            return trigger

    def issue_response_url(
        self,
        kind: str,
        team_id: str,
        user: str,
        channel: str,
        original_ts: str | None = None,
        command_text: str = "",
    ) -> str:
        """A new response_url path (``/commands/T../123/secret``); the server prefixes its origin."""
        with self._lock:
            self._counter += 1
            path = (
                f"/{kind}/{team_id}/{self._counter}{secrets.randbelow(10**6):06d}/{secrets.token_urlsafe(18)}"
            )
            self._urls[path] = ResponseUrl(
                path, kind, user, channel, self._clock(), original_ts, command_text=command_text
            )
            return path

    def check_response_url(self, path: str) -> ResponseUrl:
        """The response_url if it can take another post, else ``used_url``/``expired_url`` (404).

        The caller counts a post (``uses += 1``) under the workspace lock once it is accepted.
        """
        with self._lock:
            url = self._urls.get(path)
            if url is None:
                raise ApiError("invalid_url", status=404)
            if self._clock() - url.issued_at > self.response_url_ttl:
                raise ApiError("expired_url", status=404)
            if url.uses >= self.response_url_uses:
                raise ApiError("used_url", status=404)
            return url

    def response_url(self, path: str) -> ResponseUrl | None:
        with self._lock:
            return self._urls.get(path)
