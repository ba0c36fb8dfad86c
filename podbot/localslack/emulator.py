"""``LocalSlack``: a local Slack workspace on loopback, for tests and ``podbot demo``.

Usage::

    with LocalSlack(Workspace.demo(), signing_secret=secret) as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)   # the bot's side
        slack.use_http("http://127.0.0.1:8080/slack/events")              # or slack.use_socket_mode()
        result = slack.send_command("alice", "#ops", "/pod", "get pods")  # the people's side
        reply = slack.wait_for_message(channel="#ops", contains="nginx", after=result_mark)
        slack.click("bob", slack.latest_with_button("Approve"), "Approve")

Deliveries go to the bot's request URL (signed HTTP) or, after ``use_socket_mode()``, over
the Socket Mode WebSocket the bot opened with ``apps.connections.open``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from podbot.localslack.actions import ActionResult, CommandResult, Transport, UserActions, ViewResult
from podbot.localslack.api import Core
from podbot.localslack.blockkit import Limits
from podbot.localslack.delivery import BotReply, HttpDelivery, Tamper
from podbot.localslack.events import Events
from podbot.localslack.history import Message, StoredMessage
from podbot.localslack.messaging import Messaging
from podbot.localslack.modals import View
from podbot.localslack.server import ApiCall, LocalSlackServer
from podbot.localslack.traffic import NON_MARKETPLACE, Faults, HistoryLimits, HistoryTier, RateLimits
from podbot.localslack.workspace import Workspace

if TYPE_CHECKING:  # the websockets package is only needed once Socket Mode is used
    from podbot.localslack.socketmode import SocketModeGateway

JsonDict = dict[str, Any]


class _HttpTransport:
    def __init__(self, delivery: HttpDelivery) -> None:
        self.delivery = delivery

    def send(
        self, kind: str, payload: JsonDict, body: str, *, accepts_response_payload: bool, tamper: Tamper
    ) -> BotReply:
        return self.delivery.post(body, tamper=tamper)

    def send_event(self, envelope: JsonDict, body: str, *, retry_num: int, retry_reason: str) -> BotReply:
        retry = (
            {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason} if retry_num else {}
        )
        return self.delivery.post(body, content_type="application/json", extra_headers=retry)


class _SocketTransport:
    def __init__(self, gateway: SocketModeGateway, timeout: float) -> None:
        self.gateway = gateway
        self.timeout = timeout

    def send(
        self, kind: str, payload: JsonDict, body: str, *, accepts_response_payload: bool, tamper: Tamper
    ) -> BotReply:
        if tamper is not Tamper.NONE:
            raise ValueError("Socket Mode requests are not signed; tampering applies to HTTP delivery only")
        return self.gateway.deliver(
            kind, payload, accepts_response_payload=accepts_response_payload, timeout=self.timeout
        )

    def send_event(self, envelope: JsonDict, body: str, *, retry_num: int, retry_reason: str) -> BotReply:
        return self.gateway.deliver(
            "events_api",
            envelope,
            accepts_response_payload=False,
            timeout=self.timeout,
            retry_attempt=retry_num,
            retry_reason=retry_reason,
        )


@dataclass(frozen=True)
class BotSettings:
    """What a bot needs to talk to this emulator; secrets stay out of the repr."""

    api_url: str
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str = field(repr=False)

    def env(self) -> dict[str, str]:
        """The usual environment variable names (SLACK_API_URL points WebClient's base_url here)."""
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_APP_TOKEN": self.app_token,
            "SLACK_API_URL": self.api_url,
        }


