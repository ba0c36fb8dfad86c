"""podbot.localslack's Events API: ``message_metadata_posted`` as Slack sends it, only to an app
whose manifest (and scopes) subscribe to it, signed, retried when not acknowledged; and a real
bolt App receiving it."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from podbot.localslack import LocalSlack, Workspace
from podbot.localslack.workspace import ALL_BOT_SCOPES
from podbot.slack.manifest import app_manifest
from tests.support.localslack import ManualClock, bolt_app, serve_bolt
from tests.support.net import QuickHTTPServer

META = {"event_type": "podbot_digest", "event_payload": {"key": "digest:1:T"}}
Received = queue.Queue[tuple[dict[str, str], str]]


@contextmanager
def receiver(slack: LocalSlack, statuses: list[int] | None = None) -> Iterator[Received]:
    """A request URL that records what it is sent and answers ``statuses`` in turn (then 200)."""
    received: Received = queue.Queue()
    answers = list(statuses or [])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.put((dict(self.headers.items()), body))
            self.send_response(answers.pop(0) if answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = QuickHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        slack.use_http(f"http://127.0.0.1:{server.server_address[1]}/slack/events")
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def drained(received: Received) -> list[tuple[dict[str, str], str]]:
    out = []
    while not received.empty():
        out.append(received.get_nowait())
    return out


def test_a_post_with_metadata_is_sent_as_a_signed_event_callback(
    slack: LocalSlack, client: WebClient
) -> None:
    slack.install(app_manifest("https://podbot.example.com", app_id=slack.workspace.app_id))
    with receiver(slack) as received:
        sent = client.chat_postMessage(channel="#ops", text="digest", metadata=META)
        assert slack.events.wait_idle()
        ((headers, body),) = drained(received)
    assert headers["Content-Type"] == "application/json"
    assert SignatureVerifier(slack.signing_secret).is_valid_request(body, headers)
    envelope = json.loads(body)
    ws = slack.workspace
    assert envelope["type"] == "event_callback"
    assert (envelope["team_id"], envelope["api_app_id"]) == (ws.team.id, ws.app_id)
    assert envelope["event_id"].startswith("Ev") and isinstance(envelope["event_time"], int)
    assert envelope["event"] == {
        "type": "message_metadata_posted",
        "app_id": ws.app_id,
        "bot_id": ws.bot.bot_id,
        "user_id": ws.bot.id,
        "team_id": ws.team.id,
        "channel_id": ws.channel("ops").id,
        "metadata": META,
        "message_ts": sent["ts"],
        "event_ts": sent["ts"],
    }


def test_a_post_stored_then_answered_5xx_still_produces_its_event(
    slack: LocalSlack, client: WebClient
) -> None:
    slack.install(app_manifest("https://podbot.example.com"))
    slack.faults.store_then_fail("chat.postMessage", status=503)
    client.retry_handlers = []
    with receiver(slack) as received:
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="#ops", text="digest", metadata=META)
        assert slack.events.wait_idle()
        ((_, body),) = drained(received)
    (stored,) = [m for m in slack.messages("ops") if m.is_bot]
    assert json.loads(body)["event"]["message_ts"] == stored.ts


def test_an_unacknowledged_event_is_retried_at_once_then_after_1_and_5_minutes(
    slack: LocalSlack, client: WebClient, clock: ManualClock
) -> None:
    slack.install(app_manifest("https://podbot.example.com"))
    with receiver(slack, statuses=[500, 500, 500]) as received:
        client.chat_postMessage(channel="#ops", text="digest", metadata=META)
        assert slack.events.wait_idle()
        first = drained(received)
        clock.advance(59)
        assert slack.events.wait_idle()
        assert drained(received) == []  # not yet
        clock.advance(1)
        assert slack.events.wait_idle()
        second = drained(received)
        clock.advance(300)
        assert slack.events.wait_idle()
        attempts = first + second + drained(received)
    assert [len(first), len(second)] == [2, 1]
    assert [h.get("X-Slack-Retry-Num") for h, _ in attempts] == [None, "1", "2", "3"]
    assert {h.get("X-Slack-Retry-Reason") for h, _ in attempts[1:]} == {"http_error"}
    assert len({json.loads(body)["event_id"] for _, body in attempts}) == 1  # the same event
    assert [d.reply.ok for d in slack.events.deliveries] == [False, False, False, True]
    assert slack.events.retries_pending == 0


@pytest.mark.parametrize("missing", ["manifest", "event_type", "bot_event"])
def test_nothing_is_sent_to_an_app_that_did_not_subscribe(
    slack: LocalSlack, client: WebClient, missing: str
) -> None:
    manifest = app_manifest("https://podbot.example.com")
    events = manifest["settings"]["event_subscriptions"]
    if missing == "event_type":
        events["metadata_subscriptions"] = [{"app_id": "*", "event_type": "someone_elses"}]
    if missing == "bot_event":
        events["bot_events"] = []
    if missing != "manifest":
        slack.install(manifest)
    with receiver(slack) as received:
        client.chat_postMessage(channel="#ops", text="digest", metadata=META)
        client.chat_postMessage(channel="#ops", text="no metadata")
        assert slack.events.wait_idle()
        assert drained(received) == []
    assert slack.events.deliveries == []


def test_nothing_is_sent_without_the_metadata_scope(clock: ManualClock) -> None:
    workspace = Workspace.demo(clock=clock, scopes=ALL_BOT_SCOPES - {"metadata.message:read"})
    with LocalSlack(workspace) as slack:
        slack.install(app_manifest("https://podbot.example.com"))
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        with receiver(slack) as received:
            client.chat_postMessage(channel="#ops", text="digest", metadata=META)
            assert slack.events.wait_idle()
            assert drained(received) == []


def test_a_real_bolt_app_receives_the_event(slack: LocalSlack, client: WebClient) -> None:
    slack.install(app_manifest("https://podbot.example.com"))
    seen: queue.Queue[dict[str, Any]] = queue.Queue()
    # The event is about the app's own post: bolt's default drops "self events".
    app = bolt_app(slack, ignoring_self_events_enabled=False)

    @app.event("message_metadata_posted")
    def on_posted(ack: Any, event: dict[str, Any]) -> None:
        ack()
        seen.put(event)

    with serve_bolt(app) as url:
        slack.use_http(url)
        sent = client.chat_postMessage(channel="#ops", text="digest", metadata=META)
        event = seen.get(timeout=10)
        assert slack.events.wait_idle()
    assert (event["message_ts"], event["metadata"]) == (sent["ts"], META)
    assert [d.reply.ok for d in slack.events.deliveries] == [True]
