"""podbot.localslack Web API: the unchanged slack_sdk WebClient against the emulator over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from podbot.localslack import LocalSlack, Workspace
from tests.support.localslack import ManualClock, error_of


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def raw_post(slack: LocalSlack, method: str, body: bytes, content_type: str, token: str | None = None) -> Any:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token or slack.bot_token}"}
    request = urllib.request.Request(slack.api_url + method, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


# --- auth ---------------------------------------------------------------------------------------


def test_auth_test_identifies_the_bot(slack: LocalSlack, client: WebClient) -> None:
    data = client.auth_test().data
    ws = slack.workspace
    assert data == {
        "ok": True,
        "url": "https://podbot-demo.slack.com/",
        "team": "podbot demo",
        "user": "podbot",
        "team_id": ws.team.id,
        "user_id": ws.bot.id,
        "bot_id": ws.bot.bot_id,
        "is_enterprise_install": False,
    }


def test_tokens(slack: LocalSlack) -> None:
    assert error_of(WebClient(base_url=slack.api_url).auth_test).response["error"] == "not_authed"
    assert (
        error_of(WebClient(token="xoxb-nope", base_url=slack.api_url).auth_test).response["error"]
        == "invalid_auth"
    )
    app_client = WebClient(token=slack.app_token, base_url=slack.api_url)
    assert (
        error_of(app_client.chat_postMessage, channel="#ops", text="x").response["error"]
        == "not_allowed_token_type"
    )
    bot_client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    assert error_of(bot_client.apps_connections_open, app_token=slack.bot_token).response["error"] == (
        "not_allowed_token_type"
    )
    # the token may also travel as a form field instead of the Authorization header
    body = f"token={slack.bot_token}".encode()
    request = urllib.request.Request(
        slack.api_url + "auth.test",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["ok"] is True
    assert all("token" not in call.args for call in slack.api_calls())


def test_unknown_method(client: WebClient) -> None:
    assert error_of(client.api_call, "chat.fly").response["error"] == "unknown_method"


# --- chat.postMessage -----------------------------------------------------------------------------


def test_post_message_by_id_name_and_hash_name(slack: LocalSlack, client: WebClient) -> None:
    ops = slack.workspace.channel("ops")
    for ref in (ops.id, "#ops", "ops"):
        response = client.chat_postMessage(channel=ref, text=f"via {ref}")
        assert response["channel"] == ops.id
        assert response["message"]["text"] == f"via {ref}"
        assert response["message"]["bot_id"] == slack.workspace.bot.bot_id
        assert response["message"]["ts"] == response["ts"]
    assert [m.text for m in slack.messages("#ops")] == [f"via {r}" for r in (ops.id, "#ops", "ops")]


def test_post_message_to_a_user_opens_the_dm(slack: LocalSlack, client: WebClient) -> None:
    alice = slack.workspace.user("alice")
    response = client.chat_postMessage(channel=alice.id, text="psst")
    assert response["channel"].startswith("D")
    assert client.conversations_info(channel=response["channel"])["channel"]["is_im"] is True


@pytest.mark.parametrize(
    ("channel", "error"),
    [("#nowhere", "channel_not_found"), ("C99NOPE", "channel_not_found"), ("#general", "not_in_channel")],
)
def test_post_message_channel_errors(client: WebClient, channel: str, error: str) -> None:
    assert error_of(client.chat_postMessage, channel=channel, text="x").response["error"] == error


def test_private_channel_without_the_bot_is_invisible(slack: LocalSlack, client: WebClient) -> None:
    slack.workspace.add_channel("secret", members=["alice"], private=True, bot=False)
    assert (
        error_of(client.chat_postMessage, channel="#secret", text="x").response["error"]
        == "channel_not_found"
    )
    assert (
        error_of(client.conversations_info, channel=slack.workspace.channel("secret").id).response["error"]
        == "channel_not_found"
    )


def test_threads_and_broadcast(slack: LocalSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="#ops", text="digest")
    reply = client.chat_postMessage(channel="#ops", text="detail", thread_ts=parent["ts"])
    # a reply to a reply joins the parent's thread
    nested = client.chat_postMessage(channel="#ops", text="more", thread_ts=reply["ts"])
    broadcast = client.chat_postMessage(
        channel="#ops", text="loud", thread_ts=parent["ts"], reply_broadcast=True
    )
    assert nested["message"]["thread_ts"] == parent["ts"]
    assert broadcast["message"]["subtype"] == "thread_broadcast"
    history = client.conversations_history(channel=slack.workspace.channel("ops").id)["messages"]
    assert [m["text"] for m in history] == ["loud", "digest"]  # newest first, replies hidden unless broadcast
    assert history[1]["reply_count"] == 3
    replies = client.conversations_replies(channel=slack.workspace.channel("ops").id, ts=parent["ts"])[
        "messages"
    ]
    assert [m["text"] for m in replies] == ["digest", "detail", "more", "loud"]
    assert [m.text for m in slack.thread("#ops", parent["ts"])] == ["digest", "detail", "more", "loud"]


def test_content_errors(client: WebClient) -> None:
    with pytest.warns(UserWarning, match="top-level `text`"):  # slack_sdk warns before sending
        assert error_of(client.chat_postMessage, channel="#ops", text="").response["error"] == "no_text"
    too_many = error_of(client.chat_postMessage, channel="#ops", text="x", blocks=[section("s")] * 51)
    assert too_many.response["error"] == "invalid_blocks"
    assert too_many.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    long_section = error_of(client.chat_postMessage, channel="#ops", text="x", blocks=[section("y" * 3001)])
    assert long_section.response["errors"] == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ]
    button = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
    }
    assert error_of(client.chat_postMessage, channel="#ops", text="x", blocks=[button]).response["error"] == (
        "invalid_blocks"
    )
    # five sections of 2,900 characters are each valid but 14,500 characters in total are too many
    heavy = error_of(client.chat_postMessage, channel="#ops", text="x", blocks=[section("z" * 2900)] * 5)
    assert heavy.response["error"] == "msg_blocks_too_long"


def test_long_text_is_truncated_at_40k(slack: LocalSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="#ops", text="a" * 40_050)
    assert len(response["message"]["text"]) == 40_000


def test_form_encoded_post_with_json_string_blocks(slack: LocalSlack) -> None:
    blocks = json.dumps([section("from a form")])
    body = urllib.parse.urlencode({"channel": "#ops", "text": "fallback", "blocks": blocks}).encode()
    data = raw_post(slack, "chat.postMessage", body, "application/x-www-form-urlencoded")
    assert data["ok"] is True
    assert data["message"]["blocks"][0]["text"]["text"] == "from a form"
    bad = urllib.parse.urlencode({"channel": "#ops", "blocks": "[not json"}).encode()
    assert raw_post(slack, "chat.postMessage", bad, "application/x-www-form-urlencoded")["error"] == (
        "invalid_blocks_format"
    )


def test_json_body_without_charset_gets_slacks_warning(slack: LocalSlack) -> None:
    data = raw_post(
        slack, "chat.postMessage", json.dumps({"channel": "#ops", "text": "x"}).encode(), "application/json"
    )
    assert data["ok"] is True
    assert data["warning"] == "missing_charset"
    assert data["response_metadata"]["warnings"] == ["missing_charset"]


def test_stored_blocks_get_ids_like_slack(client: WebClient) -> None:
    blocks = [
        section("s"),
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}, "value": "1"}],
        },
    ]
    message = client.chat_postMessage(channel="#ops", text="x", blocks=blocks)["message"]
    assert all(block["block_id"] for block in message["blocks"])
    assert message["blocks"][1]["elements"][0]["action_id"]


# --- ephemeral, update, delete -------------------------------------------------------------------


def test_post_ephemeral(slack: LocalSlack, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="#ops", user="U01ALICE", text="only you")
    assert response["message_ts"]
    assert [m.text for m in slack.messages("#ops", user="alice")] == ["only you"]
    assert slack.messages("#ops", user="bob") == []
    assert slack.messages("#ops", user="alice")[0].ephemeral_to == "alice"
    assert client.conversations_history(channel=slack.workspace.channel("ops").id)["messages"] == []
    bob = slack.workspace.user("bob").id
    assert error_of(client.chat_postEphemeral, channel="#dev", user=bob, text="x").response["error"] == (
        "user_not_in_channel"
    )
    assert error_of(client.chat_postEphemeral, channel="#ops", user="U99", text="x").response["error"] == (
        "user_not_found"
    )


def test_update_and_delete(slack: LocalSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="#ops", text="working…", blocks=[section("working…")])
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="done")
    assert updated["text"] == "done"
    assert "blocks" not in updated["message"]  # text without blocks replaces the blocks
    assert updated["message"]["edited"]["user"] == slack.workspace.bot.id
    assert [m.rendered for m in slack.messages("#ops")] == ["done"]
    assert (
        error_of(client.chat_update, channel=posted["channel"], ts=posted["ts"], text="a" * 4001).response[
            "error"
        ]
        == "msg_too_long"
    )
    assert error_of(client.chat_update, channel=posted["channel"], ts="1.000001", text="x").response[
        "error"
    ] == ("message_not_found")
    user_message = slack.post_as_user("alice", "#ops", "mine")
    assert error_of(client.chat_update, channel=posted["channel"], ts=user_message.ts, text="x").response[
        "error"
    ] == ("cant_update_message")
    ephemeral = client.chat_postEphemeral(channel="#ops", user="U01ALICE", text="e")
    assert error_of(
        client.chat_update, channel=posted["channel"], ts=ephemeral["message_ts"], text="x"
    ).response["error"] == ("message_not_found")
    client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    assert [m.text for m in slack.messages("#ops")] == ["mine"]


# --- users, groups, conversations ---------------------------------------------------------------


def test_users(slack: LocalSlack, client: WebClient) -> None:
    alice = client.users_info(user="U01ALICE", include_locale=True)["user"]
    assert alice["name"] == "alice"
    assert alice["profile"]["email"] == "alice@example.com"
    assert alice["locale"] == "en-US"
    assert alice["is_bot"] is False
    assert error_of(client.users_info, user="U99NOBODY").response["error"] == "user_not_found"
    first = client.users_list(limit=2)
    assert len(first["members"]) == 2
    second = client.users_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    names = [m["name"] for m in first["members"] + second["members"]]
    assert names == ["podbot", "alice", "bob", "carol"]
    assert second["response_metadata"]["next_cursor"] == ""
    assert client.users_lookupByEmail(email="bob@example.com")["user"]["name"] == "bob"


def test_usergroups(slack: LocalSlack, client: WebClient) -> None:
    sre = slack.workspace.usergroup("sre")
    assert client.usergroups_users_list(usergroup=sre.id)["users"] == [slack.workspace.user("bob").id]
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert [(g["handle"], g["users"]) for g in groups] == [("sre", [slack.workspace.user("bob").id])]
    assert error_of(client.usergroups_users_list, usergroup="S99").response["error"] == "no_such_subteam"


def test_conversations(slack: LocalSlack, client: WebClient, clock: ManualClock) -> None:
    info = client.conversations_info(channel=slack.workspace.channel("ops").id, include_num_members=True)[
        "channel"
    ]
    assert (info["name"], info["is_member"], info["num_members"]) == ("ops", True, 4)
    assert error_of(client.conversations_info, channel="C99").response["error"] == "channel_not_found"
    assert (
        error_of(client.conversations_history, channel=slack.workspace.channel("general").id).response[
            "error"
        ]
        == "not_in_channel"
    )
    for n in range(5):
        client.chat_postMessage(channel="#ops", text=f"m{n}")
    clock.advance(60)  # a non-Marketplace app reads history once a minute, refused calls included
    page = client.conversations_history(channel=slack.workspace.channel("ops").id, limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"]
    assert page["has_more"] is True
    clock.advance(60)
    rest = client.conversations_history(
        channel=slack.workspace.channel("ops").id, limit=10, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]
    members = client.conversations_members(channel=slack.workspace.channel("dev").id)["members"]
    assert set(members) == {slack.workspace.user(u).id for u in ("alice", "carol", "podbot")}


# --- views ----------------------------------------------------------------------------------------


def modal(title: str = "Create pod", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "create",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [
            {
                "type": "input",
                "block_id": "yaml",
                "label": {"type": "plain_text", "text": "YAML"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            }
        ],
        **extra,
    }


def test_views_open_needs_a_live_trigger(slack: LocalSlack, client: WebClient, clock: ManualClock) -> None:
    issue = slack.workspace.interactions.issue_trigger
    alice = slack.workspace.user("alice").id
    trigger = issue(alice)
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["callback_id"] == "create"
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["state"] == {"values": {}}
    assert slack.current_view("alice").id == view["id"]
    assert (
        error_of(client.views_open, trigger_id=trigger, view=modal()).response["error"]
        == "exchanged_trigger_id"
    )
    stale = issue(alice)
    clock.advance(3.01)
    assert (
        error_of(client.views_open, trigger_id=stale, view=modal()).response["error"] == "expired_trigger_id"
    )
    fresh = issue(alice)
    clock.advance(2.9)
    assert client.views_open(trigger_id=fresh, view=modal())["ok"] is True
    assert (
        error_of(client.views_open, trigger_id="1.2.nope", view=modal()).response["error"]
        == "invalid_trigger_id"
    )


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (modal(title="t" * 25), "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"),
        (
            modal(private_metadata="m" * 3001),
            "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (
            {**modal(), "blocks": [section("s")] * 101},
            "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
    ],
)
def test_views_open_validates_the_view(
    slack: LocalSlack, client: WebClient, view: dict[str, Any], message: str
) -> None:
    trigger = slack.workspace.interactions.issue_trigger(slack.workspace.user("alice").id)
    error = error_of(client.views_open, trigger_id=trigger, view=view)
    assert error.response["error"] == "invalid_arguments"
    assert message in error.response["response_metadata"]["messages"]


def test_plain_text_input_max_length_limit(slack: LocalSlack, client: WebClient) -> None:
    view = modal()
    view["blocks"][0]["element"]["max_length"] = 3001
    trigger = slack.workspace.interactions.issue_trigger(slack.workspace.user("alice").id)
    assert error_of(client.views_open, trigger_id=trigger, view=view).response["error"] == "invalid_arguments"


def test_views_update_push_and_hash(slack: LocalSlack, client: WebClient) -> None:
    alice = slack.workspace.user("alice").id
    opened = client.views_open(
        trigger_id=slack.workspace.interactions.issue_trigger(alice), view=modal(external_id="ext-1")
    )["view"]
    updated = client.views_update(
        view_id=opened["id"], view=modal(title="Step 2", external_id="ext-1"), hash=opened["hash"]
    )["view"]
    assert updated["title"]["text"] == "Step 2"
    assert updated["hash"] != opened["hash"]
    stale = error_of(client.views_update, view_id=opened["id"], view=modal(), hash=opened["hash"])
    assert stale.response["error"] == "hash_conflict"
    by_external = client.views_update(external_id="ext-1", view=modal(title="Step 3", external_id="ext-1"))
    assert by_external["view"]["id"] == opened["id"]
    assert error_of(client.views_update, view_id="V999", view=modal()).response["error"] == "not_found"
    for n in range(2):
        pushed = client.views_push(
            trigger_id=slack.workspace.interactions.issue_trigger(alice), view=modal(title=f"Pushed {n}")
        )["view"]
        assert pushed["root_view_id"] == opened["id"]
    full = error_of(
        client.views_push, trigger_id=slack.workspace.interactions.issue_trigger(alice), view=modal()
    )
    assert full.response["error"] == "push_limit_reached"
    assert slack.current_view("alice").title == "Pushed 1"


# --- files ----------------------------------------------------------------------------------------


def test_files_upload_v2_three_steps(slack: LocalSlack, client: WebClient) -> None:
    content = "NAME   READY   STATUS\n" + "nginx  1/1     Running\n" * 500
    response = client.files_upload_v2(
        channel=slack.workspace.channel("ops").id,
        content=content,
        filename="pods.txt",
        title="All pods",
        initial_comment="500 pods, see file",
    )
    file_id = response["file"]["id"]
    assert response["files"] == [{"id": file_id, "title": "All pods"}]
    assert [c.method for c in slack.api_calls()][-3:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    [message] = slack.messages("#ops")
    assert message.text == "500 pods, see file"
    assert message.files[0]["id"] == file_id
    assert "📎 All pods (pods.txt" in message.rendered
    info = client.files_info(file=file_id)["file"]
    assert (info["name"], info["size"], info["content"]) == ("pods.txt", len(content.encode()), content)
    private = urllib.request.Request(
        info["url_private"], headers={"Authorization": f"Bearer {slack.bot_token}"}
    )
    with urllib.request.urlopen(private, timeout=5) as download:
        assert download.read().decode() == content
    with urllib.request.urlopen(info["url_private"], timeout=5) as anonymous:
        assert b"Sign in" in anonymous.read()  # Slack answers unauthenticated downloads with its login page


def test_complete_upload_errors(slack: LocalSlack, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert error_of(client.files_completeUploadExternal, files=[{"id": reserved["file_id"]}]).response[
        "error"
    ] == (
        "file_not_found"  # the bytes never arrived
    )
    urllib.request.urlopen(
        urllib.request.Request(reserved["upload_url"], data=b"abc", method="POST"), timeout=5
    )
    general = error_of(
        client.files_completeUploadExternal,
        files=[{"id": reserved["file_id"]}],
        channel_id=slack.workspace.channel("general").id,
    )
    assert general.response["error"] == "not_in_channel"
    assert (
        client.files_completeUploadExternal(files=[{"id": reserved["file_id"]}])["ok"] is True
    )  # private file
    assert error_of(client.files_completeUploadExternal, files=[{"id": reserved["file_id"]}]).response[
        "error"
    ] == (
        "file_not_found"  # completing twice
    )


# --- rate limits and faults -----------------------------------------------------------------------


def test_post_message_rate_limit_per_channel(
    slack: LocalSlack, client: WebClient, clock: ManualClock
) -> None:
    slack.rate_limits.set("chat.postMessage", per_second=1.0, burst=2, per_channel=True)
    client.chat_postMessage(channel="#ops", text="1")
    client.chat_postMessage(channel="#ops", text="2")
    limited = error_of(client.chat_postMessage, channel="#ops", text="3")
    assert limited.response.status_code == 429
    assert limited.response["error"] == "ratelimited"
    assert limited.response.headers["Retry-After"] == "1"
    client.chat_postMessage(channel="#dev", text="other channel has its own bucket")
    clock.advance(1.0)
    client.chat_postMessage(channel="#ops", text="3")
    assert [m.text for m in slack.messages("#ops")] == ["1", "2", "3"]


@pytest.mark.slow  # Retry-After is in whole seconds
def test_rate_limit_retry_after_is_honoured(slack: LocalSlack) -> None:
    client = WebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.faults.ratelimit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="#ops", text="eventually")["ok"] is True
    calls = slack.api_calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert time.monotonic() - started >= 1.0


def test_fault_injection(slack: LocalSlack, client: WebClient) -> None:
    slack.faults.fail("users.info", "internal_error", times=2)
    assert error_of(client.users_info, user="U01ALICE").response["error"] == "internal_error"
    assert error_of(client.users_info, user="U01ALICE").response["error"] == "internal_error"
    assert client.users_info(user="U01ALICE")["ok"] is True
    slack.faults.http_status("auth.test", 503)
    assert error_of(client.auth_test).response.status_code == 503
    no_retries = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    slack.faults.drop_connection("auth.test")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        no_retries.auth_test()
    # slack_sdk's default handler retries a dropped connection once; a second drop gets through
    retrying = WebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[ConnectionErrorRetryHandler(1, FixedValueRetryIntervalCalculator(0.01))],
    )
    slack.faults.drop_connection("chat.postMessage")
    assert retrying.chat_postMessage(channel="#ops", text="after a reset")["ok"] is True
    assert [c.error for c in slack.api_calls("chat.postMessage")] == ["disconnect", ""]
    slack.faults.drop_connection("chat.postMessage", times=2)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        retrying.chat_postMessage(channel="#ops", text="lost")
    assert slack.faults.pending("chat.postMessage") == 0


def test_faults_after_the_effect_store_the_message_then_fail(slack: LocalSlack) -> None:
    """What makes a blind retry post twice: Slack stored the message, the client saw a failure."""
    no_retries = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    slack.faults.store_then_fail("chat.postMessage", 503, "service_unavailable")
    assert error_of(no_retries.chat_postMessage, channel="#ops", text="one").response.status_code == 503
    slack.faults.store_then_drop("chat.postMessage")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        no_retries.chat_postMessage(channel="#ops", text="two")
    slack.faults.stall("chat.postMessage", 0.5)
    impatient = WebClient(token=slack.bot_token, base_url=slack.api_url, timeout=0.2, retry_handlers=[])
    with pytest.raises(OSError):  # socket.timeout / TimeoutError
        impatient.chat_postMessage(channel="#ops", text="three")
    assert [m.text for m in slack.messages("ops")][-3:] == ["one", "two", "three"]
    assert [c.status for c in slack.api_calls("chat.postMessage")][-3:] == [200, 200, 200]
    assert slack.faults.pending("chat.postMessage") == 0


def test_missing_scope_and_email_visibility(clock: ManualClock) -> None:
    scopes = {"commands", "chat:write", "users:read"}  # e.g. a manifest that forgot files:write
    with LocalSlack(Workspace.demo(clock=clock, scopes=scopes)) as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        assert client.chat_postMessage(channel="#ops", text="fine")["ok"] is True
        missing = error_of(
            client.files_upload_v2, channel=slack.workspace.channel("ops").id, content="x", filename="x.txt"
        )
        assert missing.response.data == {
            "ok": False,
            "error": "missing_scope",
            "needed": "files:write",
            "provided": "chat:write,commands,users:read",
        }
        # without users:read.email Slack leaves the email out of the profile
        assert "email" not in client.users_info(user=slack.workspace.user("alice").id)["user"]["profile"]