class LocalSlack:
    """A running emulated workspace: Web API server, Slack-side sender and transcript."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        signing_secret: str | None = None,
        request_url: str | None = None,
        limits: Limits | None = None,
        ack_timeout: float = 3.0,
        signing_clock: Callable[[], float] = time.time,
        history_tier: HistoryTier = NON_MARKETPLACE,
        host: str = "127.0.0.1",
        port: int = 0,
        socket_ping_interval: float = 20.0,
    ) -> None:
        """``socket_ping_interval``: the Socket Mode gateway's ping interval (``SocketModeGateway``)."""
        self.workspace = workspace or Workspace.demo()
        self._socket_ping_interval = socket_ping_interval
        self._signing_secret = signing_secret or secrets.token_hex(16)
        self._signing_clock = signing_clock
        self.ack_timeout = ack_timeout
        self.faults = Faults()
        self.rate_limits = RateLimits(self.workspace.clock)
        self.messaging = Messaging(self.workspace, limits or Limits())
        self.events = Events(self.workspace, lambda: self._transport)
        self.messaging.on_stored.append(self.events.message_stored)
        self._lock = threading.Lock()
        self._gateway: SocketModeGateway | None = None
        self.history_limits = HistoryLimits(self.workspace.clock, history_tier)
        self.core = Core(self.workspace, self.messaging, self.history_limits, socket_url=self._socket_url)
        self.server = LocalSlackServer(self.core, self.faults, self.rate_limits, host=host, port=port)
        self._transport: _HttpTransport | _SocketTransport | None = None
        self.people = UserActions(self.workspace, self.messaging, self._current_transport)
        self._started = False
        if request_url:
            self.use_http(request_url)

    def __repr__(self) -> str:
        return f"LocalSlack(url={self.url!r}, team={self.workspace.team.id!r})"

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalSlack:
        if not self._started:
            self.server.start()
            self._started = True
        return self

    def stop(self) -> None:
        self.events.stop()
        with self._lock:
            gateway, self._gateway = self._gateway, None
        if gateway is not None:
            gateway.close()
        if self._started:
            self.server.stop()
            self._started = False

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what the bot needs ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:<port>/api/``: pass as ``WebClient(base_url=...)``."""
        return self.server.api_url

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def app_token(self) -> str:
        """The app-level token (``xapp-``) for Socket Mode's apps.connections.open."""
        return self.workspace.app_token

    @property
    def signing_secret(self) -> str:
        return self._signing_secret

    @property
    def limits(self) -> Limits:
        return self.messaging.limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        self.messaging.limits = value

    @property
    def history_tier(self) -> HistoryTier:
        """The conversations.history/replies limits of the app (default: not Marketplace-approved)."""
        return self.history_limits.tier

    @history_tier.setter
    def history_tier(self, tier: HistoryTier) -> None:
        self.history_limits.tier = tier

    def bot_settings(self) -> BotSettings:
        return BotSettings(self.api_url, self.bot_token, self.signing_secret, self.app_token)

    # --- delivery ----------------------------------------------------------------------------
    def install(self, manifest: Mapping[str, Any]) -> None:
        """Install the app with ``manifest``'s event subscriptions (``podbot manifest``): from now
        on its ``message_metadata_posted`` events are delivered like commands (``events``)."""
        self.events.install(manifest)

    def use_http(self, request_url: str) -> None:
        """Send commands and interactions as signed HTTP POSTs to the bot's request URL."""
        self._transport = _HttpTransport(
            HttpDelivery(
                request_url, self._signing_secret, timeout=self.ack_timeout, clock=self._signing_clock
            )
        )

    def use_socket_mode(self) -> SocketModeGateway:
        """Send commands and interactions over Socket Mode (the bot connects with the app token)."""
        gateway = self.socket_mode
        self._transport = _SocketTransport(gateway, self.ack_timeout)
        return gateway

    @property
    def socket_mode(self) -> SocketModeGateway:
        """The Socket Mode gateway, started on first use."""
        with self._lock:
            if self._gateway is None:
                from podbot.localslack.socketmode import SocketModeGateway  # noqa: PLC0415 - optional dependency

                self._gateway = SocketModeGateway(
                    self.workspace.app_id, ping_interval=self._socket_ping_interval
                )
            return self._gateway

    def _socket_url(self) -> str:
        return self.socket_mode.issue_url()

    def _current_transport(self) -> Transport:
        if self._transport is None:
            raise RuntimeError(
                "no delivery configured: call use_http(request_url) or use_socket_mode() first"
            )
        return self._transport

    # --- the people's side -------------------------------------------------------------------
    def send_command(
        self, user: str | None, channel: str, command: str, text: str = "", *, tamper: Tamper = Tamper.NONE
    ) -> CommandResult:
        """``user`` types ``command text`` in ``channel``; returns once the bot acked."""
        return self.people.send_command(user, channel, command, text, tamper=tamper)

    def click(
        self,
        user: str | None,
        target: Message | View,
        button: str | int,
        *,
        confirm: bool | None = None,
        tamper: Tamper = Tamper.NONE,
    ) -> ActionResult:
        """``user`` presses a button (by number, action_id or text) in a message or an open modal."""
        return self.people.click(user, target, button, confirm=confirm, tamper=tamper)

    def submit_view(
        self,
        user: str | None = None,
        view_id: str | None = None,
        values: Mapping[str, Any] | None = None,
        *,
        tamper: Tamper = Tamper.NONE,
    ) -> ViewResult:
        """``user`` fills inputs (keyed by action_id or ``block_id/action_id``) and presses Submit."""
        return self.people.submit_view(user, view_id, values, tamper=tamper)

    def close_view(
        self, user: str | None = None, view_id: str | None = None, *, tamper: Tamper = Tamper.NONE
    ) -> ViewResult:
        return self.people.close_view(user, view_id, tamper=tamper)

    def send_raw(self, body: str, *, tamper: Tamper = Tamper.NONE) -> BotReply:
        """POST an arbitrary form body to the bot's request URL, signed unless ``tamper`` says otherwise.

        For abuse tests (e.g. a forged ``ssl_check=1`` body): nothing in the workspace changes.
        """
        transport = self._current_transport()
        if not isinstance(transport, _HttpTransport):
            raise RuntimeError("send_raw needs HTTP delivery (use_http)")
        return transport.delivery.post(body, tamper=tamper)

    def post_as_user(self, user: str, channel: str, text: str) -> Message:
        """A plain message typed by a person (no event is delivered: podbot subscribes to none)."""
        person = self.workspace.user(user)
        where = self.workspace.channel(channel)
        stored = self.workspace.history.add(
            StoredMessage(ts="", channel=where.id, user=person.id, text=text, origin="user")
        )
        return self.workspace.snapshot(stored)

    # --- transcript --------------------------------------------------------------------------
    def mark(self) -> int:
        """A cursor: pass as ``after=`` to only consider messages posted or edited later."""
        return self.workspace.history.seq

    def messages_since(self, after: int, *, user: str | None = None) -> list[Message]:
        """Messages posted or edited after the ``mark()`` cursor, in change order, as ``user`` sees them.

        Ephemeral messages show only for ``user`` (all of them when ``user`` is None). The demo
        prints these after every step.
        """
        ws = self.workspace
        viewer = ws.user(user).id if user else None
        with ws.lock:
            changed = ws.history.changed_since(after)
            return [ws.snapshot(m) for m in changed if user is None or ws.visible_to(m, viewer)]

    def messages(self, channel: str, *, user: str | None = None, threads: bool = True) -> list[Message]:
        """Messages of a channel in order, ephemeral ones only those shown to ``user``."""
        return self.workspace.messages(channel, user=user, threads=threads)

    def thread(self, channel: str, ts: str) -> list[Message]:
        ws = self.workspace
        cid = ws.channel(channel).id
        parent = ws.history.get(cid, ts)
        if parent is None:
            raise LookupError(f"no message {ts} in {channel}")
        return [ws.snapshot(parent), *(ws.snapshot(m) for m in ws.history.replies(cid, parent.ts))]

    def transcript(self, channel: str, *, user: str | None = None) -> str:
        return "\n".join(str(m) for m in self.messages(channel, user=user))

    def wait_for(
        self, predicate: Callable[[Message], bool], *, timeout: float = 5.0, after: int = 0
    ) -> Message:
        return self.workspace.wait_for(predicate, timeout=timeout, after=after)

    def wait_for_message(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        contains: str | None = None,
        from_bot: bool = True,
        timeout: float = 5.0,
        after: int = 0,
    ) -> Message:
        """The next message matching every given condition (ephemeral ones count for ``user``)."""
        ws = self.workspace
        channel_id = ws.channel(channel).id if channel else None
        viewer = ws.user(user).name if user else None

        def matches(m: Message) -> bool:
            if channel_id and m.channel != channel_id:
                return False
            if m.is_ephemeral and m.ephemeral_to != viewer:
                return False
            if from_bot and not m.is_bot:
                return False
            return contains is None or contains in m.rendered or contains in m.text

        return ws.wait_for(matches, timeout=timeout, after=after)

    def latest_with_button(
        self, name: str | int, *, channel: str | None = None, user: str | None = None
    ) -> Message | None:
        """The newest (most recently posted or edited) bot message with a button ``name``.

        Only messages ``user`` can see count (default: the workspace's default user).
        """
        ws = self.workspace
        viewer = self._person(user)
        with ws.lock:
            candidates = ws.history.all()
            channel_id = ws.channel(channel).id if channel else None
            for stored in sorted(candidates, key=lambda m: m.seq, reverse=True):
                if channel_id and stored.channel != channel_id:
                    continue
                if stored.bot_id is None or not ws.visible_to(stored, viewer):
                    continue
                snap = ws.snapshot(stored)
                if snap.has_button(name):
                    return snap
        return None

    def current_view(self, user: str | None = None) -> View | None:
        """The modal on top of the user's stack, or None."""
        ws = self.workspace
        stack = ws.modals.stack(self._person(user))
        return ws.view_snapshot(stack[-1]) if stack else None

    def _person(self, user: str | None) -> str:
        ref = user or self.workspace.default_user
        if ref is None:
            raise LookupError("no user given and the workspace has no default user")
        return self.workspace.user(ref).id

    def wait_for_view(
        self,
        user: str | None = None,
        *,
        timeout: float = 5.0,
        predicate: Callable[[View], bool] | None = None,
    ) -> View:
        """Wait until the user has an open modal (matching ``predicate``)."""
        ws = self.workspace
        deadline = time.monotonic() + timeout
        with ws.changed:
            while True:
                view = self.current_view(user)
                if view is not None and (predicate is None or predicate(view)):
                    return view
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no modal opened for {user or 'the default user'} within {timeout}s")
                ws.changed.wait(remaining)

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        """Requests the bot made (Web API methods, ``upload``, ``response_url``), oldest first."""
        return self.server.calls(method)
