"""podbot.localslack.render: Block Kit and mrkdwn -> terminal text (pure, table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.localslack.render import Names, button_labels, mrkdwn, render_blocks, render_message, render_view

NAMES = Names(users={"U1": "alice", "U2": "bob"}, channels={"C1": "ops"}, usergroups={"S1": "sre"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*bold* and _italic_", "bold and italic"),
        ("~strike~ stays", "~strike~ stays"),
        ("run `kubectl get pods` now", "run `kubectl get pods` now"),
        ("`*not bold*` inside code", "`*not bold*` inside code"),
        ("hi <@U1>", "hi @alice"),
        ("hi <@U9|zed>", "hi @zed"),
        ("hi <@U9>", "hi @U9"),
        ("in <#C1|ops> and <#C1>", "in #ops and #ops"),
        ("ping <!subteam^S1|@sre> and <!subteam^S1>", "ping @sre and @sre"),
        ("<!here> <!channel>", "@here @channel"),
        ("see <https://k8s.io|docs>", "see docs (https://k8s.io)"),
        ("see <https://k8s.io>", "see https://k8s.io"),
        ("mail <mailto:a@b.c|a@b.c>", "mail a@b.c"),
        ("<!date^1392734382^{date}|Feb 18>", "Feb 18"),
        (":white_check_mark: done :x: :no_such_emoji:", "✅ done ❌ :no_such_emoji:"),
        ("at 12:30:45", "at 12:30:45"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("image_pull_backoff stays", "image_pull_backoff stays"),
        ("2*3*4", "2*3*4"),
        ("```\n*kept* <@U1>\n```", "```\n*kept* <@U1>\n```"),
        ("before\n```NAME  READY\nnginx 1/1```\nafter", "before\n```\nNAME  READY\nnginx 1/1\n```\nafter"),
        ("x ```code``` y", "x \n```\ncode\n```\n y"),
    ],
)
def test_mrkdwn(text: str, expected: str) -> None:
    assert mrkdwn(text, NAMES) == expected


def test_mrkdwn_ansi_bold() -> None:
    assert mrkdwn("*hi*", ansi=True) == "\x1b[1mhi\x1b[22m"


def _button(text: str, action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, **extra}


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([{"type": "header", "text": {"type": "plain_text", "text": "Pods"}}], "Pods\n===="),
        ([{"type": "divider"}], "─" * 40),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "*nginx* is Running"}}], "nginx is Running"),
        (
            [
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": "*Status*\nRunning"},
                        {"type": "mrkdwn", "text": "*Node*\nnode-1"},
                    ],
                }
            ],
            "  Status Running\n  Node node-1",
        ),
        (
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "Delete nginx?"},
                    "accessory": _button("Delete", "del"),
                }
            ],
            "Delete nginx?  [1: Delete]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [_button("Approve", "a"), _button("Deny", "d", style="danger")],
                }
            ],
            "[1: Approve] [2: Deny]",
        ),
        (
            [
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": "by <@U2>"},
                        {"type": "image", "image_url": "x", "alt_text": "logo"},
                    ],
                }
            ],
            "by @bob  [image: logo]",
        ),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "```NAME READY\nweb  1/1```"}}],
            "```\nNAME READY\nweb  1/1\n```",
        ),
        (
            [
                {
                    "type": "input",
                    "label": {"type": "plain_text", "text": "Manifest"},
                    "element": {"type": "plain_text_input", "action_id": "m", "multiline": True},
                }
            ],
            "Manifest: [type here]",
        ),
        (
            [
                {
                    "type": "input",
                    "optional": True,
                    "label": {"type": "plain_text", "text": "File"},
                    "element": {"type": "file_input", "action_id": "f"},
                }
            ],
            "File (optional): [upload a file]",
        ),
        (
            [
                {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "text", "text": "see "}, {"type": "user", "user_id": "U1"}],
                        },
                        {
                            "type": "rich_text_list",
                            "style": "bullet",
                            "elements": [
                                {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]}
                            ],
                        },
                        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "code"}]},
                    ],
                }
            ],
            "see @alice\n• one\n```\ncode\n```",
        ),
        ([{"type": "image", "image_url": "x", "alt_text": "graph"}], "[image: graph]"),
        ([{"type": "mystery"}], "[mystery block]"),
    ],
)
def test_render_blocks(blocks: list[dict[str, Any]], expected: str) -> None:
    assert render_blocks(blocks, NAMES) == expected


def test_buttons_are_numbered_across_blocks_and_attachments() -> None:
    message = {
        "blocks": [
            {
                "type": "section",
                "block_id": "b1",
                "text": {"type": "mrkdwn", "text": "x"},
                "accessory": _button("Logs", "logs", value="v1"),
            },
            {
                "type": "actions",
                "block_id": "b2",
                "elements": [_button("Approve", "ok"), _button("Deny", "no")],
            },
        ],
        "attachments": [
            {"blocks": [{"type": "actions", "block_id": "b3", "elements": [_button("More", "more")]}]}
        ],
    }
    labels = button_labels(message)
    assert [(b.number, b.text, b.action_id, b.block_id) for b in labels] == [
        (1, "Logs", "logs", "b1"),
        (2, "Approve", "ok", "b2"),
        (3, "Deny", "no", "b2"),
        (4, "More", "more", "b3"),
    ]
    assert labels[0].value == "v1"
    rendered = render_message(message, NAMES)
    assert "[1: Logs]" in rendered
    assert "[2: Approve] [3: Deny]" in rendered
    assert "▌ [4: More]" in rendered


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": "plain *text*"}, "plain text"),
        (
            {
                "text": "fallback",
                "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "shown"}}],
            },
            "shown",
        ),
        (
            {"text": "", "attachments": [{"color": "danger", "title": "Failed", "text": "ImagePullBackOff"}]},
            "▌ Failed\n▌ ImagePullBackOff",
        ),
        (
            {"text": "full logs", "files": [{"name": "logs.txt", "title": "nginx logs", "size": 12}]},
            "full logs\n📎 nginx logs (logs.txt, 12 bytes)",
        ),
    ],
)
def test_render_message(message: dict[str, Any], expected: str) -> None:
    assert render_message(message, NAMES) == expected


def test_render_view() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Create pod"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "YAML"},
                "element": {"type": "plain_text_input", "action_id": "y"},
            }
        ],
    }
    assert render_view(view) == "┏ Create pod\nYAML: [type here]\n<Cancel> <Create>"
