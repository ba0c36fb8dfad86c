"""The bot's HTTP app: /slack/events (through the ``SlackGate``, then bolt), /healthz, /readyz,
/metrics, served by ``wsgi.WebServer`` on the public address or, behind the ack front (front.py),
on a private Unix socket."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from podbot import metrics
from podbot.server.wsgi import SlackGate, read_body, respond

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Mapping[str, str]]  # component -> "ok" or the problem


FRONT_ACKED_ENVIRON = "HTTP_X_PODBOT_ACKED"  # front.ACKED_HEADER as WSGI names it
FRONT_ACK_SECONDS_ENVIRON = "HTTP_X_PODBOT_ACK_SECONDS"  # front.ACK_SECONDS_HEADER


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
        behind_front: bool = False,
    ) -> None:
        self._slack = SlackRequestHandler(bolt_app, path="/slack/events")
        # Only the ack front (front.py, on a private Unix socket) may say a request was acknowledged.
        self._behind_front = behind_front
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
                return respond(start_response, "503 Service Unavailable", b"shutting down")
            if not self._behind_front:
                environ.pop(FRONT_ACKED_ENVIRON, None)
            started = time.monotonic()
            try:
                assert self._gate is not None
                body = read_body(environ)
                refused = self._gate.answer_refusal(environ, body, start_response)
                if refused is not None:
                    return refused
                environ["wsgi.input"] = io.BytesIO(body)  # bolt reads the very same bytes
                gate = self._gate

                def answered(status: str, headers: Any, exc_info: Any = None) -> Any:
                    if status.startswith("5"):
                        gate.forget(environ)
                    return start_response(status, headers, exc_info)

                return self._slack(environ, answered)
            finally:
                metrics.ACK_SECONDS.observe(self._ack_seconds(environ, time.monotonic() - started))
        if path == "/healthz":
            return respond(start_response, "200 OK", b"ok\n")
        if path == "/readyz":
            checks = dict(self._readiness())
            ready = all(v == "ok" for v in checks.values()) and not self._draining()
            if self._draining():
                checks["shutdown"] = "draining"
            body = json.dumps(checks, sort_keys=True).encode() + b"\n"
            status = "200 OK" if ready else "503 Service Unavailable"
            return respond(start_response, status, body, "application/json")
        if path == "/metrics":
            return respond(start_response, "200 OK", generate_latest(metrics.REGISTRY), CONTENT_TYPE_LATEST)
        return respond(start_response, "404 Not Found", b"not found\n")

    def _ack_seconds(self, environ: WSGIEnvironment, own: float) -> float:
        """How long Slack waited for its answer: behind the ack front, the front's figure for a
        request it acknowledged itself (and this process's own time for one it passed through)."""
        if self._behind_front and FRONT_ACK_SECONDS_ENVIRON in environ:
            try:
                return float(environ[FRONT_ACK_SECONDS_ENVIRON])
            except ValueError:
                return own
        return own
