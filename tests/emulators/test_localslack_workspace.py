"""podbot.localslack workspace building, transcript helpers and the smaller Web API methods."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot.localslack import LocalSlack, Workspace
from tests.support.localslack import ManualClock


@pytest.fixture
def slack() -> Iterator[LocalSlack]:
    with LocalSlack(Workspace.demo(clock=ManualClock())) as emulator:
        yield emulator


def test_demo_workspace() -> None:
    ws = Workspace.demo()
    assert [u.name for u in ws.users()] == ["podbot", "alice", "bob", "carol"]
    assert ws.default_user == ws.user("alice").id
    assert ws.user("@bob").email == "bob@example.com"
    ops = ws.channel("#ops")
    assert {ws.user(m).name for m in ops.members} == {"alice", "bob", "carol", "podbot"}
    assert ws.bot.id not in ws.channel("general").members
    assert ws.bot.id in ws.channel("dev").members
    assert [ws.user(u).name for u in ws.usergroup("@sre").users] == ["bob"]
    assert ws.user("carol").locale == "zh-CN"


def test_building_a_workspace() -> None:
    ws = Workspace(team_name="Acme", domain="acme", bot_token="xoxb-test", clock=ManualClock())
    dave = ws.add_user("dave", real_name="Dave D", email="dave@acme.test", tz="Asia/Tokyo", is_admin=True)
    erin = ws.add_user("erin", default=True)
    assert ws.default_user == erin.id
    infra = ws.add_channel("#infra", members=["dave", erin.id], private=True)
    assert infra.id.startswith("G") and infra.is_private
    oncall = ws.add_usergroup("oncall", users=["dave", "erin"])
    assert oncall.users == (dave.id, erin.id)
    ws.join("infra", "podbot")
    ws.leave("infra", "dave")
    assert dave.id not in ws.channel("infra").members
    ws.set_usergroup_users("oncall", ["erin"])
    assert ws.usergroup("oncall").users == (erin.id,)
    for bad in (
        lambda: ws.add_user("dave"),
        lambda: ws.add_channel("infra"),
        lambda: ws.add_usergroup("oncall"),
    ):
        with pytest.raises(ValueError, match="already exists"):
            bad()
    with pytest.raises(LookupError, match="no user 'zed'"):
        ws.user("zed")
    assert "xoxb-test" not in repr(ws)


def test_secrets_stay_out_of_reprs(slack: LocalSlack) -> None:
    slack.use_http("http://127.0.0.1:9/slack/events")
    shown = repr(slack) + repr(slack.workspace) + repr(slack.people._transport())
    for secret in (
        slack.bot_token,
        slack.app_token,
        slack.signing_secret,
        slack.workspace.verification_token,
    ):
        assert secret not in shown


def test_bot_settings(slack: LocalSlack) -> None:
    settings = slack.bot_settings()
    assert settings.env() == {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.api_url,
    }
    assert slack.bot_token not in repr(settings) and slack.signing_secret not in repr(settings)


def test_request_url_must_be_loopback(slack: LocalSlack) -> None:
    with pytest.raises(ValueError, match="loopback"):
        slack.use_http("http://example.com/slack/events")


def test_nothing_is_sent_without_a_delivery(slack: LocalSlack) -> None:
    with pytest.raises(RuntimeError, match="use_http"):
        slack.send_command("alice", "#ops", "/pod", "get pods")
    slack.use_http("http://127.0.0.1:9/slack/events")
    with pytest.raises(LookupError, match="not a member"):
        slack.send_command("bob", "#dev", "/pod", "get pods")  # bob is not in #dev, so he cannot type there


def test_unreachable_bot_is_dispatch_failed(slack: LocalSlack) -> None:
    slack.use_http("http://127.0.0.1:9/slack/events")  # the discard port: nothing listens
    result = slack.send_command("alice", "#ops", "/pod", "get pods")
    assert result.reply.error == "dispatch_failed"
    assert [m.text for m in slack.messages("#ops", user="alice")] == [
        '/pod failed with the error "dispatch_failed"'
    ]


def test_transcript_helpers(slack: LocalSlack, client: WebClient) -> None:
    start = slack.mark()
    parent = client.chat_postMessage(channel="#ops", text="digest: 2 pods failing")
    client.chat_postMessage(channel="#ops", text="nginx: ImagePullBackOff", thread_ts=parent["ts"])
    client.chat_postEphemeral(channel="#ops", user=slack.workspace.user("bob").id, text="psst bob")
    middle = slack.mark()
    client.chat_update(channel=parent["channel"], ts=parent["ts"], text="digest: 1 pod failing")
    assert [m.text for m in slack.messages_since(start, user="alice")] == [
        "nginx: ImagePullBackOff",
        "digest: 1 pod failing",
    ]
    assert [m.text for m in slack.messages_since(middle)] == ["digest: 1 pod failing"]
    assert [m.text for m in slack.messages("#ops", threads=False)] == ["digest: 1 pod failing"]
    transcript = slack.transcript("#ops", user="bob")
    assert "[#ops] podbot (app) (edited):\n  digest: 1 pod failing" in transcript
    assert f"[#ops (thread {parent['ts']})] podbot (app):" in transcript
    assert "(only visible to @bob)" in transcript


def test_messages_since_lists_each_change_once_in_change_order(slack: LocalSlack, client: WebClient) -> None:
    start = slack.mark()
    first = client.chat_postMessage(channel="#ops", text="one")
    client.chat_postMessage(channel="#ops", text="two")
    gone = client.chat_postMessage(channel="#ops", text="three")
    client.chat_update(channel=first["channel"], ts=first["ts"], text="one, edited")
    client.chat_delete(channel=gone["channel"], ts=gone["ts"])
    assert [m.text for m in slack.messages_since(start)] == ["two", "one, edited"]
    assert slack.messages_since(slack.mark()) == []


def test_wait_for_wakes_on_a_post_from_another_thread(slack: LocalSlack, client: WebClient) -> None:
    mark = slack.mark()
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel="#dev", text="late arrival"))
    timer.start()
    try:
        found = slack.wait_for_message(channel="#dev", contains="late", after=mark, timeout=5)
    finally:
        timer.join()
    assert found.channel_name == "dev"


def test_small_methods(slack: LocalSlack, client: WebClient) -> None:
    assert client.api_test(foo="bar")["args"] == {"foo": "bar"}
    assert client.team_info()["team"]["domain"] == "podbot-demo"
    with pytest.raises(SlackApiError, match="users_not_found"):
        client.users_lookupByEmail(email="nobody@example.com")
    opened = client.conversations_open(users=slack.workspace.user("carol").id)
    assert opened["channel"]["id"].startswith("D")
    assert (
        client.conversations_open(users=slack.workspace.user("carol").id)["channel"]["id"]
        == opened["channel"]["id"]
    )
    names = [c["name"] for c in client.conversations_list()["channels"]]
    assert names == ["ops", "dev", "general"]
    posted = client.chat_postMessage(channel="#ops", text="x")
    link = client.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"])["permalink"]
    assert (
        link == f"https://podbot-demo.slack.com/archives/{posted['channel']}/p{posted['ts'].replace('.', '')}"
    )
    with pytest.raises(SlackApiError, match="invalid_ts_oldest"):
        client.conversations_history(channel=slack.workspace.channel("ops").id, oldest="yesterday")


def test_multipart_upload(slack: LocalSlack, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.yaml", length=9)
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.yaml"\r\n'
        f"Content-Type: application/x-yaml\r\n\r\nkind: Pod\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        reserved["upload_url"],
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == b"OK - 9"
    client.files_completeUploadExternal(
        files=[{"id": reserved["file_id"], "title": "manifest"}], channel_id=slack.workspace.channel("ops").id
    )
    assert client.files_info(file=reserved["file_id"])["file"]["content"] == "kind: Pod"


def test_post_as_user_and_latest_with_button(slack: LocalSlack, client: WebClient) -> None:
    slack.post_as_user("alice", "#ops", "anyone around?")
    assert slack.latest_with_button("Approve") is None
    button = {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "value": "1"}
    older = client.chat_postMessage(
        channel="#ops", text="a", blocks=[{"type": "actions", "elements": [button]}]
    )
    newer = client.chat_postMessage(
        channel="#dev", text="b", blocks=[{"type": "actions", "elements": [button]}]
    )
    assert slack.latest_with_button("approve").ts == newer["ts"]
    assert slack.latest_with_button("Approve", channel="#ops").ts == older["ts"]
    # editing an older message makes it the latest one that has the button
    client.chat_update(
        channel=older["channel"],
        ts=older["ts"],
        text="a2",
        blocks=[{"type": "actions", "elements": [button]}],
    )
    assert slack.latest_with_button("Approve").ts == older["ts"]
