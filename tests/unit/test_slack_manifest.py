"""`podbot manifest`: the Slack app manifest, and the input checks on --url (issue 14, item 5)."""

from __future__ import annotations

import pytest
import yaml

from podbot.cli import main
from podbot.jobs.digests import METADATA_EVENT
from podbot.slack.manifest import app_manifest


def test_http_mode_points_the_command_and_interactivity_at_slack_events() -> None:
    manifest = app_manifest("https://podbot.example.com/")
    command = manifest["features"]["slash_commands"][0]
    assert command["url"] == "https://podbot.example.com/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == command["url"]
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert app_manifest("HTTPS://podbot.example.com/slack/events")["features"]["slash_commands"][0][
        "url"
    ] == ("https://podbot.example.com/slack/events")


def test_socket_mode_has_no_request_url() -> None:
    manifest = app_manifest(socket_mode=True)
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert manifest["settings"] == {
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": True,
        "token_rotation_enabled": False,
        "event_subscriptions": {
            "bot_events": ["message_metadata_posted"],
            "metadata_subscriptions": [
                {"app_id": "*", "event_type": "podbot_digest"},
                {"app_id": "*", "event_type": "podbot_alert"},
                {"app_id": "*", "event_type": "podbot_approval"},
            ],
        },
    }


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--url", "podbot.example.com"], "has no scheme: write https://podbot.example.com"),
        (["--url", "http://podbot.example.com"], "must start with https://"),
        (["--url", "ftp://podbot.example.com"], "must start with https://"),
        (["--url", "https://"], "names no host"),
        (["--url", "https://podbot.example.com/?x=1"], "must not have a query"),
        (["--url", "https://podbot.example.com", "--socket-mode"], "do not go together"),
        ([], "HTTP mode needs --url"),
    ],
)
def test_bad_input_is_refused_with_the_fix_and_prints_no_manifest(
    args: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["manifest", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("podbot manifest: --url") or err.startswith("podbot manifest: HTTP mode")
    assert problem in err


def test_the_cli_prints_the_manifest_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://podbot.example.com", "--name", "ops-bot"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == app_manifest("https://podbot.example.com", name="ops-bot")


def test_the_app_subscribes_to_the_metadata_events_of_its_own_posts() -> None:
    manifest = app_manifest("https://podbot.example.com", app_id="A0PODBOT")
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://podbot.example.com/slack/events"
    assert events["bot_events"] == ["message_metadata_posted"]
    assert {"app_id": "A0PODBOT", "event_type": METADATA_EVENT} in events["metadata_subscriptions"]
    assert "metadata.message:read" in manifest["oauth_config"]["scopes"]["bot"]
