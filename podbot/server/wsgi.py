"""The HTTP pieces both of podbot's processes use: waitress, the checks on Slack's requests, the
answer helpers. Nothing here imports bolt or the Slack SDK, so that the ack front (front.py), which
needs only these, stays a small process.

waitress is a production-grade, pure-Python, multi-threaded WSGI server; bolt's own ``App.start()``
is a development server and is never used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.server import create_server

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)


def respond(
    start_response: StartResponse, status: str, body: bytes, content_type: str = "text/plain; charset=utf-8"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


MAX_BODY_BYTES = 1024 * 1024
"""Slack's requests are small (a slash command is a few hundred bytes; a block_actions or
view_submission payload with a whole message or modal is tens of kB, bounded by the 50/100-block
limits). 1 MiB is far above any of them and far below what would hurt the process; waitress
refuses a larger body with 413 from its Content-Length, before reading it."""
REPLAY_WINDOW_SECONDS = 300  # Slack's own: a timestamp older than 5 minutes is refused anyway


class SlackGate:
    """The checks a request to /slack/events passes before bolt sees it: a well-formed, fresh,
    correctly signed request that was not seen before. Each failure is one log line and a 4xx,
    never a traceback; only then is the body parsed (by bolt), so unsigned garbage costs nothing.

    Replays are refused by remembering every accepted signature for the 5-minute window (in this
    process: a replay sent to another replica is refused only by that replica's own memory). A
    request podbot answered 5xx is forgotten again: it was not taken, and Slack delivers a failed
    event again, possibly within the same second, i.e. with the very same signature."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._seen: dict[str, float] = {}  # signature -> when it was accepted
        self._order: deque[tuple[float, str]] = deque()  # (when, signature), oldest first
        self._lock = threading.Lock()

    def _signed(self, timestamp: str, body: bytes, signature: str) -> bool:
        """Slack's v0 signature: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>`` with the signing
        secret (what slack_sdk's SignatureVerifier computes; bolt checks it again behind this gate)."""
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        return hmac.compare_digest("v0=" + expected.hexdigest(), signature)

    @property
    def remembered(self) -> int:
        """How many accepted signatures are kept (those of the last 5 minutes, at most)."""
        with self._lock:
            return len(self._seen)

    def forget(self, environ: WSGIEnvironment) -> None:
        """The request was not taken (answered 5xx): its redelivery is not a replay."""
        with self._lock:
            self._seen.pop(str(environ.get("HTTP_X_SLACK_SIGNATURE", "")), None)

    def answer_refusal(
        self, environ: WSGIEnvironment, body: bytes, start_response: StartResponse
    ) -> list[bytes] | None:
        """The 4xx answer (logged in one line) to a request that may not go on; None if it may."""
        refusal = self.refuse(environ, body)
        if refusal is None:
            return None
        status, reason = refusal
        log.warning("refused a request to /slack/events: %s", reason)
        return respond(start_response, status, status[4:].encode() + b"\n")

    def refuse(self, environ: WSGIEnvironment, body: bytes) -> tuple[str, str] | None:
        """None when the request may go on, else (HTTP status, the reason logged)."""
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        if not timestamp.isdigit() or not signature:
            return "401 Unauthorized", "missing or malformed signature headers"
        if abs(self._clock() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            return "401 Unauthorized", "timestamp outside the 5-minute window"
        if not self._signed(timestamp, body, signature):
            return "401 Unauthorized", "bad signature"
        now = self._clock()
        with self._lock:
            # Forget what left the window, oldest first: O(1) a request, however busy the window.
            while self._order and now - self._order[0][0] > REPLAY_WINDOW_SECONDS:
                accepted, old = self._order.popleft()
                if self._seen.get(old) == accepted:
                    del self._seen[old]
            if signature in self._seen:
                return "401 Unauthorized", "replayed request"
            self._seen[signature] = now
            self._order.append((now, signature))
        if not _parses(environ, body):
            return "400 Bad Request", "signed, but not a form or JSON body Slack sends"
        return None


def _parses(environ: WSGIEnvironment, body: bytes) -> bool:
    """A form (slash commands; interactions carry a JSON ``payload`` field) or a JSON body (events)."""
    try:
        text = body.decode("utf-8")
        if str(environ.get("CONTENT_TYPE", "")).startswith("application/json"):
            return isinstance(json.loads(text), dict)
        form = urllib.parse.parse_qs(text, strict_parsing=bool(text), keep_blank_values=True)
        payload = form.get("payload")
        return payload is None or isinstance(json.loads(payload[0]), dict)
    except (UnicodeDecodeError, ValueError):
        return False


def read_body(environ: WSGIEnvironment) -> bytes:
    """The request body; waitress has already refused one over ``MAX_BODY_BYTES``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream: Any = environ["wsgi.input"]
    return bytes(stream.read(min(length, MAX_BODY_BYTES))) if length > 0 else b""


class WebServer:
    """waitress on a background thread, with a clean stop (for tests, the demo and SIGTERM)."""

    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 8,
        *,
        sockets: Sequence[socket.socket] = (),
    ) -> None:
        """Listen on ``host``:``port``, or on ``sockets`` already bound (the ack front's, the bot's
        Unix socket behind it)."""
        where: dict[str, Any] = {"sockets": list(sockets)} if sockets else {"host": host, "port": port}
        self._server: Any = create_server(
            app,
            **where,
            threads=threads,
            ident="podbot",
            clear_untrusted_proxy_headers=True,
            max_request_body_size=MAX_BODY_BYTES,
        )
        self._thread = threading.Thread(target=self._server.run, name="podbot-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port or 0)  # 0 on a Unix socket

    @property
    def url(self) -> str:
        if self._server.socket.family == socket.AF_UNIX:
            return f"unix:{self._server.effective_host}"
        return f"http://{self._server.effective_host}:{self.port}"

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let running requests finish, close every connection."""
        server = self._server

        def close_all() -> None:
            # An empty map ends waitress's asyncore loop (as webtest does). The trigger only leaves
            # the map here; it is closed once the loop has ended: pull_trigger() queues this and
            # then writes to the trigger, and a loop already awake may run this in between.
            # waitress's own server.close() closes the trigger too, so the listening socket is
            # closed as a plain dispatcher.
            while server._map:
                for dispatcher in list(server._map.values()):
                    if dispatcher is server.trigger:
                        dispatcher.del_channel()
                    elif dispatcher is server:
                        wasyncore.dispatcher.close(server)
                    else:
                        dispatcher.close()

        # First the requests being handled finish, their answers written out by the loop: closing
        # their connections under them loses the answers, and a worker finishing afterwards wakes
        # the loop through its closed pipe (a file number another file may have by then).
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        if self._thread.is_alive():
            # On the loop's own thread: closing sockets under a select() running on another
            # thread makes it fail with "OSError: [Errno 9] Bad file descriptor".
            server.trigger.pull_trigger(close_all)
            self._thread.join(timeout)
        if self._thread.is_alive():
            # Still closing: closing the same dispatchers from here too would close their file
            # numbers twice (the second time, files another part of the process has opened since).
            log.warning("the HTTP server's loop did not stop within %.1fs", timeout)
        else:
            close_all()
            server.trigger.close()
