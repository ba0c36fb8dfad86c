"""Socket Mode: the WebSocket side of Slack that an app connects out to.

``apps.connections.open`` (with the app-level ``xapp-`` token) hands out a one-time
``ws://127.0.0.1:<port>/link/?ticket=...&app_id=...`` URL. On connect the gateway sends Slack's
``hello``; deliveries are envelopes ``{"envelope_id", "type", "payload",
"accepts_response_payload"}`` sent round-robin over the open connections, and the app
acknowledges with ``{"envelope_id", "payload"?}``. ``request_reconnect`` sends Slack's
``{"type": "disconnect", "reason": "refresh_requested"}`` so clients reconnect through a new
URL, as they must in production.

Uses the ``websockets`` package's threaded server (the only non-stdlib piece of localslack).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from podbot.localslack.delivery import BotReply

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    ack: JsonDict | None = None


class SocketModeGateway:
    """A loopback WebSocket server speaking Slack's Socket Mode protocol."""

    def __init__(self, app_id: str, *, host: str = "127.0.0.1", ping_interval: float = 20.0) -> None:
        """``ping_interval``: seconds between the WebSocket pings sent to each connection, as
        Slack's servers send them. Each ping wakes a client blocked in a read: slack_sdk's builtin
        client closes only between reads (its read times out after 3 s), so tests that stop a bot
        often pass a short interval."""
        self.app_id = app_id
        self._lock = threading.Lock()
        self._connected = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._pending: dict[str, _Pending] = {}
        self._turn = 0
        self.envelopes_sent = 0
        self.acks_received = 0
        self.connections_opened = 0
        self._timers: list[threading.Timer] = []
        self._server: Server = serve(
            self._handle, host, 0, compression=None, ping_interval=ping_interval, ping_timeout=20
        )
        self.port = self._server.socket.getsockname()[1]
        self.host = host
        self._thread = threading.Thread(target=self._server.serve_forever, name="localslack-ws", daemon=True)
        self._thread.start()

    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def wait_connected(
        self, timeout: float = 5.0, count: int = 1, *, opened: int = 0, exactly: bool = False
    ) -> bool:
        """Wait for ``count`` open connections (exactly that many if asked) and ``opened`` ever made."""
        deadline = time.monotonic() + timeout

        def ready() -> bool:
            open_now = len(self._connections)
            return (open_now == count if exactly else open_now >= count) and self.connections_opened >= opened

        with self._connected:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._connected.wait(remaining)
            return True

    def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        query = parse_qs(urlsplit(request.path if request else "").query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            ws.close(code=1008, reason="invalid ticket")
            return
        with self._connected:
            self._connections.append(ws)
            self.connections_opened += 1
            count = len(self._connections)
            self._connected.notify_all()
        try:
            ws.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "debug_info": {
                            "host": "applink-localslack",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            for raw in ws:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._connected:
                if ws in self._connections:
                    self._connections.remove(ws)
                self._connected.notify_all()

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("socket mode: ignoring a frame that is not JSON")
            return
        if not isinstance(message, dict):
            return
        envelope_id = message.get("envelope_id")
        with self._lock:
            pending = self._pending.get(str(envelope_id))
            if pending is None:
                return
            self.acks_received += 1
            pending.ack = message
        pending.done.set()

    def deliver(
        self,
        kind: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool,
        timeout: float,
        retry_attempt: int | None = None,
        retry_reason: str = "",
    ) -> BotReply:
        """Send one envelope and wait for its ack, like Slack's 3-second acknowledgement window
        (``retry_attempt``: the Events API's retry count, in ``events_api`` envelopes)."""
        started = time.monotonic()
        if not self.wait_connected(timeout):
            return BotReply(0, "", "", time.monotonic() - started, "dispatch_failed")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        pending = _Pending()
        with self._lock:
            self._pending[envelope_id] = pending
        try:
            acked = self._send(json.dumps(envelope)) and pending.done.wait(
                max(0.0, timeout - (time.monotonic() - started))
            )
        finally:
            with self._lock:
                self._pending.pop(envelope_id, None)
        elapsed = time.monotonic() - started
        if not acked or pending.ack is None:
            return BotReply(0, "", "", elapsed, "operation_timeout")
        body = pending.ack.get("payload")
        if body is None:
            return BotReply(200, "", "", elapsed, None)
        return BotReply(200, json.dumps(body), "application/json", elapsed, None)

    def _send(self, text: str) -> bool:
        """Send over the next open connection (round-robin), skipping ones that just closed."""
        with self._lock:
            candidates = list(self._connections)
            self._turn += 1
        for i in range(len(candidates)):
            ws = candidates[(self._turn + i) % len(candidates)]
            try:
                ws.send(text)
            except ConnectionClosed:
                continue
            with self._lock:
                self.envelopes_sent += 1
            return True
        return False

    def request_reconnect(
        self, reason: str = "refresh_requested", *, close_after: float | None = None
    ) -> int:
        """Ask every connected client to reconnect; returns how many were asked.

        Slack closes the old connections some seconds after its ``disconnect`` message;
        ``close_after`` does the same (None leaves them to the client).
        """
        with self._lock:
            targets = list(self._connections)
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-localslack"}}
        )
        for ws in targets:
            with contextlib.suppress(ConnectionClosed):
                ws.send(message)
        if close_after is not None:
            timer = threading.Timer(close_after, self._close, args=(targets,))
            timer.daemon = True
            with self._lock:
                self._timers.append(timer)
            timer.start()
        return len(targets)

    def _close(self, targets: list[ServerConnection], code: int = 1001, reason: str = "going away") -> None:
        for ws in targets:
            ws.close(code=code, reason=reason)

    def close_connections(self, code: int = 1001, reason: str = "going away") -> int:
        """Close every open connection from Slack's side; returns how many were closed."""
        with self._lock:
            targets = list(self._connections)
        self._close(targets, code, reason)
        return len(targets)

    def close(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self._server.shutdown()
        self._thread.join(timeout=5)
