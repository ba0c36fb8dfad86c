"""Test helpers for podbot.localslack: a manual clock and a real bolt App served over HTTP."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot.localslack import LocalSlack
from tests.support.net import PromptShutdown


def error_of(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    """The SlackApiError that ``call(*args, **kwargs)`` must raise."""
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


class ManualClock:
    """A clock that moves only when told to (for trigger/response_url expiry and rate limits)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class _ThreadingWSGIServer(PromptShutdown, socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 stalls bursts for a 1 s SYN retry


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def bolt_app(slack: LocalSlack, **kwargs: Any) -> App:
    """A real bolt App whose WebClient talks to the emulator (base_url only differs)."""
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    return App(client=client, signing_secret=slack.signing_secret, **kwargs)


@contextmanager
def serve_bolt(app: App) -> Iterator[str]:
    """Serve ``app`` at ``http://127.0.0.1:<port>/slack/events``; yields the request URL."""
    handler = SlackRequestHandler(app)
    server = make_server(
        "127.0.0.1", 0, handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
