"""podbot.localslack -> signed HTTP -> a real bolt App -> slack_sdk WebClient/respond -> localslack."""

from __future__ import annotations

import queue
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from podbot.localslack import ConfirmationRequired, LocalSlack, Message, Tamper, Workspace
from tests.support.localslack import ManualClock, bolt_app, serve_bolt
from tests.support.net import QuickHTTPServer


@pytest.fixture
def app(slack: LocalSlack) -> Iterator[App]:
    bolt = bolt_app(slack)
    with serve_bolt(bolt) as url:
        slack.use_http(url)
        yield bolt


def text_is(expected: str) -> Callable[[Message], bool]:
    return lambda message: message.text == expected


def button(text: str, action_id: str, value: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        **extra,
    }


def approval_blocks(**confirm: Any) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Delete pod *nginx* in `default`?"}},
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                button("Approve", "approve", "req-1", style="primary", **confirm),
                button("Deny", "deny", "req-1", style="danger"),
            ],
        },
    ]


# --- signatures ---------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[dict[str, str], str]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.put((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.parametrize(
    ("tamper", "valid"),
    [
        (Tamper.NONE, True),
        (Tamper.BAD_SIGNATURE, False),
        (Tamper.STALE_TIMESTAMP, False),
        (Tamper.UNSIGNED, False),
    ],
)
def test_requests_are_signed_like_slack(slack: LocalSlack, tamper: Tamper, valid: bool) -> None:
    received: queue.Queue[tuple[dict[str, str], str]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = QuickHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        slack.use_http(f"http://127.0.0.1:{server.server_address[1]}/slack/events")
        result = slack.send_command("alice", "#ops", "/pod", "get pods", tamper=tamper)
        headers, body = received.get(timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.reply.status == 200
    assert SignatureVerifier(slack.signing_secret).is_valid_request(body, headers) is valid
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(urllib.parse.parse_qsl(body))
    ws = slack.workspace
    assert list(fields) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert fields["team_id"] == ws.team.id
    assert (fields["channel_id"], fields["channel_name"]) == (ws.channel("ops").id, "ops")
    assert (fields["user_id"], fields["user_name"]) == (ws.user("alice").id, "alice")
    assert (fields["command"], fields["text"]) == ("/pod", "get pods")
    assert fields["response_url"].startswith(slack.url + "/commands/")
    assert fields["token"] == ws.verification_token


def test_bolt_rejects_tampered_requests_and_slack_says_so(slack: LocalSlack, app: App) -> None:
    seen: list[str] = []

    @app.command("/pod")
    def handle(ack: Any, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        ack()

    for tamper in (Tamper.BAD_SIGNATURE, Tamper.STALE_TIMESTAMP, Tamper.UNSIGNED):
        result = slack.send_command("alice", "#ops", "/pod", tamper.value, tamper=tamper)
        assert result.reply.status == 401
        assert result.reply.error == "dispatch_failed"
    assert seen == []
    notes = [m.text for m in slack.messages("#ops", user="alice")]
    assert notes == ['/pod failed with the error "dispatch_failed"'] * 3
    assert slack.messages("#ops", user="bob") == []
    assert slack.send_command("alice", "#ops", "/pod", "ok").ok
    assert seen == ["ok"]


def test_send_raw_for_abuse_tests(slack: LocalSlack, app: App) -> None:
    seen: list[str] = []

    @app.command("/pod")
    def handle(ack: Any, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        ack()

    forged = urllib.parse.urlencode({"ssl_check": "1", "command": "/pod", "text": "delete all"})
    # bolt answers ssl_check probes with an empty 200 and runs no listener for them
    reply = slack.send_raw(forged, tamper=Tamper.UNSIGNED)
    assert (reply.status, reply.body) == (200, "")
    unsigned = urllib.parse.urlencode({"command": "/pod", "text": "delete all", "user_id": "U01ALICE"})
    assert slack.send_raw(unsigned, tamper=Tamper.UNSIGNED).status == 401
    assert slack.send_raw(unsigned).status != 401  # the same body, signed, gets past verification
    assert seen == ["delete all"]


# --- slash commands ------------------------------------------------------------------------------


def test_command_ack_message_and_respond(slack: LocalSlack, app: App) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    @app.command("/pod")
    def handle(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack(":hourglass_flowing_sand: working on `get pods`…")
        received.put(command)
        respond(text="just for you")
        respond(
            text="everyone sees this",
            response_type="in_channel",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*nginx* Running"}}],
        )

    mark = slack.mark()
    result = slack.send_command("alice", "#ops", "/pod", "get pods")
    assert result.ok
    assert result.ack_message is not None
    assert result.ack_message.ephemeral_to == "alice"
    assert result.ack_message.rendered == "⏳ working on `get pods`…"
    command = received.get(timeout=5)
    assert command["trigger_id"] == result.trigger_id
    assert command["response_url"] == result.response_url
    public = slack.wait_for_message(channel="#ops", contains="Running", after=mark)
    assert not public.is_ephemeral
    assert public.is_bot
    # The ack body and respond() race, as they do with real Slack: compare without order.
    assert sorted(m.rendered for m in slack.messages("#ops", user="alice")) == [
        "/pod get pods",
        "just for you",
        "nginx Running",
        "⏳ working on `get pods`…",
    ]
    # the first in_channel response also shows everyone the command that asked for it
    assert [(m.username, m.rendered) for m in slack.messages("#ops", user="bob")] == [
        ("alice", "/pod get pods"),
        ("podbot", "nginx Running"),
    ]


def test_response_url_replace_delete_and_five_post_limit(
    slack: LocalSlack, app: App, clock: ManualClock
) -> None:
    urls: queue.Queue[str] = queue.Queue()

    @app.command("/pod")
    def handle(ack: Any, command: dict[str, Any]) -> None:
        ack()
        urls.put(command["response_url"])

    slack.send_command("alice", "#ops", "/pod", "get pods")
    hook = WebhookClient(urls.get(timeout=5))
    assert hook.send(text="working…").status_code == 200
    assert [m.text for m in slack.messages("#ops", user="alice")] == ["working…"]
    replaced = hook.send(text="3 pods", replace_original=True)
    assert (replaced.status_code, replaced.body) == (200, '{"ok": true}')
    assert [m.text for m in slack.messages("#ops", user="alice")] == ["3 pods"]
    assert hook.send_dict({"delete_original": True}).status_code == 200
    assert slack.messages("#ops", user="alice") == []
    invalid = hook.send(
        text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]
    )
    assert invalid.status_code == 400
    assert "invalid_blocks" in invalid.body
    assert hook.send(text="four").status_code == 200
    assert (
        hook.send(text="five").status_code == 200
    )  # five accepted posts: working, 3 pods, delete, four, five
    used = hook.send(text="six")
    assert (used.status_code, used.body) == (404, '{"ok": false, "error": "used_url"}')

    slack.send_command("alice", "#ops", "/pod", "again")
    late = WebhookClient(urls.get(timeout=5))
    clock.advance(30 * 60 + 1)
    expired = late.send(text="too late")
    assert (expired.status_code, expired.body) == (404, '{"ok": false, "error": "expired_url"}')


def test_slow_ack_is_an_operation_timeout(clock: ManualClock) -> None:
    with LocalSlack(Workspace.demo(clock=clock), ack_timeout=0.3) as slack:
        app = bolt_app(slack, process_before_response=True)
        release = threading.Event()

        @app.command("/pod")
        def handle(ack: Any) -> None:
            release.wait(2)
            ack()

        with serve_bolt(app) as url:
            slack.use_http(url)
            result = slack.send_command("alice", "#ops", "/pod", "slow")
            release.set()
        assert result.reply.error == "operation_timeout"
        assert not result.ok
        [note] = slack.messages("#ops", user="alice")
        assert note.text == '/pod failed with the error "operation_timeout"'
        assert note.username == "slackbot"


# --- buttons --------------------------------------------------------------------------------------


def test_click_sends_block_actions_like_slack(slack: LocalSlack, app: App) -> None:
    actions: queue.Queue[dict[str, Any]] = queue.Queue()

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        actions.put(body)
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    posted = app.client.chat_postMessage(channel="#ops", text="approval needed", blocks=approval_blocks())
    message = slack.latest_with_button("Approve", channel="#ops")
    assert message is not None
    assert message.rendered.endswith("[1: Approve] [2: Deny]")
    mark = slack.mark()
    result = slack.click("bob", message, "Approve")
    assert result.ok
    body = actions.get(timeout=5)
    ws = slack.workspace
    assert body["type"] == "block_actions"
    assert body["user"] == {"id": ws.user("bob").id, "username": "bob", "name": "bob", "team_id": ws.team.id}
    assert body["api_app_id"] == ws.app_id
    assert body["token"] == ws.verification_token
    assert body["team"] == {"id": ws.team.id, "domain": "podbot-demo"}
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert body["channel"] == {"id": posted["channel"], "name": "ops"}
    assert body["message"]["ts"] == posted["ts"]
    assert body["message"]["blocks"] == posted["message"]["blocks"]
    [action] = body["actions"]
    assert {k: action[k] for k in ("action_id", "block_id", "value", "type", "style")} == {
        "action_id": "approve",
        "block_id": "approval",
        "value": "req-1",
        "type": "button",
        "style": "primary",
    }
    assert float(action["action_ts"]) > float(posted["ts"])
    assert body["state"] == {"values": {}}
    assert body["trigger_id"] == result.trigger_id
    assert body["response_url"].startswith(slack.url + "/actions/")
    edited = slack.wait_for(lambda m: m.ts == posted["ts"] and m.text.startswith("Approved"), after=mark)
    assert edited.rendered == "Approved by @bob"
    assert edited.buttons == ()


def test_click_by_number_and_action_id(slack: LocalSlack, app: App) -> None:
    clicked: queue.Queue[str] = queue.Queue()

    @app.action("deny")
    def deny(ack: Any, action: dict[str, Any]) -> None:
        ack()
        clicked.put(action["action_id"])

    app.client.chat_postMessage(channel="#ops", text="approval needed", blocks=approval_blocks())
    message = slack.latest_with_button("deny")
    assert message is not None
    slack.click("bob", message, 2)
    slack.click("bob", message, "deny")
    assert [clicked.get(timeout=5), clicked.get(timeout=5)] == ["deny", "deny"]
    with pytest.raises(LookupError, match="no button 'Explode'"):
        slack.click("bob", message, "Explode")


def test_confirm_dialog_must_be_answered(slack: LocalSlack, app: App) -> None:
    clicked: queue.Queue[str] = queue.Queue()

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any]) -> None:
        ack()
        clicked.put(body["user"]["name"])

    confirm = {
        "title": {"type": "plain_text", "text": "Delete nginx?"},
        "text": {"type": "mrkdwn", "text": "This cannot be undone."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep"},
    }
    app.client.chat_postMessage(channel="#ops", text="approval", blocks=approval_blocks(confirm=confirm))
    message = slack.latest_with_button("Approve")
    assert message is not None
    with pytest.raises(ConfirmationRequired) as dialog:
        slack.click("bob", message, "Approve")
    assert (dialog.value.title, dialog.value.confirm_label, dialog.value.deny_label) == (
        "Delete nginx?",
        "Delete",
        "Keep",
    )
    assert slack.click("bob", message, "Approve", confirm=False).sent is False
    assert slack.click("bob", message, "Approve", confirm=True).ok
    assert clicked.get(timeout=5) == "bob"
    assert clicked.empty()


def test_ephemeral_buttons(slack: LocalSlack, app: App) -> None:
    bodies: queue.Queue[dict[str, Any]] = queue.Queue()

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any]) -> None:
        ack()
        bodies.put(body)

    alice = slack.workspace.user("alice").id
    app.client.chat_postEphemeral(channel="#ops", user=alice, text="only alice", blocks=approval_blocks())
    assert slack.latest_with_button("Approve", user="bob") is None
    message = slack.latest_with_button("Approve", user="alice")
    assert message is not None
    with pytest.raises(LookupError, match="cannot see"):
        slack.click("bob", message, "Approve")
    slack.click("alice", message, "Approve")
    body = bodies.get(timeout=5)
    assert body["container"]["is_ephemeral"] is True
    assert "message" not in body  # Slack leaves ephemeral messages out of the payload


# --- modals ---------------------------------------------------------------------------------------


def create_modal(**extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "create",
        "private_metadata": "#ops",
        "title": {"type": "plain_text", "text": "Create pod"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "manifest",
                "label": {"type": "plain_text", "text": "Manifest"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "yaml",
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": "upload",
                "optional": True,
                "label": {"type": "plain_text", "text": "Or upload a file"},
                "element": {"type": "file_input", "action_id": "file", "filetypes": ["yaml", "yml"]},
            },
        ],
        **extra,
    }


def open_modal_on_command(app: App, view: dict[str, Any], errors: queue.Queue[str] | None = None) -> None:
    @app.command("/pod")
    def handle(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as e:
            if errors is not None:
                errors.put(e.response["error"])


def test_modal_submission_errors_then_success(slack: LocalSlack, app: App) -> None:
    submissions: queue.Queue[dict[str, Any]] = queue.Queue()
    open_modal_on_command(app, create_modal())

    @app.view("create")
    def submit(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        submissions.put(body)
        text = view["state"]["values"]["manifest"]["yaml"]["value"]
        if "kind:" not in text:
            ack(response_action="errors", errors={"manifest": "This is not a Kubernetes manifest."})
        else:
            ack()

    slack.send_command("alice", "#ops", "/pod", "create")
    view = slack.wait_for_view("alice")
    assert view.title == "Create pod"
    assert "Manifest: [type here]" in view.rendered

    missing = slack.submit_view("alice")
    assert missing.sent is False
    assert missing.client_errors == {"manifest": "Please complete this required field."}
    too_long = slack.submit_view("alice", values={"yaml": "x" * 3001})
    assert too_long.client_errors == {"manifest": "Must be 3000 characters or fewer."}
    assert submissions.empty()

    rejected = slack.submit_view("alice", values={"yaml": "hello"})
    assert rejected.response_action == "errors"
    assert rejected.errors == {"manifest": "This is not a Kubernetes manifest."}
    assert rejected.view is not None and rejected.view.id == view.id and rejected.view.is_open
    body = submissions.get(timeout=5)
    assert body["type"] == "view_submission"
    assert body["view"]["private_metadata"] == "#ops"
    assert body["view"]["state"]["values"] == {
        "manifest": {"yaml": {"type": "plain_text_input", "value": "hello"}},
        "upload": {"file": {"type": "file_input", "files": []}},
    }
    assert body["response_urls"] == []

    accepted = slack.submit_view("alice", view.id, {"manifest/yaml": "kind: Pod"})
    assert accepted.closed
    assert accepted.view is None
    assert slack.current_view("alice") is None


def test_modal_update_push_and_clear(slack: LocalSlack, app: App) -> None:
    open_modal_on_command(app, create_modal())
    steps = iter(
        [
            {
                "response_action": "update",
                "view": create_modal(title={"type": "plain_text", "text": "Check"}),
            },
            {
                "response_action": "push",
                "view": create_modal(callback_id="create", title={"type": "plain_text", "text": "Confirm"}),
            },
            {"response_action": "clear"},
        ]
    )

    @app.view("create")
    def submit(ack: Any) -> None:
        ack(**next(steps))

    slack.send_command("alice", "#ops", "/pod", "create")
    slack.wait_for_view("alice")
    updated = slack.submit_view("alice", values={"yaml": "kind: Pod"})
    assert (updated.response_action, updated.view.title if updated.view else None) == ("update", "Check")
    pushed = slack.submit_view("alice", values={"yaml": "kind: Pod"})
    assert pushed.view is not None and pushed.view.title == "Confirm"
    assert len(slack.workspace.modals.stack(slack.workspace.user("alice").id)) == 2
    cleared = slack.submit_view("alice", values={"yaml": "kind: Pod"})
    assert cleared.closed and cleared.view is None


def test_close_view_notifies_only_when_asked(slack: LocalSlack, app: App) -> None:
    closed: queue.Queue[dict[str, Any]] = queue.Queue()
    open_modal_on_command(app, create_modal(notify_on_close=True))

    @app.view_closed("create")
    def on_close(ack: Any, body: dict[str, Any]) -> None:
        ack()
        closed.put(body)

    slack.send_command("alice", "#ops", "/pod", "create")
    view = slack.wait_for_view("alice")
    result = slack.close_view("alice")
    assert result.sent and result.reply is not None and result.reply.ok
    body = closed.get(timeout=5)
    assert (body["type"], body["view"]["id"], body["is_cleared"]) == ("view_closed", view.id, False)
    assert slack.current_view("alice") is None

    quiet = bolt_app(slack)
    open_modal_on_command(quiet, create_modal())
    with serve_bolt(quiet) as url:
        slack.use_http(url)
        slack.send_command("alice", "#ops", "/pod", "create")
        slack.wait_for_view("alice")
        assert slack.close_view("alice").sent is False


def test_file_input_is_downloadable_by_the_bot(slack: LocalSlack, app: App) -> None:
    downloaded: queue.Queue[bytes] = queue.Queue()
    open_modal_on_command(app, create_modal())
    manifest = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n" + b"# padding\n" * 400

    @app.view("create")
    def submit(ack: Any, view: dict[str, Any], client: Any) -> None:
        ack()
        [uploaded] = view["state"]["values"]["upload"]["file"]["files"]
        request = urllib.request.Request(
            uploaded["url_private_download"], headers={"Authorization": f"Bearer {client.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            downloaded.put(response.read())

    slack.send_command("alice", "#ops", "/pod", "create")
    slack.wait_for_view("alice")
    result = slack.submit_view("alice", values={"yaml": "see file", "file": [("big.yaml", manifest)]})
    assert result.closed
    assert downloaded.get(timeout=5) == manifest


def test_expired_trigger_in_the_bot(slack: LocalSlack, app: App, clock: ManualClock) -> None:
    errors: queue.Queue[str] = queue.Queue()
    go = threading.Event()

    @app.command("/pod")
    def handle(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        go.wait(5)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=create_modal())
            errors.put("opened")
        except SlackApiError as e:
            errors.put(e.response["error"])

    slack.send_command("alice", "#ops", "/pod", "create")
    clock.advance(3.5)  # the bot took too long: Slack's 3-second trigger window has passed
    go.set()
    assert errors.get(timeout=5) == "expired_trigger_id"
    assert slack.current_view("alice") is None


def test_click_inside_a_modal(slack: LocalSlack, app: App) -> None:
    bodies: queue.Queue[dict[str, Any]] = queue.Queue()
    view = create_modal()
    view["blocks"].append(
        {"type": "actions", "block_id": "tools", "elements": [button("Validate", "validate", "v")]}
    )
    open_modal_on_command(app, view)

    @app.action("validate")
    def validate(ack: Any, body: dict[str, Any]) -> None:
        ack()
        bodies.put(body)

    slack.send_command("alice", "#ops", "/pod", "create")
    opened = slack.wait_for_view("alice")
    assert slack.click("alice", opened, "Validate").ok
    body = bodies.get(timeout=5)
    assert body["container"] == {"type": "view", "view_id": opened.id}
    assert body["view"]["id"] == opened.id
    assert "response_url" not in body


def test_wait_for_times_out_with_the_transcript(slack: LocalSlack, app: App) -> None:
    app.client.chat_postMessage(channel="#ops", text="something else")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="something else"):
        slack.wait_for_message(channel="#ops", contains="never", timeout=0.2)
    assert time.monotonic() - started < 2


def test_concurrent_commands_are_all_answered(slack: LocalSlack, app: App) -> None:
    @app.command("/pod")
    def handle(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"done: {command['text']}")

    mark = slack.mark()
    results: queue.Queue[bool] = queue.Queue()

    def user_types(n: int) -> None:
        results.put(slack.send_command("alice", "#ops", "/pod", f"get pod p{n}").ok)

    threads = [threading.Thread(target=user_types, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [results.get_nowait() for _ in threads] == [True] * 40
    answered = [m.text for m in slack.messages_since(mark, user="alice")]
    for n in range(40):  # each wait returns at once when its answer is already there
        answer = slack.wait_for_message(
            channel="#ops", user="alice", contains=f"done: get pod p{n}", after=mark
        )
        answered.append(answer.text)
    assert sorted(set(answered)) == sorted(f"done: get pod p{n}" for n in range(40))
    assert len(slack.api_calls("response_url")) == 40
