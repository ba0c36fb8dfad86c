"""The Events API, as far as podbot subscribes to it: ``message_metadata_posted``.

Slack sends it when a message carrying metadata is stored, to every app that subscribed: the bot
event ``message_metadata_posted`` in the app's manifest, a ``metadata_subscriptions`` entry for the
metadata's ``event_type`` naming the posting app's id (or ``"*"``), and the ``metadata.message:read``
scope. ``install(manifest)`` records the manifest's ``settings.event_subscriptions``; until then
no event is sent (as for an app that subscribed to none).

Delivery is asynchronous, after the Web API call has answered (and whatever that answer was: a
message stored and then answered 5xx still produces its event), in order, from one thread:

* HTTP: an ``event_callback`` envelope, JSON, signed like every request, to the request URL;
* Socket Mode: the same envelope as the ``payload`` of an ``events_api`` envelope.

A delivery that is not acknowledged (no 2xx within the ack timeout) is retried up to 3 times, as
Slack does: at once, then 1 minute and 5 minutes later on the workspace clock (a test advances a
manual clock), with ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason`` over HTTP (``retry_attempt``
over Socket Mode). A later event does not wait for an earlier one's retries.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from podbot.localslack.delivery import BotReply
from podbot.localslack.history import StoredMessage
from podbot.localslack.workspace import Workspace

JsonDict = dict[str, Any]

EVENT = "message_metadata_posted"
SCOPE = "metadata.message:read"
RETRY_DELAYS = (0.0, 60.0, 300.0)  # before retry 1, 2, 3 (Slack: nearly at once, 1 min, 5 min)
_STOP = object()


class EventTransport(Protocol):
    def send_event(self, envelope: JsonDict, body: str, *, retry_num: int, retry_reason: str) -> BotReply: ...


@dataclass(frozen=True)
class EventDelivery:
    """One attempt to deliver an event to the app."""

    event_id: str
    envelope: JsonDict
    retry_num: int
    reply: BotReply


class Events:
    """Subscriptions from the installed manifest, and the delivery queue."""

    def __init__(self, workspace: Workspace, transport: Callable[[], EventTransport | None]) -> None:
        self._ws = workspace
        self._transport = transport
        self._bot_events: frozenset[str] = frozenset()
        self._metadata: frozenset[tuple[str, str]] = frozenset()  # (app_id or "*", event_type)
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self.deliveries: list[EventDelivery] = []
        self._later: list[tuple[float, JsonDict, int, str]] = []  # (due, envelope, retry, reason)
        self._thread: threading.Thread | None = None

    def install(self, manifest: Mapping[str, Any]) -> None:
        """Subscribe as ``manifest``'s ``settings.event_subscriptions`` says (replacing what was)."""
        subs = (manifest.get("settings") or {}).get("event_subscriptions") or {}
        self._bot_events = frozenset(subs.get("bot_events") or ())
        self._metadata = frozenset(
            (str(m.get("app_id", "")), str(m.get("event_type", "")))
            for m in subs.get("metadata_subscriptions") or ()
        )

    def subscribed(self, metadata: Mapping[str, Any]) -> bool:
        kind = str(metadata.get("event_type", ""))
        return (
            EVENT in self._bot_events
            and SCOPE in self._ws.scopes
            and bool({(self._ws.app_id, kind), ("*", kind)} & self._metadata)
        )

    def message_stored(self, message: StoredMessage) -> None:
        """Hook of ``Messaging``: queue the event for a message with metadata the app subscribed to."""
        if not message.metadata or message.ephemeral_to or not self.subscribed(message.metadata):
            return
        ws = self._ws
        event = {
            "type": EVENT,
            "app_id": message.app_id or ws.app_id,
            "bot_id": message.bot_id or "",
            "user_id": message.user,
            "team_id": ws.team.id,
            "channel_id": message.channel,
            "metadata": message.metadata,
            "message_ts": message.ts,
            "event_ts": message.ts,
        }
        envelope = {
            "token": ws.verification_token,
            "team_id": ws.team.id,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(ws.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team.id,
                    "user_id": ws.bot.id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        self._start()
        self._queue.put(envelope)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event, and every retry due by the workspace clock, was tried
        (retries due later are not waited for: advance the clock)."""
        done = threading.Event()
        self._start()
        self._queue.put(done)
        return done.wait(timeout)

    @property
    def retries_pending(self) -> int:
        return len(self._later)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(5)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="localslack-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:  # with retries pending, look at the clock every 50 ms
                item = self._queue.get(timeout=0.05 if self._later else None)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            self._retry_due()
            if isinstance(item, threading.Event):
                item.set()
            elif isinstance(item, dict):
                self._attempt(item, 0)

    def _retry_due(self) -> None:
        now = self._ws.clock()
        due = [entry for entry in self._later if entry[0] <= now]
        self._later = [entry for entry in self._later if entry[0] > now]
        for _, envelope, retry_num, reason in sorted(due, key=lambda entry: entry[0]):
            self._attempt(envelope, retry_num, reason)

    def _attempt(self, envelope: JsonDict, retry_num: int, reason: str = "") -> None:
        transport = self._transport()
        if transport is None:
            return  # no request URL and no Socket Mode connection configured: nowhere to send
        reply = transport.send_event(envelope, json.dumps(envelope), retry_num=retry_num, retry_reason=reason)
        with self._lock:
            self.deliveries.append(EventDelivery(envelope["event_id"], envelope, retry_num, reply))
        if reply.ok or retry_num >= len(RETRY_DELAYS):
            return
        reason = _retry_reason(reply)
        if RETRY_DELAYS[retry_num] == 0:
            self._attempt(envelope, retry_num + 1, reason)
        else:
            due = self._ws.clock() + RETRY_DELAYS[retry_num]
            self._later.append((due, envelope, retry_num + 1, reason))


def _retry_reason(reply: BotReply) -> str:
    """Slack's ``X-Slack-Retry-Reason`` for the failed attempt ``reply``."""
    if reply.error == "operation_timeout":
        return "http_timeout"
    return "http_error" if reply.status else "connection_failed"
