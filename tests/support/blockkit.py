"""Checks every rendered Slack payload in the suite must pass: slack_sdk's own models and Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from podbot.render.blocks import MAX_BLOCKS, MAX_SECTION_TEXT, Rendered, blocks_chars


def assert_valid_blocks(blocks: list[dict[str, Any]], *, modal: bool = False) -> None:
    assert len(blocks) <= (100 if modal else MAX_BLOCKS)
    assert blocks_chars(blocks) <= 13_000, "Slack would answer msg_blocks_too_long"
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()  # raises SlackObjectFormationError on any limit slack_sdk knows
        assert parsed.to_dict() == raw, "slack_sdk's model must round-trip the block unchanged"
        text = (raw.get("text") or {}).get("text", "")
        assert len(text) <= MAX_SECTION_TEXT
        for element in raw.get("elements") or ():
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
                assert len(element.get("value", "")) <= 2000
                assert len(element.get("action_id", "")) <= 255


def assert_valid_message(rendered: Rendered) -> None:
    assert rendered.text, "every message needs fallback text (notifications, screen readers)"
    assert_valid_blocks(rendered.blocks)
