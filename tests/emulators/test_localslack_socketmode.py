"""podbot.localslack Socket Mode: bolt's real SocketModeHandler connects to the local WebSocket."""

from __future__ import annotations

import importlib.util
import json
import queue
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler as BuiltinHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot.localslack import LocalSlack, Tamper, Workspace
from tests.support.localslack import bolt_app


def stop(handler: Any, gateway: Any) -> None:
    """Close from Slack's side first: the builtin client otherwise sits out its 3 s receive timeout.

    (websocket-client's own reconnect loop would retry the closed URL, so that one closes normally.)
    """
    if isinstance(handler, BuiltinHandler):
        handler.client.auto_reconnect_enabled = False
        gateway.close_connections()
    handler.close()


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    with LocalSlack(Workspace.demo()) as emulator:
        yield emulator


def wire(app: App, seen: queue.Queue[tuple[str, Any]]) -> None:
    @app.command("/pod")
    def command(ack: Any, respond: Any, command: dict[str, Any], client: Any) -> None:
        ack(f"got `{command['text']}`")
        seen.put(("command", command))
        if command["text"] == "create":
            client.views_open(
                trigger_id=command["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": "create",
                    "title": {"type": "plain_text", "text": "Create pod"},
                    "submit": {"type": "plain_text", "text": "Create"},
                    "blocks": [
                        {
                            "type": "input",
                            "block_id": "m",
                            "label": {"type": "plain_text", "text": "YAML"},
                            "element": {"type": "plain_text_input", "action_id": "y"},
                        }
                    ],
                },
            )
        else:
            respond(
                text="approve?",
                response_type="in_channel",
                blocks=[
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "Approve"},
                                "action_id": "approve",
                                "value": "1",
                            }
                        ],
                    }
                ],
            )

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        seen.put(("action", body))
        respond(replace_original=True, text="approved")

    @app.view("create")
    def submit(ack: Any, view: dict[str, Any]) -> None:
        value = view["state"]["values"]["m"]["y"]["value"]
        seen.put(("view", value))
        if value == "bad":
            ack(response_action="errors", errors={"m": "not YAML"})
        else:
            ack()


def handler_class(variant: str) -> Any:
    if variant == "builtin":
        return BuiltinHandler
    # bolt's websocket-client adapter needs the optional websocket-client package
    if importlib.util.find_spec("websocket") is None:
        pytest.skip("websocket-client is not installed")
    from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

    return SocketModeHandler


@pytest.mark.slow  # the real Socket Mode clients' timers
@pytest.mark.parametrize("variant", ["builtin", "websocket_client"])
def test_socket_mode_round_trip(slack: LocalSlack, variant: str) -> None:
    app = bolt_app(slack)
    seen: queue.Queue[tuple[str, Any]] = queue.Queue()
    wire(app, seen)
    gateway = slack.use_socket_mode()
    # ping_interval bounds how long websocket-client's close() waits (10 s by default)
    handler = handler_class(variant)(app, app_token=slack.app_token, ping_interval=1)
    handler.connect()
    try:
        assert gateway.wait_connected(5)
        # the builtin client asks once; websocket_client's monitor may race its first connect and ask twice
        assert 1 <= len(slack.api_calls("apps.connections.open")) <= 2

        mark = slack.mark()
        result = slack.send_command("alice", "#ops", "/pod", "delete nginx")
        assert result.ok, result.reply
        assert result.ack_message is not None and result.ack_message.rendered == "got `delete nginx`"
        kind, command = seen.get(timeout=5)
        assert (kind, command["user_name"], command["text"]) == ("command", "alice", "delete nginx")

        message = slack.wait_for(lambda m: m.has_button("Approve"), after=mark)
        assert slack.click("bob", message, "Approve").ok
        kind, body = seen.get(timeout=5)
        assert (kind, body["type"], body["user"]["name"]) == ("action", "block_actions", "bob")
        slack.wait_for(lambda m: m.ts == message.ts and m.text == "approved", after=mark)

        slack.send_command("alice", "#ops", "/pod", "create")
        seen.get(timeout=5)
        slack.wait_for_view("alice")
        rejected = slack.submit_view("alice", values={"y": "bad"})
        assert (rejected.response_action, dict(rejected.errors)) == ("errors", {"m": "not YAML"})
        assert seen.get(timeout=5) == ("view", "bad")
        assert slack.submit_view("alice", values={"y": "kind: Pod"}).closed
        assert gateway.acks_received == gateway.envelopes_sent == 5
    finally:
        stop(handler, gateway)


@pytest.mark.slow  # the real Socket Mode clients' timers
def test_reconnect_on_slack_request(slack: LocalSlack) -> None:
    app = bolt_app(slack)
    seen: queue.Queue[tuple[str, Any]] = queue.Queue()
    wire(app, seen)
    gateway = slack.use_socket_mode()
    handler = BuiltinHandler(app, app_token=slack.app_token)
    handler.connect()
    try:
        assert gateway.wait_connected(5)
        assert gateway.request_reconnect(close_after=0.2) == 1
        # the client asks apps.connections.open for a new URL and connects; Slack closes the old socket
        assert gateway.wait_connected(5, 1, opened=2, exactly=True)
        assert len(slack.api_calls("apps.connections.open")) == 2
        assert slack.send_command("alice", "#ops", "/pod", "get pods").ok
    finally:
        stop(handler, gateway)


def test_socket_mode_edges(slack: LocalSlack) -> None:
    gateway = slack.use_socket_mode()
    slack.ack_timeout = 0.2
    slack.use_socket_mode()
    nobody = slack.send_command("alice", "#ops", "/pod", "get pods")
    assert nobody.reply.error == "dispatch_failed"  # no app connected
    with pytest.raises(ValueError, match="not signed"):
        slack.send_command("alice", "#ops", "/pod", "x", tamper=Tamper.BAD_SIGNATURE)
    url = WebClient(token=slack.app_token, base_url=slack.api_url).apps_connections_open(
        app_token=slack.app_token
    )
    assert url["url"].startswith(f"ws://127.0.0.1:{gateway.port}/link/?ticket=")
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        WebClient(token=slack.bot_token, base_url=slack.api_url).apps_connections_open(
            app_token=slack.bot_token
        )
    # Slack wants the app token in the Authorization header, not as a form field
    body = urllib.parse.urlencode({"token": slack.app_token}).encode()
    request = urllib.request.Request(slack.api_url + "apps.connections.open", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {"ok": False, "error": "not_authed"}
