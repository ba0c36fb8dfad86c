"""Which Slack requests the ack front answers itself (server/front.py): the rest need the bot's answer."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from podbot.server.front import acked_at_once

FORM = "application/x-www-form-urlencoded"


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def interaction(kind: str) -> bytes:
    return form(payload=json.dumps({"type": kind, "actions": [{"action_id": "podbot_approve"}]}))


@pytest.mark.parametrize(
    ("content_type", "body", "at_once"),
    [
        (FORM, form(command="/pod", text="get pods"), True),
        (FORM, form(command="/pod", text="frobnicate"), True),  # its error goes by the response_url
        (FORM, form(command="/pod", ssl_check="1"), False),  # Slack's check of the certificate
        (FORM, interaction("block_actions"), True),
        (FORM, interaction("view_submission"), False),  # the ack may carry the form's errors
        (FORM, interaction("view_closed"), False),
        (FORM, form(payload="{not json"), False),
        (FORM, b"\xff\xfe", False),
        (FORM, form(text="no command"), False),
        ("application/json", json.dumps({"type": "event_callback"}).encode(), False),  # recorded first
        ("application/json", json.dumps({"type": "url_verification"}).encode(), False),
    ],
)
def test_what_the_front_acknowledges_itself(content_type: str, body: bytes, at_once: bool) -> None:
    assert acked_at_once(content_type, body) is at_once
