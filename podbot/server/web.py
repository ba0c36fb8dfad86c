"""The production HTTP server: /slack/events, /healthz, /readyz, /metrics on waitress.

waitress is a production-grade, pure-Python, multi-threaded WSGI server (no fork, so the scheduler
and watchers can live in the same process as the listeners). bolt's own ``App.start()`` is a
development server and is never used.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
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


class PodbotWsgi:
    """Routes requests; everything under /slack/events goes to bolt unchanged (raw body first)."""

    def __init__(
        self,
        bolt_app: App,
        readiness: ReadinessCheck,
        draining: Callable[[], bool],
        *,
        slack_events: bool = True,
    ) -> None:
        self._slack = SlackRequestHandler(bolt_app, path="/slack/events")
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
                return self._slack(environ, start_response)
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


class WebServer:
    """waitress on a background thread, with a clean stop (for tests, the demo and SIGTERM)."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, threads: int = 8) -> None:
        self._server: Any = create_server(
            app, host=host, port=port, threads=threads, ident="podbot", clear_untrusted_proxy_headers=True
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
        # Closing every dispatcher in the map ends waitress's asyncore loop (as webtest does).
        while server._map:
            for dispatcher in list(server._map.values()):
                dispatcher.close()
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout)
        self._thread.join(timeout)
