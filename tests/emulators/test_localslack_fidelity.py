"""podbot.localslack refuses what Slack refuses, seen through the real slack_sdk WebClient and bolt.

Each test sends raw dicts (slack_sdk's models would drop an unknown key before it left the
process) and checks both the answer and that nothing changed in the workspace.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient

from podbot.localslack import MARKETPLACE, NON_MARKETPLACE, LocalSlack, Workspace
from tests.support.localslack import ManualClock, bolt_app, error_of, serve_bolt


def ids(slack: LocalSlack) -> tuple[str, str]:
    return slack.workspace.channel("ops").id, slack.workspace.user("alice").id


# --- 10: unknown keys in blocks and elements -----------------------------------------------------

APPROVE = {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "approve"}
TYPO = [{"type": "section", "text": {"type": "mrkdwn", "text": "Delete nginx?"}, "acessory": APPROVE}]
TYPO_ERROR = "invalid additional property: acessory [json-pointer:/blocks/0]"
INVALID_BLOCKS = {
    "ok": False,
    "error": "invalid_blocks",
    "errors": [TYPO_ERROR],
    "response_metadata": {"messages": [f"[ERROR] {TYPO_ERROR}"]},
}


def test_slack_sdk_models_would_hide_the_typo() -> None:
    # Why the tests below send raw dicts: the library's model silently drops the unknown key.
    parsed = Block.parse(TYPO[0])
    assert parsed is not None and "acessory" not in parsed.to_dict()


def test_chat_methods_refuse_an_unknown_block_key(slack: LocalSlack, client: WebClient) -> None:
    ops, alice = ids(slack)
    posted = client.chat_postMessage(channel=ops, text="original")
    calls = {
        "chat.postMessage": lambda: client.chat_postMessage(channel=ops, text="x", blocks=TYPO),
        "chat.postEphemeral": lambda: client.chat_postEphemeral(
            channel=ops, user=alice, text="x", blocks=TYPO
        ),
        "chat.update": lambda: client.chat_update(channel=ops, ts=posted["ts"], text="x", blocks=TYPO),
    }
    for method, call in calls.items():
        assert error_of(call).response.data == INVALID_BLOCKS, method
        assert "acessory" in str(slack.api_calls(method)[-1].args["blocks"])  # it did go over the wire
    assert [(m.text, m.edited) for m in slack.messages("#ops", user="alice")] == [("original", False)]
    # the same block without the typo is fine everywhere
    fixed = [{**{k: v for k, v in TYPO[0].items() if k != "acessory"}, "accessory": APPROVE}]
    assert client.chat_update(channel=ops, ts=posted["ts"], text="x", blocks=fixed)["ok"] is True


def test_attachment_blocks_are_checked_too(slack: LocalSlack, client: WebClient) -> None:
    ops, _ = ids(slack)
    error = error_of(client.chat_postMessage, channel=ops, text="x", attachments=[{"blocks": TYPO}])
    assert error.response["errors"] == [
        "invalid additional property: acessory [json-pointer:/attachments/0/blocks/0]"
    ]
    assert slack.messages("#ops") == []


def modal(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Delete"}, "blocks": blocks}


def test_views_methods_refuse_an_unknown_block_key(slack: LocalSlack, client: WebClient) -> None:
    _, alice = ids(slack)
    issue = slack.workspace.interactions.issue_trigger
    opened = client.views_open(trigger_id=issue(alice), view=modal([{"type": "divider"}]))
    expected = {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {
            "messages": [
                "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
                "[ERROR] invalid additional property: acessory [json-pointer:/view/blocks/0]",
            ]
        },
    }
    calls = {
        "views.open": lambda: client.views_open(trigger_id=issue(alice), view=modal(TYPO)),
        "views.push": lambda: client.views_push(trigger_id=issue(alice), view=modal(TYPO)),
        "views.update": lambda: client.views_update(view_id=opened["view"]["id"], view=modal(TYPO)),
    }
    for method, call in calls.items():
        assert error_of(call).response.data == expected, method
    view = slack.current_view("alice")
    assert (
        view is not None and view.id == opened["view"]["id"] and len(slack.workspace.modals.stack(alice)) == 1
    )
    assert [b["type"] for b in view.blocks] == ["divider"]


def test_modal_limits_and_unknown_view_keys(slack: LocalSlack, client: WebClient) -> None:
    _, alice = ids(slack)
    trigger = slack.workspace.interactions.issue_trigger
    view = modal([{"type": "divider"}]) | {
        "private_metadata": "m" * 3001,
        "sumbit": {"type": "plain_text", "text": "Go"},
    }
    messages = error_of(client.views_open, trigger_id=trigger(alice), view=view).response[
        "response_metadata"
    ]["messages"]
    assert messages == [
        "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
        "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]",
        "[ERROR] invalid additional property: sumbit [json-pointer:/view]",
    ]
    assert slack.current_view("alice") is None


@pytest.fixture
def app(slack: LocalSlack) -> Iterator[App]:
    bolt = bolt_app(slack)
    with serve_bolt(bolt) as url:
        slack.use_http(url)
        yield bolt


def test_response_url_and_ack_refuse_an_unknown_block_key(slack: LocalSlack, app: App) -> None:
    urls: queue.Queue[str] = queue.Queue()

    @app.command("/pod")
    def handle(ack: Any, command: dict[str, Any], respond: Any) -> None:
        if command["text"] == "ack":
            ack(text="x", blocks=TYPO)  # bolt sends the ack body as given
        else:
            ack()
            urls.put(command["response_url"])

    result = slack.send_command("alice", "#ops", "/pod", "ack")
    assert result.ack_error == "invalid_blocks"
    slack.send_command("alice", "#ops", "/pod", "later")
    refused = WebhookClient(urls.get(timeout=5)).send_dict({"text": "x", "blocks": TYPO})
    assert refused.status_code == 400
    assert TYPO_ERROR in refused.body
    assert slack.messages("#ops", user="alice") == []


# --- 12: names only where Slack documents them ---------------------------------------------------


def test_post_methods_take_channel_names_as_documented(slack: LocalSlack, client: WebClient) -> None:
    ops, alice = ids(slack)
    for ref in (ops, "ops", "#ops"):
        assert client.chat_postMessage(channel=ref, text=f"to {ref}")["channel"] == ops
        assert client.chat_postEphemeral(channel=ref, user=alice, text=f"psst {ref}")["ok"] is True
    dm = client.chat_postMessage(channel=alice, text="a user ID opens the DM with the app")["channel"]
    assert slack.workspace.channel_by_id(dm) is not None and dm.startswith("D")
    assert len(slack.messages("#ops")) == 3 and len(slack.messages("#ops", user="alice")) == 6


def test_everything_else_takes_ids_only(slack: LocalSlack, client: WebClient) -> None:
    ops, alice = ids(slack)
    posted = client.chat_postMessage(channel=ops, text="original")
    refused: dict[str, tuple[Any, dict[str, Any], str]] = {
        "chat.postMessage to @name": (
            client.chat_postMessage,
            {"channel": "@alice", "text": "x"},
            "channel_not_found",
        ),
        "chat.postEphemeral user": (
            client.chat_postEphemeral,
            {"channel": ops, "user": "alice", "text": "x"},
            "user_not_found",
        ),
        "chat.postEphemeral to a user": (
            client.chat_postEphemeral,
            {"channel": alice, "user": alice, "text": "x"},
            "channel_not_found",
        ),
        "chat.update": (
            client.chat_update,
            {"channel": "#ops", "ts": posted["ts"], "text": "x"},
            "channel_not_found",
        ),
        "chat.delete": (client.chat_delete, {"channel": "ops", "ts": posted["ts"]}, "channel_not_found"),
        "chat.getPermalink": (
            client.chat_getPermalink,
            {"channel": "#ops", "message_ts": posted["ts"]},
            "channel_not_found",
        ),
        "conversations.history": (client.conversations_history, {"channel": "#ops"}, "channel_not_found"),
        "conversations.replies": (
            client.conversations_replies,
            {"channel": "ops", "ts": posted["ts"]},
            "channel_not_found",
        ),
        "conversations.info": (client.conversations_info, {"channel": "ops"}, "channel_not_found"),
        "conversations.members": (client.conversations_members, {"channel": "#ops"}, "channel_not_found"),
        "conversations.open": (client.conversations_open, {"users": "alice"}, "user_not_found"),
        "users.info": (client.users_info, {"user": "@alice"}, "user_not_found"),
        "usergroups.users.list": (client.usergroups_users_list, {"usergroup": "sre"}, "no_such_subteam"),
        "files.completeUploadExternal": (
            client.files_upload_v2,
            {"channel": "#ops", "content": "x", "filename": "x.txt"},
            "channel_not_found",
        ),
    }
    for what, (call, kwargs, code) in refused.items():
        assert error_of(call, **kwargs).response["error"] == code, what
    assert [(m.text, m.edited, m.files) for m in slack.messages("#ops", user="alice")] == [
        ("original", False, ())
    ]
    # the same calls with IDs work
    sre = slack.workspace.usergroup("sre").id
    assert client.usergroups_users_list(usergroup=sre)["ok"] and client.users_info(user=alice)["ok"]
    assert client.conversations_info(channel=ops)["channel"]["name"] == "ops"


# --- 11: thread_ts -------------------------------------------------------------------------------


def test_thread_ts_must_name_a_message_of_the_channel(slack: LocalSlack, client: WebClient) -> None:
    ops, alice = ids(slack)
    dev = slack.workspace.channel("dev").id
    elsewhere = client.chat_postMessage(channel=dev, text="in #dev")["ts"]
    ephemeral = client.chat_postEphemeral(channel=ops, user=alice, text="only alice")["message_ts"]
    bad = [
        "yesterday",
        "1750000000",
        "171200.deleted",
        " 1750000000.000100",
        "1.000001",
        elsewhere,
        ephemeral,
    ]
    for thread_ts in bad:
        for call, kwargs in (
            (client.chat_postMessage, {"channel": ops, "text": "reply"}),
            (client.chat_postEphemeral, {"channel": ops, "user": alice, "text": "reply"}),
            (client.files_upload_v2, {"channel": ops, "content": "x", "filename": "x.txt"}),
        ):
            assert error_of(call, thread_ts=thread_ts, **kwargs).response["error"] == "invalid_thread_ts", (
                call,
                thread_ts,
            )
    assert [m.text for m in slack.messages("#ops", user="alice")] == ["only alice"]


def test_reply_to_a_deleted_message_is_orphaned(
    slack: LocalSlack, client: WebClient, clock: ManualClock
) -> None:
    ops, _ = ids(slack)
    parent = client.chat_postMessage(channel=ops, text="parent")["ts"]
    first = client.chat_postMessage(channel=ops, text="first reply", thread_ts=parent)["ts"]
    client.chat_delete(channel=ops, ts=parent)
    late = client.chat_postMessage(channel=ops, text="late reply", thread_ts=parent)
    assert late["ok"] is True and late["message"]["thread_ts"] == parent
    deeper = client.chat_postMessage(channel=ops, text="reply to a reply", thread_ts=first)
    assert deeper["message"]["thread_ts"] == parent  # joins the (orphaned) thread of its parent
    assert client.conversations_history(channel=ops)["messages"] == []  # nothing at the top level
    assert slack.messages("#ops", threads=False) == []
    for ts in (parent, first, late["ts"]):
        assert (
            error_of(client.conversations_replies, channel=ops, ts=ts).response["error"] == "thread_not_found"
        )
        clock.advance(60)  # conversations.replies: once a minute


@pytest.fixture
def response_urls(slack: LocalSlack, app: App) -> queue.Queue[str]:
    urls: queue.Queue[str] = queue.Queue()

    @app.command("/pod")
    def handle(ack: Any, command: dict[str, Any]) -> None:
        ack()
        urls.put(command["response_url"])

    return urls


def test_response_url_thread_ts(
    slack: LocalSlack, client: WebClient, response_urls: queue.Queue[str]
) -> None:
    ops, _ = ids(slack)
    parent = client.chat_postMessage(channel=ops, text="parent")["ts"]
    slack.send_command("alice", "#ops", "/pod", "get pods")
    hook = WebhookClient(response_urls.get(timeout=5))
    refused = hook.send_dict({"text": "x", "response_type": "in_channel", "thread_ts": "not-a-ts"})
    assert refused.status_code == 400 and "invalid_thread_ts" in refused.body
    assert (
        hook.send_dict(
            {"text": "in the thread", "response_type": "in_channel", "thread_ts": parent}
        ).status_code
        == 200
    )
    [reply] = [m for m in slack.messages("#ops") if m.text == "in the thread"]
    assert reply.thread_ts == parent


# --- 13: conversations.history / conversations.replies for apps outside the Marketplace ----------


def test_history_is_strict_by_default(slack: LocalSlack, client: WebClient, clock: ManualClock) -> None:
    ops, _ = ids(slack)
    assert slack.history_tier == NON_MARKETPLACE
    for n in range(20):
        client.chat_postMessage(channel=ops, text=f"m{n}")
    parent = client.chat_postMessage(channel=ops, text="thread")["ts"]
    for n in range(20):
        client.chat_postMessage(channel=ops, text=f"r{n}", thread_ts=parent)
    first = client.conversations_history(channel=ops, limit=200)  # the limit is cut to 15, silently
    assert len(first["messages"]) == 15 and first["has_more"] is True
    thread = client.conversations_replies(channel=ops, ts=parent)  # its own window, its own 15
    assert [m["text"] for m in thread["messages"]] == ["thread", *(f"r{n}" for n in range(14))]
    limited = error_of(client.conversations_history, channel=ops)
    assert (limited.response.status_code, limited.response["error"]) == (429, "ratelimited")
    assert limited.response.headers["Retry-After"] == "60"
    clock.advance(45)
    assert (
        error_of(client.conversations_replies, channel=ops, ts=parent).response.headers["Retry-After"] == "15"
    )
    clock.advance(15)
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=ops, cursor=cursor)  # the default page is 15 too
    assert [m["text"] for m in second["messages"]] == [f"m{n}" for n in range(5, -1, -1)]
    assert second["has_more"] is False
    assert [c.status for c in slack.api_calls("conversations.history")] == [200, 429, 200]


def test_the_marketplace_tier_is_an_explicit_choice(clock: ManualClock) -> None:
    with LocalSlack(Workspace.demo(clock=clock), history_tier=MARKETPLACE) as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        ops, _ = ids(slack)
        for n in range(120):
            client.chat_postMessage(channel=ops, text=f"m{n}")
        assert len(client.conversations_history(channel=ops)["messages"]) == 100
        assert len(client.conversations_history(channel=ops, limit=200)["messages"]) == 120
        for _ in range(48):
            client.conversations_history(channel=ops, limit=1)
        assert error_of(client.conversations_history, channel=ops).response.status_code == 429  # 51st
        slack.history_tier = NON_MARKETPLACE  # a new window under the strict tier
        assert len(client.conversations_history(channel=ops, limit=200)["messages"]) == 15
        assert error_of(client.conversations_history, channel=ops).response.status_code == 429
