"""The production HTTP server: /slack/events, /healthz, /readyz, /metrics on waitress.

waitress is a production-grade, pure-Python, multi-threaded WSGI server (no fork, so the scheduler
and watchers can live in the same process as the listeners). bolt's own ``App.start()`` is a
development server and is never used.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import Clock, SignatureVerifier
from waitress import wasyncore
from waitress.server import create_server

from podbot import metrics

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Mapping[str, str]]  # component -> "ok" or the problem


def _respond(
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
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def forget(self, environ: WSGIEnvironment) -> None:
        """The request was not taken (answered 5xx): its redelivery is not a replay."""
        with self._lock:
            self._seen.pop(str(environ.get("HTTP_X_SLACK_SIGNATURE", "")), None)

    def refuse(self, environ: WSGIEnvironment, body: bytes) -> tuple[str, str] | None:
        """None when the request may go on, else (HTTP status, the reason logged)."""
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        if not timestamp.isdigit() or not signature:
            return "401 Unauthorized", "missing or malformed signature headers"
        if abs(self._clock() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            return "401 Unauthorized", "timestamp outside the 5-minute window"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "401 Unauthorized", "bad signature"
        now = self._clock()
        with self._lock:
            self._seen = {s: t for s, t in self._seen.items() if now - t <= REPLAY_WINDOW_SECONDS}
            if signature in self._seen:
                return "401 Unauthorized", "replayed request"
            self._seen[signature] = now
        if not _parses(environ, body):
            return "400 Bad Request", "signed, but not a form or JSON body Slack sends"
        return None


class _Clock(Clock):
    """slack_sdk's SignatureVerifier asks its clock for ``now()``."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


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


class PodbotWsgi:
    """Routes requests; /slack/events passes the ``SlackGate`` and then goes to bolt with its raw body."""

    def __init__(
        self,
        bolt_app: App,
        readiness: ReadinessCheck,
        draining: Callable[[], bool],
        *,
        signing_secret: str = "",
        slack_events: bool = True,
    ) -> None:
        self._slack = SlackRequestHandler(bolt_app, path="/slack/events")
        # Socket Mode serves no /slack/events (and has no signing secret): nothing to guard.
        self._gate = SlackGate(signing_secret) if slack_events else None
        self._readiness = readiness
        self._draining = draining
        # Socket Mode serves only the health and metrics endpoints: without a signing secret,
        # /slack/events could not tell Slack's requests from anyone else's.
        self._slack_events = slack_events

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST" and self._slack_events:
            if self._draining():
                # Slack retries; another replica (or this one after restart) will answer.
                return _respond(start_response, "503 Service Unavailable", b"shutting down")
            started = time.monotonic()
            try:
                assert self._gate is not None
                body = _read_body(environ)
                refusal = self._gate.refuse(environ, body)
                if refusal is not None:
                    status, reason = refusal
                    log.warning("refused a request to /slack/events: %s", reason)
                    return _respond(start_response, status, status[4:].encode() + b"\n")
                environ["wsgi.input"] = io.BytesIO(body)  # bolt reads the very same bytes
                gate = self._gate

                def answered(status: str, headers: Any, exc_info: Any = None) -> Any:
                    if status.startswith("5"):
                        gate.forget(environ)
                    return start_response(status, headers, exc_info)

                return self._slack(environ, answered)
            finally:
                metrics.ACK_SECONDS.observe(time.monotonic() - started)
        if path == "/healthz":
            return _respond(start_response, "200 OK", b"ok\n")
        if path == "/readyz":
            checks = dict(self._readiness())
            ready = all(v == "ok" for v in checks.values()) and not self._draining()
            if self._draining():
                checks["shutdown"] = "draining"
            body = json.dumps(checks, sort_keys=True).encode() + b"\n"
            status = "200 OK" if ready else "503 Service Unavailable"
            return _respond(start_response, status, body, "application/json")
        if path == "/metrics":
            return _respond(start_response, "200 OK", generate_latest(metrics.REGISTRY), CONTENT_TYPE_LATEST)
        return _respond(start_response, "404 Not Found", b"not found\n")


def _read_body(environ: WSGIEnvironment) -> bytes:
    """The request body; waitress has already refused one over ``MAX_BODY_BYTES``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream: Any = environ["wsgi.input"]
    return bytes(stream.read(min(length, MAX_BODY_BYTES))) if length > 0 else b""


class WebServer:
    """waitress on a background thread, with a clean stop (for tests, the demo and SIGTERM)."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, threads: int = 8) -> None:
        self._server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="podbot",
            clear_untrusted_proxy_headers=True,
            max_request_body_size=MAX_BODY_BYTES,
        )
        self._thread = threading.Thread(target=self._server.run, name="podbot-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
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
